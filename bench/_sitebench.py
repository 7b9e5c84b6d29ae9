"""Helpers of the benchmarks that use a built site (``bench/site.py``, ``bench/train.py``,
``bench/training_demos.py``): the sites compared, waiting in a page, a demo's response to a
setting change (``MEASURE_JS``), and the report's figures with their goals ("met" / "missed by
N%"). Not a benchmark itself (``make bench`` runs ``bench/[!_]*.py``)."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import build_site, offline_ready

ROOT = Path(__file__).resolve().parent.parent
SW_TIMEOUT_MS = 60_000


# ------------------------------------------------------------------ sites and servers

def has_service_worker(site: Path) -> bool:
    """Whether the built site registers a service worker (``sw.js`` at its root)."""
    return (Path(site) / "sw.js").is_file()


def ensure_site(site: Path) -> None:
    """Build the site into ``site`` unless it is built (the tests' strict build)."""
    if not (site / "index.html").exists():
        proc = build_site(site)
        if proc.returncode != 0:
            sys.exit(f"site build failed:\n{proc.stdout}\n{proc.stderr}")


def build_revision(rev: str) -> Path:
    """The site as built from git revision ``rev`` (its own site_hooks, this venv), cached by commit."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    dest = Path(tempfile.gettempdir()) / f"gradclip-bench-base-{commit[:12]}"
    if (dest / "index.html").exists():
        return dest
    tree = Path(tempfile.mkdtemp(prefix="gradclip-bench-tree-"))
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=ROOT, check=True)
    try:
        print(f"building {rev} ({commit[:12]}) into {dest} …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(dest)], cwd=tree, check=True,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return dest


# ------------------------------------------------------------------ waiting in the page

def wait_service_worker(page, site: Path) -> None:
    """When the site has a service worker: wait until it has precached the build and is active."""
    if has_service_worker(site):
        offline_ready(page, timeout=SW_TIMEOUT_MS)


def settled_bytes(page, server, site: Path, cap: float = 60.0) -> int:
    """Bytes the server sent once the visit has settled: service worker ready, then 1 s without a byte."""
    wait_service_worker(page, site)
    last, quiet, t0 = -1, 0, time.perf_counter()
    while quiet < 2 and time.perf_counter() - t0 < cap:
        page.wait_for_timeout(500)
        quiet, last = (quiet + 1, last) if server.bytes_sent == last else (0, server.bytes_sent)
    return server.bytes_sent


# ------------------------------------------------------------------ the report

def first_line(e: BaseException) -> str:
    """An error in a few words: Playwright's first line, without the call's name or the address."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = text.split(": ", 1)[1] if text.startswith(("Page.", "Locator.", "Frame.")) else text
    return re.sub(r" at https?://\S+$", "", text)


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:7.0f} ms"
    if unit == "MB":
        return f"{value / 1e6:7.2f} MB"
    return f"{value:7.1f} {unit}"


def verdict(ok: bool, excess: float) -> str:
    """"met" or "missed by N%", so the Performance page compares without hand edits."""
    return "met" if ok else f"missed by {excess:.0%}"


def goal_text(goal, value, ratio, unit, values) -> str | None:
    """The goal and whether the new site meets it; None for a ratio goal without a baseline."""
    if goal[0] == "live":
        live = bool(values) and all(not isinstance(v, str) for v in values)
        return f"goal demo live: {'met' if live else 'missed'}"
    kind, op, limit = goal
    x = ratio if kind == "ratio" else value
    if x is None:
        return None
    ok = x < limit if op == "<" else x <= limit
    shown = f"{limit:g}×" if kind == "ratio" else fmt(limit, unit).strip()
    return f"goal {op} {shown}: {verdict(ok, x / limit - 1)}"


def summary(values: list, failures: list[str], unit: str) -> tuple[float | None, str]:
    """The median (None when there is none) and its text. A failed run is said, never hidden;
    a result that is text (the offline load "fails (…)") is shown as it is."""
    numbers = [v for v in values if not isinstance(v, str)]
    notes = [v for v in values if isinstance(v, str)] + [f"failed: {f}" for f in failures]
    if not numbers:
        return None, notes[0] if notes else "no data"
    text = fmt(statistics.median(numbers), unit)
    if notes:
        text += f" ({len(notes)} of {len(numbers) + len(notes)} runs {notes[0]})"
    return statistics.median(numbers), text


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


# ------------------------------------------------------------------ a demo's response in a page

# From a setting change to the final output, with partial outputs and animation-frame gaps.
MEASURE_JS = """async ([sel, params]) => {
  const root = document.querySelector(sel);
  const demo = root.gcDemo;
  const idle = () => new Promise(r => { const f = () => root.hasAttribute('data-busy') ? setTimeout(f, 10) : r(); f(); });
  await idle();
  let frames = true, lastFrame = performance.now(), worstFrame = 0;
  const tick = (t) => { worstFrame = Math.max(worstFrame, t - lastFrame); lastFrame = t; if (frames) requestAnimationFrame(tick); };
  const outs = [];
  const t0 = performance.now();
  const done = new Promise(r => root.addEventListener('gc:output', function h(e) {
    outs.push(performance.now());
    if (e.detail.output.done !== false) { root.removeEventListener('gc:output', h); r(performance.now()); }
  }));
  requestAnimationFrame((t) => { lastFrame = t; requestAnimationFrame(tick); });
  demo.setParams(params);
  const t1 = await done;
  frames = false;
  const gaps = outs.map((t, i) => t - (i ? outs[i - 1] : t0));
  return {total: t1 - t0, outputs: outs.length, firstOutput: gaps[0], worstGap: Math.max(...gaps.slice(1), 0), worstFrame};
}"""

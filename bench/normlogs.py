"""Norm-log analyser speed on files of a million rows, for every kind of text file it reads.

Prints medians (it asserts nothing; ``make bench`` runs it). Each input is built from the
layout of the real file in ``tests/fixtures/normlogs/`` (its header, keys, line endings and
rows without a norm), scaled to ``--rows`` rows (default 1,000,000, ``MAX_ROWS``):

* Hugging Face ``trainer_state.json`` (``indent=2``, keys sorted, as the Trainer writes it;
  an evaluation entry every 20 logged steps), Lightning ``metrics.csv`` (its columns, a
  validation row with empty cells every 20 rows), a W&B export (two runs, ``__MIN``/``__MAX``),
  TensorBoard's CSV (CRLF) and JSON downloads, and the plain ``step,grad_norm`` CSV that
  :class:`gradclip.NormTracker` saves.

For each, in CPython: reading (``read_norm_log``), and ``gradclip suggest`` end to end (reading
the file, the analysis, the printed table: the path for a file too big for the page).

With ``--baseline DIR`` (a checkout of an earlier commit, e.g. a ``git worktree``), the same
command is timed for that commit in a subprocess, on the plain CSV (the file every version
reads), interleaved with this one's. Goal from issue 16: every format within today's analyser
speed, i.e. end to end at most the baseline's on the plain CSV (ratio <= 1.00: met).

With ``--site DIR`` (a built site; ``--baseline-site DIR`` for an earlier build), the same in
headless Chromium: the time from the file handed to the page's file picker to the analyser's
final output, Pyodide and all. The page reads files up to ``FILE_LIMIT`` (64 MiB); a format whose
``--rows`` file is larger is timed on as many rows as fit, and says so. The baseline site gets the
plain CSV of ``--rows`` rows, both sites interleaved.

Usage: ``python bench/normlogs.py [--rows N] [--repeats N] [--baseline DIR] [--site DIR [--baseline-site DIR]]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOGS = ROOT / "tests" / "fixtures" / "normlogs"


def norms(rows: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.exp(0.3 * rng.standard_normal(rows)) * (0.5 + 2.0 * np.exp(-np.arange(rows) / (rows / 5)))
    x[rng.choice(rows, rows // 1000, replace=False)] *= 30.0
    return x


def formats(rows: int) -> dict[str, str]:
    """Each kind of file with ``rows`` rows (log entries), in the real file's layout: in the
    Hugging Face and Lightning files every 20th is an evaluation row, without a norm."""
    x = norms(rows).tolist()
    loss = (np.asarray(x) * 0.7 + 1.0).tolist()
    out = {"plain CSV (NormTracker)": "step,grad_norm\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(x))}

    state = json.loads((LOGS / "hf_trainer_state.json").read_text())
    train = next(e for e in state["log_history"] if "grad_norm" in e)
    evaluation = next(e for e in state["log_history"] if "eval_loss" in e)
    history = [{**evaluation, "step": 5 * i} if i % 20 == 19 else
               {**train, "grad_norm": v, "loss": loss[i], "step": 5 * (i + 1), "epoch": i / 1000}
               for i, v in enumerate(x)]
    state["log_history"] = history
    out["Hugging Face trainer_state.json"] = json.dumps(state, indent=2, sort_keys=True)

    header = (LOGS / "lightning_metrics.csv").read_text().splitlines()[0].split(",")
    total, step, tl, vl = (header.index(c) for c in ("grad_2.0_norm_total", "step", "train_loss", "val_loss"))
    lines = [",".join(header)]
    for i, v in enumerate(x):
        if i % 20 == 19:                          # a validation row: only epoch, step and val_loss
            row = [""] * len(header)
            row[0], row[step], row[vl] = "0", str(3 * i - 1), repr(loss[i])
        else:
            row = [repr(v / 2)] * len(header)
            row[0], row[total], row[step], row[tl], row[vl] = "0", repr(v), str(3 * i + 2), repr(loss[i]), ""
        lines.append(",".join(row))
    out["Lightning metrics.csv"] = "\n".join(lines) + "\n"

    cols = [f'"{r} - train/grad_norm{a}"' for r in ("calm-sky-2", "bold-sun-3") for a in ("", "__MIN", "__MAX")]
    out["W&B CSV export"] = '"Step",' + ",".join(cols) + "\n" + "".join(
        f'"{i}",' + ",".join([f'"{v!r}"'] * 6) + "\n" for i, v in enumerate(x))

    wall = 1.7965e9
    out["TensorBoard CSV download"] = "Wall time,Step,Value\r\n" + "".join(
        f"{wall + i * 0.01!r},{2 * i},{v!r}\r\n" for i, v in enumerate(x))
    out["TensorBoard JSON download"] = json.dumps([[wall + i * 0.01, 2 * i, v] for i, v in enumerate(x)])
    return out


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


SUGGEST_SNIPPET = """
import contextlib, io, sys, time
sys.path.insert(0, sys.argv[1])
from gradclip.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    t0 = time.perf_counter(); status = main(["suggest", sys.argv[2]]); t = time.perf_counter() - t0
assert status == 0
print(t)
"""


def suggest_time(directory: str, path: str) -> float:
    """Seconds of ``gradclip suggest path`` in a fresh interpreter running ``directory``'s gradclip
    (its imports not counted: the clock starts at the command)."""
    done = subprocess.run([sys.executable, "-c", SUGGEST_SNIPPET, directory, path],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


# Starts the clock and leaves a promise of the milliseconds to the final output in a global
# (evaluate would wait for a promise it returned, before the file is even picked).
BROWSER_JS = """([sel]) => { window.__analysed = new Promise((resolve) => {
    const root = document.querySelector(sel);
    const t0 = performance.now();
    const done = (e) => { if (e.detail.output.done !== false) { root.removeEventListener('gc:output', done);
                                                                 resolve(performance.now() - t0); } };
    root.addEventListener('gc:output', done);
}); }"""


def browser_time(page, url: str, path: str) -> float:
    """Seconds from the file handed to the analyser's picker to its final output."""
    from support import demo_ready, wait_idle
    page.goto(url + "monitor/norm-log-analyser/")
    demo_ready(page, "#analyser")
    wait_idle(page, "#analyser", timeout=120_000)
    page.evaluate(BROWSER_JS, ["#analyser"])
    page.set_input_files("#analyser input[type=file]", files=[path])
    ms = page.evaluate("() => window.__analysed")
    if page.text_content("#analyser .gc-notices").strip():
        raise RuntimeError(page.text_content("#analyser .gc-notices"))
    return ms / 1000


def browser(site: str, baseline_site: str | None, rows: int, repeats: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright

    from gradclip.logfiles import FILE_LIMIT
    from site_hooks.serve import start
    from support import launch_options
    files = formats(rows)
    paths, base_path = {}, None
    tmp = Path(tempfile.mkdtemp())
    for name, text in files.items():
        n = rows
        while len(text.encode()) > FILE_LIMIT:       # as many rows as the page reads
            n = int(n * FILE_LIMIT / len(text.encode()) * 0.98)
            text = formats(n)[name]
        paths[name] = (n, len(text.encode()), tmp / f"{len(paths)}.txt")
        paths[name][2].write_text(text)
    if baseline_site:
        base_path = tmp / "baseline.csv"
        base_path.write_text(files["plain CSV (NormTracker)"])
    servers = [start(site)] + ([start(baseline_site)] if baseline_site else [])
    base: list[float] = []
    print(f"Norm-log analyser in headless Chromium (Pyodide), file picked to final output, median of {repeats}:")
    with sync_playwright() as p:
        b = p.chromium.launch(**launch_options())
        page = b.new_context(viewport={"width": 1280, "height": 900}).new_page()
        results = {}
        for name, (n, size, path) in paths.items():
            times = []
            for _ in range(repeats):
                times.append(browser_time(page, servers[0][1], str(path)))
                if baseline_site:
                    base.append(browser_time(page, servers[1][1], str(base_path)))
            results[name] = statistics.median(times)
            print(f"  {name:<32} {n:>9,} rows {size / 2**20:5.0f} MiB   {results[name]:6.2f} s")
        b.close()
    for server, _ in servers:
        server.shutdown()
    if base:
        ref = statistics.median(base)
        print(f"Baseline site ({Path(baseline_site).name}), plain CSV of {rows:,} rows, median of {len(base)} "
              f"(interleaved): {ref:.2f} s")
        for name, t in results.items():
            print(f"  {name:<32} {t / ref:5.2f}x the baseline   {'met' if t <= ref else 'missed'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", help="a checkout of an earlier commit, timed on the plain CSV")
    ap.add_argument("--site", help="a built site: also time the analyser in headless Chromium")
    ap.add_argument("--baseline-site", help="an earlier build, timed on the plain CSV beside --site")
    ap.add_argument("--browser-only", action="store_true", help="skip the CPython part")
    args = ap.parse_args()
    if args.site:
        browser(args.site, args.baseline_site, args.rows, args.repeats)
    if args.browser_only:
        return

    from gradclip.logfiles import read_norm_log

    files = formats(args.rows)
    base: list[float] = []
    tmp = Path(tempfile.mkdtemp())
    print(f"Norm-log analyser, files of {args.rows:,} rows, CPython (median of {args.repeats}):")
    results = {}
    for k, (name, text) in enumerate(files.items()):
        path = tmp / f"{k}.txt"
        path.write_text(text)
        if args.baseline:
            base.append(suggest_time(args.baseline, str(tmp / "0.txt")))    # the plain CSV, written first
        read = median_time(lambda: read_norm_log(text), args.repeats)
        whole = statistics.median(suggest_time(str(ROOT), str(path)) for _ in range(args.repeats))
        results[name] = whole
        print(f"  {name:<32} {len(text) / 2**20:6.0f} MiB   read {read:5.2f} s   gradclip suggest {whole:5.2f} s")
    if not base:
        return
    ref = statistics.median(base)
    print(f"Baseline ({Path(args.baseline).name}), gradclip suggest on the plain CSV, median of {len(base)} "
          f"(interleaved with the above): {ref:.2f} s")
    for name, whole in results.items():
        ratio = whole / ref
        print(f"  {name:<32} {ratio:5.2f}x the baseline   {'met' if ratio <= 1.0 else 'missed'}")


if __name__ == "__main__":
    main()

"""Site speed in headless Chromium: first figure, demo ready (cold, warm, second page), redraw.

Prints medians over several runs; asserts nothing. Goals (issue 3): static figure < 1 s,
cold ready < 5 s, warm ready < 2.5 s, second page ready < 0.5 s, tau change to redraw
< 100 ms at 500 steps.

    python bench/site.py [--runs 5] [--site site]     (builds the site first if missing)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import launch_options  # noqa: E402
from site_hooks.serve import start  # noqa: E402

HOME = "#home-sim"


def ensure_site(site: Path) -> None:
    if not (site / "index.html").exists():
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site)], cwd=ROOT,
                       env=env, check=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def verdict(seconds: float, goal: float) -> str:
    """"met" or "missed" (by how much), so the Performance page compares without hand edits."""
    return "met" if seconds < goal else f"missed by {(seconds / goal - 1):.0%}"


def cold_load(browser, url: str) -> dict[str, float]:
    """A new browser context: empty cache, as a first visit."""
    ctx = browser.new_context()
    page = ctx.new_page()
    sizes: list[int] = []
    page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]))
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f"{HOME} .gc-static svg", state="visible")
    t_fig = time.perf_counter() - t0
    page.wait_for_selector(f"{HOME}[data-state=ready]", timeout=180_000)
    t_ready = time.perf_counter() - t0
    page.wait_for_load_state("networkidle")
    out = {"figure": t_fig, "ready": t_ready, "bytes": float(sum(sizes))}

    # Warm: the same context (HTTP cache filled), a fresh page load.
    t0 = time.perf_counter()
    page.reload(wait_until="commit")
    page.wait_for_selector(f"{HOME}[data-state=ready]", timeout=180_000)
    out["warm"] = time.perf_counter() - t0

    # Second page through instant navigation: the runtime is already there.
    t0 = time.perf_counter()
    # A link in the text; instant navigation has made its href absolute.
    page.locator(".md-content a", has_text="The Simulator").first.click()
    page.wait_for_selector(".gc-demo[data-demo=simulator][data-state=ready]", timeout=180_000)
    out["second"] = time.perf_counter() - t0
    ctx.close()
    return out


REDRAW_JS = """async ([sel, taus]) => {
  const root = document.querySelector(sel);
  const field = root.querySelector('input[data-param=tau]');
  const times = [];
  for (const tau of taus) {
    const done = new Promise(r => root.addEventListener('gc:output', r, {once: true}));
    const t0 = performance.now();
    field.value = String(tau);
    field.dispatchEvent(new Event('change'));
    await done;
    await new Promise(r => requestAnimationFrame(() => r()));   // the frame that shows it
    times.push(performance.now() - t0);
  }
  return times;
}"""


def redraw_latency(browser, url: str, runs: int) -> list[float]:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url + "?steps=500")
    page.wait_for_selector(f"{HOME}[data-state=ready]", timeout=180_000)
    page.wait_for_function("sel => !document.querySelector(sel).hasAttribute('data-busy')", arg=HOME)
    steps = page.eval_on_selector(HOME, "el => el.gcDemo.params.steps")
    if steps != 500:   # the home demo keeps no URL state: set steps through its control
        page.fill(f"{HOME} input[data-param=steps]", "500")
        page.dispatch_event(f"{HOME} input[data-param=steps]", "change")
        page.wait_for_function("sel => document.querySelector(sel).gcDemo.output.params.steps === 500", arg=HOME)
    taus = [round(0.5 + 0.37 * i, 3) for i in range(runs)]
    times = page.evaluate(REDRAW_JS, [HOME, taus])
    ctx.close()
    return [t / 1000 for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--site", default=str(ROOT / "site"))
    args = ap.parse_args()
    site = Path(args.site)
    ensure_site(site)
    server, url = start(site)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        loads = [cold_load(browser, url) for _ in range(args.runs)]
        redraw = redraw_latency(browser, url, max(20, args.runs * 4))
        browser.close()
    server.shutdown()

    def med(key):
        return statistics.median(r[key] for r in loads)

    print(f"site speed, headless Chromium, {args.runs} runs each, medians ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores)")
    print(f"  first static figure      {ms(med('figure'))}   goal < 1000 ms: {verdict(med('figure'), 1.0)}")
    print(f"  demo ready, cold cache   {ms(med('ready'))}   goal < 5000 ms: {verdict(med('ready'), 5.0)}")
    print(f"  demo ready, warm cache   {ms(med('warm'))}   goal < 2500 ms: {verdict(med('warm'), 2.5)}")
    print(f"  second page (instant)    {ms(med('second'))}   goal < 500 ms: {verdict(med('second'), 0.5)}")
    q = statistics.quantiles(redraw, n=20)
    print(f"  tau change -> redraw     {ms(statistics.median(redraw))} median, {ms(q[-1])} p95 "
          f"over {len(redraw)} changes at 500 steps   goal < 100 ms: {verdict(statistics.median(redraw), 0.1)}")
    print(f"  bytes, first demo page   {med('bytes') / 1e6:8.2f} MB transferred (cold)")


if __name__ == "__main__":
    main()

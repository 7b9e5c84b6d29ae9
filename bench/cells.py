"""Code cells (issue 15) in headless Chromium: Run -> first output, Stop, and the editor's weight.

* Run -> first output of a trivial cell (``print(1)``), pressed through the cell (``gcCell.run``)
  on a warm page, median and p95; the baseline is the same trip for the smallest demo
  (``clip_vector`` through ``runtime.request``), measured in the same run. Goals: the cell within
  2x the demo's trip, and a p95 under 100 ms (a reader sees no wait).
* Stop of ``while True: pass``: with cross-origin isolation (the service worker's headers) Python
  is interrupted; without it the worker is replaced. Goal: the cell has stopped within 1 s
  either way (the issue's "within a second"); the restart's time until Python is ready again is
  printed too.
* The editor bundle's bytes, raw and gzipped, and the time from focusing a cell's code to a
  focused editor (the page's first, which may fetch the module, and the next).

Prints medians; asserts nothing.

    python bench/cells.py [--runs 30] [--site DIR]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _sitebench import p95, verdict  # noqa: E402
from support import demo_ready, launch_options, offline_ready, site_or_build  # noqa: E402
from site_hooks.serve import start, stop  # noqa: E402

PAGE = "guide/python/"
CELL = '.gc-cell[data-cell="1"]'

# One Run through the cell, timed in the page: press -> first output in the DOM -> done.
RUN_CELL = """async (sel) => {
  const root = document.querySelector(sel);
  const out = root.querySelector('[data-cell-output]');
  const t0 = performance.now();
  let first = null;
  const seen = new MutationObserver(() => {
    if (first === null && out.textContent.trim()) first = performance.now() - t0;
  });
  seen.observe(out, { childList: true, subtree: true, characterData: true });
  await root.gcCell.run();
  seen.disconnect();
  return { first: (first ?? performance.now() - t0) / 1000, total: (performance.now() - t0) / 1000 };
}"""

# The smallest demo's round trip on the same worker: the baseline.
RUN_DEMO = """async () => {
  const rt = globalThis.__gradclipRuntime;
  const t0 = performance.now();
  await rt.request('clip_vector', { gx: 6, gy: 2.5, tau: 2 }).promise;
  return (performance.now() - t0) / 1000;
}"""

STOP = """async (sel) => {
  const root = document.querySelector(sel);
  const rt = globalThis.__gradclipRuntime;
  await root.gcCell.setSource('while True:\\n    pass');
  const done = root.gcCell.run();
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  root.gcCell.stop();
  await done;
  const stopped = (performance.now() - t0) / 1000;
  while (rt.stage !== 'ready') await new Promise((r) => setTimeout(r, 10));
  return { stopped, ready: (performance.now() - t0) / 1000, state: root.dataset.state };
}"""

OPEN_EDITOR = """async (sel) => {
  const root = document.querySelector(sel);
  const t0 = performance.now();
  root.querySelector('.gc-cell-code code').focus();
  while (!root.querySelector('.cm-content:focus')) await new Promise((r) => requestAnimationFrame(r));
  return (performance.now() - t0) / 1000;
}"""


def ms(x: float) -> str:
    return f"{x * 1000:6.1f} ms"


def round_trips(page, runs: int) -> tuple[list[float], list[float], list[float]]:
    page.evaluate("sel => document.querySelector(sel).gcCell.setSource('print(1)')", CELL)
    firsts, totals, demos = [], [], []
    for _ in range(runs):                     # interleaved, so drift hits both alike
        r = page.evaluate(RUN_CELL, CELL)
        firsts.append(r["first"])
        totals.append(r["total"])
        demos.append(page.evaluate(RUN_DEMO))
    return firsts, totals, demos


def stop_times(browser, url: str, isolated: bool, runs: int) -> list[dict]:
    ctx = browser.new_context(**({} if isolated else {"service_workers": "block"}))
    out = []
    try:
        page = ctx.new_page()
        page.goto(url)
        if isolated:
            offline_ready(page)
            page.reload()
            assert page.evaluate("crossOriginIsolated"), "the service worker did not isolate the page"
        for _ in range(runs):
            demo_ready(page, "#python-call")
            out.append(page.evaluate(STOP, CELL))
    finally:
        ctx.close()
    return out


def report_trips(firsts, totals, demos) -> None:
    base = statistics.median(demos)
    ratio = statistics.median(firsts) / base
    print(f"first cell of the visit (imports gradclip.cells): {ms(firsts[0])}")
    print(f"Run -> first output (print(1))   median {ms(statistics.median(firsts))}, p95 {ms(p95(firsts))}")
    print(f"Run -> done                      median {ms(statistics.median(totals))}, p95 {ms(p95(totals))}")
    print(f"baseline: smallest demo's trip   median {ms(base)}, p95 {ms(p95(demos))}")
    print(f"  ratio cell / demo: {ratio:.2f}x   goal < 2x: {verdict(ratio < 2, ratio / 2 - 1)}")
    print(f"  goal p95 < 100 ms: {verdict(p95(firsts) < 0.1, p95(firsts) / 0.1 - 1)}")


def report_stops(label: str, results: list[dict]) -> None:
    stopped = [r["stopped"] for r in results]
    ready = [r["ready"] for r in results]
    worst = max(stopped)
    states = sorted({r["state"] for r in results})
    print(f"Stop, {label:<24} stopped median {ms(statistics.median(stopped))}, worst {ms(worst)}; "
          f"Python ready again median {ms(statistics.median(ready))}; cell state {', '.join(states)}")
    print(f"  goal stopped within 1 s: {verdict(worst < 1.0, worst - 1.0)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--site", default=None)
    args = ap.parse_args()
    site = site_or_build(args.site)
    editor = (site / "javascripts" / "editor.js").read_bytes()
    print(f"editor bundle (javascripts/editor.js): {len(editor):,} bytes, {len(gzip.compress(editor, 9)):,} gzipped; "
          "fetched on the first touch of a cell, or in the background once Python is ready and the page has settled")

    from playwright.sync_api import sync_playwright

    server, url = start(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch_options())
            ctx = browser.new_context(service_workers="block")
            page = ctx.new_page()
            page.goto(url + PAGE)
            demo_ready(page, "#python-call")
            first = page.evaluate(OPEN_EDITOR, '.gc-cell[data-cell="2"]')
            again = page.evaluate(OPEN_EDITOR, '.gc-cell[data-cell="3"]')
            print(f"focus -> editor focused: first cell of the page {ms(first)} (the module fetched then, "
                  f"unless the background fetch came first), next cell {ms(again)}")
            report_trips(*round_trips(page, args.runs))
            ctx.close()
            stops = max(3, args.runs // 6)
            report_stops("interrupt (isolated)", stop_times(browser, url + PAGE, True, stops))
            report_stops("restart (no isolation)", stop_times(browser, url + PAGE, False, stops))
            browser.close()
    finally:
        stop(server)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")

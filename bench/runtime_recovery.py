"""The runtime when things go wrong, in headless Chromium: how soon a broken download is
reported, and how soon the demos are live again after Python dies.

Issue 17's goals: every failure of the loader ends in a plain-words error within seconds
(goal < 5 s from opening the page), and a fatal Python error heals by itself (fatal error ->
demos live again) in no more than 1.5 times a warm page load measured in the same run.
Prints medians; asserts nothing.

    python bench/runtime_recovery.py [--runs 5] [--site DIR]     (without --site or $GRADCLIP_SITE_DIR it builds the site first)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import crash_python, launch_options, serve_broken, site_or_build  # noqa: E402
from site_hooks.serve import start  # noqa: E402

HOME = "#home-sim"
WASM = "pyodide.asm.wasm"


def until_error(browser, url: str) -> float:
    """Seconds from opening the page to the demo saying the runtime could not start."""
    ctx = browser.new_context()
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f"{HOME}[data-state=error]", timeout=120_000)
    took = time.perf_counter() - t0
    ctx.close()
    return took


def warm_load_and_recovery(browser, url: str) -> tuple[float, float]:
    """A warm page load to a live demo (the baseline), then fatal error -> the demo live again."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector(f"{HOME}[data-state=ready]", timeout=180_000)
    t0 = time.perf_counter()
    page.reload(wait_until="commit")
    page.wait_for_selector(f"{HOME}[data-state=ready]", timeout=180_000)
    page.wait_for_function("sel => document.querySelector(sel).gcDemo.output", arg=HOME, timeout=180_000)
    warm = time.perf_counter() - t0
    page.wait_for_function("sel => !document.querySelector(sel).hasAttribute('data-busy')", arg=HOME)
    crash_python(page)
    t0 = time.perf_counter()
    page.fill(f"{HOME} input[data-param=tau]", "2.5")
    page.dispatch_event(f"{HOME} input[data-param=tau]", "change")
    page.wait_for_function("sel => { const d = document.querySelector(sel).gcDemo;"
                           " return d.output.params.tau === 2.5 && !d.root.hasAttribute('data-busy'); }",
                           arg=HOME, timeout=180_000)
    healed = time.perf_counter() - t0
    ctx.close()
    return warm, healed


def verdict(seconds: float, goal: float) -> str:
    return "met" if seconds <= goal else f"missed by {(seconds / goal - 1):.0%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--site", default=os.environ.get("GRADCLIP_SITE_DIR"))
    args = ap.parse_args()
    site = site_or_build(args.site)
    good, good_url = start(site)
    missing, missing_url = serve_broken(site, missing=[WASM])
    cut, cut_url = serve_broken(site, cut=[WASM])

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        to_404 = [until_error(browser, missing_url) for _ in range(args.runs)]
        to_cut = [until_error(browser, cut_url) for _ in range(args.runs)]
        pairs = [warm_load_and_recovery(browser, good_url) for _ in range(args.runs)]
        browser.close()
    for s in (good, missing, cut):
        s.shutdown()

    med = statistics.median
    warm, healed = med(w for w, _ in pairs), med(h for _, h in pairs)
    print(f"runtime failures, headless Chromium, {args.runs} runs each, medians "
          f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)")
    print(f"  {WASM} answers 404 -> error shown      {med(to_404) * 1000:7.0f} ms   goal < 5000 ms: {verdict(med(to_404), 5.0)}")
    print(f"  {WASM} cut off -> error shown          {med(to_cut) * 1000:7.0f} ms   goal < 5000 ms: {verdict(med(to_cut), 5.0)}")
    print(f"  warm page load -> demo live (baseline)        {warm * 1000:7.0f} ms")
    print(f"  fatal Python error -> demo live again         {healed * 1000:7.0f} ms   "
          f"{healed / warm:.2f}x the baseline; goal <= 1.5x: {verdict(healed, 1.5 * warm)}")


if __name__ == "__main__":
    main()

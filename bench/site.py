"""Site speed in headless Chromium: first figure, demo ready (cold, warm, throttled, second page,
offline), redraw, bytes over the wire; optionally against a baseline site in the same run.

Prints medians over several runs; asserts nothing. Timings drift by 2× on a small shared machine,
so issue 11's goals are ratios to a baseline (today's main) measured in the same run, each
measure interleaved (new, baseline; then baseline, new on the next run) so that drift hits both:

    demo ready, warm reload (full reload)            ≤ 0.5× baseline  (also the reload after it)
    demo ready, cold cache, localhost                ≤ 0.7× baseline
    demo ready, cold, 20 Mbit/s, 40 ms round trip    ≤ 0.6× baseline  (compressing host)
    second page via a click, on every host           ≤ 300 ms
    bytes over the wire, cold first demo page        ≤ 0.5× baseline  (compressing host)
    offline full reload of another page, one visit   demo live
    first static figure                              < 1 s
and issue 3's absolute goals: cold ready < 5 s, warm < 2.5 s, redraw at 500 steps < 100 ms.

    python bench/site.py [--runs 5] [--site DIR] [--baseline DIR | --baseline-rev REV]

``--site`` defaults to $GRADCLIP_SITE_DIR, else ``site/`` (built first when missing).
``--baseline-rev main`` (or $GRADCLIP_BASELINE_REV, so ``GRADCLIP_BASELINE_REV=main make bench``)
builds that revision (a temporary git worktree, this venv's mkdocs) into
``/tmp/gradclip-bench-base-<commit>`` once, and reuses it on later runs. Bytes are counted by
the server (``site_hooks.serve``: headers and body as sent), so the requests of the Web
Worker and of a service worker count too. The throttled profile is Chromium's network
emulation on the page, which also holds back the page's dedicated Worker's fetches.
Progress goes to stderr; the figures to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import demo_ready, launch_options  # noqa: E402
from site_hooks.serve import start, stop  # noqa: E402
from _sitebench import (build_revision, ensure_site, first_line, fmt, goal_text, p95,  # noqa: E402
                        settled_bytes, summary, wait_service_worker)

HOME = "#home-sim"
SIMULATOR = "#sim"                      # the Simulator page's demo (the home page's is #home-sim)
OTHER_PAGE = "simulator/"              # for the offline reload: a page the visit did not open
THROTTLED = {"offline": False, "latency": 40,    # ms round trip; throughputs in bytes/s
             "downloadThroughput": 20e6 / 8, "uploadThroughput": 20e6 / 8}
OFFLINE_TIMEOUT_MS = 30_000


class FreshProfiles:
    """``new_context()`` gives a browser with a new, empty profile on disk, as a first visit has.

    Not Playwright's ``browser.new_context()``: those contexts are incognito, whose HTTP cache
    lives in memory and keeps no large entry, so pyodide.asm.wasm (10 MB) was downloaded again
    on every "warm" reload and never reached V8's compiled-code cache. A reader's browser keeps
    both; a profile on disk does too, so return visits are measured as readers have them.
    """

    def __init__(self, playwright, root: Path):
        self.playwright, self.root, self.count = playwright, root, 0

    def new_context(self, **options):
        self.count += 1
        return self.playwright.chromium.launch_persistent_context(
            str(self.root / f"profile-{self.count}"), **launch_options(), **options)


def cold_home(browser, site: Path, **serve):
    """A new server and a new browser context (empty cache, as a first visit) with a page in it."""
    server, url = start(site, **serve)
    ctx = browser.new_context()
    return server, url, ctx, ctx.new_page()


# ------------------------------------------------------------------ the measures

def localhost_visit(browser, site: Path) -> dict[str, float]:
    """`make serve`'s server: a cold first visit, a warm full reload, a click to a second page."""
    server, url, ctx, page = cold_home(browser, site)
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(f"{HOME} .gc-static svg", state="visible")
        out = {"figure": time.perf_counter() - t0}
        demo_ready(page, HOME)
        out["ready"] = time.perf_counter() - t0
        out["bytes_plain"] = settled_bytes(page, server, site)

        t0 = time.perf_counter()
        page.reload(wait_until="commit")
        demo_ready(page, HOME)
        out["warm"] = time.perf_counter() - t0

        # Once more: compiled code (V8 keeps it for a script or wasm met again) and a
        # service worker's copies have settled, as on any later visit.
        t0 = time.perf_counter()
        page.reload(wait_until="commit")
        demo_ready(page, HOME)
        out["warm_again"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # A link in the text; instant navigation has made its href absolute.
        page.locator(".md-content a", has_text="The Simulator").first.click()
        demo_ready(page, SIMULATOR)
        out["second"] = time.perf_counter() - t0
        return out
    finally:
        ctx.close()
        stop(server)


def generic_host_click(browser, site: Path) -> dict[str, float]:
    """A click to a second page on a server that serves sitemap.xml as built (`python3 -m
    http.server`): instant navigation takes over no link there, so the click loads a new page."""
    server, url, ctx, page = cold_home(browser, site, rewrite_sitemap=False)
    try:
        page.goto(url)
        demo_ready(page, HOME)
        wait_service_worker(page, site)
        t0 = time.perf_counter()
        page.locator(".md-content a", has_text="The Simulator").first.click()
        demo_ready(page, SIMULATOR)
        return {"second_generic": time.perf_counter() - t0}
    finally:
        ctx.close()
        stop(server)


def offline_reload(browser, site: Path) -> dict[str, float | str]:
    """One visit to the home page, the server shut down, then a full load of another page."""
    server, url, ctx, page = cold_home(browser, site)
    try:
        page.goto(url)
        demo_ready(page, HOME)
        wait_service_worker(page, site)
        stop(server)
        t0 = time.perf_counter()
        try:
            page.goto(url + OTHER_PAGE, wait_until="commit", timeout=OFFLINE_TIMEOUT_MS)
            left = OFFLINE_TIMEOUT_MS - (time.perf_counter() - t0) * 1000
            demo_ready(page, SIMULATOR, timeout=max(left, 1))
        except Exception as e:   # the expected result without a service worker
            return {"offline": f"fails ({first_line(e)})"}
        return {"offline": time.perf_counter() - t0}
    finally:
        ctx.close()
        stop(server)


def throttled_visit(browser, site: Path) -> dict[str, float]:
    """A cold first visit at 20 Mbit/s with 40 ms latency, from a host that gzips text (and wasm)."""
    server, url, ctx, page = cold_home(browser, site, gzip=True)
    try:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", THROTTLED)
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        demo_ready(page, HOME)
        ready = time.perf_counter() - t0
        return {"throttled": ready, "bytes_gzip_ready": server.bytes_sent,
                "rate": server.bytes_sent * 8 / ready / 1e6,
                "bytes_gzip": settled_bytes(page, server, site)}
    finally:
        ctx.close()
        stop(server)


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


def redraw_latency(browser, site: Path, changes: int) -> list[float]:
    server, url, ctx, page = cold_home(browser, site)
    try:
        page.goto(url + "?steps=500")
        demo_ready(page, HOME)
        page.wait_for_function("sel => !document.querySelector(sel).hasAttribute('data-busy')", arg=HOME)
        steps = page.eval_on_selector(HOME, "el => el.gcDemo.params.steps")
        if steps != 500:   # the home demo keeps no URL state: set steps through its control
            page.fill(f"{HOME} input[data-param=steps]", "500")
            page.dispatch_event(f"{HOME} input[data-param=steps]", "change")
            page.wait_for_function("sel => document.querySelector(sel).gcDemo.output.params.steps === 500",
                                   arg=HOME)
        taus = [round(0.5 + 0.37 * i, 3) for i in range(changes)]
        return [t / 1000 for t in page.evaluate(REDRAW_JS, [HOME, taus])]
    finally:
        ctx.close()
        stop(server)


MEASURES = [localhost_visit, generic_host_click, offline_reload, throttled_visit]

# What is printed: key, label, unit, the measure that takes it, goals. A goal is ("ratio" |
# "abs", "<" | "≤", limit) or ("live",); "ratio" goals need a baseline.
FIGURES = [
    ("figure", "first static figure", "ms", localhost_visit, [("abs", "<", 1.0)]),
    ("ready", "demo ready, cold, localhost", "ms", localhost_visit, [("ratio", "≤", 0.7), ("abs", "<", 5.0)]),
    ("warm", "demo ready, warm reload", "ms", localhost_visit, [("ratio", "≤", 0.5), ("abs", "<", 2.5)]),
    ("warm_again", "demo ready, next reload", "ms", localhost_visit, [("ratio", "≤", 0.5), ("abs", "<", 2.5)]),
    ("throttled", "demo ready, cold, 20 Mbit/s 40 ms", "ms", throttled_visit, [("ratio", "≤", 0.6)]),
    ("second", "second page, click (make serve)", "ms", localhost_visit, [("abs", "≤", 0.3)]),
    ("second_generic", "second page, click (http.server)", "ms", generic_host_click, [("abs", "≤", 0.3)]),
    ("offline", "offline, full load of another page", "ms", offline_reload, [("live",)]),
    ("redraw", "tau change -> redraw, 500 steps", "ms", redraw_latency, [("abs", "<", 0.1)]),
    ("bytes_gzip", "bytes, cold first visit, gzip host", "MB", throttled_visit, [("ratio", "≤", 0.5)]),
    ("bytes_gzip_ready", "  of which before demo ready", "MB", throttled_visit, []),
    ("bytes_plain", "bytes, cold first visit, no gzip", "MB", localhost_visit, []),
    ("rate", "throttle check: rate to ready", "Mbit/s", throttled_visit, None),   # ≤ 20 if throttled
]


# ------------------------------------------------------------------ report

def report(results, failures, sites, runs: int, redraw_count: int) -> None:
    (new, _), base = sites[0], (sites[1][0] if len(sites) > 1 else None)
    print(f"site speed, headless Chromium, {runs} runs each, medians ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores)")
    if base:
        print(f"  new {sites[0][1]} against base {sites[1][1]}, interleaved (new, base / base, new …)")
    for key, label, unit, measure, goals in FIGURES:
        value, text = summary(results[new][key], failures[new][measure.__name__], unit)
        line, ratio = f"  {label:<36}{text}", None
        if key == "redraw" and value is not None:
            line += f" median, p95 {fmt(p95(results[new][key]), unit).strip()} over {redraw_count} changes"
        if base:
            bvalue, btext = summary(results[base][key], failures[base][measure.__name__], unit)
            line += f"  base {btext}"
            if value is not None and bvalue and goals is not None:
                ratio = value / bvalue
                line += f"  {ratio:4.2f}×"
        verdicts = [t for g in goals or [] if (t := goal_text(g, value, ratio, unit, results[new][key]))]
        print(line + ("   " + "; ".join(verdicts) if verdicts else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--site", default=os.environ.get("GRADCLIP_SITE_DIR") or str(ROOT / "site"))
    ap.add_argument("--baseline", help="a second built site, measured in the same run")
    ap.add_argument("--baseline-rev", default=os.environ.get("GRADCLIP_BASELINE_REV"),
                    help="git revision to build as the baseline, e.g. main ($GRADCLIP_BASELINE_REV); "
                         "--baseline wins")
    args = ap.parse_args()
    site = Path(args.site)
    ensure_site(site)
    sites = [("new", site)]
    if args.baseline or args.baseline_rev:
        sites.append(("base", Path(args.baseline) if args.baseline else build_revision(args.baseline_rev)))
        if not (sites[1][1] / "index.html").exists():
            sys.exit(f"baseline {sites[1][1]}: no index.html (not a built site)")

    from playwright.sync_api import sync_playwright

    results = {name: defaultdict(list) for name, _ in sites}
    failures = {name: defaultdict(list) for name, _ in sites}
    redraw_count = max(20, args.runs * 4)
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="gradclip-bench-profiles-") as profiles:
        browser = FreshProfiles(p, Path(profiles))
        for run in range(args.runs):
            for measure in MEASURES:
                # new, base / base, new on alternate runs: drift and going first hit both alike
                for name, path in sites if run % 2 == 0 else sites[::-1]:
                    progress = f"run {run + 1}/{args.runs} {measure.__name__} {name}:"
                    try:
                        for key, value in measure(browser, path).items():
                            results[name][key].append(value)
                            unit = next(f[2] for f in FIGURES if f[0] == key)
                            progress += f" {key} {value if isinstance(value, str) else fmt(value, unit).strip()},"
                    except Exception as e:  # noqa: BLE001 - a failed measure is printed, the rest go on
                        failures[name][measure.__name__].append(first_line(e))
                        progress += f" failed: {first_line(e)}"
                    print(progress.rstrip(","), file=sys.stderr, flush=True)
        for name, path in sites:
            print(f"redraw_latency {name}", file=sys.stderr, flush=True)
            try:
                results[name]["redraw"] = redraw_latency(browser, path, redraw_count)
            except Exception as e:  # noqa: BLE001
                failures[name]["redraw_latency"].append(first_line(e))
    report(results, failures, sites, args.runs, redraw_count)


if __name__ == "__main__":
    main()

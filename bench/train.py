"""Training speed: steps per second of the small networks, in CPython and in the browser.

Prints medians (it asserts nothing; ``make bench`` runs it):

1. CPython, this process: the worked example's 3-layer RNN (500 steps, one run; the three
   runs of the worked-example demo together), the regression MLP (400 steps, three runs),
   the monitor demo end to end (training, figures, JSON), and the training monitor's first
   demo (five runs of the one-layer RNN with rare bad batches, 400 steps each), as steps per second.
2. The browser (headless Chromium, the built site, Pyodide in a Web Worker): on the monitor
   page, the worked example's configuration (3-layer RNN, norm clipping at 1, lr 0.05, 500
   steps) from the setting change to the final output painted; how many partial outputs
   arrived and the longest wait between two; and the longest gap between animation frames of
   the page meanwhile (the page staying responsive). The same for the worked-example demo's
   three runs, and the regression MLP demo's three runs (400 steps); the bad-batch demo first.
   With ``--baseline DIR`` (another build), the training monitor page from navigation to its
   first demo live, cold, both sites interleaved: what a reader waits for on that page.
3. CPython, this process: the norm-log analyser on synthetic logs of 10,000, 100,000 and
   1,000,000 rows (``MAX_ROWS``, the most the site's analyser accepts): ``analyse_norms``
   alone (summary, percentiles, AutoClip and ZClip replayed over the whole log), and the
   analyser demo end to end (parsing the CSV text, figures, JSON) on the 1,000,000-row file.

Goal from the issue: the 500-step worked example done in under 3 s in the browser.

Usage: ``python bench/train.py [--site DIR] [--repeats N] [--baseline DIR]``. Without ``--site`` (or
``$GRADCLIP_SITE_DIR``) the site is built into a temporary directory first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _sitebench import MEASURE_JS  # noqa: E402
from support import launch_options, site_or_build  # noqa: E402

WORKED = {"model": "rnn3", "task": "adding", "method": "norm", "tau": 1.0, "lr": 0.05,
          "optimizer": "sgd", "steps": 500, "compare": False}


def cpython(repeats: int) -> None:
    from gradclip.demos import run_iter
    from gradclip.demos.monitor import WORKED_MLP_RUNS, WORKED_MLP_SETUP, WORKED_RNN_RUNS, WORKED_RNN_SETUP
    from gradclip.train import train_runs

    def timed(fn) -> list[float]:
        out = []
        for seed in range(repeats):
            t0 = time.perf_counter()
            fn(seed)
            out.append(time.perf_counter() - t0)
        return out

    cases = [
        ("3-layer RNN, 500 steps, 1 run", 500,
         lambda s: train_runs(**WORKED_RNN_SETUP, runs=WORKED_RNN_RUNS[:1], seed=s)),
        ("3-layer RNN, 500 steps, 3 runs (worked example)", 500,
         lambda s: train_runs(**WORKED_RNN_SETUP, runs=WORKED_RNN_RUNS, seed=s)),
        ("regression MLP, 400 steps, 3 runs", 400,
         lambda s: train_runs(**WORKED_MLP_SETUP, runs=WORKED_MLP_RUNS, seed=s)),
        ("monitor demo end to end (figures, JSON), 500 steps", 500,
         lambda s: [json.dumps(o) for o in run_iter("monitor", {**WORKED, "seed": s})]),
        ("bad-batch demo end to end, 5 runs x 400 steps", 2000,
         lambda s: [json.dumps(o) for o in run_iter("bad_batches", {"seed": s})]),
    ]
    print("CPython (this process):")
    medians = {}
    for label, steps, fn in cases:
        fn(0)                                            # warm: imports, caches
        t = statistics.median(timed(fn))
        medians[label] = t
        print(f"  {label:<52} median {t:6.2f} s   {steps / t:7.0f} steps/s")
    one, three = (medians[c[0]] for c in cases[:2])
    print(f"  three vectorised runs cost {three / one:.2f}x one run")


def synthetic_norm_log(rows: int, seed: int = 0):
    """A gradient-norm log: log-normal noise, a slow drift, rare spikes and a few NaN/inf."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.lognormal(0.0, 0.4, rows) * (1.0 + np.linspace(0.0, 0.5, rows))
    spikes = rng.integers(0, rows, max(rows // 500, 1))
    x[spikes] *= rng.uniform(5.0, 100.0, spikes.size)
    x[rng.integers(0, rows, 3)] = np.nan
    x[rng.integers(0, rows, 2)] = np.inf
    return x


def analyser(repeats: int) -> None:
    from gradclip.web import run_json
    from gradclip.tracker import NormTracker, analyse_norms

    print("Norm-log analyser, CPython (this process):")
    for rows in (10_000, 100_000, 1_000_000):
        x = synthetic_norm_log(rows)
        n = repeats if rows < 1_000_000 else max(1, min(repeats, 3))
        times, cpu = [], []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            analyse_norms(x)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        t = statistics.median(times)
        print(f"  analyse_norms, {rows:>9,} rows{'':<22} median {t:6.2f} s   {rows / t:9.0f} rows/s   "
              f"(CPU {statistics.median(cpu):.2f} s, n={n})")
    text = NormTracker(values=x.tolist()).csv_text()
    params = json.dumps({"file": text})
    times = []
    for _ in range(max(1, min(repeats, 3))):
        t0 = time.perf_counter()
        run_json("norm_analyser", params)
        times.append(time.perf_counter() - t0)
    print(f"  analyser demo end to end (CSV text, figures, JSON), {len(x):,} rows, "
          f"{len(text) / 1e6:.0f} MB   median {statistics.median(times):6.2f} s")




def browser(site: Path, repeats: int) -> None:
    from playwright.sync_api import sync_playwright
    from site_hooks.serve import start

    server, url = start(site)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(**launch_options())
            page = b.new_page(viewport={"width": 1280, "height": 900})
            for page_path, sel, label, params, steps in (
                ("monitor/training-monitor/", "#spikes", "bad-batch demo: 5 runs x 400 steps", {}, 2000),
                ("monitor/training-monitor/", "#monitor-main", "monitor: worked example, 1 run, 500 steps", WORKED, 500),
                ("monitor/worked-examples/", "#worked-rnn", "worked-example demo: 3 runs, 500 steps", {}, 500),
                ("monitor/worked-examples/", "#worked-mlp", "regression MLP demo: 3 runs, 400 steps", {}, 400),
            ):
                t0 = time.perf_counter()
                page.goto(url + page_path)
                page.evaluate("() => sessionStorage.clear()")
                for key in page.eval_on_selector_all(".gc-predict", "els => els.map(e => e.dataset.key)"):
                    page.locator(f"#predict-{key} input").first.check()      # lift the prediction's veil
                page.locator(sel).scroll_into_view_if_needed()
                page.wait_for_selector(f"{sel}[data-state=ready]", timeout=300_000)
                print(f"Browser (Chromium, Pyodide), {label}:")
                print(f"  page load to live demo: {time.perf_counter() - t0:.1f} s")
                res = [page.evaluate(MEASURE_JS, [sel, {**params, "seed": 100 + k}]) for k in range(repeats)]
                med = {k: statistics.median(r[k] for r in res) for k in res[0]}
                print(f"  setting change -> final output painted   median {med['total'] / 1000:6.2f} s   "
                      f"{steps / (med['total'] / 1000):5.0f} steps/s   (n={repeats})")
                print(f"  outputs drawn per run: {med['outputs']:.0f}; first after {med['firstOutput']:.0f} ms; "
                      f"longest wait between two {med['worstGap']:.0f} ms")
                print(f"  longest gap between animation frames of the page meanwhile: {med['worstFrame']:.0f} ms")
                if steps == 500:   # the goal of the worked example: 500 steps in under 3 s
                    t = med["total"] / 1000
                    print(f"  goal: under 3 s -> {t:.2f} s: {'met' if t < 3 else f'missed by {t / 3 - 1:.0%}'}")
            b.close()
    finally:
        server.shutdown()


FIRST_DEMO_JS = """() => { const d = document.querySelector('.gc-demo');
  return d && d.dataset.state === 'ready' ? d.id : null; }"""


def first_demo(sites: list[tuple[str, Path]], repeats: int) -> None:
    """The training monitor page: from navigation to its first demo live, scrolled to as a reader
    would (a fresh browser each time, so Pyodide starts cold from the local server), the sites
    interleaved run by run."""
    from playwright.sync_api import sync_playwright
    from site_hooks.serve import start

    servers = [(name, *start(site)) for name, site in sites]
    times: dict[str, list[float]] = {name: [] for name, _ in sites}
    ids: dict[str, str] = {}
    try:
        with sync_playwright() as p:
            for k in range(repeats):
                for name, _, url in (servers if k % 2 == 0 else servers[::-1]):
                    b = p.chromium.launch(**launch_options())
                    page = b.new_page(viewport={"width": 1280, "height": 900})
                    t0 = time.perf_counter()
                    page.goto(url + "monitor/training-monitor/")
                    # The runtime starts when a demo nears the viewport: a reader scrolls to it.
                    page.locator(".gc-demo").first.scroll_into_view_if_needed()
                    ids[name] = page.wait_for_function(FIRST_DEMO_JS, timeout=300_000).json_value()
                    times[name].append(time.perf_counter() - t0)
                    b.close()
    finally:
        for _, server, _ in servers:
            server.shutdown()
    print("Training monitor page, navigation to its first demo live, cold (Chromium, localhost):")
    med = {name: statistics.median(t) for name, t in times.items()}
    base = med.get("base")
    for name, t in med.items():
        ratio = f"   {t / base:.2f}x base" if base and name != "base" else ""
        print(f"  {name:5} (#{ids[name]})  median {t:5.2f} s (n={repeats}){ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=os.environ.get("GRADCLIP_SITE_DIR"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline", help="a built site to compare the training monitor's first demo with")
    args = ap.parse_args()
    try:
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
              "(figures below scale with it)")
    except OSError:
        pass
    cpython(args.repeats)
    analyser(args.repeats)
    site = site_or_build(args.site)
    browser(site, args.repeats)
    first_demo([("new", site)] + ([("base", Path(args.baseline))] if args.baseline else []), args.repeats)


if __name__ == "__main__":
    main()

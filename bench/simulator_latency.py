"""How long a reader waits: from a slider change to the redrawn simulator figures.

Prints medians and 95th percentiles (it asserts nothing; ``make bench`` runs it):

1. CPython, in this process: ``gradclip.web.run_json("simulator", ...)`` for 500 steps,
   split into ``gradclip.simulate`` alone and everything the demo adds (figures, JSON).
2. The browser (headless Chromium, the built site, Pyodide): a change of the tau slider
   to the ``gc:output`` event, which demos.js fires after all three canvases are painted,
   one change at a time; and the worker's share of it (request to answer).
3. A fast drag of the start point (pointer moves at 60 per second for two seconds): how
   many recomputations ran, and that none queued behind another (latest-only).

Usage: ``python bench/simulator_latency.py [--site DIR] [--runs N]``. Without ``--site`` (or
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

from support import launch_options, site_or_build  # noqa: E402

STEPS = 500


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def line(label: str, ms: list[float]) -> str:
    return (f"  {label:<46} median {statistics.median(ms):7.1f} ms   p95 {pct(ms, 95):7.1f} ms"
            f"   (n={len(ms)})")


def cpython(runs: int) -> None:
    from gradclip.web import run_json
    from gradclip.simulate import simulate

    taus = [0.1 * 1.1 ** k for k in range(runs)]
    run_json("simulator", json.dumps({"steps": STEPS}))   # warm: contour shading cached
    total, alone = [], []
    for tau in taus:
        t0 = time.perf_counter()
        run_json("simulator", json.dumps({"steps": STEPS, "tau": tau}))
        t1 = time.perf_counter()
        simulate("cliff", "norm", tau=tau, steps=STEPS)
        t2 = time.perf_counter()
        total.append((t1 - t0) * 1e3)
        alone.append((t2 - t1) * 1e3)
    print(f"CPython, {STEPS} steps on cliff (this process):")
    print(line("demo output, JSON (run_json)", total))
    print(line("gradclip.simulate alone", alone))
    share = statistics.median(alone) / statistics.median(total)
    print(f"  simulate's share of the demo's time: {share:.0%}")


MEASURE_JS = """async ([runs, steps]) => {
  const root = document.getElementById('sim');
  const demo = root.gcDemo;
  const slider = root.querySelector('[data-slider-for="tau"]');
  const phase = document.getElementById('sim-phase');
  const busy = () => root.hasAttribute('data-busy') || (phase && phase.hasAttribute('data-busy'));
  // idle: the simulator and the phase map (which follows 120-350 ms later) both done
  const idle = () => new Promise(r => setTimeout(() => { const f = () => busy() ? setTimeout(f, 5) : r(); f(); }, 400));
  // Time the simulator's own request: posted, answered (the worker's share).
  const rt = globalThis.__gradclipRuntime;
  const orig = rt.request.bind(rt);
  let posted = 0, answered = 0;
  rt.request = (name, ...rest) => {
    const req = orig(name, ...rest);
    if (name === 'simulator') { posted = performance.now(); req.promise.then(() => { answered = performance.now(); }); }
    return req;
  };
  demo.setParams({steps});
  await idle();
  const change = [], queue = [], worker = [], paint = [];
  for (let k = 0; k < runs; k++) {
    const done = new Promise(r => root.addEventListener('gc:output', () => r(performance.now()), {once: true}));
    const t0 = performance.now();
    slider.value = String(100 + (k * 37) % 800);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    const t3 = await done;
    change.push(t3 - t0); queue.push(posted - t0); worker.push(answered - posted); paint.push(t3 - answered);
    await idle();
  }
  rt.request = orig;
  return {change, queue, worker, paint};
}"""

DRAG_JS = """async () => {
  const root = document.getElementById('sim');
  const demo = root.gcDemo;
  const canvas = root.querySelector('[data-figure="contour"] canvas');
  const g = demo.figures.contour.layout;
  const rect = canvas.getBoundingClientRect();
  const at = (x, y) => [rect.left + g.px(x) * rect.width / g.width, rect.top + g.py(y) * rect.height / g.height];
  const rt = globalThis.__gradclipRuntime;
  const origRequest = rt.request.bind(rt);
  let launched = 0, maxInFlight = 0, inFlight = 0, outputs = 0;
  rt.request = (...a) => {
    launched++; inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
    const req = origRequest(...a);
    req.promise.finally(() => { inFlight--; });
    return req;
  };
  root.addEventListener('gc:output', () => outputs++);
  const fire = (type, x, y) => canvas.dispatchEvent(new PointerEvent(type, {bubbles: true, clientX: x, clientY: y, pointerId: 1, button: 0, buttons: type === 'pointerup' ? 0 : 1, isPrimary: true}));
  let [x, y] = at(2.0, 1.5);
  fire('pointerdown', x, y);
  const frames = 120, t0 = performance.now();
  for (let k = 1; k <= frames; k++) {
    await new Promise(r => setTimeout(r, 1000 / 60));
    const s = k / frames;
    [x, y] = at(2.0 - 3.5 * s, 1.5 - 2.5 * Math.sin(3 * s));
    fire('pointermove', x, y);
  }
  fire('pointerup', x, y);
  const moved = performance.now() - t0;
  await new Promise(r => { const f = () => root.hasAttribute('data-busy') ? setTimeout(f, 10) : r(); f(); });
  const settled = performance.now() - t0 - moved;
  rt.request = origRequest;
  return {frames, moved, launched, maxInFlight, outputs, settled};
}"""


def browser(site: Path, runs: int) -> None:
    from playwright.sync_api import sync_playwright
    from site_hooks.serve import start

    server, url = start(site)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(**launch_options())
            page = b.new_page(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
            t0 = time.perf_counter()
            page.goto(f"{url}simulator/")
            page.wait_for_selector("#sim[data-state=ready]", timeout=300_000)
            page.wait_for_selector("#sim [data-preset]", timeout=60_000)
            print(f"Browser (Chromium, Pyodide), {STEPS} steps on cliff:")
            print(f"  page load to live demo: {time.perf_counter() - t0:.1f} s")
            res = page.evaluate(MEASURE_JS, [runs, STEPS])
            print(line("slider change -> figures repainted", res["change"]))
            print(line("  of which: input -> request posted", res["queue"]))
            print(line("  of which: worker (Python compute, transfer)", res["worker"]))
            print(line("  of which: answer -> three figures painted", res["paint"]))
            p95 = pct(res["change"], 95)
            print(f"  goal: p95 under 50 ms -> {p95:.1f} ms: "
                  f"{'met' if p95 < 50 else f'missed by {p95 / 50 - 1:.0%}'}")
            page.evaluate("() => document.getElementById('sim').gcDemo.setParams({steps: 200})")
            page.wait_for_timeout(500)   # the phase map's new sweep starts after its debounce
            page.wait_for_function("() => !document.querySelector('#sim[data-busy], #sim-phase[data-busy]')")
            drag = page.evaluate(DRAG_JS)
            print(f"Drag of the start point, {drag['frames']} pointer moves in {drag['moved'] / 1000:.1f} s "
                  f"(200 steps):")
            print(f"  recomputations launched: {drag['launched']} "
                  f"({drag['launched'] / drag['frames']:.0%} of the moves), outputs shown: {drag['outputs']}")
            print(f"  requests in flight at once, at most: {drag['maxInFlight']}  "
                  f"(1 = latest-only: no stale work queued)")
            print(f"  last output after the pointer stopped: {drag['settled']:.0f} ms")
            b.close()
    finally:
        server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=os.environ.get("GRADCLIP_SITE_DIR"))
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    try:
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (figures below scale with it)")
    except OSError:
        pass
    cpython(args.runs)
    site = site_or_build(args.site)
    browser(site, args.runs)


if __name__ == "__main__":
    main()

"""Does ``pyodide py-compile`` make the demos load faster? Prints figures; asserts nothing.

Builds a throwaway site with the vendored Pyodide runtime (``site_hooks.vendor``) in up to four
variants, serves it from 127.0.0.1 and loads each in headless Chromium through a module worker that
does what the site's ``worker.js`` does: ``loadPyodide({indexURL})``, ``loadPackage("numpy")``, fetch
``manifest.json`` and the gradclip wheel, ``unpackArchive(buffer, "wheel")``, import gradclip.

    plain         sources everywhere (what the site serves by default)
    gradclip-pyc  only the gradclip wheel compiled: ``build_wheel(py_compile=True)``
    runtime-pyc   stdlib zip + NumPy wheel compiled: ``vendor_pyodide(py_compile=True)``
    all-pyc       both flags on

Each browser run uses a fresh context (empty HTTP cache); variants are interleaved so that noise from
other work on the machine spreads evenly. Figures are medians in milliseconds, each stage measured in
the worker with ``performance.now()``.

Also printed: the cost of vendoring from a warm cache (which re-hashes every file) and of building
the wheel, since both run on every ``mkdocs build``.

Usage: ``python bench/pycompile.py [--runs 5] [--cache DIR] [--variants plain,gradclip-pyc,...]``
(Chromium: ``$GRADCLIP_CHROMIUM``, else ``/usr/bin/chromium``, else Playwright's own.)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))
from site_hooks import pins  # noqa: E402
from support import launch_options  # noqa: E402
from site_hooks.cache import default_cache_dir  # noqa: E402
from site_hooks.vendor import vendor_pyodide  # noqa: E402
from site_hooks.wheel import build_wheel  # noqa: E402

STAGES = ("runtime", "numpy_load", "numpy_import", "wheel_unpack", "gradclip_import", "total")

PAGE = """<!doctype html><meta charset="utf-8"><title>py-compile bench</title>
<script type="module">
const q = new URLSearchParams(location.search);
const w = new Worker("worker.mjs", {type: "module"});
w.onmessage = (e) => { window.__result = e.data; };
w.onerror = (e) => { window.__result = {error: "worker error: " + (e.message || e)}; };
w.postMessage({indexURL: q.get("pyodide"), wheels: q.get("wheels")});
</script>
"""

# A module worker, like the site's worker.js. Paths are relative to the worker's own URL.
WORKER = """
self.onmessage = async (e) => {
  const {indexURL, wheels} = e.data;
  const base = new URL(".", self.location.href);
  const idx = new URL(indexURL, base).href;
  const t = {}; let last = performance.now(); const t0 = last;
  const lap = (k) => { const now = performance.now(); t[k] = now - last; last = now; };
  try {
    const { loadPyodide } = await import(idx + "pyodide.mjs");
    const pyodide = await loadPyodide({indexURL: idx});
    lap("runtime");
    await pyodide.loadPackage("numpy", {messageCallback: () => {}});
    lap("numpy_load");
    pyodide.runPython("import numpy");
    lap("numpy_import");
    const wurl = new URL(wheels, base).href;
    const manifest = await (await fetch(wurl + "manifest.json")).json();
    const buf = await (await fetch(wurl + manifest.wheel)).arrayBuffer();
    pyodide.unpackArchive(buf, "wheel");
    lap("wheel_unpack");
    // Import every gradclip module, as the demos eventually will; count the ones that fail
    // (other parts of the package may be mid-edit) rather than stop.
    const info = pyodide.runPython(`
import importlib, pkgutil, json, gradclip
mods, failed = [], []
for m in pkgutil.walk_packages(gradclip.__path__, "gradclip."):
    if m.name.endswith("__main__"):   # importing it runs the command line
        continue
    try:
        importlib.import_module(m.name); mods.append(m.name)
    except Exception as exc:
        failed.append(f"{m.name}: {type(exc).__name__}: {exc}")
json.dumps({"file": gradclip.__file__, "version": gradclip.__version__,
            "modules": len(mods) + 1, "failed": failed})`);
    lap("gradclip_import");
    t.total = performance.now() - t0;
    self.postMessage({times: t, info: JSON.parse(info)});
  } catch (err) {
    self.postMessage({error: String(err && err.stack || err)});
  }
};
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):  # keep the figures readable
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


VARIANTS = {
    # name: (vendor_pyodide(py_compile=...), build_wheel(py_compile=...))
    "plain": (False, False),
    "gradclip-pyc": (False, True),
    "runtime-pyc": (True, False),
    "all-pyc": (True, True),
}


def build_site(root: Path, cache: Path, variants: list[str]) -> dict[str, tuple[str, str]]:
    """Write the throwaway site; return variant -> (pyodide dir, wheels dir), relative to ``root``."""
    (root / "index.html").write_text(PAGE)
    (root / "worker.mjs").write_text(WORKER)
    layout = {}
    for name in variants:
        vendor_pyc, wheel_pyc = VARIANTS[name]
        pyo = "assets/pyodide-pyc/" if vendor_pyc else "assets/pyodide/"
        whl = "assets/wheels-pyc/" if wheel_pyc else "assets/wheels/"
        if not (root / pyo).exists():
            vendor_pyodide(root / pyo, cache, py_compile=vendor_pyc)
        if not (root / whl).exists():
            build_wheel(ROOT, root / whl, py_compile=wheel_pyc, cache_dir=cache)
        layout[name] = (pyo, whl)
    return layout


def measure(url: str, layout: dict[str, tuple[str, str]], runs: int) -> tuple[dict, dict, list[str]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[dict]] = {k: [] for k in layout}
    infos: dict[str, dict] = {}
    outside: list[str] = []
    host = urlparse(url).netloc

    def guard(route):
        # Nothing may leave 127.0.0.1: record and refuse anything else.
        if urlparse(route.request.url).netloc != host:
            outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        def once(name: str) -> dict:
            pyo, whl = layout[name]
            ctx = browser.new_context()  # fresh HTTP cache every run
            ctx.route("**/*", guard)
            page = ctx.new_page()
            page.goto(f"{url}index.html?pyodide=/{pyo}&wheels=/{whl}")
            page.wait_for_function("window.__result !== undefined", timeout=180_000)
            res = page.evaluate("window.__result")
            ctx.close()
            if "error" in res:
                raise RuntimeError(f"{name}: {res['error']}")
            return res

        try:
            # The very first start in a browser process is much slower (cold caches below the
            # page); it would land on whichever variant came first, so it is run and dropped.
            once(next(iter(layout)))
            for i in range(runs):
                for name in layout:
                    res = once(name)
                    times[name].append(res["times"])
                    infos[name] = res["info"]
                    print(f"  run {i + 1}/{runs} {name:13s} total {res['times']['total']:7.0f} ms", flush=True)
        finally:
            browser.close()
    return times, infos, outside


def file_sizes(root: Path, rel: str) -> int:
    return sum(f.stat().st_size for f in (root / rel).iterdir() if f.suffix in (".whl", ".zip"))


def bench_build_steps(cache: Path, runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t_vendor, t_wheel = [], []
        for _ in range(runs):
            t = time.perf_counter()
            vendor_pyodide(Path(tmp) / "pyodide", cache)
            t_vendor.append(time.perf_counter() - t)
            t = time.perf_counter()
            build_wheel(ROOT, Path(tmp) / "wheels")
            t_wheel.append(time.perf_counter() - t)
    vdir = cache / f"pyodide-{pins.PYODIDE_VERSION}"
    blobs = [p.read_bytes() for p in vdir.iterdir() if p.is_file()]
    t_hash = []
    for _ in range(runs):
        t = time.perf_counter()
        for b in blobs:
            hashlib.sha256(b).digest()
        t_hash.append(time.perf_counter() - t)
    mb = sum(map(len, blobs)) / 1e6
    print("build steps (median of %d):" % runs)
    print(f"  vendor_pyodide, warm cache (re-hash + copy) {statistics.median(t_vendor) * 1e3:7.1f} ms")
    print(f"  sha256 of the cached files alone ({mb:.1f} MB)  {statistics.median(t_hash) * 1e3:7.1f} ms")
    print(f"  build_wheel (hatchling, in-process)         {statistics.median(t_wheel) * 1e3:7.1f} ms")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if set(variants) - set(VARIANTS) or args.runs < 1:
        ap.error(f"--variants must be among {','.join(VARIANTS)} and --runs >= 1")
    cache = args.cache or default_cache_dir()

    bench_build_steps(cache)
    with tempfile.TemporaryDirectory(prefix="gradclip-pycbench-") as tmp:
        root = Path(tmp)
        try:
            layout = build_site(root, cache, variants)
        except Exception as exc:  # pyodide-build missing offline: say so, measure what we can
            print(f"py-compile variants unavailable ({exc}); measuring plain only")
            layout = build_site(root, cache, ["plain"])
        httpd, url = serve(root)
        try:
            times, infos, outside = measure(url, layout, args.runs)
        finally:
            httpd.shutdown()
        sizes = {k: (file_sizes(root, v[0]), file_sizes(root, v[1])) for k, v in layout.items()}

    print(f"\nPyodide {pins.PYODIDE_VERSION} in headless Chromium, medians of {args.runs} runs (ms):")
    print(f"  {'variant':13s}" + "".join(f"{s:>16s}" for s in STAGES) + f"{'pkg MB':>9s}")
    base = {s: statistics.median(r[s] for r in times["plain"]) for s in STAGES} if "plain" in times else None
    for name, runs in times.items():
        med = {s: statistics.median(r[s] for r in runs) for s in STAGES}
        print(f"  {name:13s}" + "".join(f"{med[s]:16.0f}" for s in STAGES)
              + f"{sum(sizes[name]) / 1e6:9.2f}")
        if base and name != "plain":  # ratios: below 1.00 is faster than plain
            print(f"  {'  / plain':13s}" + "".join(f"{med[s] / base[s]:16.2f}" for s in STAGES))
    for name, info in infos.items():
        print(f"  {name}: gradclip {info['version']} from {info['file']}, {info['modules']} modules imported"
              + (f", {len(info['failed'])} failed: {info['failed'][:3]}" if info["failed"] else ""))
    print(f"  requests that tried to leave 127.0.0.1: {len(outside)}" + (f" {outside[:5]}" if outside else ""))


if __name__ == "__main__":
    main()

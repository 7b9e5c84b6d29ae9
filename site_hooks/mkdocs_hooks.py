"""MkDocs hooks: thin calls into the plain functions of ``site_hooks``.

All build logic lives in ordinary modules (``vendor.py``, ``wheel.py``, ``demo_blocks.py``,
``math.py``, ``jsgen.py``, ``editor.py``) that tests can call without MkDocs. This file only says *when*.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the Markdown extensions are imported by name: site_hooks.*
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("mkdocs.hooks.gradclip")


def _pycompile_mode() -> str:
    """``GRADCLIP_PYCOMPILE``: ``auto`` (default) precompiles for Pyodide when pyodide-build can
    run and falls back to plain files, saying so; ``1`` requires it; ``0`` skips it."""
    mode = os.environ.get("GRADCLIP_PYCOMPILE", "auto").lower()
    return "off" if mode in ("0", "no", "off") else ("auto" if mode == "auto" else "on")


def _vendor(site: Path):
    """Vendor Pyodide, with the standard library and NumPy precompiled to bytecode when possible.

    Precompiling roughly halves the time to a ready demo (bench/pycompile.py), but needs
    pyodide-build on a Python 3.12 (:func:`_pycompile_mode`). A hash mismatch of the original
    files always fails the build, whatever the setting.
    """
    from site_hooks.vendor import VendorError, vendor_pyodide

    mode = _pycompile_mode()
    dest = site / "assets" / "pyodide"
    if mode == "off":
        return vendor_pyodide(dest)
    try:
        return vendor_pyodide(dest, py_compile=True)
    except VendorError as exc:
        if mode != "auto" or "sha256" in str(exc).lower() or "hash" in str(exc).lower():
            raise
        # Not a warning: --strict would fail the build for a missing optional tool.
        log.info("precompiling for Pyodide was not possible (%s); serving plain files, which start slower", exc)
        return vendor_pyodide(dest)


def _wheel(site: Path):
    """The gradclip wheel, as bytecode when possible (:func:`_pycompile_mode`).

    Since demo modules are imported on first use, compiling their source sits in front of the
    first figure: under Pyodide, compiling the simulator's modules took 350 ms and the stored
    contour lines 200 ms more (measured in Node, Pyodide 0.27.7), where reading bytecode is
    a few milliseconds.
    """
    from site_hooks.wheel import WheelError, build_wheel

    mode = _pycompile_mode()
    dest = site / "assets" / "wheels"
    if mode == "off":
        return build_wheel(ROOT, dest)
    try:
        return build_wheel(ROOT, dest, py_compile=True)
    except WheelError as exc:
        if mode != "auto":
            raise
        log.info("the gradclip wheel could not be precompiled for Pyodide (%s); serving source, which starts slower", exc)
        return build_wheel(ROOT, dest)


def _generated_js(site: Path) -> None:
    """Write the constants the browser shares with Python into the built site, from Python.

    The committed copy (which the paint harness loads without a build) must say the same:
    a stale one is a warning, so the strict build fails and names the fix.
    """
    from site_hooks.jsgen import TARGET, generated_js

    text = generated_js()
    if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
        log.warning("%s is stale; run: python -m site_hooks.jsgen", TARGET.relative_to(ROOT))
    (site / "javascripts").mkdir(parents=True, exist_ok=True)
    (site / "javascripts" / "generated.js").write_text(text, encoding="utf-8")


def _stored_contours_fresh() -> None:
    """The contour lines stored in the package must be what tracing gives today (a warning, so
    the strict build fails and names the fix)."""
    from site_hooks.contours import TARGET, contour_data

    try:
        fresh = TARGET.read_text(encoding="utf-8") == contour_data()
    except SystemExit as exc:   # no contourpy here: the tests check it where it is installed
        log.info("stored contour lines not checked: %s", exc)
        return
    if not fresh:
        log.warning("%s is stale; run: python -m site_hooks.contours", TARGET.relative_to(ROOT))


def _editor(site: Path) -> None:
    """Bundle the code cells' editor (CodeMirror 6, ``editor/``) into ``javascripts/editor.js``.

    Before the CSP and the service worker steps: the worker's precache list hashes every file.
    An :class:`~site_hooks.editor.EditorError` (no npm, a failed install or bundle) fails the build.
    """
    from site_hooks.editor import editor_build

    log.info("%s", editor_build(site / "javascripts").summary())


def on_post_build(config, **kwargs) -> None:
    """Put the runtime and the package next to the pages: the site is complete and offline."""
    site = Path(config["site_dir"])
    _generated_js(site)
    _stored_contours_fresh()
    t0 = time.perf_counter()
    wheel = _wheel(site)
    t1 = time.perf_counter()
    report = _vendor(site)
    t2 = time.perf_counter()
    log.info("%s in %.1f s; %s in %.1f s", wheel, t1 - t0, report, t2 - t1)
    _editor(site)
    from site_hooks.offline import write_service_worker, write_web_manifest

    write_web_manifest(site, config["site_name"], config.get("site_description") or "")
    # Once every page is written: the policy lists the hashes of the pages' inline scripts.
    from site_hooks.csp import add_meta_policy

    log.info("Content-Security-Policy written into %d pages", add_meta_policy(site))
    # Last: the service worker holds the sha256 of every file it precaches, pages included.
    log.info("service worker: %d files precached", write_service_worker(site))

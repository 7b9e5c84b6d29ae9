"""MkDocs hooks: thin calls into the plain functions of ``site_hooks``.

All build logic lives in ordinary modules (``vendor.py``, ``wheel.py``, ``demo_blocks.py``,
``math.py``, ``svg.py``) that tests can call without MkDocs. This file only says *when*.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the Markdown extensions are imported by name: site_hooks.*
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("mkdocs.hooks.gradclip")


def on_post_build(config, **kwargs) -> None:
    """Put the runtime and the package next to the pages: the site is complete and offline."""
    from site_hooks.vendor import vendor_pyodide
    from site_hooks.wheel import build_wheel

    site = Path(config["site_dir"])
    t0 = time.perf_counter()
    wheel = build_wheel(ROOT, site / "assets" / "wheels")
    t1 = time.perf_counter()
    report = vendor_pyodide(site / "assets" / "pyodide")
    t2 = time.perf_counter()
    log.info("gradclip wheel %s in %.1f s; Pyodide vendored in %.1f s (%s)",
             getattr(wheel, "filename", wheel), t1 - t0, t2 - t1, report)

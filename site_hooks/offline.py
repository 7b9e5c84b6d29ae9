"""The offline-first service worker's build half: what it precaches, under which names.

The service worker (source ``docs/javascripts/sw.js``) must sit at the site's root so that its
scope is the whole site, and its bytes must change whenever any file it serves changes (a
browser looks for an update by comparing the script byte for byte). So the build writes
``site/sw.js`` as one line of data followed by the source:

``const PRECACHE = {"caches": [...], "pages": [...]};``

* ``caches``: two groups, each ``{"name", "files": {path: sha256}}`` with paths relative to the
  site root. The runtime (``assets/pyodide/``) is named after the hashes of its files, so a
  rebuilt site with the same pinned Pyodide keeps the 18 MB it already holds; the rest of the
  site is named after the hashes of all its files. The worker checks every file against its hash
  while precaching, so a cache never mixes two deployments.
* ``pages``: the page addresses (``""``, ``"learn/theory/"``), from which the service worker
  writes a sitemap under its own scope: Material's instant navigation then applies on any
  host and path, not only at ``site_url`` (``site_hooks/serve.py`` does the same for
  ``make serve`` before a service worker is installed).

``GRADCLIP_SERVICE_WORKER=0`` switches it off at build time: ``sw.js`` is then a worker that
deletes this site's caches and unregisters itself, so readers who installed it lose it too.

>>> group_name("site", {"a.html": "00ff"})[:17]
'gradclip-site-5c6'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["SOURCE", "group_name", "precache", "write_service_worker", "write_web_manifest", "enabled"]

SOURCE = Path(__file__).resolve().parent.parent / "docs" / "javascripts" / "sw.js"
#: The runtime folder, cached under its own name so a site rebuild keeps it.
RUNTIME_DIR = "assets/pyodide/"
# Not worth a reader's storage: source maps, and lunr's word segmenters for other languages
# (the search of an English site never loads them).
_SKIP_SUFFIXES = (".map", ".gz")
_SKIP_DIRS = ("assets/javascripts/lunr/",)
# sw.js is the worker itself; sitemap.xml is written by the worker for its own scope.
_SKIP_FILES = ("sw.js", "javascripts/sw.js", "sitemap.xml")


def enabled() -> bool:
    """Whether the build writes a working service worker (``GRADCLIP_SERVICE_WORKER``, default on)."""
    return os.environ.get("GRADCLIP_SERVICE_WORKER", "1").lower() not in ("0", "no", "off", "false")


def group_name(kind: str, files: dict[str, str]) -> str:
    """A cache's name: its kind and a digest of every (path, sha256) it holds.

    >>> group_name("runtime", {"x": "1"}) == group_name("runtime", {"x": "1"}) != group_name("runtime", {"x": "2"})
    True
    """
    digest = hashlib.sha256(json.dumps(sorted(files.items())).encode("utf-8")).hexdigest()
    return f"gradclip-{kind}-{digest[:16]}"


def _wanted(rel: str) -> bool:
    return not (rel.endswith(_SKIP_SUFFIXES) or rel.startswith(_SKIP_DIRS) or rel in _SKIP_FILES)


def _url(rel: str) -> str:
    """The address a browser asks for: a page by its folder (``learn/theory/``), others as they are."""
    if rel == "index.html":
        return ""
    return rel[: -len("index.html")] if rel.endswith("/index.html") else rel


def precache(site: Path) -> dict:
    """The data ``sw.js`` starts with: both cache groups and the page list (see the module doc)."""
    site = Path(site)
    runtime: dict[str, str] = {}
    rest: dict[str, str] = {}
    pages: list[str] = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if not _wanted(rel):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        url = _url(rel)
        (runtime if rel.startswith(RUNTIME_DIR) else rest)[url] = digest
        if rel.endswith("index.html") and rel != "404.html":
            pages.append(url)
    return {
        "caches": [{"name": group_name("runtime", runtime), "files": runtime},
                   {"name": group_name("site", rest), "files": rest}],
        "pages": pages,
    }


# The switched-off worker: whoever installed the site before loses its caches and the worker.
_RETIRE = """// The service worker is switched off for this build (GRADCLIP_SERVICE_WORKER=0): this one only
// removes what an earlier build installed, then unregisters itself.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil((async () => {
  for (const name of await caches.keys()) if (name.startsWith("gradclip-")) await caches.delete(name);
  await self.registration.unregister();
})()));
"""


def icon_png(size: int) -> bytes:
    """A square PNG of the cliff landscape, shaded as the site's figures shade it: the app icon.

    >>> icon_png(16)[1:4]
    b'PNG'
    """
    import numpy as np

    from gradclip.figures.landscape import log_excess
    from gradclip.figures.png import colormap_rgba, png_rgba
    from gradclip.landscapes import LANDSCAPES

    land = LANDSCAPES["cliff"]
    _, _, z = land.grid(size)
    shade = log_excess(land, z)
    lo, hi = np.nanmin(shade), np.nanmax(shade)
    return png_rgba(colormap_rgba((shade - lo) / (hi - lo), "loss")[::-1])


def write_web_manifest(site: Path, name: str, description: str) -> None:
    """``manifest.webmanifest`` and its two icons, so a browser offers to install the site.

    Addresses are relative to the manifest, so the same file works at any host and base path.
    """
    site = Path(site)
    icons = []
    for size in (192, 512):
        rel = f"assets/icon-{size}.png"
        (site / rel).write_bytes(icon_png(size))
        icons.append({"src": rel, "sizes": f"{size}x{size}", "type": "image/png"})
    manifest = {"name": name, "short_name": name, "description": description,
                "start_url": "./", "scope": "./", "display": "standalone",
                "background_color": "#ffffff", "theme_color": "#3f51b5", "icons": icons}
    (site / "manifest.webmanifest").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def write_service_worker(site: Path) -> int:
    """Write ``site/sw.js`` (data line + source, or the retiring worker); returns files precached."""
    site = Path(site)
    (site / "javascripts" / "sw.js").unlink(missing_ok=True)   # MkDocs copied the source there
    if not enabled():
        (site / "sw.js").write_text(_RETIRE, encoding="utf-8")
        return 0
    data = precache(site)
    line = "const PRECACHE = " + json.dumps(data, separators=(",", ":")) + ";\n"
    (site / "sw.js").write_text(line + SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    return sum(len(c["files"]) for c in data["caches"])

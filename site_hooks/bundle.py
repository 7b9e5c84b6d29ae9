"""The offline bundle: the built site in one archive, with a one-line way to serve it.

``python -m site_hooks.bundle --site site --out dist`` writes
``dist/gradclip-site-<version>.zip`` holding ``gradclip-site/`` (every page, the Pyodide
runtime, the gradclip wheel) and ``gradclip-site/README-OFFLINE.txt``. Browsers refuse to
start WebAssembly workers for pages opened from ``file://``, so live demos need a local
server; Python's own is enough and already on any machine that has Python.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

from site_hooks.serve import sitemap_for

__all__ = ["SERVE_LINE", "make_bundle", "main"]

SERVE_LINE = "python3 -m http.server 8000 --bind 127.0.0.1 --directory gradclip-site"
SERVED_AT = "http://127.0.0.1:8000/"    # where SERVE_LINE serves it

README = f"""gradclip, offline
=================

This folder is the whole gradclip site: pages, figures, formulas, and the Python runtime
that computes the live demos in your browser. Nothing in it contacts the internet.

Read it with live demos (from the folder that contains gradclip-site/):

    {SERVE_LINE}

then open http://127.0.0.1:8000/ in a browser.

Opened straight from disk (double-clicking index.html) every page still reads: text,
formulas, and each figure with its numbers as computed when the site was built. Browsers
do not run WebAssembly workers for file:// pages, so the demos stay static there and say so.
"""


def make_bundle(site: Path, out_dir: Path) -> Path:
    """Zip ``site`` as ``gradclip-site/`` into ``out_dir``; returns the archive's path."""
    site, out_dir = Path(site), Path(out_dir)
    if not (site / "index.html").exists():
        raise ValueError(f"site: {site} has no index.html; build the site first (make site)")
    manifest = site / "assets" / "wheels" / "manifest.json"
    version = json.loads(manifest.read_text())["version"] if manifest.exists() else "dev"
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"gradclip-site-{version}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(site.rglob("*")):
            if path == site / "sitemap.xml":
                # Instant navigation follows only the addresses in the sitemap (port included):
                # name the one SERVE_LINE serves, so page switches keep the running Python.
                text = sitemap_for(path.read_text(encoding="utf-8"), SERVED_AT)
                zf.writestr("gradclip-site/sitemap.xml", text)
            elif path.is_file():
                # Wheels, zips and wasm are compressed already: store them as they are.
                kind = zipfile.ZIP_STORED if path.suffix in (".whl", ".zip", ".wasm", ".gz") else zipfile.ZIP_DEFLATED
                zf.write(path, Path("gradclip-site") / path.relative_to(site), compress_type=kind)
        zf.writestr("gradclip-site/README-OFFLINE.txt", README)
    return archive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default="site")
    ap.add_argument("--out", default="dist")
    args = ap.parse_args()
    archive = make_bundle(Path(args.site), Path(args.out))
    print(f"{archive} ({archive.stat().st_size / 1e6:.1f} MB)")
    print(f"unzip it, then from the folder holding gradclip-site/: {SERVE_LINE}")


if __name__ == "__main__":
    main()

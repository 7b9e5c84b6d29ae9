"""Serve the built site from 127.0.0.1, as GitHub Pages would: static files, right MIME types.

``python -m site_hooks.serve [--port 8000] [--dir site] [--csp]``. Tests use :func:`start`
in a thread. Python's own ``http.server`` guesses types from the platform's tables, which
may lack ``.mjs`` or ``.wasm``; WebAssembly streams only when served as ``application/wasm``.
"""

from __future__ import annotations

import argparse
import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["start", "main"]

TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
         ".svg": "image/svg+xml", ".css": "text/css"}



class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}
    headers_extra: dict[str, str] = {}

    def end_headers(self) -> None:
        for k, v in self.headers_extra.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet: tests read requests in the browser
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/sitemap.xml":
            return self._sitemap()
        return super().do_GET()

    def _sitemap(self) -> None:
        """The sitemap, its addresses moved to where this server listens.

        Material's instant navigation only takes over links found in ``sitemap.xml``, and it
        matches them after copying the protocol and host name of the page, not the port: a
        sitemap naming ``https://gradclip.github.io/`` matches nothing on ``127.0.0.1:8000``,
        so every click would reload the page and start Python again. ``mkdocs serve`` solves
        the same problem by rewriting ``site_url``; this is that, for the built site.
        """
        path = Path(self.directory, "sitemap.xml")
        if not path.is_file():
            return super().do_GET()
        body = sitemap_for(path.read_text(encoding="utf-8"), f"http://{self.headers.get('Host', '127.0.0.1')}/")
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def sitemap_for(xml: str, base: str) -> str:
    """``xml`` with the site's root address (its shortest ``<loc>``) replaced by ``base``.

    >>> sitemap_for("<loc>https://a.io/x/</loc><loc>https://a.io/x/b/</loc>", "http://127.0.0.1:8000/")
    '<loc>http://127.0.0.1:8000/</loc><loc>http://127.0.0.1:8000/b/</loc>'
    """
    locs = [m.strip() for m in re.findall(r"<loc>(.*?)</loc>", xml, flags=re.S)]
    if not locs:
        return xml
    root = min(locs, key=len)
    root = root if root.endswith("/") else root.rsplit("/", 1)[0] + "/"
    return re.sub(r"<loc>\s*" + re.escape(root), "<loc>" + base, xml)


def start(directory: str | Path, port: int = 0, headers: dict[str, str] | None = None,
          host: str = "127.0.0.1") -> tuple[ThreadingHTTPServer, str]:
    """Serve ``directory`` in a daemon thread; returns the server and its base URL."""
    handler = type("Handler", (_Handler,), {"headers_extra": dict(headers or {})})
    server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="site")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--csp", action="store_true", help="send the Content-Security-Policy header")
    args = ap.parse_args()
    if not Path(args.dir, "index.html").exists():
        raise SystemExit(f"{args.dir}/index.html not found: build the site first (make site)")
    headers = None
    if args.csp:
        from site_hooks.csp import policy

        headers = {"Content-Security-Policy": policy(Path(args.dir))}
    server, url = start(args.dir, args.port, headers)
    print(f"serving {Path(args.dir).resolve()} on {url} (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()

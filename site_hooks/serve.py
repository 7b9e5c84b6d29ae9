"""Serve the built site from 127.0.0.1, as GitHub Pages would: static files, right MIME types.

``python -m site_hooks.serve [--port 8000] [--dir site] [--csp]``. Tests use :func:`start`
in a thread. Python's own ``http.server`` guesses types from the platform's tables, which
may lack ``.mjs`` or ``.wasm``; WebAssembly streams only when served as ``application/wasm``.
"""

from __future__ import annotations

import argparse
import functools
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

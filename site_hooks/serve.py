"""Serve the built site from 127.0.0.1, as GitHub Pages would: static files, right MIME types.

``python -m site_hooks.serve [--port 8000] [--dir site] [--csp] [--gzip] [--no-sitemap-rewrite]``.
Tests use :func:`start` in a thread. Python's own ``http.server`` guesses types from the
platform's tables, which may lack ``.mjs`` or ``.wasm``; WebAssembly streams only when served
as ``application/wasm``.

``--gzip`` compresses text responses on the fly, as GitHub Pages does (``bench/site.py`` counts
the bytes a real host sends); ``--no-sitemap-rewrite`` serves ``sitemap.xml`` as built, like
any generic static server (``python3 -m http.server``).
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import functools
import gzip as gziplib
import io
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["start", "stop", "main"]

TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
         ".svg": "image/svg+xml", ".css": "text/css"}

# What GitHub Pages gzips: text types. Assumption: it gzips ``application/wasm`` too (a
# WebAssembly module is not compressed in itself, and Pages was seen sending wasm with
# ``Content-Encoding: gzip``); archives (``.zip``, ``.whl``: ``application/zip``) and images
# other than SVG are sent as they are, being compressed already.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/xml",
                "image/svg+xml", "application/wasm")
_GZIP_CACHE: dict[tuple[str, int, int], bytes] = {}   # (path, mtime_ns, size) -> gzip bytes
_GZIP_LOCK = threading.Lock()


def compressible(ctype: str) -> bool:
    """Whether a host like GitHub Pages gzips a response of this Content-Type.

    >>> [compressible(t) for t in ("text/html", "application/wasm", "application/zip", "image/png")]
    [True, True, False, False]
    """
    return ctype.split(";")[0].strip().startswith(COMPRESSIBLE)


def gzipped(path: str) -> bytes:
    """The file at ``path``, gzipped (level 6, as nginx-style hosts use), kept per version so
    that compressing a 10 MB file is paid once, as on a host that caches it."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    with _GZIP_LOCK:
        data = _GZIP_CACHE.get(key)
        if data is None:
            with open(path, "rb") as f:
                data = gziplib.compress(f.read(), compresslevel=6, mtime=0)
            _GZIP_CACHE[key] = data
    return data



class _Counting:
    """A response stream that adds the bytes written (headers and body, as sent: compressed
    when compressed) to ``server.bytes_sent``: what went over the wire, whoever asked for it
    (the page, its Web Workers, a service worker)."""

    def __init__(self, raw, server) -> None:
        self._raw, self._server = raw, server

    def write(self, data) -> int:
        n = self._raw.write(data)
        with self._server.bytes_lock:
            self._server.bytes_sent += len(data) if n is None else n
        return n

    def __getattr__(self, name):
        return getattr(self._raw, name)


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}
    headers_extra: dict[str, str] = {}
    gzip = False              # compress text types when the browser accepts gzip
    rewrite_sitemap = True    # sitemap.xml names this server's address (see _sitemap)

    def setup(self) -> None:
        super().setup()
        if hasattr(self.server, "bytes_sent"):   # a server from start(): count what goes out
            self.wfile = _Counting(self.wfile, self.server)

    def end_headers(self) -> None:
        for k, v in self.headers_extra.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet: tests read requests in the browser
        pass

    def do_GET(self) -> None:
        if self.rewrite_sitemap and self.path.split("?")[0] == "/sitemap.xml":
            return self._sitemap()
        return super().do_GET()

    def _accepts_gzip(self) -> bool:
        codings = [c.split(";")[0].strip().lower() for c in self.headers.get("Accept-Encoding", "").split(",")]
        return self.gzip and "gzip" in codings

    def send_head(self):
        """As the base class, except that a compressible file goes out gzipped when asked for."""
        path = self._file_for(self.path) if self.gzip else None
        if path is None or not compressible(self.guess_type(path)):
            return super().send_head()
        mtime = os.stat(path).st_mtime
        if self._not_modified(mtime):
            self.send_response(304)
            self.end_headers()
            return None
        if self._accepts_gzip():
            data, encoded = gzipped(path), True
        else:
            with open(path, "rb") as f:
                data, encoded = f.read(), False
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(len(data)))
        if encoded:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Last-Modified", self.date_time_string(mtime))
        self.end_headers()
        return io.BytesIO(data)

    def _file_for(self, url_path: str) -> str | None:
        """The regular file a GET for ``url_path`` answers with (a folder's index.html), or
        None when the base class answers (redirects, listings, 404s)."""
        path = self.translate_path(url_path)
        if os.path.isdir(path):
            if not url_path.split("?")[0].split("#")[0].endswith("/"):
                return None
            path = os.path.join(path, "index.html")
        return path if os.path.isfile(path) else None

    def _not_modified(self, mtime: float) -> bool:
        """If-Modified-Since answered as the base class does (a 304 when the file is no newer)."""
        if "If-Modified-Since" not in self.headers or "If-None-Match" in self.headers:
            return False
        try:
            ims = email.utils.parsedate_to_datetime(self.headers["If-Modified-Since"])
        except (TypeError, IndexError, OverflowError, ValueError):
            return False
        if ims.tzinfo is None:
            ims = ims.replace(tzinfo=datetime.timezone.utc)
        last = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).replace(microsecond=0)
        return last <= ims

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
        encoded = self._accepts_gzip()
        if encoded:
            data = gziplib.compress(data, compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        if encoded:
            self.send_header("Content-Encoding", "gzip")
        if self.gzip:
            self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        if self.command != "HEAD":
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
          host: str = "127.0.0.1", gzip: bool = False,
          rewrite_sitemap: bool = True) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``directory`` in a daemon thread; returns the server and its base URL.

    ``gzip``: compress text types (and wasm) on the fly when the browser accepts it, as GitHub
    Pages does. ``rewrite_sitemap=False``: serve ``sitemap.xml`` as built, as a generic static
    server would (Material's instant navigation then takes over no link on this address).
    ``server.bytes_sent`` counts the bytes sent so far. Stop it with ``server.shutdown();
    server.server_close()``.
    """
    handler = type("Handler", (_Handler,), {"headers_extra": dict(headers or {}), "gzip": gzip,
                                            "rewrite_sitemap": rewrite_sitemap})
    server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))
    server.bytes_sent, server.bytes_lock = 0, threading.Lock()   # see _Counting
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"


def stop(server: ThreadingHTTPServer) -> None:
    """Stop a server from :func:`start` and close its port (the network really gone); twice is harmless."""
    server.shutdown()
    server.server_close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="site")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--csp", action="store_true", help="send the Content-Security-Policy header")
    ap.add_argument("--gzip", action="store_true", help="gzip text types on the fly, as GitHub Pages does")
    ap.add_argument("--no-sitemap-rewrite", dest="rewrite_sitemap", action="store_false",
                    help="serve sitemap.xml as built, like a generic static server")
    args = ap.parse_args()
    if not Path(args.dir, "index.html").exists():
        raise SystemExit(f"{args.dir}/index.html not found: build the site first (make site)")
    headers = None
    if args.csp:
        from site_hooks.csp import policy

        headers = {"Content-Security-Policy": policy(Path(args.dir))}
    server, url = start(args.dir, args.port, headers, gzip=args.gzip, rewrite_sitemap=args.rewrite_sitemap)
    print(f"serving {Path(args.dir).resolve()} on {url} (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()

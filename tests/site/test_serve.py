"""The local server (``make serve`` and the browser tests) serves the site as GitHub Pages would,
except that ``sitemap.xml`` names the address it listens on: Material's instant navigation only
takes over links whose address, port included, appears in the sitemap."""

from __future__ import annotations

import urllib.request

from site_hooks.serve import sitemap_for, start

SITEMAP = """<urlset>
<url><loc>https://gradclip.github.io/docs/</loc></url>
<url><loc>https://gradclip.github.io/docs/simulator/</loc></url>
</urlset>"""


def test_the_site_root_moves_to_the_served_address():
    out = sitemap_for(SITEMAP, "http://127.0.0.1:8000/")
    assert "<loc>http://127.0.0.1:8000/</loc>" in out
    assert "<loc>http://127.0.0.1:8000/simulator/</loc>" in out
    assert "github.io" not in out


def test_a_sitemap_without_addresses_is_left_alone():
    assert sitemap_for("<urlset></urlset>", "http://127.0.0.1:1/") == "<urlset></urlset>"


def test_the_server_rewrites_the_sitemap_and_nothing_else(tmp_path):
    (tmp_path / "sitemap.xml").write_text(SITEMAP)
    (tmp_path / "page.xml").write_text(SITEMAP)
    server, url = start(tmp_path)
    try:
        served = urllib.request.urlopen(url + "sitemap.xml").read().decode()
        other = urllib.request.urlopen(url + "page.xml").read().decode()
    finally:
        server.shutdown()
    assert f"<loc>{url}simulator/</loc>" in served
    assert other == SITEMAP


def test_gzip_compresses_text_as_pages_does_and_leaves_archives(tmp_path):
    import gzip

    (tmp_path / "page.html").write_text("<p>hello</p>" * 200)
    (tmp_path / "a.whl").write_bytes(b"PK" * 500)
    (tmp_path / "sitemap.xml").write_text(SITEMAP)
    server, url = start(tmp_path, gzip=True, rewrite_sitemap=False)
    try:
        def get(path, encoding):
            req = urllib.request.Request(url + path, headers={"Accept-Encoding": encoding})
            with urllib.request.urlopen(req) as r:
                return r.headers, r.read()

        h, body = get("page.html", "gzip, br")
        assert h["Content-Encoding"] == "gzip" and h["Vary"] == "Accept-Encoding"
        assert int(h["Content-Length"]) == len(body) < 2400
        assert gzip.decompress(body).decode() == "<p>hello</p>" * 200
        h, body = get("page.html", "identity")
        assert h["Content-Encoding"] is None and body.decode() == "<p>hello</p>" * 200
        h, body = get("a.whl", "gzip")
        assert h["Content-Encoding"] is None and body == b"PK" * 500
        h, body = get("sitemap.xml", "gzip")
        assert gzip.decompress(body).decode() == SITEMAP   # not rewritten
    finally:
        server.shutdown()
        server.server_close()

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

"""The service worker's build half (``site_hooks/offline.py``): what ``sw.js`` precaches.

The browser half is tested in ``tests/browser/test_offline_browser.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest

from site_hooks import offline

pytestmark = pytest.mark.site


def precache_of(site) -> dict:
    first = (site / "sw.js").read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith("const PRECACHE = ") and first.endswith(";")
    return json.loads(first[len("const PRECACHE = "):-1])


def test_sw_js_holds_every_file_of_the_build_with_its_hash(built_site):
    data = precache_of(built_site)
    runtime, rest = data["caches"]
    assert runtime["name"].startswith("gradclip-runtime-") and rest["name"].startswith("gradclip-site-")
    assert set(runtime["files"]) == {f"assets/pyodide/{p.name}" for p in (built_site / "assets/pyodide").iterdir()}
    held = {**runtime["files"], **rest["files"]}
    for url, sha in held.items():
        path = built_site / (url + "index.html" if url == "" or url.endswith("/") else url)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, url
    # Every page, the wheel, the scripts, the app manifest; not the worker itself or the sitemap.
    for url in ("", "simulator/", "javascripts/worker.js", "manifest.webmanifest", "assets/icon-192.png",
                "search/search_index.json"):
        assert url in held, url
    assert not any(u.endswith((".map", "sw.js")) or u == "sitemap.xml" for u in held)
    assert any(u.startswith("assets/wheels/gradclip-") for u in held)


def test_its_page_list_is_the_sitemap_of_the_build(built_site):
    locs = re.findall(r"<loc>(.*?)</loc>", (built_site / "sitemap.xml").read_text())
    root = min(locs, key=len)
    assert sorted(precache_of(built_site)["pages"]) == sorted(loc[len(root):] for loc in locs)


def test_a_changed_page_renames_the_site_cache_but_not_the_runtime(built_site, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(built_site, site, ignore=shutil.ignore_patterns("*.wasm", "*.zip", "*.whl"))
    before = offline.precache(site)["caches"]
    page = site / "performance" / "index.html"
    page.write_text(page.read_text() + "\n")
    after = offline.precache(site)["caches"]
    assert before[0]["name"] == after[0]["name"]
    assert before[1]["name"] != after[1]["name"]


def test_switched_off_the_worker_only_removes_itself(built_site, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "javascripts").mkdir(parents=True)
    monkeypatch.setenv("GRADCLIP_SERVICE_WORKER", "0")
    assert offline.write_service_worker(site) == 0
    text = (site / "sw.js").read_text()
    assert "PRECACHE" not in text and "unregister()" in text and "caches.delete" in text


def test_the_app_manifest_is_relative_so_it_works_under_any_path(built_site):
    manifest = json.loads((built_site / "manifest.webmanifest").read_text())
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    for icon in manifest["icons"]:
        assert (built_site / icon["src"]).read_bytes()[1:4] == b"PNG"
    assert '<link rel="manifest" href="../manifest.webmanifest">' in (built_site / "simulator/index.html").read_text()

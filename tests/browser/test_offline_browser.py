"""The site on any host, and with no network after one visit (issue 11).

* A fork's Pages site lives under a sub-path (``https://<user>.github.io/<repo>/``): built with
  that address (``SITE_URL``, as the Pages workflow does), a click still keeps the one runtime.
* The service worker (``sw.js``, ``site_hooks/offline.py``) precaches this build: after one
  visit, with the server gone, a full load of a page never opened shows its demo live.
* It writes the sitemap for wherever it is served, so instant navigation applies on a plain
  static server too; that sitemap lists what ``make serve``'s rewrite lists.
* A new build replaces the old one cleanly (old caches removed, the unchanged runtime kept),
  and a build with the worker switched off removes it from readers who had it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import time

import pytest

from support import ROOT, assert_matches_cpython, build_site, demo_ready, offline_ready

pytestmark = pytest.mark.browser

sys.path.insert(0, str(ROOT))
from site_hooks import offline  # noqa: E402
from site_hooks.serve import sitemap_for, start, stop  # noqa: E402

CACHE_NAMES = "async () => (await caches.keys()).sort()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _locs(xml: str) -> list[str]:
    return sorted(m.strip() for m in re.findall(r"<loc>(.*?)</loc>", xml, re.S))


def _runtime_started_at(page) -> float:
    return page.evaluate("globalThis.__gradclipRuntime.startedAt")


def _until(page, predicate: str, arg=None, timeout: float = 120.0) -> None:
    """Poll an async predicate (``wait_for_function`` takes a returned Promise as true at once)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {predicate}"
        time.sleep(0.2)


@pytest.fixture
def own_server(built_site):
    """The built site on a server of its own, which a test may stop (the network gone)."""
    server, url = start(built_site)
    yield url, server
    stop(server)


@pytest.fixture
def site_copy(built_site, tmp_path):
    """A copy of the built site that a test may rebuild in place (a new deployment)."""
    dest = tmp_path / "site"
    shutil.copytree(built_site, dest)
    return dest


def test_a_fork_under_a_sub_path_keeps_one_runtime_across_a_click(browser, tmp_path):
    port = _free_port()
    env_before = os.environ.get("SITE_URL")
    os.environ["SITE_URL"] = f"http://127.0.0.1:{port}/fork/"
    try:
        proc = build_site(tmp_path / "fork")
    finally:
        if env_before is None:
            os.environ.pop("SITE_URL")
        else:
            os.environ["SITE_URL"] = env_before
    assert proc.returncode == 0, proc.stderr
    assert f"<loc>http://127.0.0.1:{port}/fork/simulator/</loc>" in (tmp_path / "fork" / "sitemap.xml").read_text()
    server, url = start(tmp_path, port=port)
    ctx = browser.new_context(service_workers="block")   # the built sitemap alone must do it
    try:
        page = ctx.new_page()
        page.goto(url + "fork/")
        demo_ready(page, "#home-sim")
        started = _runtime_started_at(page)
        page.locator(".md-content a", has_text="The Simulator").first.click()
        page.wait_for_url(url + "fork/simulator/**")
        demo_ready(page, "#sim")
        assert _runtime_started_at(page) == started, "the click reloaded the page and started Python again"
    finally:
        ctx.close()
        stop(server)


def test_after_one_visit_a_page_never_opened_is_live_with_no_network(browser, own_server):
    url, server = own_server
    ctx = browser.new_context()
    errors: list[str] = []
    try:
        page = ctx.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        demo_ready(page, "#home-sim")
        offline_ready(page)
        stop(server)
        page.goto(url + "learn/theory/")             # a full load, not instant navigation
        demo_ready(page, "#vector-main")
        assert_matches_cpython(page, "#vector-main")
        # Nothing of this build is missing from the cache: not one request failed.
        assert errors == []
    finally:
        ctx.close()


def test_the_service_worker_gives_instant_navigation_on_a_plain_static_server(browser, site_copy):
    (site_copy / "sitemap.xml").write_text(  # what a host serves as is: the build's own address
        (site_copy / "sitemap.xml").read_text().replace("127.0.0.1", "example.org"))
    server, url = start(site_copy, rewrite_sitemap=False)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(url)
        demo_ready(page, "#home-sim")
        offline_ready(page)
        page.reload()                                  # Material reads the sitemap at load
        demo_ready(page, "#home-sim")
        started = _runtime_started_at(page)
        page.locator(".md-content a", has_text="The Simulator").first.click()
        demo_ready(page, "#sim")
        assert _runtime_started_at(page) == started
        # The worker's sitemap lists exactly the addresses make serve's rewrite gives.
        served = page.evaluate("async () => (await fetch('../sitemap.xml')).text()")
        built = (site_copy / "sitemap.xml").read_text()
        assert _locs(served) == _locs(sitemap_for(built, url))
    finally:
        ctx.close()
        stop(server)


def test_a_new_build_replaces_the_old_cleanly_and_switching_off_removes_it(browser, site_copy, monkeypatch):
    server, url = start(site_copy)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(url + "performance/")
        offline_ready(page)
        old = page.evaluate(CACHE_NAMES)
        assert len(old) == 2 and any(n.startswith("gradclip-runtime-") for n in old)

        # A new deployment: one page changed, the pinned runtime the same.
        page_file = site_copy / "performance" / "index.html"
        page_file.write_text(page_file.read_text().replace("</body>", "<p id=new-build>new</p></body>"))
        offline.write_service_worker(site_copy)
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
        old_site = next(n for n in old if n.startswith("gradclip-site-"))
        _until(page, "name => caches.keys().then(k => k.length === 2 && !k.includes(name))", old_site)
        new = page.evaluate(CACHE_NAMES)
        assert [n for n in new if "runtime" in n] == [n for n in old if "runtime" in n]   # 18 MB kept
        # The open page runs the old build's scripts: from now on a click loads the next page
        # whole (its own build's scripts) instead of swapping it in.
        page.evaluate("window.__oldPage = true")
        page.locator(".md-nav a[href$='simulator/']").first.click()
        page.wait_for_url("**/simulator/")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__oldPage === undefined")
        page.goto(url + "performance/")
        assert page.locator("#new-build").count() == 1

        # Switched off: the next build's worker removes every cache and itself.
        monkeypatch.setenv("GRADCLIP_SERVICE_WORKER", "0")
        offline.write_service_worker(site_copy)
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
        _until(page, "() => navigator.serviceWorker.getRegistration().then(r => !r)")
        assert page.evaluate(CACHE_NAMES) == []
    finally:
        ctx.close()
        stop(server)

"""Release quality: links, the 404 page, reading without JavaScript or from disk, the
Content-Security-Policy (meta tag and header), the Pages workflow and the offline bundle.
Accessibility has its own file, test_a11y_browser.py."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from support import all_demos_ready, page_url, site_pages
from site_hooks.bundle import SERVE_LINE, make_bundle
from site_hooks.csp import HEADER_ONLY, meta_tag, policy
from site_hooks.serve import start

ROOT = Path(__file__).resolve().parents[2]   # the repository


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# ---------- the built files ----------

@pytest.mark.site
def test_every_internal_link_and_anchor_resolves(built_site):
    parsed = {p: _parse(p) for p in built_site.rglob("*.html") if "assets" not in p.parts}
    broken = []
    for page, info in parsed.items():
        base = "file://" + page.as_posix()
        for href in info.links:
            if href.startswith("/") and not href.startswith("//"):
                href = (built_site / href.lstrip("/")).as_uri()   # site_url's path is "/"
            url = urlparse(urljoin(base, href))
            if url.scheme != "file":
                continue          # links out to papers and docs are for readers, not checked here
            target = Path(unquote(url.path))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_site)} -> {href}")
                continue
            if url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(url.fragment) not in ids:
                    broken.append(f"{page.relative_to(built_site)} -> {href} (no such anchor)")
    assert broken == []


@pytest.mark.site
def test_404_page_is_styled_like_the_site(built_site):
    text = (built_site / "404.html").read_text(encoding="utf-8")
    assert "assets/stylesheets/main" in text and "md-header" in text
    assert "404" in text


@pytest.mark.site
def test_pages_workflow_passes_actionlint():
    import sys

    exe = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(exe).exists():
        pytest.skip("actionlint is not installed for this platform")
    proc = subprocess.run([exe, str(ROOT / ".github/workflows/pages.yml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.site
def test_offline_bundle_holds_the_whole_site(built_site, tmp_path):
    archive = make_bundle(built_site, tmp_path)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        readme = zf.read("gradclip-site/README-OFFLINE.txt").decode()
        sitemap = zf.read("gradclip-site/sitemap.xml").decode()
    assert "gradclip-site/index.html" in names
    # The sitemap names the address the README's line serves, so instant navigation works there.
    assert "<loc>http://127.0.0.1:8000/simulator/</loc>" in sitemap and "8000" in SERVE_LINE
    assert "gradclip-site/assets/pyodide/pyodide.asm.wasm" in names
    assert any(n.startswith("gradclip-site/assets/wheels/gradclip-") for n in names)
    assert SERVE_LINE in readme
    with pytest.raises(ValueError, match="no index.html"):
        make_bundle(tmp_path / "empty", tmp_path)


# ---------- in the browser ----------

@pytest.mark.browser
def test_without_javascript_every_page_reads(browser, built_site, site_url):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    for p in site_pages(built_site):
        page.goto(page_url(built_site, site_url, p))
        assert len(page.inner_text("article")) > 200, p
        for svg in page.locator(".gc-demo .gc-static svg").all():
            assert svg.is_visible(), p
            assert svg.bounding_box()["height"] > 50, p
        for dd in page.locator(".gc-demo [data-result]").all():
            assert dd.inner_text().strip() not in ("", "—"), p
        html = p.read_text(encoding="utf-8")
        assert page.locator("math").count() == html.count("<math "), p
    ctx.close()


@pytest.mark.browser
def test_opened_from_disk_pages_read_and_say_how_to_go_live(page, built_site):
    page.goto((built_site / "index.html").as_uri())
    page.wait_for_selector(".gc-demo[data-state=error]", timeout=30_000)
    status = page.text_content(".gc-demo .gc-status")
    assert "http.server" in status
    assert page.is_visible(".gc-demo .gc-static svg")
    assert page.locator("article math").count() > 0


# Every Content-Security-Policy violation of a page, as "<directive> <blocked URI>".
CSP_LISTENER = """window.__csp = [];
    document.addEventListener('securitypolicyviolation',
        e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


# What a page runs: its module scripts and whether it has code cells.
PAGE_KIND = """() => JSON.stringify([[...document.querySelectorAll('script[type=module][src]')]
    .map(s => new URL(s.src).pathname.split('/').pop()).sort(), !!document.querySelector('.gc-cell')])"""
# The page's scripts have run: every demo is bound (demos.js) and every cell (cells.js).
BOUND = """() => document.readyState === 'complete'
    && [...document.querySelectorAll('.gc-demo')].every(d => d.gcDemo)
    && [...document.querySelectorAll('.gc-cell')].every(c => c.gcCell)"""


@pytest.mark.browser
def test_every_page_runs_under_its_meta_policy_and_stays_on_this_origin(browser, built_site):
    """Every page, a full load each: served without the header (as GitHub Pages serves it), so the
    meta tag is what is enforced; no request leaves 127.0.0.1 and the console shows no error.

    Every page carries the same tag (``test_every_page_carries_the_meta_policy_before_anything_it_governs``)
    and loads the same scripts, so what the page's own load can break (its inline scripts, its
    scripts binding the demos) is checked on every page, and Python running under the policy
    (the worker, WebAssembly, the wheel, painting) on each new kind of page: the first page, the
    first with a code cell (the editor is fetched after Python is ready), and any page whose
    scripts differ from those seen (``_kind``). Waiting for Python on every page would boot it
    once per page, for the same code under the same policy."""
    server, base = start(built_site)
    ctx = browser.new_context()
    ctx.add_init_script(CSP_LISTENER)
    page = ctx.new_page()
    origin = urlparse(base).netloc
    foreign = []
    page.on("request", lambda r: foreign.append(r.url)
            if urlparse(r.url).scheme in ("http", "https") and urlparse(r.url).netloc != origin else None)
    messages = []
    page.on("console", lambda m: messages.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: messages.append(f"{page.url}: {e}"))
    try:
        kinds = set()
        for i, p in enumerate(site_pages(built_site)):
            page.goto(page_url(built_site, base, p))   # a full load each time: each page's own tag
            kind = page.evaluate(PAGE_KIND)
            if kind not in kinds:
                kinds.add(kind)
                all_demos_ready(page)
                if page.locator(".gc-cell").count():        # the editor comes once Python is ready
                    page.wait_for_function("() => performance.getEntriesByType('resource')"
                                           ".some(r => r.name.endsWith('/editor.js'))", timeout=60_000)
            else:
                page.wait_for_function(BOUND)
            violations = page.evaluate("window.__csp")
            if i == 0:
                # The policy is in force: an injected inline script is refused, and reported.
                ran = page.evaluate("""() => { const s = document.createElement('script');
                    s.textContent = 'window.__injected = true'; document.head.append(s);
                    return window.__injected === true; }""")
                page.wait_for_function("window.__csp.length > 0")
                assert not ran and page.evaluate("window.__csp") == ["script-src-elem inline"]
                messages = [m for m in messages if "Content Security Policy" not in m]
                page.evaluate("window.__csp.length = 0")
            assert violations == [], p
    finally:
        ctx.close()
        server.shutdown()
    assert foreign == []
    assert messages == []


@pytest.mark.site
def test_every_page_carries_the_meta_policy_before_anything_it_governs(built_site):
    tag = meta_tag(policy(built_site, meta=True))
    assert all(d not in tag for d in HEADER_ONLY) and "frame-ancestors" in policy(built_site)
    pages = list(built_site.rglob("*.html"))
    assert len(pages) >= 18   # 17 pages and the 404 page
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.count("Content-Security-Policy") == 1, page
        head = text[: text.index("</head>")]
        before = head[: head.index(tag)]
        assert "<script" not in before and "<link" not in before and "<style" not in before, page


@pytest.mark.browser
def test_the_header_form_of_the_policy_has_no_violations(browser, built_site):
    """The header (``serve --csp``) also governs the Python worker, which the meta tag cannot."""
    server, base = start(built_site, headers={"Content-Security-Policy": policy(built_site)})
    ctx = browser.new_context()
    ctx.add_init_script(CSP_LISTENER)
    page = ctx.new_page()
    messages = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        for rel in ("", "simulator/", "learn/theory/", "monitor/training-monitor/"):
            page.goto(base + rel)
            all_demos_ready(page)
            assert page.evaluate("window.__csp") == [], rel
    finally:
        ctx.close()
        server.shutdown()
    assert messages == []

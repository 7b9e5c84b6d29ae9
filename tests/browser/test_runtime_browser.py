"""The runtime in a real browser: one Pyodide per visit, the real wheel, nothing off-site.

Headless Chromium loads the built site from 127.0.0.1. The home page's cliff demo is the
witness: its numbers, recomputed in the browser, must equal CPython gradclip's.
"""

from __future__ import annotations

import math
import re

import pytest

import gradclip
from support import canvas_ink, demo_ready, wait_idle

pytestmark = pytest.mark.browser

HOME = "#home-sim"


def results(page, selector: str) -> dict[str, str]:
    return page.eval_on_selector_all(
        f"{selector} [data-result]",
        "els => Object.fromEntries(els.map(e => [e.dataset.result, e.dataset.value]))")


def assert_matches_cpython(values: dict[str, str], **params) -> None:
    s = gradclip.simulate(**params).summary
    assert math.isclose(float(values["final_loss"]), s.final_loss, rel_tol=1e-9) or (
        not math.isfinite(s.final_loss))
    assert math.isclose(float(values["max_raw_norm"]), s.max_raw_norm, rel_tol=1e-9)
    assert int(values["clip_events"]) == s.clip_events
    assert values["diverged"] == ("true" if s.diverged else "false")
    assert values["verdict"] == s.verdict.code


def set_number(page, selector: str, param: str, value) -> None:
    field = page.locator(f"{selector} input[data-param={param}]")
    field.fill(str(value))
    field.dispatch_event("change")


def test_demo_runs_the_real_wheel_and_matches_cpython(page, site_url, console_errors):
    page.goto(site_url)
    demo_ready(page, HOME)
    wait_idle(page, HOME)
    assert canvas_ink(page, f"{HOME} [data-figure=contour] canvas") > 1000
    assert "gc-live" in page.get_attribute(f"{HOME} [data-figure=contour]", "class")
    assert_matches_cpython(results(page, HOME), landscape="cliff", method="norm", tau=1.0, lr=0.05, steps=200)

    before = results(page, HOME)
    set_number(page, HOME, "tau", 2.5)
    page.wait_for_function(
        "([sel, v]) => document.querySelector(sel + ' [data-result=max_raw_norm]') && "
        "document.querySelector(sel).gcDemo.output.params.tau === v", arg=[HOME, 2.5])
    wait_idle(page, HOME)
    after = results(page, HOME)
    assert after != before
    assert_matches_cpython(after, landscape="cliff", method="norm", tau=2.5, lr=0.05, steps=200)

    page.select_option(f"{HOME} select[data-param=method]", "none")
    page.wait_for_function("sel => document.querySelector(sel).gcDemo.output.params.method === 'none'", arg=HOME)
    wait_idle(page, HOME)
    none = results(page, HOME)
    assert none["diverged"] == "true"
    assert_matches_cpython(none, landscape="cliff", method="none", tau=2.5, lr=0.05, steps=200)
    assert console_errors == []


def test_second_page_reuses_the_runtime(page, site_url):
    """Instant navigation keeps the worker: pyodide.asm.wasm is fetched once per visit."""
    wasm = []
    page.on("request", lambda r: wasm.append(r.url) if r.url.endswith("pyodide.asm.wasm") else None)
    # Material's instant navigation takes over a click only once it has read the sitemap (the
    # addresses it may handle); a click before then is an ordinary full load.
    with page.expect_response(lambda r: r.url.endswith("/sitemap.xml")):
        page.goto(site_url)
    demo_ready(page, HOME)
    page.wait_for_load_state("networkidle")
    # A link in the text (Material's instant navigation rewrites hrefs to absolute URLs).
    page.locator(".md-content a", has_text="The Simulator").first.click()
    page.wait_for_url(re.compile(r"/simulator/$"))
    demo_ready(page, "#sim")   # the home page's demo is a simulator too
    assert len(wasm) == 1, wasm
    assert page.evaluate("globalThis.__gradclipRuntime.stage") == "ready"


def test_offline_after_first_load_keeps_working(page, context, site_url):
    page.goto(site_url)
    demo_ready(page, HOME)
    wait_idle(page, HOME)
    context.set_offline(True)
    set_number(page, HOME, "lr", 0.02)
    page.wait_for_function("sel => document.querySelector(sel).gcDemo.output.params.lr === 0.02", arg=HOME)
    wait_idle(page, HOME)
    assert_matches_cpython(results(page, HOME), landscape="cliff", method="norm", tau=1.0, lr=0.02, steps=200)


def test_a_failed_runtime_download_says_so_and_keeps_the_figure(page, site_url):
    page.route("**/pyodide.asm.wasm", lambda route: route.abort())
    page.goto(site_url)
    page.wait_for_selector(f"{HOME}[data-state=error]", timeout=60_000)
    status = page.text_content(f"{HOME} .gc-status")
    assert "could not start" in status
    assert page.is_visible(f"{HOME} [data-figure=contour] .gc-static svg")
    assert page.text_content(f"{HOME} [data-result=verdict]").strip() not in ("", "—")


def test_missing_runtime_files_are_reported_in_plain_words(page, site_url):
    page.route("**/pyodide.mjs", lambda route: route.fulfill(status=404, body="not here"))
    page.goto(site_url)
    page.wait_for_selector(f"{HOME}[data-state=error]", timeout=60_000)
    assert "runtime files are missing" in page.text_content(f"{HOME} .gc-status")


def test_svg_export_is_the_package_writers_vector_drawing(browser, site_url):
    """Under Pyodide the worker runs gradclip.figures.svg: the download holds paths, not pictures."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce",
                                  accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{site_url}simulator/")
        demo_ready(page, "#sim", timeout=120_000)
        wait_idle(page, "#sim")
        page.wait_for_selector("#sim [data-act=svg]")
        with page.expect_download() as svg:
            page.click("#sim [data-act=svg]")
        text = open(svg.value.path(), encoding="utf-8").read()
        assert text.startswith("<svg")
        # The only pictures are the landscape's shading (a raster item), never a whole canvas.
        images = re.findall(r"<image [^>]*>", text)
        assert images and all('class="gc-raster' in im for im in images)
        assert text.count("<path") > 10 and "gc-s-" in text and "<text" in text   # vector strokes, real text
        assert page.text_content("#sim .gc-sim-status") == "SVG downloaded."
    finally:
        context.close()

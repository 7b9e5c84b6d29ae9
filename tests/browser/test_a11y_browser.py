"""Accessibility in real Chromium: axe-core on every page in both themes, and the keyboard.

axe-core is the pinned npm release (``site_hooks/pins.py``), verified and put into each page by
Playwright (an init script, which no Content-Security-Policy blocks); nothing is fetched from
elsewhere. It runs once every demo of the page is live, so the checked state is the one a reader
meets, status lines and painted figures included. ``tests/harness/axe_counts.py`` prints the counts.
"""

from __future__ import annotations

import pytest

from support import (all_demos_ready, axe_source, axe_violations, demo_ready, instant_goto, page_url,
                     set_scheme, site_pages, wait_idle)

pytestmark = pytest.mark.browser

#: Rules allowed to fail, by rule id, each with the reason beside it. Empty: every rule passes at
#: every impact. An entry needs a comment saying why the finding is wrong or cannot be fixed here.
AXE_EXCEPTIONS: dict[str, str] = {}


@pytest.fixture
def axe_page(browser):
    ctx = browser.new_context()
    ctx.add_init_script(axe_source())
    yield ctx.new_page()
    ctx.close()


def test_axe_finds_nothing_on_any_page_in_either_theme(axe_page, built_site, site_url):
    page = axe_page
    # One visit, page to page by instant navigation as a reader clicks: Python starts once.
    with page.expect_response(lambda r: r.url.endswith("/sitemap.xml")):
        page.goto(site_url)
    problems, checked = [], 0
    for path in site_pages(built_site):
        instant_goto(page, page_url(built_site, site_url, path))
        all_demos_ready(page)
        # Both themes, the current one first: the toggle is then pressed once per page.
        current = page.get_attribute("body", "data-md-color-scheme")
        for scheme in sorted(("default", "slate"), key=lambda s: s != current):
            set_scheme(page, scheme)
            checked += 1
            for v in axe_violations(page):
                if v["id"] not in AXE_EXCEPTIONS:
                    where = path.parent.relative_to(built_site).as_posix() or "home"
                    problems.append(f"{where} ({scheme}): {v['id']} ({v['impact']}) {v['nodes'][:3]}")
    assert checked == 2 * len(site_pages(built_site)) >= 2 * 17
    assert problems == []


def test_axe_reports_what_it_should(axe_page, site_url):
    """The check above can fail: a grey-on-white line and two same-named forms are caught."""
    page = axe_page
    page.goto(site_url + "performance/")
    page.evaluate("""() => {
        const p = Object.assign(document.createElement('p'), { textContent: 'faint text' });
        p.style.color = '#bbb';
        const f = () => Object.assign(document.createElement('form'), { ariaLabel: 'same' });
        document.querySelector('article').append(p, f(), f()); }""")
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("color-contrast") == "serious" and found.get("landmark-unique") == "moderate"


# ---------- the keyboard ----------

FOCUSABLE = ("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea,"
             " [tabindex]:not([tabindex='-1'])")


def tab_through(page, scope: str, limit: int = 400) -> dict:
    """Press Tab from the top of the page until focus has passed every visible focusable element
    inside ``scope``; returns what each of them showed when it had focus (None: never reached)."""
    expected = page.eval_on_selector_all(f"{scope} :is({FOCUSABLE})", """els => els
        .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
        .map((e, i) => { e.dataset.gcTab = i; return i; })""")
    seen = {i: None for i in expected}
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const e = document.activeElement;
            if (!e || e.dataset.gcTab === undefined) return null;
            const s = getComputedStyle(e);
            return { i: +e.dataset.gcTab, what: e.tagName + ' ' + (e.getAttribute('aria-label') || e.textContent.trim()
                       || e.dataset.param || e.dataset.sliderFor || '').slice(0, 40),
                     outline: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor }; }""")
        if info is not None:
            seen[info["i"]] = info
            if all(seen.values()):
                break
    return seen


def contrast(rgb_a: str, rgb_b: str) -> float:
    """WCAG contrast ratio of two computed colours (``rgb(r, g, b)`` or ``rgba(…)``)."""
    def lum(css: str) -> float:
        r, g, b = (int(float(v)) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(rgb_a), lum(rgb_b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_tab_reaches_every_control_of_the_simulator_with_a_visible_focus_ring(page, site_url, scheme):
    page.goto(site_url + "simulator/")
    for demo_id in all_demos_ready(page):
        wait_idle(page, f"#{demo_id}")
    page.wait_for_selector("#sim .gc-sim-preset")
    set_scheme(page, scheme)
    background = page.eval_on_selector("#sim", "e => getComputedStyle(e).backgroundColor")
    seen = tab_through(page, ".gc-demo")
    missed = [i for i, info in seen.items() if info is None]
    assert not missed, page.eval_on_selector_all("[data-gc-tab]", "(els, m) => els.filter(e => m.includes(+e.dataset.gcTab))"
                                                 ".map(e => e.outerHTML.slice(0, 120))", missed)
    kinds = " ".join(info["what"] for info in seen.values())
    # Presets, sliders, number fields, selects, the checkbox and the figures' canvases are all there.
    for needed in ("BUTTON", "INPUT", "SELECT", "CANVAS"):
        assert needed in kinds
    for info in seen.values():
        assert info["outline"] != "none" and info["width"] >= 2, info
        # WCAG 1.4.11: a focus indicator needs 3:1 against what it sits on.
        assert contrast(info["color"], background) >= 3, (info, background)


def test_keys_alone_operate_a_preset_a_slider_a_figure_handle_and_a_phase_cell(page, site_url):
    page.goto(site_url + "simulator/")
    demo_ready(page, "#sim")
    demo_ready(page, "#sim-phase")
    params = lambda sel="#sim": page.evaluate("s => ({...document.querySelector(s).gcDemo.params})", sel)  # noqa: E731

    def press(target: str, key: str, param: str) -> None:
        """Focus ``target``, press ``key``: the parameter grows, and the run it starts finishes."""
        before = params()[param]
        page.locator(target).focus()
        page.keyboard.press(key)
        page.wait_for_function("([p, v]) => document.querySelector('#sim').gcDemo.params[p] > v", arg=[param, before])
        wait_idle(page, "#sim")

    # A preset: focus it and press Enter.
    preset = page.locator("#sim .gc-sim-preset").nth(1)
    preset.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'", arg=preset.element_handle())
    wait_idle(page, "#sim")
    press("#sim input[data-slider-for=lr]", "ArrowRight", "lr")    # a slider moves one step
    press("#sim [data-figure=contour] canvas", "ArrowUp", "py")     # the start-point handle moves up
    # The phase map: arrows pick a cell, Enter sets its threshold and learning rate.
    before = params("#sim-phase")
    phase = page.locator("#sim-phase [data-figure] canvas").first
    phase.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.wait_for_function("""b => { const p = document.querySelector('#sim-phase').gcDemo.params;
        return p.tau !== b.tau || p.lr !== b.lr; }""", arg=before)


def test_keyboard_alone_operates_a_demo(page, site_url):
    """Tab to the method selector, change it with the keyboard, and the results follow."""
    page.goto(site_url)
    demo_ready(page, "#home-sim")
    select = page.locator("#home-sim select[data-param=method]")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.dataset.param") == "method":
            break
    else:
        pytest.fail("the method control is not reachable with Tab")
    focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus != "none"
    before = page.get_attribute("#home-sim [data-result=diverged]", "data-value")
    page.keyboard.press("ArrowUp")   # from "norm" to the option above it, "none"
    page.wait_for_function("() => document.querySelector('#home-sim').gcDemo.output.params.method === 'none'")
    wait_idle(page, "#home-sim")
    assert select.input_value() == "none"
    assert page.get_attribute("#home-sim [data-result=diverged]", "data-value") != before

"""The site on a phone: 360 CSS px wide, touch, overlay scrollbars (Chromium's mobile emulation).

On every page, once its demos are live: nothing sticks out of the screen sideways unless it sits
in a scroll container that fits the screen and shows that it scrolls; every control is a touch
target of at least 24 × 24 CSS px (WCAG 2.2, 2.5.8); axe-core finds nothing (sideways scrollers,
which must take focus, exist only at this width). The home, simulator, training-monitor and
norm-log-analyser pages are saved as full-page screenshots in the test's temporary folder (the
paths are printed; run with ``-s`` and ``--basetemp`` to keep them somewhere known).
"""

from __future__ import annotations

import pytest

from support import all_demos_ready, axe_source, axe_violations, instant_goto, page_url, site_pages, wait_idle

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
#: The pages saved as screenshots (name -> address below the site's root).
PAGES = {"home": "", "simulator": "simulator/", "monitor": "monitor/training-monitor/",
         "analyser": "monitor/norm-log-analyser/"}
MIN_TARGET = 24

# Elements whose box crosses the screen's left or right edge and are not inside a scroll
# container that fits the screen. Overlays the theme keeps off-screen while closed (the
# navigation drawer, the search options) are fixed-position layers and are skipped with
# everything in them.
OVERFLOWING = """() => {
  const W = document.documentElement.clientWidth, out = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  if (document.documentElement.scrollWidth > W) out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (!r.width || (r.left >= -0.5 && r.right <= W + 0.5)) continue;
    if (getComputedStyle(e).visibility !== 'visible') continue;
    let fixed = false;
    for (let a = e; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).position === 'fixed') { fixed = true; break; }
    if (fixed) continue;
    // The nearest ancestor that clips or scrolls and fits the screen decides: a scroller holds
    // the element, a clipping box cuts it off. One that is too wide itself is looked past.
    let held = false;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX, ar = a.getBoundingClientRect();
      if (ox === 'visible' || ar.left < -0.5 || ar.right > W + 0.5) continue;
      held = ox === 'auto' || ox === 'scroll';
      break;
    }
    if (!held) out.push(name(e) + ' [' + Math.round(r.left) + ', ' + Math.round(r.right) + ']');
  }
  return out; }"""

# Horizontal scroll containers with something to scroll to but no sign of it: no scrollbar
# taking room (phones overlay theirs, hidden until a swipe) and no gradient cue at an edge.
SILENT_SCROLLERS = """() => {
  const out = [];
  for (const e of document.querySelector('.md-content').querySelectorAll('*')) {
    const cs = getComputedStyle(e);
    if (!['auto', 'scroll'].includes(cs.overflowX) || e.scrollWidth <= e.clientWidth + 1) continue;
    if (!e.getClientRects().length || cs.visibility !== 'visible') continue;
    const bar = e.offsetHeight - e.clientHeight - parseFloat(cs.borderTopWidth) - parseFloat(cs.borderBottomWidth);
    if (bar > 0 || cs.backgroundImage.includes('gradient')) continue;
    out.push(e.tagName.toLowerCase() + '.' + String(e.className).trim().replace(/\\s+/g, '.') +
             ' scrolls ' + (e.scrollWidth - e.clientWidth) + ' px');
  }
  return out; }"""

# Controls in the page's content smaller than the minimum, measured with their label where a
# tap on the label operates them (check boxes, radio buttons).
SMALL_TARGETS = """min => {
  const out = [];
  const sel = 'button, input:not([type=hidden]), select, textarea, summary, canvas[tabindex="0"], a.md-button';
  for (const e of document.querySelector('.md-content').querySelectorAll(sel)) {
    if (!e.getClientRects().length || getComputedStyle(e).visibility !== 'visible') continue;
    let r = e.getBoundingClientRect();
    const label = ['checkbox', 'radio'].includes(e.type) && (e.closest('label') || (e.labels || [])[0]);
    if (label) {
      const l = label.getBoundingClientRect();
      r = { width: Math.max(r.right, l.right) - Math.min(r.left, l.left),
            height: Math.max(r.bottom, l.bottom) - Math.min(r.top, l.top) };
    }
    if (r.width < min - 0.01 || r.height < min - 0.01)
      out.push(`${e.tagName.toLowerCase()}[${e.type || ''}] ${e.getAttribute('aria-label') || e.dataset.param
               || e.textContent.trim().slice(0, 30) || e.className}: ${r.width.toFixed(1)} x ${r.height.toFixed(1)}`);
  }
  return out; }"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("phone-screenshots")


def test_every_page_fits_a_phone_and_its_controls_are_big_enough_to_tap(browser, built_site, site_url, shots):
    ctx = browser.new_context(**PHONE)
    ctx.add_init_script(axe_source())   # axe at phone width too: scrollers appear only here
    page = ctx.new_page()
    problems, saved = [], []
    try:
        # One visit, page to page as a reader taps through the site: Python starts once.
        with page.expect_response(lambda r: r.url.endswith("/sitemap.xml")):
            page.goto(site_url)
        for path in site_pages(built_site):
            rel = page_url(built_site, "", path)
            instant_goto(page, site_url + rel)
            for demo_id in all_demos_ready(page):   # the live toolbar and canvases are what is measured
                wait_idle(page, f"#{demo_id}")
            names = [name for name, where in PAGES.items() if where == rel]
            if names:
                page.evaluate("window.scrollTo(0, 0)")
                saved.append(shots / f"{names[0]}-360.png")
                page.screenshot(path=str(saved[-1]), full_page=True)
                print(f"screenshot: {saved[-1]}")
            axe = [f"{v['id']} ({v['impact']}) {v['nodes'][:3]}" for v in axe_violations(page)]
            for kind, found in (("sticks out", page.evaluate(OVERFLOWING)),
                                ("scrolls without a cue", page.evaluate(SILENT_SCROLLERS)),
                                ("too small to tap", page.evaluate(SMALL_TARGETS, MIN_TARGET)),
                                ("axe-core", axe)):
                problems += [f"{rel or 'home'}: {kind}: {f}" for f in found]
    finally:
        ctx.close()
    assert len(saved) == len(PAGES)
    assert problems == []


def test_the_checks_catch_what_they_are_for(browser, site_url):
    """A wide box, a silent scroller and a small button, added to a page, are each reported."""
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    try:
        page.goto(site_url + "performance/")
        page.evaluate("""() => {
            const art = document.querySelector('article');
            const wide = Object.assign(document.createElement('div'), { id: 'gc-wide' });
            wide.style.width = '600px'; wide.style.height = '10px';
            const box = Object.assign(document.createElement('div'), { id: 'gc-scroller' });
            box.style.overflowX = 'auto'; box.append(Object.assign(document.createElement('div'), { textContent: 'x'.repeat(300) }));
            box.firstChild.style.width = '900px';
            const small = Object.assign(document.createElement('button'), { textContent: 'x' });
            small.style.cssText = 'width: 16px; height: 16px; padding: 0';
            art.append(wide, box, small); }""")
        assert any("div#gc-wide" in o for o in page.evaluate(OVERFLOWING))
        assert any("div." in s and "scrolls" in s for s in page.evaluate(SILENT_SCROLLERS))
        assert any(s.startswith("button[submit] x: 16.0 x 16.0") for s in page.evaluate(SMALL_TARGETS, MIN_TARGET))
    finally:
        ctx.close()

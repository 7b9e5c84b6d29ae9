"""docs/javascripts/paint.js in real headless Chromium: drawing, interaction, and agreement with svg.py.

The harness page (tests/harness/paint.html) is served from the repository root by a local
http.server, so the test needs no site build. Browser launch arguments come from tests/conftest.py.
"""

from __future__ import annotations

import base64
import functools
import http.server
import random
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from gradclip.figures.axes import ticks
from gradclip.figures.png import colormap_rgba
from gradclip.figures.style import CMAPS
from gradclip.figures.svg import figure_to_svg

pytestmark = pytest.mark.browser

from harness import sample_figures as samples   # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[2]   # the repository


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):   # keep test output clean
        pass


@pytest.fixture(scope="module")
def harness_url():
    handler = functools.partial(_Quiet, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/tests/harness/paint.html"
    server.shutdown()
    server.server_close()


def open_harness(page, url):
    page.goto(url)
    page.wait_for_function("window.harnessReady === true")
    return page


@pytest.fixture
def harness(page, harness_url, console_errors):
    yield open_harness(page, harness_url)
    assert console_errors == []


def mount(page, fig_id, fig, width=480):
    page.evaluate("([id, f, w]) => gcHarness.mount(id, f, {width: w})", [fig_id, fig, width])


def client_point(page, fig_id, x, y):
    """Viewport coordinates of data point (x, y) on a mounted figure."""
    return page.evaluate("""([id, x, y]) => {
        const c = document.querySelector(`#${id} canvas`);
        const g = gcHarness.controllers[id].layout;
        const r = c.getBoundingClientRect();
        const s = r.width / g.width;
        return [r.left + g.px(x) * s, r.top + g.py(y) * s]; }""", [fig_id, x, y])


def events(page, kind):
    return [e["value"] for e in page.evaluate("() => gcHarness.events") if e["type"] == kind]


def next_frames(page, n=2):
    page.evaluate("""n => new Promise(res => { const step = k => k ? requestAnimationFrame(() => step(k - 1)) : res();
                                                step(n); })""", n)


def as_array(packed) -> np.ndarray:
    """[width, height, base64 RGBA] from the harness -> an (h, w, 4) uint8 array."""
    w, h, data = packed
    return np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(h, w, 4)


def image(page, fig_id):
    """A mounted figure's canvas pixels as an (h, w, 4) array."""
    return as_array(page.evaluate("id => gcHarness.image(id)", fig_id))


# ---------------------------------------------------------------------------------------------
# one algorithm in two languages
# ---------------------------------------------------------------------------------------------

def tick_cases():
    fixed = [[0, 1, False, 5], [-3, 7, False, 4], [0.001, 0.0013, False, 5], [1e-5, 10, True, 5],
             [0.01, 100, True, 5], [2, 50, True, 5], [1, 3, True, 5], [1e-30, 1e30, True, 6],
             [0, 2e6, False, 6], [0, 3e-5, False, 5], [-1e-3, 1e-3, False, 5], [1, 7, False, 2],
             [1.0, 1.0 + 1e-12, False, 5], [1e300, 1.7e308, False, 5], [0, 500, False, 6],
             [-3, 3, False, 6], [1e-4, 1e2, True, 5], [2, 2, False, 5], [0, 1, True, 5]]
    rng = random.Random(7)
    for _ in range(400):
        lo = rng.uniform(-1, 1) * 10 ** rng.uniform(-12, 12)
        hi = lo + rng.random() * 10 ** rng.uniform(-12, 12)
        fixed.append([lo, hi, rng.random() < 0.4 and lo > 0, rng.randint(1, 20)])
    return fixed


def test_js_ticks_equal_python_ticks(harness):
    cases = tick_cases()
    js = harness.evaluate("""cases => cases.map(([lo, hi, log, n]) => {
        try { return gcPaint.ticks(lo, hi, log, n); } catch (e) { return {error: e.message}; } })""", cases)
    for (lo, hi, log, n), got in zip(cases, js):
        try:
            t = ticks(lo, hi, log=log, n=n)
        except ValueError as exc:
            assert "error" in got and str(exc).split(",")[0] == got["error"].split(",")[0], (lo, hi, log, n)
            continue
        assert got == {"values": list(t.values), "labels": list(t.labels)}, (lo, hi, log, n)


def test_js_colour_maps_equal_python_colour_maps(harness):
    assert harness.evaluate("() => gcPaint.CMAPS") == {
        k: {"kind": v["kind"], "stops": [list(s) for s in v["stops"]]} for k, v in CMAPS.items()}
    values = np.linspace(0, 1, 35).reshape(5, 7).tolist()
    values[1][2] = None
    for cmap in CMAPS:
        js = harness.evaluate("([v, c]) => Array.from(gcPaint.rasterRGBA(v, c).data)", [values, cmap])
        expected = colormap_rgba(values, cmap)[::-1]          # row 0 of the data is the bottom row
        assert np.array_equal(np.array(js, np.uint8).reshape(5, 7, 4), expected), cmap


def test_the_svg_png_decodes_in_the_browser_to_the_colour_map(harness):
    item = samples.ONE_OF_EACH["raster"]
    svg = figure_to_svg({"x_range": [0, 10], "y_range": [0, 10], "items": [item]}, id_prefix="p")
    uri = re.search(r'href="(data:image/png;base64,[^"]+)"', svg).group(1)
    px = harness.evaluate("""async uri => { const img = new Image(); img.src = uri; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        return Array.from(ctx.getImageData(0, 0, c.width, c.height).data); }""", uri)
    expected = colormap_rgba(item["values"], "loss")[::-1]
    assert np.array_equal(np.array(px, np.uint8).reshape(expected.shape), expected)


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", sorted(samples.ONE_OF_EACH))
def test_every_item_type_puts_ink_on_the_canvas(harness, t):
    base = {"x_range": [0, 10], "y_range": [0, 10], "width": 400, "height": 300, "items": []}
    with_item = {**base, "items": [samples.ONE_OF_EACH[t]]}
    empty, full = (as_array(p) for p in harness.evaluate(
        "([a, b]) => [gcHarness.pixels(a), gcHarness.pixels(b)]", [base, with_item]))
    diff = np.abs(full.astype(int) - empty.astype(int)).reshape(-1, 4).sum(axis=1)
    assert (diff > 60).sum() > 15, f"{t} left no visible mark"


def test_realistic_figures_paint_and_replace_the_static_svg_without_a_jump(harness):
    fig = samples.contour_figure()
    harness.evaluate("([s]) => gcHarness.showSvg('pre', s)", [figure_to_svg(fig, id_prefix="pre")])
    svg_h = harness.evaluate("() => document.querySelector('#pre svg').getBoundingClientRect().height")
    harness.evaluate("""f => { const fe = document.querySelector('#pre');
        fe.querySelector('.gc-static').insertAdjacentHTML('afterend', '<canvas hidden></canvas>');
        gcHarness.controllers.pre = gcPaint.mountFigure(fe.querySelector('canvas'), f); }""", fig)
    state = harness.evaluate("""() => { const fe = document.querySelector('#pre');
        const c = fe.querySelector('canvas');
        return {live: fe.classList.contains('gc-live'), hidden: c.hidden,
                staticShown: getComputedStyle(fe.querySelector('.gc-static')).display !== 'none',
                h: c.getBoundingClientRect().height}; }""")
    assert state["live"] and not state["hidden"] and not state["staticShown"]
    assert abs(state["h"] - svg_h) <= 1.0
    img = image(harness, "pre")
    assert (img[..., 3] > 0).mean() > 0.3          # the raster and lines cover much of it


def test_device_pixel_ratio_two_gives_a_backing_store_twice_the_css_size(browser, harness_url):
    context = browser.new_context(device_scale_factor=2)
    page = open_harness(context.new_page(), harness_url)
    mount(page, "hi", samples.loss_figure())
    css_w, css_h, w, h = page.evaluate("""() => { const c = document.querySelector('#hi canvas');
        const r = c.getBoundingClientRect(); return [r.width, r.height, c.width, c.height]; }""")
    context.close()
    assert w == round(2 * css_w) and abs(h - 2 * css_h) <= 2


def test_canvas_follows_its_container_width(harness):
    mount(harness, "rs", samples.loss_figure())
    assert harness.evaluate("() => document.querySelector('#rs canvas').width") == 480
    wide = harness.evaluate("() => { const g = gcHarness.controllers.rs.layout;"
                            " return {height: g.height, ph: g.ph, ticks: g.xTicks.values.length}; }")
    assert wide["height"] == 300
    harness.evaluate("() => { document.querySelector('#rs').parentElement.style.width = '300px'; }")
    harness.wait_for_function("() => document.querySelector('#rs canvas').width === 300")
    # Narrower than the figure: laid out again at 300 px (text keeps its size, fewer ticks).
    # The plot area shrinks in proportion; title, legend and tick labels keep their pixels.
    g = harness.evaluate("() => { const g = gcHarness.controllers.rs.layout;"
                         " return {width: g.width, height: g.height, ph: g.ph, ticks: g.xTicks.values.length}; }")
    assert g["width"] == 300 and g["ticks"] < wide["ticks"]
    assert g["ph"] == pytest.approx(wide["ph"] * 300 / 480, abs=0.5)
    assert round(300 * 300 / 480) <= g["height"] < 300
    h = harness.evaluate("() => document.querySelector('#rs canvas').height")
    assert h == round(g["height"])            # the canvas takes the new layout's aspect ratio


def test_theme_switch_repaints_with_the_dark_palette(harness):
    mount(harness, "th", samples.loss_figure())
    dark_fg = np.array([0xE3, 0xE5, 0xE8])

    def dark_fg_pixels():
        img = image(harness, "th")
        near = np.abs(img[..., :3].astype(int) - dark_fg).sum(axis=-1) < 12
        return int((near & (img[..., 3] > 200)).sum())

    assert dark_fg_pixels() == 0
    harness.evaluate("() => document.body.setAttribute('data-md-color-scheme', 'slate')")
    next_frames(harness)
    assert dark_fg_pixels() > 20            # title and labels now in the dark theme's text colour


# ---------------------------------------------------------------------------------------------
# interaction
# ---------------------------------------------------------------------------------------------

def test_hover_shows_a_readout_of_the_nearest_point_with_three_significant_digits(harness):
    fig = samples.loss_figure()
    mount(harness, "hv", fig)
    x, y = client_point(harness, "hv", 200, 1e-2)
    harness.mouse.move(x, y)
    tip = harness.locator("#hv .gc-tooltip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    step = int(re.search(r"step = (\d+)", text).group(1))
    assert abs(step - 200) <= 1
    loss = fig["items"][1]["y"][step]
    shown = re.search(r"loss = ([0-9.e+−-]+)", text).group(1)
    assert float(shown.replace("−", "-")) == pytest.approx(loss, rel=5e-3)
    assert len(re.sub(r"[^0-9]", "", shown.split("e")[0]).lstrip("0")) <= 3
    assert "norm = " in text
    hover = events(harness, "hover")
    assert hover[-1]["index"] == step
    harness.mouse.move(2, 2)                 # leaving the canvas clears the read-out
    tip.wait_for(state="hidden")
    assert events(harness, "hover")[-1] is None


def test_dragging_the_handle_sets_its_parameters_in_data_coordinates(harness):
    fig = samples.contour_figure()
    handle = next(it for it in fig["items"] if it["t"] == "handle")
    mount(harness, "dr", fig)
    harness.mouse.move(*client_point(harness, "dr", handle["x"], handle["y"]))
    harness.mouse.down()
    target = client_point(harness, "dr", 1.0, -0.5)
    harness.mouse.move(*target, steps=8)
    harness.mouse.up()
    next_frames(harness)
    last = events(harness, "param")[-1]
    assert set(last) == {"x0", "y0"}
    assert last["x0"] == pytest.approx(1.0, abs=0.03) and last["y0"] == pytest.approx(-0.5, abs=0.03)


def test_handle_updates_are_coalesced_to_one_call_per_frame(harness):
    fig = samples.contour_figure()
    handle = next(it for it in fig["items"] if it["t"] == "handle")
    mount(harness, "co", fig)
    x0, y0 = client_point(harness, "co", handle["x"], handle["y"])
    calls = harness.evaluate("""async ([x, y]) => {
        const c = document.querySelector('#co canvas');
        const opts = (dx) => ({clientX: x + dx, clientY: y, pointerId: 1, bubbles: true, button: 0});
        const before = gcHarness.events.length;
        c.dispatchEvent(new PointerEvent('pointerdown', opts(0)));
        for (let i = 1; i <= 20; i++) c.dispatchEvent(new PointerEvent('pointermove', opts(i * 5)));
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        c.dispatchEvent(new PointerEvent('pointerup', opts(100)));
        return gcHarness.events.slice(before).filter(e => e.type === 'param').map(e => e.value); }""", [x0, y0])
    assert len(calls) == 1                     # 21 moves within one frame: one call, the last position
    last_x = harness.evaluate("([id, px]) => { const g = gcHarness.controllers[id].layout;"
                              " const r = document.querySelector(`#${id} canvas`).getBoundingClientRect();"
                              " return g.dx((px - r.left) * g.width / r.width); }", ["co", x0 + 100])
    assert calls[0]["x0"] == pytest.approx(last_x, abs=0.01)


def test_arrow_keys_move_the_handle_by_one_percent_of_the_view(harness):
    fig = samples.contour_figure()
    handle = next(it for it in fig["items"] if it["t"] == "handle")
    mount(harness, "kb", fig)
    canvas = harness.locator("#kb canvas")
    assert canvas.get_attribute("tabindex") == "0"
    canvas.focus()
    harness.keyboard.press("ArrowRight")
    next_frames(harness)
    p = events(harness, "param")[-1]
    assert p["x0"] == pytest.approx(handle["x"] + 0.06, abs=0.002)   # view is 6 wide
    assert p["y0"] == pytest.approx(handle["y"], abs=0.002)
    harness.keyboard.press("ArrowUp")
    next_frames(harness)
    assert events(harness, "param")[-1]["y0"] == pytest.approx(handle["y"] + 0.04, abs=0.002)  # 4 tall


def test_clicking_a_rect_sets_the_parameters_it_carries(harness):
    fig = samples.every_item_figure()
    mount(harness, "rc", fig)
    harness.mouse.click(*client_point(harness, "rc", 8.5, 1.0))      # the second rect: tau = 2
    assert events(harness, "param")[-1] == {"tau": 2.0}
    harness.mouse.click(*client_point(harness, "rc", 6.5, 1.0))
    assert events(harness, "param")[-1] == {"tau": 0.5}


def test_arrow_keys_pick_a_rect_and_enter_sets_its_parameters(harness):
    """The keyboard's click on a rect (a phase map's cell): arrows pick a neighbour, Enter sets it."""
    from gradclip.figures.display import Figure

    fig = Figure(x_range=(0, 3), y_range=(0, 3), alt="a 3 x 3 grid")
    cells = [(i, j) for j in range(3) for i in range(3)]             # column i, row j (row 0 at the bottom)
    fig.rects([i for i, _ in cells], [i + 1 for i, _ in cells], [j for _, j in cells], [j + 1 for _, j in cells],
              set_params=[{"col": i, "row": j} for i, j in cells])
    mount(harness, "grid", fig.to_dict())
    canvas = harness.locator("#grid canvas")
    assert canvas.get_attribute("tabindex") == "0"
    canvas.focus()
    harness.keyboard.press("Enter")                 # nothing picked yet: nothing is set
    harness.keyboard.press("ArrowRight")            # the first step picks the middle cell
    harness.keyboard.press("Enter")
    assert events(harness, "param")[-1] == {"col": 1, "row": 1}
    for key, want in [("ArrowRight", (2, 1)), ("ArrowRight", (2, 1)),   # the edge: it stays
                      ("ArrowUp", (2, 2)), ("ArrowLeft", (1, 2)), ("ArrowDown", (1, 1)), ("ArrowDown", (1, 0))]:
        harness.keyboard.press(key)
        harness.keyboard.press("Enter")
        assert events(harness, "param")[-1] == {"col": want[0], "row": want[1]}, key
    assert len(events(harness, "param")) == 7


def test_set_marker_draws_a_dot_and_leaves_the_static_layer_untouched(harness):
    fig = samples.loss_figure()
    mount(harness, "mk", fig)
    before = image(harness, "mk")
    harness.evaluate("() => gcHarness.controllers.mk.setMarker(60)")
    with_marker = image(harness, "mk")
    x, y = client_point(harness, "mk", 60, fig["items"][1]["y"][60])
    r = harness.evaluate("() => document.querySelector('#mk canvas').getBoundingClientRect()")
    cx, cy = int(x - r["x"]), int(y - r["y"])
    changed = np.abs(with_marker.astype(int) - before.astype(int)).sum(axis=-1) > 30
    assert changed.sum() > 20
    assert changed[cy - 6:cy + 7, cx - 6:cx + 7].any()          # ... around the point itself
    harness.evaluate("() => gcHarness.controllers.mk.setMarker(null)")
    assert np.array_equal(image(harness, "mk"), before)


def test_update_replaces_the_figure_and_destroy_removes_listeners(harness):
    mount(harness, "up", samples.loss_figure())
    before = image(harness, "up")
    harness.evaluate("f => gcHarness.controllers.up.update(f)", samples.every_item_figure())
    assert not np.array_equal(image(harness, "up"), before)
    harness.evaluate("() => gcHarness.controllers.up.destroy()")
    harness.mouse.click(*client_point(harness, "up", 8.5, 1.0))
    assert events(harness, "param") == []

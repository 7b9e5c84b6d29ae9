"""SVG of display lists (gradclip/figures/svg.py): what every static figure on the site is made of."""

from __future__ import annotations

import math
import re
import struct
import zlib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gradclip.figures.axes import layout, ticks
from gradclip.figures.png import colormap_rgba, png_rgba
from gradclip.figures.style import CMAPS, COLOR_NAMES, THEMES
from gradclip.figures.svg import _escape, figure_svg, figure_to_svg

from harness import sample_figures as samples   # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[2]   # the repository
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def base(**extra) -> dict:
    fig = {"x_range": [0, 10], "y_range": [0, 10], "width": 400, "height": 300, "alt": "test", "items": []}
    fig.update(extra)
    return fig


def path_numbers(root: ET.Element) -> list[float]:
    nums = []
    for p in root.iter(f"{SVG}path"):
        nums += [float(s) for s in re.findall(r"-?\d*\.?\d+", p.get("d", ""))]
    return nums


# ---------------------------------------------------------------------------------------------
# ticks
# ---------------------------------------------------------------------------------------------

def test_linear_ticks_step_by_one_two_or_five_times_a_power_of_ten():
    assert ticks(0, 1).values == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert ticks(0, 10).labels == ("0", "2", "4", "6", "8", "10")
    assert ticks(3, 3.5).labels == ("3.0", "3.1", "3.2", "3.3", "3.4", "3.5")


def test_tick_values_are_exact_decimals_not_accumulated_floats():
    values = ticks(0, 1, n=10).values
    assert 0.3 in values and 0.7 in values          # 3 * 0.1 would be 0.30000000000000004
    assert ticks(0, 1, n=10).labels[3] == "0.3"


def test_negative_labels_use_a_real_minus_sign_and_zero_is_plain():
    t = ticks(-3, 7, n=4)
    assert t.labels[0] == "−2" and "0" in t.labels
    assert ticks(-1e-3, 1e-3).labels[2] == "0"


def test_log_ticks_are_decades_with_superscript_labels_when_numbers_would_be_long():
    t = ticks(1e-5, 10, log=True)
    assert t.values == (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    assert t.labels[:3] == ("10⁻⁵", "10⁻⁴", "10⁻³")


def test_log_ticks_over_a_modest_range_read_as_plain_numbers():
    assert ticks(0.01, 100, log=True).labels == ("0.01", "0.1", "1", "10", "100")


def test_log_ticks_within_one_decade_use_one_two_five():
    assert ticks(2, 50, log=True).values == (2.0, 5.0, 10.0, 20.0, 50.0)


def test_many_decades_are_thinned_to_every_kth():
    t = ticks(1e-30, 1e30, log=True)
    exps = [round(math.log10(v)) for v in t.values]
    assert len(t.values) <= 10 and len(set(np.diff(exps))) == 1


def test_large_and_tiny_linear_ranges_switch_to_powers_of_ten():
    assert ticks(0, 2e6).labels == ("0", "5×10⁵", "10⁶", "1.5×10⁶", "2×10⁶")
    assert ticks(0, 3e-5).labels[1] == "5×10⁻⁶"


def test_a_range_too_narrow_for_its_magnitude_gets_one_readable_tick():
    t = ticks(1.0, 1.0 + 1e-12)
    assert t.values == (1.0,) and t.labels == ("1.00000",)


@pytest.mark.parametrize("args, name", [
    ((float("nan"), 1), "lo"), ((0, float("inf")), "hi"), ((0, 1, True), "lo"),
    ((2, 2), "lo and hi"), ((-1e308, 1.7e308), "lo and hi"),
])
def test_ticks_reject_bad_ranges_naming_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        ticks(*args)


def test_ticks_reject_a_silly_count():
    with pytest.raises(ValueError, match="n must be an integer from 1 to 20"):
        ticks(0, 1, n=0)


@settings(max_examples=300, deadline=None)
@given(lo=st.floats(-1e12, 1e12), width=st.floats(1e-6, 1e12), n=st.integers(2, 10))
def test_linear_ticks_are_few_ordered_evenly_spaced_and_inside_the_range(lo, width, n):
    hi = lo + width
    if not hi - lo > max(abs(lo), abs(hi)) * 1e-9:
        return   # the narrow-range case has its own test
    t = ticks(lo, hi, n=n)
    v = np.array(t.values)
    span = hi - lo
    assert 2 <= len(v) <= 2 * n + 2
    assert np.all(v >= lo - 1e-6 * span) and np.all(v <= hi + 1e-6 * span)
    steps = np.diff(v)
    assert np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9 * max(abs(lo), abs(hi)))
    mant = steps[0] / 10 ** math.floor(math.log10(steps[0]) + 1e-12)
    # A step read back from two tick values near lo carries their rounding (a few ulps of lo),
    # which is large beside a tiny step: lo=256.5, step 1e-7 puts the mantissa 3e-6 off.
    rounding = 8 * np.spacing(max(abs(lo), abs(hi))) / steps[0]
    assert min(abs(mant - m) for m in (1, 2, 5, 10)) < max(1e-6, rounding)
    assert len(set(t.labels)) == len(t.labels)      # no two ticks read the same


@settings(max_examples=200, deadline=None)
@given(e0=st.floats(-30, 30), decades=st.floats(0.05, 40))
def test_log_ticks_lie_inside_the_range(e0, decades):
    lo, hi = 10.0 ** e0, 10.0 ** (e0 + decades)
    v = ticks(lo, hi, log=True).values
    assert len(v) >= 1 and list(v) == sorted(v)
    assert all(lo * (1 - 1e-6) <= x <= hi * (1 + 1e-6) for x in v)


# ---------------------------------------------------------------------------------------------
# the SVG element
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", ["contour_figure", "loss_figure", "every_item_figure"])
def test_realistic_figures_are_valid_svg_with_a_viewbox_and_text_alternative(make):
    fig = getattr(samples, make)()
    root = parse(figure_to_svg(fig, id_prefix="demo-fig"))
    assert root.tag == f"{SVG}svg"
    x, y, w, h = map(float, root.get("viewBox").split())
    assert (x, y, w) == (0, 0, fig["width"]) and 60 <= h <= fig["height"]
    assert root.get("width") == "100%" and root.get("role") == "img"
    assert root.get("aria-label") == fig["alt"]
    assert root.find(f"{SVG}title").text == fig["alt"]


def test_alt_text_is_escaped_and_falls_back_to_the_title():
    root = parse(figure_to_svg(base(alt='a < b & "c"'), id_prefix="f"))
    assert root.get("aria-label") == 'a < b & "c"'
    root = parse(figure_to_svg(base(alt="", title="Loss"), id_prefix="f"))
    assert root.get("aria-label") == "Loss"


ITEMS = samples.ONE_OF_EACH

# What each item adds to the picture, found in the SVG.
EXPECT = {
    "line": ".//{svg}path[@class='gc-s-s0']",
    "points": ".//{svg}path[@class='gc-f-s1']",
    "marker": ".//{svg}path[@class='gc-f-min gc-ring']",
    "hline": ".//{svg}path[@class='gc-s-danger'][@stroke-dasharray='4 3']",
    "vline": ".//{svg}path[@class='gc-s-muted']",
    "text": ".//{svg}text[@class='gc-f-fg gc-halo']",
    "raster": ".//{svg}image[@class='gc-raster']",
    "contours": ".//{svg}path[@class='gc-s-grid']",
    "rects": ".//{svg}path[@class='gc-f-ok']",
    "handle": ".//{svg}circle[@class='gc-f-start gc-handle']",
    "arrow": ".//{svg}path[@class='gc-f-s2']",
    "circle": ".//{svg}circle[@class='gc-s-warn']",
}


@pytest.mark.parametrize("t", sorted(ITEMS))
def test_every_item_type_renders(t):
    root = parse(figure_to_svg(base(items=[ITEMS[t]]), id_prefix="f"))
    assert root.find(EXPECT[t].format(svg=SVG)) is not None
    empty = parse(figure_to_svg(base(), id_prefix="f"))
    assert empty.find(EXPECT[t].format(svg=SVG)) is None


def test_items_are_clipped_to_the_plot_area_except_text():
    root = parse(figure_to_svg(base(items=[ITEMS["line"], ITEMS["text"]]), id_prefix="p1"))
    clip = root.find(f".//{SVG}clipPath")
    assert clip.get("id") == "p1-clip"
    group = root.find(f"{SVG}g[@clip-path='url(#p1-clip)']")
    assert group.find(f"{SVG}path[@class='gc-s-s0']") is not None
    assert group.find(f"{SVG}text") is None


def test_text_is_clamped_into_the_plot_area():
    item = {**ITEMS["text"], "x": 1e6, "y": -1e6}
    fig = base(items=[item])
    g = layout(fig)
    t = parse(figure_to_svg(fig, id_prefix="f")).find(f".//{SVG}text[@class='gc-f-fg gc-halo']")
    assert g.left <= float(t.get("x")) <= g.left + g.pw
    assert g.top <= float(t.get("y")) <= g.top + g.ph


@pytest.mark.parametrize("anchor", ["start", "middle", "end"])
@pytest.mark.parametrize("where", [-1e6, 1e6])
def test_a_text_near_an_edge_keeps_its_whole_width_in_the_plot(anchor, where):
    from gradclip.figures.axes import text_width
    item = {**ITEMS["text"], "x": where, "text": "left the plot at step 12", "anchor": anchor, "size": 12}
    fig = base(items=[item])
    g = layout(fig)
    t = parse(figure_to_svg(fig, id_prefix="f")).find(f".//{SVG}text[@class='gc-f-fg gc-halo']")
    w = text_width(item["text"], 12)
    x = float(t.get("x"))
    start = x - {"start": 0, "middle": w / 2, "end": w}[anchor]
    assert g.left + 1.9 <= start and start + w <= g.left + g.pw - 1.9


def test_raster_is_an_embedded_png_in_the_colour_map():
    img = parse(figure_to_svg(base(items=[ITEMS["raster"]]), id_prefix="f")).find(f".//{SVG}image")
    # xlink:href rather than href: Material's instant navigation rewrites [href] elements.
    href = img.get("{http://www.w3.org/1999/xlink}href")
    assert href.startswith("data:image/png;base64,")
    import base64
    rgba = decode_png(base64.b64decode(href.split(",", 1)[1]))
    expected = colormap_rgba(ITEMS["raster"]["values"], "loss")[::-1]     # row 0 at the bottom
    assert np.array_equal(rgba, expected)
    assert rgba[0, 1, 3] == 0                                            # None is transparent


def test_log_axis_labels_and_ticks_appear_in_the_svg():
    root = parse(figure_to_svg(samples.loss_figure(), id_prefix="loss"))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for s in ("10⁻⁴", "10⁻³", "10⁰", "10²", "step", "loss"):
        assert s in labels


def test_non_finite_and_non_positive_log_values_break_the_line():
    line = {"t": "line", "x": [0, 1, 2, 3, 4, 5, 6], "y": [1, 2, None, 3, 0, 4, 5]}
    fig = base(y_range=[0.5, 10], y_log=True, items=[line])
    svg = figure_to_svg(fig, id_prefix="f")
    d = parse(svg).find(f".//{SVG}path[@class='gc-s-s0']").get("d")
    # Runs: (0,1)-(1,2); (3,3) alone is no segment; (5,4)-(6,5): two subpaths.
    assert d.count("M") == 2
    assert "nan" not in svg.lower() and "inf" not in svg.lower()


def test_a_diverged_run_is_cut_at_the_plot_edge_not_written_as_huge_numbers():
    line = {"t": "line", "x": [1, 2, 3], "y": [1, 1e30, -1e300]}
    fig = base(items=[line])
    root = parse(figure_to_svg(fig, id_prefix="f"))
    g = layout(fig)
    nums = path_numbers(root)
    assert max(abs(v) for v in nums) <= g.width + 10


def test_path_coordinates_are_rounded_to_a_tenth_of_a_pixel():
    root = parse(figure_to_svg(samples.contour_figure(), id_prefix="c"))
    for p in root.iter(f"{SVG}path"):
        assert not re.search(r"\.\d\d", p.get("d", ""))


def test_a_typical_contour_figure_stays_small():
    svg = figure_to_svg(samples.contour_figure(raster=64, levels=16), id_prefix="c")
    assert len(svg.encode()) < 60_000


def test_aspect_equal_keeps_data_units_square_and_never_grows_the_figure():
    wide = base(x_range=[-3, 3], y_range=[-1, 1], width=480, height=360, aspect_equal=True)
    g = layout(wide)
    assert math.isclose(g.pw / 6, g.ph / 2, rel_tol=1e-9)
    assert g.height < 360 and g.width == 480                 # shorter, same width
    tall = base(x_range=[0, 1], y_range=[0, 4], width=480, height=360, aspect_equal=True)
    g = layout(tall)
    assert math.isclose(g.pw / 1, g.ph / 4, rel_tol=1e-9) and g.height == 360
    root = parse(figure_to_svg(wide, id_prefix="f"))
    assert float(root.get("viewBox").split()[3]) == round(layout(wide).height, 1)


def test_legend_lists_labelled_items_only_when_asked():
    items = [{**ITEMS["line"], "label": "norm clip"}, {**ITEMS["hline"], "label": "τ"}, ITEMS["vline"]]
    with_legend = [t.text for t in parse(figure_to_svg(base(items=items, legend=True), id_prefix="f")).iter(f"{SVG}text")]
    without = [t.text for t in parse(figure_to_svg(base(items=items), id_prefix="f")).iter(f"{SVG}text")]
    assert "norm clip" in with_legend and "τ" in with_legend
    assert "norm clip" not in without


def test_bad_figures_fail_the_build_with_the_reason():
    with pytest.raises(ValueError, match="y_range must be > 0 on a log axis"):
        figure_to_svg(base(y_log=True, y_range=[0, 1]), id_prefix="f")
    with pytest.raises(ValueError, match="item type must be one of"):
        figure_to_svg(base(items=[{"t": "pie"}]), id_prefix="f")
    with pytest.raises(ValueError, match="id_prefix"):
        figure_to_svg(base(), id_prefix="1 bad")
    with pytest.raises(ValueError, match="width and height"):
        figure_to_svg(base(width=10), id_prefix="f")


def test_unknown_colour_names_fall_back_to_the_items_default():
    root = parse(figure_to_svg(base(items=[{**ITEMS["line"], "color": "#ff0000"}]), id_prefix="f"))
    assert root.find(f".//{SVG}path[@class='gc-s-s0']") is not None


# ---------------------------------------------------------------------------------------------
# colours: every class the SVG uses exists in figures.css, in both themes
# ---------------------------------------------------------------------------------------------

CSS = (ROOT / "docs/stylesheets/figures.css").read_text()


def test_every_semantic_colour_has_a_light_and_a_dark_value():
    light = CSS.split('[data-md-color-scheme="slate"]')[0]
    dark = CSS.split('[data-md-color-scheme="slate"]')[1].split("}")[0]
    for name in COLOR_NAMES:
        assert re.search(rf"--gc-{name}:\s*#[0-9a-f]{{6}}", light), name
        assert re.search(rf"--gc-{name}:\s*#[0-9a-f]{{6}}", dark), name


def test_classes_written_by_the_svg_are_styled():
    svg = "".join(figure_to_svg(getattr(samples, m)(), id_prefix="f")
                  for m in ("contour_figure", "loss_figure", "every_item_figure"))
    used = set(re.findall(r'class="([^"]+)"', svg))
    for cls in {c for group in used for c in group.split()}:
        assert f".{cls}" in CSS, cls


def test_theme_values_in_python_are_the_stylesheets():
    light = dict(re.findall(r"--gc-([a-z0-9]+):\s*(#[0-9a-f]{6})", CSS.split('[data-md-color-scheme="slate"]')[0]))
    dark = dict(re.findall(r"--gc-([a-z0-9]+):\s*(#[0-9a-f]{6})",
                           CSS.split('[data-md-color-scheme="slate"]')[1].split("}")[0]))
    for theme, css in (("light", light), ("dark", dark)):
        for name in COLOR_NAMES:
            assert THEMES[theme][name] == css[name], (theme, name)


@pytest.mark.parametrize("dark", [False, True])
def test_a_standalone_svg_carries_its_theme_and_styles_every_class_it_uses(dark):
    fig = samples.every_item_figure()
    text = figure_svg(fig, dark=dark)
    root = parse(text.split("\n", 1)[1])
    assert root.get("width") == str(fig.get("width", 480)) and root.get("height")
    style = root.find(f"{SVG}style").text
    theme = THEMES["dark" if dark else "light"]
    assert root.find(f"{SVG}rect").get("fill") == theme["bg"]
    assert f".gc-s-danger{{stroke:{theme['danger']}}}" in style
    used = {c for group in re.findall(r'class="([^"]+)"', text) for c in group.split()}
    for cls in used:
        assert f".{cls}" in style, cls
    # the drawing itself is the page's, unchanged
    assert figure_to_svg(fig, id_prefix="gc-export").split(">", 1)[1] in text


def test_a_standalone_svg_of_every_simulator_figure_parses():
    from gradclip import demos
    figs = demos.run("simulator", {"steps": 30})["figures"]
    for name, fig in figs.items():
        parse(figure_svg(fig, id_prefix=f"x-{name}").split("\n", 1)[1])

def _rel_lum(hexcolor: str) -> float:
    c = [int(hexcolor[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def test_series_and_signal_colours_have_3_to_1_contrast_on_both_backgrounds():
    light = dict(re.findall(r"--gc-([a-z0-9]+):\s*(#[0-9a-f]{6})", CSS.split('[data-md-color-scheme="slate"]')[0]))
    dark = dict(re.findall(r"--gc-([a-z0-9]+):\s*(#[0-9a-f]{6})",
                           CSS.split('[data-md-color-scheme="slate"]')[1].split("}")[0]))
    for theme, bg in ((light, "#ffffff"), (dark, "#1e2029")):
        for name in ("fg", "muted", "accent", "danger", "ok", "warn", "min", "start",
                     "s0", "s1", "s2", "s3", "s4", "s5"):
            a, b = sorted((_rel_lum(theme[name]), _rel_lum(bg)))
            assert (b + 0.05) / (a + 0.05) >= 3.0, (name, theme[name], bg)


# ---------------------------------------------------------------------------------------------
# colour maps and PNG
# ---------------------------------------------------------------------------------------------

def test_loss_map_runs_from_dark_to_bright_and_none_is_transparent():
    rgba = colormap_rgba([[0.0, 0.5, 1.0, None]], "loss")[0]
    assert tuple(rgba[0]) == (*CMAPS["loss"]["stops"][0], 255)
    assert tuple(rgba[2]) == (*CMAPS["loss"]["stops"][-1], 255)
    assert _rel_lum("#%02x%02x%02x" % tuple(rgba[0][:3])) < _rel_lum("#%02x%02x%02x" % tuple(rgba[2][:3]))
    assert rgba[3][3] == 0


def test_outcome_map_is_categorical():
    rgba = colormap_rgba([[0.0, 0.3, 0.7, 1.0]], "outcome")[0]
    assert [tuple(c[:3]) for c in rgba] == [tuple(s) for s in CMAPS["outcome"]["stops"]]


def test_unknown_colour_map_is_an_error():
    with pytest.raises(ValueError, match="cmap must be one of"):
        colormap_rgba([[0.5]], "jet")


def decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for 8-bit RGBA with filters 0-2 (what png_rgba writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(tag + body)
        if tag == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
            assert body[8:] == bytes([8, 6, 0, 0, 0])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * 4)
    out = np.zeros((h, w * 4), np.uint8)
    for r in range(h):
        ftype, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        if ftype == 1:
            for i in range(4, w * 4):
                line[i] = (line[i] + line[i - 4]) & 0xFF
        elif ftype == 2 and r:
            line = (line + out[r - 1]) & 0xFF
        out[r] = line
    return out.reshape(h, w, 4)


def test_png_round_trips_a_smooth_raster_and_compresses_it():
    v = np.add.outer(np.linspace(0, 1, 64), np.linspace(0, 1, 64)) / 2
    v[10:20, 10:20] = np.nan
    rgba = colormap_rgba(v, "loss")
    png = png_rgba(rgba)
    assert np.array_equal(decode_png(png), rgba)
    assert len(png) < rgba.size / 3


def test_png_rejects_the_wrong_shape():
    with pytest.raises(ValueError, match="rgba must have shape"):
        png_rgba(np.zeros((4, 4, 3), np.uint8))


@given(st.text(alphabet=st.sampled_from('ab&<>"; ')))
@settings(max_examples=200, deadline=None)
def test_escape_is_the_standard_librarys(text):
    """svg.py escapes without importing xml.sax.saxutils (its import is slow); the same result."""
    from xml.sax.saxutils import escape
    assert _escape(text) == escape(text)
    assert _escape(text, {'"': "&quot;"}) == escape(text, {'"': "&quot;"})

"""Logic that exists in both languages gives the same answers: the browser's modules against Python.

Constants and colour maps are generated from Python (tests/site/test_jsgen.py); what cannot be
generated is checked here, in real Chromium, over whole sets rather than a few cases:

* layout (plot box, ticks and their labels, legend places): every sample figure of
  tests/harness/sample_figures.py and every figure of every demo at its defaults, against
  gradclip.figures.axes.layout;
* the number-for-people format: a spread of values, against gradclip.demos.fmt_number;
* sizes in bytes: powers of two, their neighbours and random sizes, against
  gradclip.figures.numbers.size_text;
* parameter coercion and slider positions: every parameter of every demo, against
  gradclip.demos._coerce and site_hooks.demo_blocks._slider_position.
"""

from __future__ import annotations

import math
import random
from urllib.parse import parse_qsl, urlencode

import pytest

from gradclip import demos
from gradclip.figures.axes import layout
from gradclip.figures.numbers import size_text
from gradclip.tracker import FILE_LIMIT
from site_hooks.demo_blocks import _slider_position
from harness import sample_figures as samples
from test_paint_browser import harness, harness_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def sample_figures() -> dict[str, dict]:
    figs = {"contour": samples.contour_figure(), "loss": samples.loss_figure(),
            "every_item": samples.every_item_figure()}
    for t, item in samples.ONE_OF_EACH.items():
        figs[f"one_{t}"] = {"x_range": [0, 10], "y_range": [0, 10], "legend": True, "items": [item]}
    return figs


def demo_default_figures() -> dict[str, dict]:
    demos._load_all()
    figs = {}
    for name in sorted(demos.REGISTRY):
        for fig_name, fig in demos.run(name, {})["figures"].items():
            figs[f"{name}.{fig_name}"] = fig
    return figs


def python_layout(fig: dict) -> dict:
    g = layout(fig)
    return {"width": g.width, "height": g.height, "left": g.left, "top": g.top, "pw": g.pw, "ph": g.ph,
            "xTicks": {"values": list(g.x_ticks.values), "labels": list(g.x_ticks.labels)},
            "yTicks": {"values": list(g.y_ticks.values), "labels": list(g.y_ticks.labels)},
            "legend": [[e.label, e.kind, e.x, e.y] for e in g.legend]}


JS_LAYOUT = """figs => Object.fromEntries(Object.entries(figs).map(([name, f]) => {
    const g = gcPaint.layout(f);
    return [name, {width: g.width, height: g.height, left: g.left, top: g.top, pw: g.pw, ph: g.ph,
                   xTicks: g.xTicks, yTicks: g.yTicks, legend: g.legend.map(e => [e.label, e.kind, e.x, e.y])}];
}))"""


@pytest.mark.parametrize("source", [sample_figures, demo_default_figures], ids=["samples", "demo_defaults"])
def test_js_layout_equals_python_layout_for_every_figure(harness, source):
    figs = source()
    assert len(figs) >= 10
    # Items are not needed to lay out a figure, except the labels a legend shows.
    slim = {name: {**f, "items": [{k: it[k] for k in ("t", "label", "color", "dash", "shape") if k in it}
                                  for it in f.get("items", [])]} for name, f in figs.items()}
    js = harness.evaluate(JS_LAYOUT, slim)
    for name, fig in figs.items():
        assert js[name] == python_layout(fig), name


def number_cases() -> list[float]:
    fixed = [0.00005, 1e-12, 12345.678, -0.0, 0.0, 1.0, -1.0, 3, 999999.0, 1e6, 1234567.0, 0.000123456,
             1e-4, 9.9995e-5, 1e4, 9999.5, 1.125, 2.5e-5, -3.14159, 0.1, 1 / 3, 1e21, 5e-324, 1.7976931348623157e308,
             math.inf, -math.inf, math.nan]
    rng = random.Random(12)
    fixed += [rng.uniform(-1, 1) * 10 ** rng.uniform(-9, 9) for _ in range(600)]
    fixed += [round(rng.uniform(-1, 1) * 10 ** rng.randint(0, 5), rng.randint(0, 4)) for _ in range(300)]
    return fixed


def test_js_format_number_equals_python_fmt_number(harness):
    values = number_cases()
    # JSON has no inf or NaN: send them as names.
    sent = [v if math.isfinite(v) else repr(v) for v in values]
    js = harness.evaluate("""vs => vs.map(v => gcPaint.formatNumber(
        v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v))""", sent)
    for v, got in zip(values, js):
        assert got == demos.fmt_number(float(v)), v


def size_cases() -> list[int]:
    near = [2 ** k + d for k in range(0, 63, 3) for d in (-1, 0, 1)]
    edges = [0, 1, 1023, 1024, 1536, 999 * 1024, 1023 * 1024, 1024 ** 2 - 1, int(999.5 * 1024), int(999.4 * 1024),
             FILE_LIMIT, FILE_LIMIT + 1, 30 * 2 ** 30, 10 ** 15]
    rng = random.Random(7)
    return edges + near + [int(10 ** rng.uniform(0, 15)) for _ in range(400)]


def test_js_size_text_equals_python_size_text(harness):
    sizes = size_cases()
    js = harness.evaluate("ns => ns.map(n => gcFormat.sizeText(n))", sizes)
    assert js[sizes.index(FILE_LIMIT)] == "64 MiB"
    for n, got in zip(sizes, js):
        assert got == size_text(n), n


def every_param():
    demos._load_all()
    return [(name, p) for name in sorted(demos.REGISTRY) for p in demos.REGISTRY[name].params if p.kind != "file"]


def raw_values(p) -> list:
    # Strings, as links and form fields give them, and numbers, as figures give them. (A whole
    # float is left out: JavaScript cannot tell 3.0 from 3, which Python quotes differently.)
    raws = ["", "abc", "it's", "\u202eevil", "tab\there", "\x00", "\u2028", "\U0001f600", "1e9", "-5", "0.5", "nan", "inf", "-inf", " 2 ", "1_000", "0x10", "2.5", "3.5",
            "true", "off", "maybe", "magic", str(p.default), 7, 0.25, -10**9, 2.5, True]
    raws += [c for c, _ in p.choices]
    for bound in (p.min, p.max):
        if bound is not None:
            raws += [bound, bound * 1.5 + 1, str(bound)]
    return raws


def test_js_coerce_equals_python_coerce_for_every_parameter_of_every_demo(harness):
    cases = [(f"{name}.{p.name}", p, raw) for name, p in every_param() for raw in raw_values(p)]
    js = harness.evaluate("""cases => cases.map(([p, raw]) => {
        const [v, note] = gcParams.coerce(p, raw);
        return [Number.isFinite(v) || typeof v !== 'number' ? v : String(v), note]; })""",
                          [[p.to_dict(), raw] for _, p, raw in cases])
    for (where, p, raw), (value, note) in zip(cases, js):
        want, want_note = demos._coerce(p, raw)
        if isinstance(want, float) and not math.isfinite(want):
            want = {math.inf: "Infinity", -math.inf: "-Infinity"}[want]
        assert (value, note) == (want, want_note), (where, raw)
        assert type(value) is type(want) or {type(value), type(want)} <= {int, float}, (where, raw)


def test_js_slider_positions_equal_the_build_for_every_ranged_parameter(harness):
    cases = []
    for name, p in every_param():
        if p.kind not in ("float", "int") or p.min is None or p.max is None:
            continue
        lo, hi = float(p.min), float(p.max)
        for t in [i / 40 for i in range(41)]:
            v = lo * (hi / lo) ** t if p.log else lo + t * (hi - lo)
            cases.append((f"{name}.{p.name}", p, v))
    assert len(cases) > 100
    js = harness.evaluate("cases => cases.map(([p, v]) => gcParams.valueToSlider(p, v))",
                          [[p.to_dict(), v] for _, p, v in cases])
    for (where, p, v), got in zip(cases, js):
        assert got == _slider_position(p, v), (where, v)


# ------------------------------------------------------------------ links made by hand (URL state)

HOSTILE_KEYS = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "prototype", "q",
                "<script>alert(1)</script>", "", "tau\x00", "τ", "a" * 300]
HOSTILE_VALUES = ["", "1e309", "-1e309", "nan", "NaN", "inf", " 3 ", "0x10", "1_0", "1e-400", "true", "on",
                  "<img src=x onerror=alert(1)>", "it's", "\u202e2", "€", "9" * 400, "-0", "2.5e-3"]


def hostile_queries(spec, n: int, seed: int) -> list[str]:
    """Query strings mixing the demo's own keys (some repeated) with hostile ones and junk."""
    rng = random.Random(seed)
    names = [p.name for p in spec.params if p.kind != "file"]
    queries = []
    for _ in range(n):
        pairs = []
        for _ in range(rng.randint(0, 12)):
            key = rng.choice(names + HOSTILE_KEYS + [f"junk{rng.randint(0, 99)}"])
            value = rng.choice(HOSTILE_VALUES + [repr(rng.uniform(-1e3, 1e3)), str(rng.randint(-50, 50))])
            pairs.append((key, value))
        queries.append("?" + urlencode(pairs))
    return queries


def python_reading(spec, query: str) -> tuple[dict, list[str], list[str]]:
    """What a link means, by the Python twin of coerce(): values, per-key notices, unknown keys."""
    specs = {p.name: p for p in spec.params}
    values, notices, unknown = {}, [], []
    for key, raw in parse_qsl(query[1:], keep_blank_values=True):
        if key not in specs:
            if key != "q" and key not in unknown:
                unknown.append(key)
            continue
        v, note = demos._coerce(specs[key], raw)
        values[key] = v
        if note:
            notices.append(f"From the link: {note}")
    return values, notices, unknown


@pytest.mark.parametrize("demo", ["simulator", "monitor"])
def test_any_link_is_read_as_python_reads_it_with_one_notice_for_unknown_keys(harness, demo):
    """Links are a fuzz target: each of 300 generated links sets exactly the values Python's
    coerce() gives, every problem gets its notice, and unknown keys (including JavaScript's own
    object members) are named in one notice, never applied."""
    demos._load_all()
    spec = demos.REGISTRY[demo]
    queries = hostile_queries(spec, 300, seed=17)
    js = harness.evaluate("""([params, queries]) => {
        const specs = Object.fromEntries(params.map((p) => [p.name, p]));
        return queries.map((q) => {
            const { values, notices } = gcParams.paramsFromQuery(specs, q);
            const own = Object.getPrototypeOf(values) === Object.prototype || Object.getPrototypeOf(values) === null;
            return [Object.fromEntries(Object.entries(values).map(([k, v]) =>
                [k, typeof v === 'number' && !Number.isFinite(v) ? String(v) : v])), notices, own];
        }); }""", [[p.to_dict() for p in spec.params], queries])
    assert harness.evaluate("() => ({}).toString === Object.prototype.toString && !('polluted' in {})")
    for query, (values, notices, own) in zip(queries, js):
        want, want_notices, unknown = python_reading(spec, query)
        assert own, query
        assert values.keys() == want.keys(), query
        for k, v in want.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = {math.inf: "Infinity", -math.inf: "-Infinity"}[v]
            assert values[k] == v, (query, k)
        assert notices[:len(want_notices)] == want_notices, query
        rest = notices[len(want_notices):]
        if unknown:
            (note,) = rest
            shown = unknown[:3]
            for key in shown:
                assert repr(key[:40] + ("…" if len(key) > 40 else "")) in note, (query, key)
            assert "not known here" in note
        else:
            assert rest == [], query

"""The training-run pages in a real browser (headless Chromium, the built site, Pyodide).

The bad-batch demo that opens the monitor page must stay hidden behind its prediction until
the reader answers, then go live and show the numbers its prose quotes (computed in CPython
when the page was built). The monitor must stream (partial outputs, drawn, before the final one), drop a stale run when
a setting changes, and overlay the unclipped run in compare mode; the worked examples must go
live and blow up where CPython says they do. The norm-log analyser has its own file,
test_analyser_browser.py.
"""

from __future__ import annotations

import json

import pytest

import gradclip.demos as demos
from support import answer_prediction, assert_quoted_values_are_live, canvas_ink, demo_ready, results, wait_idle

pytestmark = pytest.mark.browser

RECORD = """sel => {
    const root = document.querySelector(sel);
    window.__outputs = [];
    root.addEventListener('gc:output', e => {
        const o = e.detail.output;
        window.__outputs.push({done: o.done, params: o.params,
                               steps: o.results.steps_done ? o.results.steps_done.value : null,
                               results: Object.fromEntries(Object.entries(o.results).map(([k, v]) => [k, v.value]))});
    });
}"""


def outputs(page):
    return page.evaluate("() => window.__outputs")


def set_params(page, sel: str, params: dict) -> None:
    page.eval_on_selector(sel, "(el, p) => el.gcDemo.setParams(p)", params)


def wait_done(page, count_done: int = 1, timeout: int = 120_000) -> None:
    page.wait_for_function("n => window.__outputs.filter(o => o.done !== false).length >= n",
                           arg=count_done, timeout=timeout)


def notices(page, sel: str) -> str:
    return page.text_content(f"{sel} .gc-notices") or ""


# ------------------------------------------------------------------- rare bad batches


def test_the_bad_batch_demo_waits_for_a_prediction_then_matches_what_the_page_quotes(page, site_url, console_errors):
    page.goto(site_url + "monitor/training-monitor/")
    sel = answer_prediction(page, "spikes", right=False)
    demo_ready(page, sel)
    wait_idle(page, sel, timeout=120_000)
    # A live output, computed in this browser, is what the panel shows now.
    assert page.eval_on_selector(sel, "el => Boolean(el.gcDemo.output && el.gcDemo.output.done !== false)")
    assert assert_quoted_values_are_live(page, "spikes") >= 10
    for name in ("norm", "loss", "update_p10", "update_p50", "update_p90", "update_p99"):
        assert canvas_ink(page, f"{sel} [data-figure={name}] canvas") > 500, name
    assert console_errors == []


# --------------------------------------------------------------------------------- monitor


@pytest.fixture
def monitor(page, site_url) -> str:
    """The training monitor's page, its demo live and idle and its outputs recorded; its selector."""
    sel = "#monitor-main"
    page.goto(site_url + "monitor/training-monitor/")
    demo_ready(page, sel)
    wait_idle(page, sel, timeout=120_000)
    page.evaluate(RECORD, sel)
    return sel


def test_monitor_streams_partial_outputs_and_draws_them(page, monitor):
    sel = monitor
    set_params(page, sel, {"seed": 5, "steps": 600})
    wait_done(page)
    outs = outputs(page)
    partial = [o for o in outs if o["done"] is False]
    assert len(partial) >= 3, outs
    steps = [int(o["steps"]) for o in outs]
    assert steps == sorted(steps) and steps[-1] == 600
    for name in ("loss", "norm", "update", "layers"):
        assert canvas_ink(page, f"{sel} [data-figure={name}] canvas") > 500
    assert results(page, sel)["steps_done"] == "600"


def test_a_setting_change_cancels_the_stale_run(page, monitor):
    sel = monitor
    set_params(page, sel, {"seed": 11, "steps": 2000})
    page.wait_for_function("() => window.__outputs.some(o => o.done === false && o.params.seed === 11)",
                           timeout=120_000)
    set_params(page, sel, {"seed": 12, "steps": 100})
    page.wait_for_function("() => window.__outputs.some(o => o.done !== false && o.params.seed === 12)",
                           timeout=120_000)
    wait_idle(page, sel)
    stale = [o for o in outputs(page) if o["params"]["seed"] == 11]
    assert stale and all(o["done"] is False for o in stale)      # the 2000-step run never finished
    assert max(int(o["steps"]) for o in stale) < 2000
    final = outputs(page)[-1]
    assert final["params"]["seed"] == 12 and final["steps"] == "100"
    assert results(page, sel)["steps_done"] == "100"


def test_compare_overlays_the_unclipped_run_and_matches_cpython(page, monitor):
    sel = monitor
    params = {"model": "rnn1", "steps": 40, "seed": 3, "compare": True}
    set_params(page, sel, params)
    wait_done(page)
    wait_idle(page, sel)
    live = results(page, sel)
    assert live["other_label"] == "none"
    labels = page.eval_on_selector(
        sel, "el => el.gcDemo.output.figures.loss.items.filter(i => i.t === 'line').map(i => i.label)")
    assert labels == ["norm, τ = 1", "no clipping"]
    expected = demos.run("monitor", {**json.loads(page.eval_on_selector(sel, "el => JSON.stringify(el.gcDemo.params)")),
                                     **params})["results"]
    for key in ("final_loss", "max_norm", "clips", "other_final_loss"):
        a, b = float(live[key]), float(expected[key]["value"])
        assert a == pytest.approx(b, rel=1e-6), key
    # Compare off: one run, and the comparison rows say so.
    page.click(f"{sel} [data-param=compare]")
    wait_done(page, 2)
    wait_idle(page, sel)
    labels = page.eval_on_selector(
        sel, "el => el.gcDemo.output.figures.loss.items.filter(i => i.t === 'line').map(i => i.label)")
    assert labels == ["norm, τ = 1"]
    assert "compare is off" in page.text_content(f"{sel} [data-result=other_label]")


# ------------------------------------------------------------------------ worked examples


def test_worked_examples_go_live_and_blow_up_where_cpython_says(page, site_url):
    page.goto(site_url + "monitor/worked-examples/")
    for sel, demo, clipped in (("#worked-rnn", "worked_rnn", "tau1_"), ("#worked-mlp", "worked_mlp", "value_")):
        page.locator(sel).scroll_into_view_if_needed()
        demo_ready(page, sel)
        wait_idle(page, sel, timeout=120_000)
        live = results(page, sel)
        expected = {k: v["value"] for k, v in demos.run(demo)["results"].items()}
        assert live["none_diverged"] == expected["none_diverged"] != "false"
        assert live[f"{clipped}diverged"] == "false"
        assert live["steps_done"] == expected["steps_done"]
        assert canvas_ink(page, f"{sel} [data-figure=loss] canvas") > 500

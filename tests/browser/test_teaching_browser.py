"""The teaching pages in a real browser: every demo goes live, draws, and answers a change.

For each page of Learn (why gradients explode, theory, conversation, FAQ), headless Chromium
loads the built site, waits until every demo on the page reaches ``data-state=ready``, checks
that each canvas has been painted, then makes one change per interactive demo (a control, or a
click on a draggable figure) and checks that the results moved and equal what CPython gradclip
computes for the same parameters.
"""

from __future__ import annotations

import pytest

from support import exercise_page_demos, set_number, wait_idle

pytestmark = pytest.mark.browser

# page -> demo ids on it, in order
PAGES = {
    "learn/why-gradients-explode/": ["jacobian-main", "jacobian-tanh", "jacobian-gaussian", "rnn-cliff"],
    "learn/theory/": ["vector-main", "bias-main", "bias-symmetric", "global-main", "agc-main", "agc-low",
                      "adaptive-main", "adaptive-low"],
    "learn/conversation/": ["conv-cliff", "conv-vector", "conv-jacobian", "conv-small-tau", "conv-big-lr"],
    "learn/faq/": ["faq-cliff", "faq-vector", "faq-tau", "faq-jacobian"],
}

# demo id -> (parameter, new value): one control change per demo
CHANGES = {
    "jacobian-main": ("rho", 0.9),
    "jacobian-tanh": ("inputs", 0.1),
    "bias-main": ("tau", 10.0),
    "bias-symmetric": ("tau", 1.0),
    "global-main": ("spike", 200.0),
    "agc-main": ("clipping", 0.02),
    "agc-low": ("clipping", 0.05),
    "adaptive-low": ("tau", 10.0),
    "jacobian-gaussian": ("rho", 1.2),
    "conv-small-tau": ("tau", 1.0),
    "adaptive-main": ("tau", 3.0),
    "conv-cliff": ("tau", 0.1),
    "conv-jacobian": ("length", 50),
    "conv-big-lr": ("lr", 0.3),
    "faq-cliff": ("lr", 0.01),
    "faq-tau": ("tau", 1.5),
    "faq-jacobian": ("rho", 0.95),
}

# demo id -> figure to click: the figure's handle jumps to the click
CLICKS = {"rnn-cliff": "surface", "vector-main": "plane", "conv-vector": "plane", "faq-vector": "plane"}


def click_figure(page, sel: str, figure: str) -> None:
    page.eval_on_selector(sel, "el => { el.dataset.paramsBefore = JSON.stringify(el.gcDemo.output.params); }")
    canvas = page.locator(f"{sel} [data-figure={figure}] canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # Up and left of the centre: inside the plot area of every figure here, and away from
    # the default handle positions, so the handle must move.
    page.mouse.click(box["x"] + 0.35 * box["width"], box["y"] + 0.4 * box["height"])
    page.wait_for_function(
        "sel => { const el = document.querySelector(sel); const d = el.gcDemo;"
        " return d && d.output && JSON.stringify(d.output.params) !== el.dataset.paramsBefore; }",
        arg=sel)
    wait_idle(page, sel)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_teaching_demo_goes_live_draws_and_answers_a_change(page, site_url, console_errors, path):
    def change(page, sel, demo_id):
        if demo_id in CHANGES:
            set_number(page, sel, *CHANGES[demo_id])
        elif demo_id in CLICKS:
            click_figure(page, sel, CLICKS[demo_id])
        else:
            return False
        return True

    def reveal(page, demo_id):
        if page.locator(f"#predict-{demo_id}").count():   # a prediction veils it: skip the question
            page.locator(f"#{demo_id} .gc-predict-veil button").click()

    exercise_page_demos(page, site_url + path, PAGES[path], change, reveal)
    assert console_errors == []

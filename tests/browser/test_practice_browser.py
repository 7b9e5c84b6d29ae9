"""The practice pages in a real browser: demos go live, predictions gate them, recipes follow the simulator.

For each page (where clipping is used, pitfalls, the four guides and the API reference),
headless Chromium loads the built site and waits until every demo reaches
``data-state=ready``. A demo behind a "predict first" question starts hidden; the test answers
it with a wrong letter and checks the reveal (``test_predictions_browser.py`` answers every
prediction of the site with the right one and checks the numbers the page quotes). Then every
canvas must be painted, the results must equal what CPython gradclip computes for the same
parameters, and one change per demo must reach the results. The recipes page must put the
simulator's last threshold into its code snippets.
"""

from __future__ import annotations

import json

import pytest

from support import answer_prediction, exercise_page_demos, set_number

pytestmark = pytest.mark.browser

PAGES = {
    "learn/applications/": ["app-rnn", "app-transformer", "app-rl", "app-steps"],
    "learn/pitfalls/": ["pit-vanish", "pit-tau", "pit-lr"],
    "guide/using-the-simulator/": ["guide-events", "guide-adam"],
    "guide/practical-notes/": ["notes-every", "notes-rules", "notes-sustained"],
    "guide/recipes/": ["recipes-compare"],
    "guide/python/": ["python-call"],
    "guide/reference/": ["reference-call"],
}

# demo id -> (parameter, new value): one control change per demo
CHANGES = {
    "app-rnn": ("tau", 0.5),
    "app-transformer": ("spike", 200.0),
    "app-rl": ("seed", 5),
    "app-steps": ("lr", 0.005),
    "pit-vanish": ("rho", 1.1),
    "pit-tau": ("tau", 1.0),
    "pit-lr": ("lr", 0.05),
    "guide-events": ("tau", 0.1),
    "guide-adam": ("tau", 1.0),
    "notes-every": ("tau", 30.0),
    "notes-rules": ("lr_low", 0.005),
    "notes-sustained": ("shift", 4.0),
    "recipes-compare": ("tau", 0.5),
    "python-call": ("tau", 0.3),
    "reference-call": ("tau", 0.3),
}


@pytest.mark.parametrize("path", list(PAGES))
def test_every_practice_demo_goes_live_draws_and_answers_a_change(page, site_url, console_errors, path):
    def reveal(page, demo_id):
        # A wrong answer here (tests/browser/test_predictions_browser.py gives the right ones).
        if page.locator(f"#predict-{demo_id}").count():
            answer_prediction(page, demo_id, right=False)

    exercise_page_demos(page, site_url + path, PAGES[path],
                        lambda page, sel, demo_id: set_number(page, sel, *CHANGES[demo_id]), reveal)
    assert console_errors == []


def test_show_anyway_reveals_without_answering_and_the_page_remembers(page, site_url, console_errors):
    page.goto(site_url + "learn/pitfalls/")
    sel = "#pit-tau"
    assert page.eval_on_selector(sel, "el => el.classList.contains('gc-predict-veiled')")
    page.locator(f"{sel} .gc-predict-veil button").click()
    assert not page.eval_on_selector(sel, "el => el.classList.contains('gc-predict-veiled')")
    assert not page.eval_on_selector("#predict-pit-tau details", "el => el.open")   # answer still hidden
    page.locator("#predict-pit-lr input[value=B]").check()
    page.reload()
    # Within the session both choices are remembered: no veil, and the answered one stays marked.
    assert not page.eval_on_selector(sel, "el => el.classList.contains('gc-predict-veiled')")
    assert not page.eval_on_selector("#pit-lr", "el => el.classList.contains('gc-predict-veiled')")
    assert page.eval_on_selector("#predict-pit-lr input[value=B]", "el => el.checked")
    assert page.eval_on_selector("#pit-vanish", "el => el.classList.contains('gc-predict-veiled')")
    assert console_errors == []


def snippet_taus(page) -> list[str]:
    return page.eval_on_selector_all("[data-tau]", "els => els.map(e => e.textContent)")


def test_recipes_use_the_threshold_last_set_in_the_simulator(page, site_url, console_errors):
    page.goto(site_url + "guide/recipes/")
    shown = snippet_taus(page)
    assert len(shown) >= 7 and set(shown) == {"1.0"}          # the default, in prose and in code
    page.evaluate("v => localStorage.setItem('gradclip:simulator', v)",
                  json.dumps({"tau": 2.5, "lr": 0.05, "method": "norm"}))
    page.reload()
    assert set(snippet_taus(page)) == {"2.5"}
    assert "simulator" in page.text_content("[data-tau-source]")
    code = page.text_content(".tabbed-block pre code")
    assert "TAU = 2.5" in code                                  # what the copy button copies
    page.goto(site_url + "guide/recipes/?tau=0.3")
    assert set(snippet_taus(page)) == {"0.3"}                   # the address wins
    page.goto(site_url + "guide/recipes/?tau=-4")
    assert set(snippet_taus(page)) == {"2.5"}                   # nonsense is ignored, visibly
    assert "tau=-4 was ignored" in page.text_content("[data-tau-source]")
    page.evaluate("localStorage.clear()")
    page.goto(site_url + "guide/recipes/?tau=%3Cb%3Ex%3C/b%3E")
    assert set(snippet_taus(page)) == {"1.0"}
    assert "the default (the address's tau=<b>x</b> was ignored" in page.text_content("[data-tau-source]")
    assert page.locator("[data-tau-source] b").count() == 0     # shown as text, never as markup
    page.evaluate("localStorage.setItem('gradclip:simulator', '{not json')")
    page.goto(site_url + "guide/recipes/")
    assert set(snippet_taus(page)) == {"1.0"}
    assert console_errors == []

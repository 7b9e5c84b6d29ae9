"""The practice pages in a real browser: demos go live, predictions gate them, recipes follow the simulator.

For each page (where clipping is used, pitfalls, the four guides and the API reference),
headless Chromium loads the built site and waits until every demo reaches
``data-state=ready``. A demo behind a "predict first" question starts hidden; the test answers
it (on pitfalls with a wrong letter, on the guides with the right one) and checks the reveal,
and on the guides it checks that every number the page's prose quotes from that demo
(``{gc:id.field}``, built in CPython) equals what the live demo computed in the browser. Then
every canvas must be painted, the results must equal what CPython gradclip computes for the
same parameters, and one change per demo must reach the results. A prediction that guards a
code cell must hide the cell's output until answered; the cell is then run in the browser and
must print what it printed when the page was built. The recipes page must put the simulator's
last threshold into its code snippets.
"""

from __future__ import annotations

import json

import pytest

from support import exercise_page_demos, same, set_number

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


def answer_prediction(page, demo_id: str) -> None:
    """Check the demo is veiled, pick a wrong answer, and check the reveal."""
    block = f"#predict-{demo_id}"
    sel = f"#{demo_id}"
    assert page.eval_on_selector(sel, "el => el.classList.contains('gc-predict-veiled')")
    assert page.eval_on_selector(f"{sel} .gc-figures", "el => el.inert")
    answer = page.get_attribute(block, "data-answer")
    wrong = "A" if answer != "A" else "B"
    page.locator(f"{block} input[value={wrong}]").check()
    page.wait_for_function("sel => !document.querySelector(sel).classList.contains('gc-predict-veiled')", arg=sel)
    assert page.eval_on_selector(f"{block} details", "el => el.open")
    feedback = page.text_content(f"{block} .gc-predict-feedback")
    assert f"You chose {wrong}; the answer is {answer}." in feedback
    assert page.eval_on_selector(f"{block} [data-choice={answer}]",
                                 "el => el.classList.contains('gc-predict-correct')")
    assert page.eval_on_selector(f"{block} [data-choice={wrong}]",
                                 "el => el.classList.contains('gc-predict-wrong')")
    assert not page.eval_on_selector(f"{sel} .gc-figures", "el => el.inert")


def answer_right(page, block: str, target: str) -> None:
    """Check ``target`` (a demo or a cell) is veiled, pick the right answer, check the reveal."""
    hidden = ".gc-figures" if page.locator(f"{target}.gc-demo").count() else "[data-cell-output]"
    assert page.eval_on_selector(target, "el => el.classList.contains('gc-predict-veiled')")
    assert page.eval_on_selector(f"{target} {hidden}", "el => el.inert")
    answer = page.get_attribute(block, "data-answer")
    page.locator(f"{block} input[value={answer}]").check()
    page.wait_for_function("sel => !document.querySelector(sel).classList.contains('gc-predict-veiled')",
                           arg=target)
    assert page.eval_on_selector(f"{block} details", "el => el.open")
    assert f"Right: {answer}." in page.text_content(f"{block} .gc-predict-feedback")
    assert not page.eval_on_selector(f"{target} {hidden}", "el => el.inert")


def assert_quoted_values_are_live(page, demo_id: str) -> None:
    """Every ``{gc:demo_id.field}`` of the page (built in CPython, at the demo's defaults) equals
    the field the live demo shows, computed in the browser at the same defaults."""
    quoted = page.eval_on_selector_all(
        f'.gc-value[data-value-of="{demo_id}"]',
        "els => els.map(e => [e.dataset.field, e.dataset.value])")
    live = page.eval_on_selector_all(
        f"#{demo_id} [data-result]", "els => Object.fromEntries(els.map(e => [e.dataset.result, e.dataset.value]))")
    for field, built in quoted:
        assert same(live[field], built), (demo_id, field, live[field], built)


# The guides answer every prediction with the right letter and check the quoted numbers.
GUIDES = [p for p in PAGES if p.startswith("guide/")]


@pytest.mark.parametrize("path", list(PAGES))
def test_every_practice_demo_goes_live_draws_and_answers_a_change(page, site_url, console_errors, path):
    def reveal(page, demo_id):
        assert_quoted_values_are_live(page, demo_id)
        if not page.locator(f"#predict-{demo_id}").count():
            return
        if path in GUIDES:
            answer_right(page, f"#predict-{demo_id}", f"#{demo_id}")
        else:
            answer_prediction(page, demo_id)

    exercise_page_demos(page, site_url + path, PAGES[path],
                        lambda page, sel, demo_id: set_number(page, sel, *CHANGES[demo_id]), reveal)
    assert console_errors == []


def test_every_guide_prediction_guards_something_and_every_guide_page_has_one(page, site_url):
    for path in GUIDES:
        page.goto(site_url + path)
        blocks = page.eval_on_selector_all(".gc-predict", "els => els.map(e => e.dataset.for || 'cell')")
        assert blocks, f"{path} has no prediction"
        for target in blocks:
            if target != "cell":
                assert target in PAGES[path], (path, target)


# Pages whose predictions guard a code cell: (page, the cell's 1-based number on the page).
CELL_PREDICTIONS = [("guide/practical-notes/", 1), ("guide/python/", 2)]


@pytest.mark.parametrize("path, n", CELL_PREDICTIONS)
def test_a_cell_prediction_hides_the_output_until_answered_and_the_cell_reprints_it(
        page, site_url, console_errors, path, n):
    page.goto(site_url + path)
    target = f'.gc-cell[data-cell="{n}"]'
    # The block right before the cell is the prediction that guards it.
    block = page.evaluate("""n => {
        const cell = document.querySelector(`.gc-cell[data-cell="${n}"]`);
        const blocks = [...document.querySelectorAll('.gc-predict:not([data-for])')];
        const mine = blocks.filter(b => b.compareDocumentPosition(cell) & Node.DOCUMENT_POSITION_FOLLOWING).pop();
        return mine ? '#' + mine.id : null; }""", n)
    assert block, f"{path}: no prediction before cell {n}"
    built = page.text_content(f"{target} .gc-cell-stream")
    assert built.strip(), "the cell shows no build-time output"
    answer_right(page, block, target)
    # Run the page's cells up to this one, in order (a later cell uses an earlier one's names).
    for k in range(1, n + 1):
        page.eval_on_selector(f'.gc-cell[data-cell="{k}"]', "c => { c.gcCell.run(); }")
        page.wait_for_selector(f'.gc-cell[data-cell="{k}"][data-state="done"], '
                               f'.gc-cell[data-cell="{k}"][data-state="error"]', timeout=180_000)
        assert page.get_attribute(f'.gc-cell[data-cell="{k}"]', "data-state") == "done"
    assert page.text_content(f"{target} .gc-cell-stream") == built
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

"""The predictions of four Learn pages (conversation, FAQ, where clipping is used, pitfalls) in a
real browser, and the computed numbers around them.

For every predict-first block the test checks what it guards is veiled, answers with the right
letter and checks the reveal (the figures or the cell's output usable again, the answer open).
A demo's prediction then has to show live what the page quoted at build time: every
``{gc:<id>.<field>}`` value in the prose (``.gc-value[data-value-of]``) equals the live demo's
``[data-result=<field>]`` once it is ready, and the live results equal CPython gradclip's. A
cell's prediction runs the cell in Pyodide (``root.gcCell.run()``) and its output must be the
text the build printed under it. Finally every other demo and cell of the page is held to the
same two rules, so no number on these pages differs between the build and the browser.
"""

from __future__ import annotations

import pytest

from support import (assert_figures_painted, assert_matches_cpython, demo_ready, results, same,
                     wait_idle)

pytestmark = pytest.mark.browser

# page -> the keys of its predict-first blocks, in page order: a demo's id, or cell-<n> for the
# n-th prediction on the page that guards the code cell after it.
PREDICTIONS = {
    "learn/conversation/": ["conv-cliff"],
    "learn/faq/": ["faq-tau", "cell-1"],
    "learn/applications/": ["app-transformer"],
    "learn/pitfalls/": ["pit-vanish", "pit-tau", "pit-lr"],
}
CELL_MS = 240_000      # a cold Pyodide start, then the FAQ's twelve training runs, on a busy machine


def guarded(page, key: str) -> str:
    """The selector of what the prediction ``key`` guards: its demo, or the first cell after it."""
    block = f"#predict-{key}"
    demo = page.get_attribute(block, "data-for")
    if demo:
        return f"#{demo}"
    n = page.eval_on_selector(block, """b => [...document.querySelectorAll('.gc-cell')]
        .find(c => b.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING).dataset.cell""")
    return f'.gc-cell[data-cell="{n}"]'


def answer_right(page, key: str, target: str) -> None:
    """The target starts veiled; the right answer marks it, opens the explanation and lifts the veil."""
    block = f"#predict-{key}"
    hidden = ".gc-figures" if target.startswith("#") else "[data-cell-output]"
    assert page.eval_on_selector(target, "el => el.classList.contains('gc-predict-veiled')"), target
    assert page.eval_on_selector(f"{target} {hidden}", "el => el.inert"), target
    answer = page.get_attribute(block, "data-answer")
    page.locator(f"{block} input[value={answer}]").check()
    page.wait_for_function("s => !document.querySelector(s).classList.contains('gc-predict-veiled')", arg=target)
    assert page.text_content(f"{block} .gc-predict-feedback").startswith(f"Right: {answer}.")
    assert page.eval_on_selector(f"{block} details", "el => el.open")
    assert page.eval_on_selector(f"{block} [data-choice={answer}]", "el => el.classList.contains('gc-predict-correct')")
    assert not page.eval_on_selector(f"{target} {hidden}", "el => el.inert")
    assert page.locator(f"{target} .gc-predict-veil").count() == 0


def quoted_values(page, demo_id: str) -> dict[str, str]:
    """What the page's prose (predictions included) quotes from the demo: field -> build-time value."""
    return page.eval_on_selector_all(
        f'.gc-value[data-value-of="{demo_id}"]',
        "els => Object.fromEntries(els.map(e => [e.dataset.field, e.dataset.value]))")


def check_demo(page, demo_id: str, quoted: bool = False) -> None:
    """Live, painted, equal to CPython, and equal to every value the prose quoted from it (and,
    with ``quoted``, the prose must quote at least one: a prediction's explanation does)."""
    sel = f"#{demo_id}"
    demo_ready(page, sel)
    wait_idle(page, sel)
    assert_figures_painted(page, sel)
    assert_matches_cpython(page, sel)
    live = results(page, sel)
    values = quoted_values(page, demo_id)
    assert values or not quoted, f"{sel}: its prediction quotes none of its numbers"
    for field, built in values.items():
        assert field in live, f"{sel}: the prose quotes {field}, which the demo does not show"
        assert same(live[field], built), (sel, field, live[field], built)


def build_output(page, cell: str) -> str:
    return page.text_content(f"{cell} [data-cell-output] .gc-cell-stream") or ""


def run_cell(page, cell: str) -> str:
    """Run the cell through its page hook and return what it printed (it must not fail)."""
    page.locator(cell).scroll_into_view_if_needed()
    page.eval_on_selector(cell, "c => { c.gcCell.run(); }")
    page.wait_for_function("s => ['done', 'error'].includes(document.querySelector(s).dataset.state)",
                           arg=cell, timeout=CELL_MS)
    assert page.get_attribute(cell, "data-state") == "done", page.text_content(f"{cell} [data-cell-output]")
    return build_output(page, cell)


@pytest.mark.parametrize("path", list(PREDICTIONS))
def test_each_prediction_reveals_what_it_guards_and_the_numbers_match(page, site_url, console_errors, path):
    page.goto(site_url + path)
    keys = page.eval_on_selector_all(".gc-predict[data-key]", "els => els.map(e => e.dataset.key)")
    assert keys == PREDICTIONS[path]
    built = {c: build_output(page, f'.gc-cell[data-cell="{c}"]')
             for c in page.eval_on_selector_all(".gc-cell", "els => els.map(e => e.dataset.cell)")}
    assert all(built.values()), f"{path}: a cell has no build-time output"
    ran: set[str] = set()
    for key in keys:
        target = guarded(page, key)
        answer_right(page, key, target)
        if target.startswith("#"):
            check_demo(page, target[1:], quoted=True)
        else:
            n = page.get_attribute(target, "data-cell")
            # Cells share one namespace in page order: run the ones before it first.
            for earlier in sorted((c for c in built if int(c) < int(n) and c not in ran), key=int):
                assert run_cell(page, f'.gc-cell[data-cell="{earlier}"]') == built[earlier]
                ran.add(earlier)
            assert run_cell(page, target) == built[n]
            ran.add(n)
    # The rest of the page: every demo and every cell, held to the same rules.
    guarded_demos = {k for k in keys if not k.startswith("cell-")}
    for demo_id in page.eval_on_selector_all(".gc-demo", "els => els.map(e => e.id)"):
        if demo_id not in guarded_demos:
            check_demo(page, demo_id)
    for c in sorted(set(built) - ran, key=int):
        assert run_cell(page, f'.gc-cell[data-cell="{c}"]') == built[c], (path, c)
    assert console_errors == []

"""Every "predict first" block of the site, answered in a real browser (issue 13).

For each prediction: what it guards (a demo, or the code cell after it) starts veiled and out of
reach; answering marks the choice, opens the explanation and lifts the veil. Then the numbers the
explanation and the prose quote (``{gc:<id>.<field>}``, computed by CPython when the page was
built) must be the numbers the live demo computes under Pyodide, and a guarded cell, run in the
page, must print what the build printed under it.

The pages are visited by instant navigation, as a reader moves through the site, so one Python
runtime serves them all.
"""

from __future__ import annotations

import re

import pytest

from support import demo_ready, instant_goto, results, same, site_pages, page_url

pytestmark = pytest.mark.browser

READY_MS = 180_000


def prediction_pages(site) -> list[str]:
    """The site's pages with at least one prediction, as paths under the site's root."""
    found = []
    for page in site_pages(site):
        if 'class="admonition question gc-predict"' in page.read_text():
            found.append(page)
    return found


def blocks(page) -> list[dict]:
    return page.eval_on_selector_all(".gc-predict[data-key]", """els => els.map(b => ({
        key: b.dataset.key, demo: b.dataset.for || null, answer: b.dataset.answer }))""")


def guarded_cell(page, key: str) -> str:
    """The data-cell number of the first cell after the prediction ``key``."""
    return page.evaluate("""key => {
        const block = document.getElementById('predict-' + key);
        const cell = [...document.querySelectorAll('.gc-cell')].find(
            c => block.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING);
        return cell.dataset.cell; }""", key)


def veiled(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "el => el.classList.contains('gc-predict-veiled')")


def answer(page, block: dict, target: str) -> None:
    """Pick the right answer; the explanation opens and the target is revealed."""
    key, letter = block["key"], block["answer"]
    assert veiled(page, target), f"{target} is not veiled before the prediction {key} is answered"
    assert page.eval_on_selector(f"{target} .gc-figures, {target} [data-cell-output]", "el => el.inert")
    page.locator(f"#predict-{key} input[value={letter}]").check()
    assert not veiled(page, target)
    assert page.eval_on_selector(f"#predict-{key} details", "el => el.open")
    assert f"Right: {letter}." in page.text_content(f"#predict-{key} .gc-predict-feedback")


def assert_quoted_values_are_live(page, demo_id: str) -> int:
    """Every value the page quotes from the demo equals the live (Pyodide) result; returns how many."""
    demo_ready(page, f"#{demo_id}", timeout=READY_MS)
    live = results(page, f"#{demo_id}")
    quoted = page.eval_on_selector_all(
        f'.gc-value[data-value-of="{demo_id}"]',
        "els => els.map(e => [e.dataset.field, e.dataset.value])")
    for field, built in quoted:
        assert field in live, f"the page quotes {demo_id}.{field}, which the demo does not show"
        assert same(live[field], built), (demo_id, field, live[field], built)
    return len(quoted)


def printed(page, selector: str) -> str:
    """What a cell printed and its final value, whitespace-normalised (figures aside: the build
    writes them as SVG, the page paints them on canvas)."""
    text = page.eval_on_selector(selector, """c => [...c.querySelectorAll('.gc-cell-stream, .gc-cell-value')]
        .map(e => e.textContent).join('\\n')""")
    return re.sub(r"\s+", " ", text).strip()


def run_cells_through(page, last: int) -> str:
    """Run cells 1..last in order (the later ones may need the earlier ones' names); the last one's output."""
    for n in range(1, last + 1):
        sel = f'.gc-cell[data-cell="{n}"]'
        if page.get_attribute(sel, "data-scope"):
            continue                      # a docstring example runs in its own module's namespace
        page.eval_on_selector(sel, "c => c.gcCell.run()")
        page.wait_for_function("s => ['done', 'error'].includes(document.querySelector(s).dataset.state)",
                               arg=sel, timeout=READY_MS)
        assert page.get_attribute(sel, "data-state") == "done", page.text_content(sel)
    return printed(page, f'.gc-cell[data-cell="{last}"]')


def test_every_prediction_reveals_what_it_guards_and_quotes_live_numbers(page, site_url, built_site,
                                                                          console_errors):
    pages = prediction_pages(built_site)
    assert len(pages) >= 11, [str(p) for p in pages]      # every Learn and Practice page, at least
    checked = {"demo": 0, "cell": 0, "values": 0}
    for i, path in enumerate(pages):
        url = page_url(built_site, site_url, path)
        page.goto(url) if i == 0 else instant_goto(page, url)
        for block in blocks(page):
            if block["demo"]:
                target = f"#{block['demo']}"
                answer(page, block, target)
                checked["values"] += assert_quoted_values_are_live(page, block["demo"])
                checked["demo"] += 1
            else:
                n = guarded_cell(page, block["key"])
                target = f'.gc-cell[data-cell="{n}"]'
                built = printed(page, target)
                assert built, f"{url}: the cell after prediction {block['key']} prints nothing"
                answer(page, block, target)
                assert run_cells_through(page, int(n)) == built, (url, n)
                checked["cell"] += 1
    assert checked["demo"] and checked["cell"] and checked["values"], checked
    assert console_errors == []

"""Code cells at build time (site_hooks/cells.py): which blocks become cells, and that every cell
on the built site shows what CPython prints for it today.

The last test is the one the site's examples rest on: it reads every cell back from the built
pages and runs it again here, page by page in page order, with the function the browser's worker
uses, so an example whose output drifted from the package fails the suite.
"""

from __future__ import annotations

import json

import markdown
import pytest

from gradclip.cells import Notebook, run_cell
from site_hooks.cells import CellBlockError, Block, read_cells, runnable, run_command


def render(text: str) -> str:
    return markdown.Markdown(extensions=["pymdownx.superfences", "site_hooks.cells"]).convert(text)


def test_a_page_s_blocks_become_cells_that_share_a_namespace_in_order():
    page = render("```python\nimport numpy as np\nx = np.arange(3)\n```\n\ntext\n\n```python\nprint(x.sum())\nx * 2\n```")
    first, second = read_cells(page)
    assert (first.attrs["data-cell"], second.attrs["data-cell"]) == ("1", "2")
    assert first.attrs["data-state"] == "idle" and 'data-cell-output' in page
    assert second.stream == "3\n" and second.value == "array([0, 2, 4])"
    # names the second cell takes from the first: the page's hint when it is run first
    assert json.loads(second.attrs["data-defined-earlier"]) == {"x": "cell 1"}
    assert json.loads(first.attrs["data-defined-earlier"]) == {}


def test_a_cell_s_figure_is_written_as_svg_for_readers_without_webassembly():
    page = render("```python\nimport gradclip\ngradclip.Figure(x_range=(0, 1), y_range=(0, 1)).line([0, 1], [0, 1])\n```")
    (cell,) = read_cells(page)
    assert cell.figures == 1 and cell.value is None
    assert "<svg" in page


@pytest.mark.parametrize("source, why", [
    ("import torch\nx = torch.ones(2)", "PyTorch (torch)"),
    ("optimizer = keras.optimizers.AdamW(1e-3, clipnorm=1.0)", "Keras (keras)"),
    ("for x, y in loader:\n    model(x)", "it uses loader, model"),
    ("import matplotlib.pyplot as plt", "Matplotlib"),
    ("import subprocess", "subprocess"),
])
def test_blocks_that_cannot_run_in_the_page_stay_code_and_say_why(source, why):
    page = render(f"```python\n{source}\n```")
    assert read_cells(page) == []
    assert 'class="gc-code-static"' in page and why in page


def test_an_author_can_mark_a_block_static_or_expected_to_fail():
    page = render('```python static="An excerpt."\nx = 1\n```\n\n```python error\n1 / 0\n```')
    assert 'title="An excerpt."' in page
    (cell,) = read_cells(page)
    assert cell.error == "ZeroDivisionError: division by zero"
    with pytest.raises(CellBlockError, match="marked 'error' but ran without one"):
        render("```python error\n1 + 1\n```")


def test_a_block_that_fails_fails_the_build_with_its_line():
    with pytest.raises(CellBlockError, match=r"(?s)line 3: .*failed when the page was built.*ZeroDivisionError"):
        render("Intro.\n\n```python\n1 / 0\n```")


def test_a_cell_inside_a_tab_or_admonition_keeps_its_indent():
    page = render('!!! note\n    ```python\n    print("inside")\n    ```\n')
    (cell,) = read_cells(page)
    assert cell.stream == "inside\n"


def test_doctest_blocks_run_in_their_module_and_continue_per_docstring():
    text = ('```pycon scope="gradclip.autoclip.autoclip_threshold" example="1"\n'
            '>>> v = autoclip_threshold([1.0, 2.0, 3.0], percentile=50)\n>>> v\n2.0\n```\n\n'
            '```pycon scope="gradclip.autoclip.autoclip_threshold" example="2"\n>>> v + 1\n3.0\n```')
    first, second = read_cells(render(text))
    assert first.attrs["data-mode"] == "all" and first.stream == "2.0\n" and second.stream == "3.0\n"
    assert json.loads(second.attrs["data-defined-earlier"]) == {"v": "example 1"}
    assert read_cells(render("```pycon\n>>> 1 + 1\n2\n```")) == [], "without a scope: a transcript"


def test_the_command_line_s_output_is_computed_never_typed():
    page = render("```console\n$ gradclip simulate --tau -1\n```")
    assert "tau must be a number &gt; 0" in page
    with pytest.raises(CellBlockError, match="computed when the page is built"):
        render("```console\n$ gradclip simulate\ntyped output\n```")
    assert run_command("$ gradclip landscapes").startswith("$ gradclip landscapes\ncliff")


def test_runnable_reads_the_names_earlier_cells_define():
    block = Block(0, 2, "", "python", "clipped = gradclip.clip_by_norm(g, 1.0)")
    assert "it uses g, gradclip," in runnable(block, set())
    assert runnable(block, {"gradclip", "g"}) == ""


@pytest.mark.site
def test_every_cell_on_the_built_site_shows_what_cpython_prints_for_it(built_site):
    pages = {p: read_cells(p.read_text(encoding="utf-8")) for p in sorted(built_site.rglob("*.html"))}
    pages = {p: cs for p, cs in pages.items() if cs}
    names = {p.relative_to(built_site).parent.as_posix() for p in pages}
    assert {"guide/python", "guide/reference", "monitor/training-monitor", "."} <= names
    total = 0
    for path, shown in pages.items():
        notebook = Notebook()
        for cell in shown:
            a = cell.attrs
            ns = notebook.namespace(str(path), "1", a["data-scope"])
            r = run_cell(cell.code.removesuffix("\n"), ns, mode=a["data-mode"], name=a["data-label"])
            where = f"{path.relative_to(built_site)}, {a['data-label']}"
            assert r.stdout == cell.stream, where
            assert r.value == cell.value, where
            assert (r.error.summary if r.error else None) == cell.error, where
            assert len(r.figures) == cell.figures, where
            total += 1
    assert total >= 40

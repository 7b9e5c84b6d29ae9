"""The ``site_hooks.predict`` Markdown extension: predict-first blocks, computed tables, docstring roles.

A page author gets a build error naming the block's line for every mistake; a reader without
JavaScript gets a complete exercise (the choices, and the answer in a closed ``<details>``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import markdown
import pytest

ROOT = Path(__file__).resolve().parents[2]   # the repository
sys.path.insert(0, str(ROOT))

from site_hooks.predict import parse_block, render_table, rest_roles  # noqa: E402

EXTENSIONS = ["site_hooks.math", "site_hooks.predict", "admonition", "pymdownx.details",
              "pymdownx.superfences", "pymdownx.tabbed"]

GOOD = """\
```gradclip-predict
demo: d1
question: What is $\\tau$ for?
choice: Nothing.
choice: It caps the **norm**.
answer: B
explanation: Read the formula:
  it is the largest norm let through.
```
"""

# A stand-in for a gradclip-demo block: the predict extension only reads its id line.
DEMO = "```gradclip-demo\ndemo: whatever\nid: d1   # the demo the exercise belongs to\n```\n"


def convert(text: str) -> str:
    # Without the demo-block extension the demo fence stays a code block; that is enough here.
    return markdown.Markdown(extensions=EXTENSIONS).convert(text)


def test_a_block_becomes_a_question_with_radio_choices_and_a_closed_answer():
    html = convert(DEMO + "\n" + GOOD)
    block = re.search(r'<div class="admonition question gc-predict".*?</div>', html, flags=re.S).group(0)
    assert 'data-for="d1"' in block and 'data-answer="B"' in block
    assert block.count('type="radio" name="gc-predict-d1"') == 2
    assert "<legend" in block and "<math" in block           # the question, with its formula
    assert "<strong>norm</strong>" in block                   # inline Markdown in a choice
    details = re.search(r"<details.*?</details>", block, flags=re.S).group(0)
    assert " open" not in details.split(">")[0]               # the answer starts closed
    assert "It caps the" in details and "it is the largest norm let through" in details


def test_parse_block_reads_every_field():
    p = parse_block(GOOD.splitlines()[1:-1])
    assert p.demo == "d1" and p.answer == 1 and len(p.choices) == 2
    assert p.explanation == "Read the formula: it is the largest norm let through."


@pytest.mark.parametrize("change, message", [
    (("answer: B", "answer: C"), "must be one letter from A to B"),
    (("answer: B", "answer: two"), "must be one letter"),
    (("choice: Nothing.\n", ""), "between 2 and 8"),
    (("demo: d1", "demo: d1\ndemo: d2"), "given twice"),
    (("demo: d1", "dmeo: d1"), "expected one of demo:"),
    (("explanation: Read the formula:\n  it is the largest norm let through.\n", ""), "explanation: line is missing"),
])
def test_mistakes_in_a_block_are_build_errors_naming_the_line(change, message):
    bad = GOOD.replace(*change)
    with pytest.raises(ValueError, match=message) as err:
        convert(DEMO + "\n" + bad)
    assert "gradclip-predict block at line" in str(err.value)


def test_a_prediction_must_name_a_demo_on_the_same_page():
    with pytest.raises(ValueError, match="not the id: of a gradclip-demo block"):
        convert(GOOD)
    with pytest.raises(ValueError, match="already has a prediction"):
        convert(DEMO + "\n" + GOOD + "\n" + GOOD)


def test_an_unclosed_block_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        convert(DEMO + GOOD.rsplit("```", 1)[0])


def test_a_block_inside_a_content_tab_keeps_working():
    tabbed = '=== "Tab"\n\n' + "".join("    " + line + "\n" for line in (DEMO + "\n" + GOOD).splitlines())
    html = convert(tabbed)
    assert 'class="tabbed-set' in html and 'data-for="d1"' in html


def test_the_differences_table_is_framework_differences_computed_now():
    from gradclip.frameworks import FRAMEWORK_CONVENTIONS, framework_differences

    html = convert("```gradclip-table\ntable: framework_differences\n```\n")
    rows = framework_differences()
    assert html.count("<tr>") == 1 + len(rows)                # header + one row per case
    assert html.count('class="gc-table-note"') == len(rows)
    for label in (label for _, label in FRAMEWORK_CONVENTIONS):
        assert f"<th>{label}</th>" in html
    for r in rows:
        assert r["case"] in html and r["pytorch"] in html
    assert "md-typeset__table" in render_table("framework_differences")


def test_an_unknown_table_is_an_error():
    with pytest.raises(ValueError, match="framework_differences"):
        convert("```gradclip-table\ntable: nope\n```\n")


def test_docstring_math_and_object_roles_become_markdown():
    lines = [
        "The threshold :math:`\\tau \\ge 0`, see :class:`~gradclip.ZClip`.",
        "",
        ".. math::",
        "",
        "    g \\leftarrow g \\min(1, \\tau / \\lVert g \\rVert)",
        "",
        "Text after.",
        "```python",
        "x = ':math:`kept`'",
        "```",
    ]
    out = rest_roles(lines)
    assert out[0] == "The threshold $\\tau \\ge 0$, see `gradclip.ZClip`."
    assert "$$g \\leftarrow g \\min(1, \\tau / \\lVert g \\rVert)$$" in out
    assert "Text after." in out and "x = ':math:`kept`'" in out   # code is left alone


def test_docstring_math_renders_as_mathml_in_a_page():
    html = convert("A :math:`\\lVert g \\rVert` norm.\n\n.. math:: a = b\n")
    assert html.count("<math") == 2 and ":math:" not in html and ".. math" not in html


CELL = """\
```gradclip-predict
cell: next
question: What does it print?
choice: 1
choice: 2
answer: B
explanation: One plus one.
```

```python
print(1 + 1)
```
"""


def test_a_prediction_can_guard_the_next_code_cell():
    html = convert(CELL + "\n" + CELL.replace("What does", "And what does"))
    blocks = re.findall(r'<div class="admonition question gc-predict"[^>]*>', html)
    assert len(blocks) == 2 and all('data-cell-target="next"' in b and "data-for" not in b for b in blocks)
    assert 'data-key="cell-1"' in blocks[0] and 'data-key="cell-2"' in blocks[1]
    assert 'name="gc-predict-cell-2"' in html          # the two radio groups stay apart


@pytest.mark.parametrize("text, message", [
    (CELL.replace("cell: next", "cell: next\ndemo: d1"), "exactly one of demo:"),
    (CELL.replace("cell: next\n", ""), "exactly one of demo:"),
    (CELL.replace("cell: next", "cell: 3"), "must be 'next'"),
    (CELL.split("```python")[0], "no python code block follows"),
])
def test_a_cell_prediction_needs_one_target_and_a_cell_after_it(text, message):
    with pytest.raises(ValueError, match=message):
        convert(DEMO + "\n" + text)


def test_a_prediction_quotes_the_demo_it_guards_with_computed_values():
    # {gc:<id>.<field>} in a prediction's text is replaced by the demo's build-time result,
    # exactly as in the prose: the explanation's numbers are gradclip's.
    text = ("```gradclip-demo\ndemo: clip_vector\nid: v\ngx: 3\ngy: 4\n```\n\n"
            + GOOD.replace("demo: d1", "demo: v").replace("Read the formula:", "The norm is {gc:v.raw_norm}."))
    html = markdown.Markdown(extensions=["site_hooks.demo_blocks"] + EXTENSIONS).convert(text)
    answer = re.search(r"<details.*?</details>", html, flags=re.S).group(0)
    assert re.search(r'<span class="gc-value" data-value-of="v" data-field="raw_norm" data-value="5(\.0)?">5', answer)

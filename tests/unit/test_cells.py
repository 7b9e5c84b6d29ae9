"""gradclip.cells: a reader's code run the way a notebook (or, for doctests, the prompt) runs it.

The site's worker, the site build and the CPython test of every page's cells all call
``run_cell``; these tests pin down what a reader sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gradclip
from gradclip.cells import FIGURE_BYTES, FIGURE_LIMIT, OUTPUT_LIMIT, SOURCE_LIMIT, Notebook, fresh_namespace, run_cell
from gradclip.web import Session


def test_a_notebook_cell_shows_its_last_expression_and_what_it_printed():
    ns = fresh_namespace()
    r = run_cell("import numpy as np\nprint('norm', np.hypot(3, 4))\nnp.array([3.0, 4.0]) / 5", ns)
    assert r.ok
    assert r.stdout == "norm 5.0\n"
    assert r.value == repr(np.array([0.6, 0.8])) == "array([0.6, 0.8])"


def test_none_and_assignments_show_no_value():
    ns = fresh_namespace()
    assert run_cell("x = 1", ns).value is None
    assert run_cell("print('a')", ns).value is None       # print returns None
    assert run_cell("x", ns).value == "1"


def test_prompt_mode_prints_every_expression_and_goes_on_after_an_exception():
    r = run_cell("1 + 1\nfor i in range(2):\n    i\nint('x')\n'after'", fresh_namespace(), mode="all")
    assert r.ok, "the prompt reports an exception and continues, as a doctest does"
    lines = r.stdout.splitlines()
    assert lines[:3] == ["2", "0", "1"]
    assert lines[-2:] == ["ValueError: invalid literal for int() with base 10: 'x'", "'after'"]
    assert ("stderr", next(t for n, t in r.streams if n == "stderr")) in r.streams


def test_prompt_mode_output_equals_the_docstring_it_came_from():
    """What a docstring's example prints under mode="all" is what doctest compares."""
    import doctest

    test = doctest.DocTestFinder().find(gradclip.clip_by_norm)[0]
    source = "".join(e.source for e in test.examples)
    want = "".join(e.want for e in test.examples)
    r = run_cell(source, fresh_namespace("gradclip.clipping.clip_by_norm"), mode="all")
    assert r.stdout == want


def test_stdout_and_stderr_keep_their_order():
    r = run_cell("import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')", fresh_namespace())
    assert r.streams == [("stdout", "a\n"), ("stderr", "b\n"), ("stdout", "c\n")]
    assert r.stdout == "a\nb\nc\n"


def test_output_streams_to_the_writer_in_order_while_the_cell_runs():
    got = []
    r = run_cell("for i in range(3):\n    print(i)", fresh_namespace(), write=lambda s, t: got.append((s, t)))
    assert "".join(t for _, t in got) == r.stdout == "0\n1\n2\n"


def test_a_flood_of_output_is_cut_at_the_limit_and_counted():
    r = run_cell(f"print('x' * {OUTPUT_LIMIT + 500})", fresh_namespace())
    assert len(r.stdout) == OUTPUT_LIMIT
    assert r.truncated == 501          # the rest of the x's and the newline


def test_a_huge_value_is_cut_at_the_limit_too():
    r = run_cell("'y' * 300_000", fresh_namespace())
    assert len(r.value) == OUTPUT_LIMIT and r.truncated == 300_002 - OUTPUT_LIMIT   # repr adds the quotes


def test_an_error_keeps_the_cells_own_frames_and_quotes_its_lines():
    ns = fresh_namespace()
    run_cell("def f(x):\n    return 1 / x", ns, name="cell 1")
    r = run_cell("y = 2\nf(0)", ns, name="cell 2")
    assert r.error.kind == "ZeroDivisionError"
    assert r.error.summary == "ZeroDivisionError: division by zero"
    tb = r.error.traceback
    assert tb.startswith("Traceback (most recent call last):")
    assert '"<cell 2>", line 2' in tb and '"<cell 1>", line 2, in f' in tb and "return 1 / x" in tb
    assert "gradclip/cells.py" not in tb, "the runner's own frames are not the reader's business"


def test_a_library_frame_names_its_file_inside_the_installation_not_the_machines_folders():
    # The build's output is a page: the same on any machine, and the same as Pyodide prints.
    r = run_cell("import gradclip\ngradclip.clip_by_norm([1.0], -1)", fresh_namespace(), name="cell 1")
    tb = r.error.traceback
    assert '"gradclip/clipping.py", line' in tb and '"gradclip/checks.py", line' in tb
    assert str(Path(gradclip.__file__).parent) not in tb


def test_a_syntax_error_is_reported_as_python_reports_it():
    r = run_cell("print(1", fresh_namespace(), name="cell 1")
    assert r.error.kind == "SyntaxError"
    assert r.error.summary == "SyntaxError: '(' was never closed"
    assert '"<cell 1>", line 1' in r.error.traceback


def test_a_name_from_an_earlier_cell_says_which_cell_to_run_first():
    r = run_cell("G * 2", fresh_namespace(), defined_earlier={"G": "cell 2"})
    assert r.error.summary == "NameError: name 'G' is not defined"
    assert r.error.hint == "G is defined in cell 2 above, which has not run on this page yet: run that cell first."
    assert run_cell("H * 2", fresh_namespace(), defined_earlier={"G": "cell 2"}).error.hint == ""


@pytest.mark.parametrize("source, kind", [("raise SystemExit(3)", "SystemExit"),
                                          ("raise KeyboardInterrupt", "KeyboardInterrupt")])
def test_exiting_or_interrupting_ends_the_cell_not_the_runtime(source, kind):
    r = run_cell(source, fresh_namespace())
    assert r.error.kind == kind
    assert r.error.interrupted == (kind == "KeyboardInterrupt")


def test_the_streams_are_restored_after_any_run():
    import sys

    before = sys.stdout, sys.stderr, sys.displayhook, sys.stdin
    run_cell("1/0", fresh_namespace())
    run_cell("1\n2", fresh_namespace(), mode="all")
    assert (sys.stdout, sys.stderr, sys.displayhook, sys.stdin) == before


def test_input_says_a_cell_has_no_terminal():
    r = run_cell("name = input('Your name? ')", fresh_namespace())
    assert r.error.summary.startswith("OSError: input() cannot read in a code cell")
    assert r.stdout == "Your name? "


def test_a_figure_as_the_last_value_or_through_show_is_drawn():
    ns = fresh_namespace()
    src = ("import gradclip\nfig = gradclip.Figure(x_range=(0, 2), y_range=(0, 4)).line([0, 1, 2], [0, 1, 4])\n"
           "show(fig)\nfig")
    r = run_cell(src, ns)
    assert r.value is None and len(r.figures) == 2
    assert r.figures[0] == gradclip.Figure(x_range=(0, 2), y_range=(0, 4)).line([0, 1, 2], [0, 1, 4]).to_dict()
    json.dumps(r.to_dict(), allow_nan=False)


def test_show_refuses_what_the_painter_cannot_draw():
    ns = fresh_namespace()
    assert run_cell("show(3)", ns).error.summary == "TypeError: figure must be a gradclip.Figure, got int"
    r = run_cell("import gradclip\nshow(gradclip.Figure(y_range=(0, float('nan'))))", ns)
    assert r.error.kind == "ValueError" and "NaN or infinity" in r.error.summary


def test_too_many_or_too_large_figures_are_refused_with_the_limit():
    ns = fresh_namespace()
    r = run_cell("import gradclip\nfor i in range(50):\n    show(gradclip.Figure())", ns)
    assert len(r.figures) == FIGURE_LIMIT
    assert r.error.summary == f"ValueError: a cell may draw at most {FIGURE_LIMIT} figures; this is figure {FIGURE_LIMIT + 1}"
    r = run_cell("import numpy as np\ngradclip.Figure().line(np.arange(1e6), np.arange(1e6))", ns)
    assert r.error.kind == "ValueError" and f"at most {FIGURE_BYTES:,} bytes" in r.error.summary


def test_a_readers_own_show_is_left_alone():
    ns = fresh_namespace()
    run_cell("def show(x):\n    print('mine', x)", ns)
    assert run_cell("show(1)", ns).stdout == "mine 1\n"


def test_pages_and_views_have_separate_namespaces():
    nb = Notebook()
    run_cell("x = 1", nb.namespace("a/", "1"))
    assert run_cell("x", nb.namespace("a/", "1")).value == "1"
    assert run_cell("x", nb.namespace("b/", "1")).error.kind == "NameError"
    assert run_cell("x", nb.namespace("a/", "2")).error.kind == "NameError", "a page shown again starts afresh"


def test_a_docstring_scope_sees_its_modules_globals_as_doctest_does():
    ns = Notebook().namespace("ref/", "1", scope="gradclip.autoclip.autoclip_threshold")
    assert run_cell("autoclip_threshold([1.0, 2.0, 3.0], percentile=50)", ns).value == "2.0"


@pytest.mark.parametrize("kwargs, message", [
    ({"source": 3}, "source must be a str, got int"),
    ({"source": "x" * (SOURCE_LIMIT + 1)}, f"source must be at most {SOURCE_LIMIT} characters"),
    ({"namespace": []}, "namespace must be a dict, got list"),
    ({"mode": "every"}, "mode must be one of"),
])
def test_bad_arguments_are_refused_with_their_name(kwargs, message):
    args = {"source": "1", "namespace": {}, **kwargs}
    with pytest.raises((TypeError, ValueError), match=message):
        run_cell(args.pop("source"), args.pop("namespace"), **args)


def test_the_workers_session_runs_cells_per_page():
    s = Session()
    first = json.loads(s.cell(json.dumps({"page": "p/", "view": "1", "source": "a = 40"})))
    second = json.loads(s.cell(json.dumps({"page": "p/", "view": "1", "source": "a + 2", "name": "cell 2"})))
    other = json.loads(s.cell(json.dumps({"page": "q/", "view": "1", "source": "a",
                                          "defined_earlier": {"a": "cell 1"}})))
    assert first["error"] is None and second["value"] == "42"
    assert other["error"]["hint"].startswith("a is defined in cell 1")

r"""Code cells: a reader's Python run the way a notebook runs it, for the site's editable examples.

Every runnable code block on the site is a *cell*. The same function runs it three times over:
when the site is built (its output is written under the code, so the page reads complete without
WebAssembly), in the reader's browser under Pyodide when they press Run, and in the test suite,
which re-runs every cell of the built site and compares (``tests/site/test_cells_site.py``).

Two ways to run, as the two kinds of example on the site need:

``mode="last"`` (a Markdown ``python`` block)
    Like a notebook cell: the statements run in order and the value of a final expression is
    shown (``Out``), unless it is ``None``. A :class:`gradclip.Figure` as the final value is drawn.
``mode="all"`` (a docstring's ``>>>`` example)
    Like the interactive prompt and :mod:`doctest`: every top-level statement is compiled in
    ``"single"`` mode, so each expression statement prints its ``repr``, which is exactly what a
    doctest compares.

``show(figure)`` draws a figure from anywhere in a cell; the name is put into every namespace.

Cells of one page share a namespace, in page order; each page has its own, kept apart from the
demos' state and from other pages (:class:`Notebook`). A ``NameError`` for a name an earlier
cell defines says which cell to run first.

>>> nb = Notebook()
>>> ns = nb.namespace("guide/python/", view="1")
>>> run_cell("x = 6 * 7\nx", ns).value
'42'
>>> r = run_cell("print('hi'); y", ns, defined_earlier={"y": "cell 2"})
>>> r.stdout, r.error.summary
('hi\n', "NameError: name 'y' is not defined")
>>> r.error.hint
'y is defined in cell 2 above, which has not run on this page yet: run that cell first.'
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import linecache
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from gradclip.checks import choice

__all__ = ["SOURCE_LIMIT", "OUTPUT_LIMIT", "FIGURE_LIMIT", "FIGURE_BYTES", "CellError", "CellResult", "Notebook", "run_cell"]

#: The longest cell accepted, in characters (a pasted notebook, not a pasted data file).
SOURCE_LIMIT = 100_000
#: Output kept per cell, in characters; the rest is counted and reported, not shown. A cell that
#: prints in a loop must not bury the page (or the worker's messages) under megabytes of text.
OUTPUT_LIMIT = 100_000
#: How often streamed output is handed on while a cell runs (seconds); a write per print call
#: would post a message per line.
FLUSH_EVERY = 0.05
#: Figures one run may draw, and the size of one as JSON: a loop that draws a thousand, or a
#: line of ten million points, would stall the page that paints them.
FIGURE_LIMIT = 20
FIGURE_BYTES = 4_000_000

Write = Callable[[str, str], None]


@dataclass
class CellError:
    """What went wrong: the traceback as Python prints it, its last line, and a hint."""

    summary: str                 # the last line: "ValueError: tau must be ..."
    traceback: str               # the whole traceback, with the cell's own lines only
    kind: str                    # the exception's class name
    hint: str = ""               # e.g. which earlier cell defines a missing name
    interrupted: bool = False    # stopped by the reader (KeyboardInterrupt)


@dataclass
class CellResult:
    """One run of a cell: what it printed, its value, its figures, and an error if it raised.

    ``stdout`` holds stdout and stderr as they interleaved; ``streams`` keeps them apart as
    ``(name, text)`` chunks in order. ``value`` is the ``repr`` of the final expression
    (``mode="last"``), or ``None``.
    """

    stdout: str = ""
    streams: list[tuple[str, str]] = field(default_factory=list)
    value: str | None = None
    figures: list[dict[str, Any]] = field(default_factory=list)
    error: CellError | None = None
    truncated: int = 0           # characters of output not kept (over OUTPUT_LIMIT)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the worker's message, the page's build-time output)."""
        out: dict[str, Any] = {"stdout": self.stdout, "streams": [list(s) for s in self.streams],
                               "value": self.value, "figures": self.figures, "truncated": self.truncated}
        out["error"] = None if self.error is None else self.error.__dict__.copy()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)


class _Output:
    """Everything a run writes, in order, kept up to :data:`OUTPUT_LIMIT` characters, and handed
    on to ``sink`` in batches (at most every :data:`FLUSH_EVERY` seconds) while the cell runs."""

    def __init__(self, sink: Write | None) -> None:
        self.sink = sink
        self.chunks: list[tuple[str, str]] = []      # everything kept, in order
        self.pending: list[tuple[str, str]] = []     # kept but not yet handed to the sink
        self.kept = 0
        self.dropped = 0
        self.last = time.monotonic()

    def write(self, name: str, text: str) -> None:
        kept = text[:max(OUTPUT_LIMIT - self.kept, 0)]
        self.dropped += len(text) - len(kept)
        if kept:
            self.kept += len(kept)
            self.chunks.append((name, kept))
            self.pending.append((name, kept))
        if self.sink and self.pending and time.monotonic() - self.last >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.sink:
            for name, text in _merged(self.pending):
                self.sink(name, text)
        self.pending.clear()
        self.last = time.monotonic()

    def fill(self, result: CellResult) -> None:
        result.streams = _merged(self.chunks)
        result.stdout = "".join(text for _, text in self.chunks)
        result.truncated = self.dropped


class _Stream:
    """A stand-in for ``sys.stdout`` or ``sys.stderr`` writing into one :class:`_Output`."""

    def __init__(self, name: str, output: _Output) -> None:
        self.name, self.output = name, output

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.output.write(self.name, text)
        return len(text)

    def flush(self) -> None:
        pass   # batches go out on the clock and at the end of the run, not on every print

    def isatty(self) -> bool:
        return False


class _NoInput:
    """``sys.stdin`` while a cell runs: a page has no terminal to type into, so ``input()`` says so
    (under Pyodide it would otherwise read nothing, or block on a prompt a worker cannot show)."""

    def readline(self, *args: Any) -> str:
        raise OSError("input() cannot read in a code cell: there is no terminal; "
                      "set the value in the code instead")

    read = readline

    def isatty(self) -> bool:
        return False


def _merged(chunks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Adjacent chunks of the same stream joined: ``[("stdout", "a"), ("stdout", "b")]`` -> one."""
    out: list[tuple[str, list[str]]] = []
    for name, text in chunks:
        if out and out[-1][0] == name:
            out[-1][1].append(text)
        else:
            out.append((name, [text]))
    return [(name, "".join(parts)) for name, parts in out]


# --- figures ---------------------------------------------------------------------------------

def _figure_dict(figure: Any, argument: str = "figure") -> dict[str, Any]:
    """A :class:`gradclip.Figure` as the strict-JSON dictionary the painter draws."""
    from gradclip.figures import Figure

    if not isinstance(figure, Figure):
        raise TypeError(f"{argument} must be a gradclip.Figure, got {type(figure).__name__}")
    data = figure.to_dict()
    try:
        size = len(json.dumps(data, allow_nan=False))
    except ValueError:
        raise ValueError(f"{argument} holds NaN or infinity where a number must be finite "
                         "(its x_range or y_range?); lines may hold them, as breaks") from None
    if size > FIGURE_BYTES:
        raise ValueError(f"{argument} must be at most {FIGURE_BYTES:,} bytes as JSON, got {size:,}: "
                         "plot fewer points (every 10th, say)")
    return data


def _add_figure(figures: list[dict[str, Any]], figure: Any, argument: str) -> None:
    if len(figures) >= FIGURE_LIMIT:
        raise ValueError(f"a cell may draw at most {FIGURE_LIMIT} figures; this is figure {len(figures) + 1}")
    figures.append(_figure_dict(figure, argument))


def _show_for(figures: list[dict[str, Any]]) -> Callable[[Any], None]:
    def show(figure: Any) -> None:
        """Draw ``figure`` (a :class:`gradclip.Figure`) under the cell."""
        _add_figure(figures, figure, "figure")

    show._gradclip_show = True   # type: ignore[attr-defined]  # ours to replace on the next run
    return show


# --- namespaces ------------------------------------------------------------------------------

class Notebook:
    """The namespaces of the cells of one visit: one per page, in the page's order.

    A page is named by its path; ``view`` tells one opening of the page from the next (the
    page script makes a new one each time the page is shown), so coming back to a page starts
    it afresh, as its cells show their original output again. Only the latest view of each
    page is kept. A docstring example (``scope``) runs as :mod:`doctest` runs it, in a copy of
    its module's globals, one namespace per documented object.

    >>> nb = Notebook()
    >>> a = nb.namespace("p/", "1"); a["x"] = 1
    >>> nb.namespace("p/", "1") is a, "x" in nb.namespace("p/", "2"), "x" in nb.namespace("q/", "1")
    (True, False, False)
    >>> "clip_by_norm" in nb.namespace("ref/", "1", scope="gradclip.clipping.clip_by_norm")
    True
    """

    def __init__(self) -> None:
        self._pages: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}

    def namespace(self, page: str, view: str, scope: str = "") -> dict[str, Any]:
        """The namespace for a cell of ``page`` (``scope``: a documented object's dotted name)."""
        kept = self._pages.get(page)
        if kept is None or kept[0] != view:
            kept = (view, {})
            self._pages[page] = kept
        spaces = kept[1]
        if scope not in spaces:
            spaces[scope] = fresh_namespace(scope)
        return spaces[scope]


def fresh_namespace(scope: str = "") -> dict[str, Any]:
    """A new namespace: ``__main__``'s, or (``scope`` given) a copy of the globals of the module
    that defines the dotted name ``scope``, as :mod:`doctest` gives each docstring."""
    if not scope:
        return {"__name__": "__main__", "__builtins__": builtins}
    return dict(vars(scope_module(scope)))


def scope_module(scope: str):
    """The module a dotted name lives in: the longest importable prefix.

    >>> scope_module("gradclip.clipping.clip_by_norm").__name__
    'gradclip.clipping'
    """
    parts = scope.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        module = sys.modules.get(name)
        if module is None:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
        if isinstance(module, type(sys)):
            return module
    raise ValueError(f"scope must name something inside an importable module, got {scope!r}")


# --- running ---------------------------------------------------------------------------------

def run_cell(source: str, namespace: dict[str, Any], *, mode: str = "last", write: Write | None = None,
             defined_earlier: dict[str, str] | None = None, name: str = "") -> CellResult:
    r"""Run ``source`` in ``namespace`` and return what it printed, its value and figures.

    Parameters
    ----------
    source : str
        The cell's code (at most :data:`SOURCE_LIMIT` characters).
    namespace : dict
        Globals to run in; the cell's assignments stay there for the next cell.
    mode : {"last", "all"}
        ``"last"``: show the final expression's value (a notebook). ``"all"``: print every
        top-level expression statement's value and go on after an exception, printing its
        traceback (the interactive prompt, as doctests compare).
    write : callable, optional
        ``write(stream, text)``, called with output as it is produced (``"stdout"``/``"stderr"``).
    defined_earlier : dict, optional
        Names that earlier cells of the page define -> a label for that cell ("cell 2"), for the
        hint on a ``NameError``.
    name : str, optional
        The name tracebacks give the cell (``"<cell 3>"``).

    Returns
    -------
    CellResult
        Never raises for the cell's own errors (they are in ``result.error``), only for bad
        arguments.

    Examples
    --------
    >>> ns = {}
    >>> run_cell("import numpy as np\nnp.array([3.0, 4.0]) / 5", ns).value
    'array([0.6, 0.8])'
    >>> run_cell("1 + 1\n2 + 2", ns, mode="all").stdout
    '2\n4\n'
    >>> run_cell("1 / 0", ns).error.summary
    'ZeroDivisionError: division by zero'
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    if len(source) > SOURCE_LIMIT:
        raise ValueError(f"source must be at most {SOURCE_LIMIT} characters, got {len(source)}")
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace must be a dict, got {type(namespace).__name__}")
    mode = choice(mode, "mode", ("last", "all"))
    filename = f"<{name or 'cell'}>"
    result = CellResult()
    output = _Output(write)
    _install_show(namespace, result.figures)
    try:
        _execute(source, namespace, mode, filename, output, result, defined_earlier or {})
        if result.value is not None and len(result.value) > OUTPUT_LIMIT:
            output.dropped += len(result.value) - OUTPUT_LIMIT
            result.value = result.value[:OUTPUT_LIMIT]
    except BaseException as exc:   # the reader's code may raise anything, SystemExit included
        result.error = _error(exc, filename, defined_earlier or {})
    finally:
        output.flush()
        output.fill(result)
    return result


def _install_show(namespace: dict[str, Any], figures: list[dict[str, Any]]) -> None:
    current = namespace.get("show")
    if current is None or getattr(current, "_gradclip_show", False):
        namespace["show"] = _show_for(figures)


def _execute(source: str, namespace: dict[str, Any], mode: str, filename: str,
             output: _Output, result: CellResult, defined_earlier: dict[str, str]) -> None:
    """Compile and run, with ``sys.stdout``/``sys.stderr`` (and, in ``"all"`` mode,
    ``sys.displayhook``) pointed at the cell's output for the duration."""
    # The source goes into linecache (and stays: a function defined here may fail in a later
    # cell) so that tracebacks quote the cell's own lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename, "exec")
    saved = sys.stdout, sys.stderr, sys.displayhook, sys.stdin
    sys.stdout, sys.stderr = _Stream("stdout", output), _Stream("stderr", output)
    sys.displayhook, sys.stdin = _displayhook, _NoInput()
    try:
        if mode == "all":
            _run_all(tree, namespace, filename, defined_earlier)
        else:
            result.value = _run_last(tree, namespace, filename, result.figures)
    finally:
        sys.stdout, sys.stderr, sys.displayhook, sys.stdin = saved


def _run_all(tree: ast.Module, namespace: dict[str, Any], filename: str,
             defined_earlier: dict[str, str]) -> None:
    """The interactive prompt: each top-level statement on its own, an expression's value
    printed; an exception's traceback is printed and the next statement runs, as the prompt
    (and a doctest) goes on after one. Stopping (KeyboardInterrupt, SystemExit) ends the cell."""
    for stmt in tree.body:
        code = compile(ast.Interactive(body=[stmt]), filename, "single")
        try:
            exec(code, namespace)
        except Exception as exc:
            error = _error(exc, filename, defined_earlier)
            sys.stderr.write(error.traceback + "\n" + (error.hint + "\n" if error.hint else ""))


def _displayhook(value: Any) -> None:
    """The interactive prompt's: print a value's ``repr`` unless it is ``None`` (and keep ``_``)."""
    if value is None:
        return
    builtins._ = None   # the prompt's rule: _ is not printed as part of the value
    sys.stdout.write(repr(value) + "\n")
    builtins._ = value


def _run_last(tree: ast.Module, namespace: dict[str, Any], filename: str,
              figures: list[dict[str, Any]]) -> str | None:
    """Run the statements, then evaluate a final expression: its ``repr``, or a figure drawn."""
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
    exec(compile(body, filename, "exec"), namespace)
    if last is None:
        return None
    value = eval(compile(ast.Expression(body=last.value), filename, "eval"), namespace)
    from gradclip.figures import Figure

    if isinstance(value, Figure):
        _add_figure(figures, value, "the cell's value")
        return None
    return None if value is None else repr(value)


# Where this package is installed, up to the folder holding ``gradclip/``.
_INSTALLED = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _short_path(filename: str) -> str:
    """A library frame's file as a path inside its installation (``gradclip/tracker.py``,
    ``numpy/…``): the same in the build, on any machine and under Pyodide, and no machine's
    folders in a page.

    >>> _short_path(_INSTALLED + "gradclip/tracker.py"), _short_path("<cell 2>")
    ('gradclip/tracker.py', '<cell 2>')
    """
    if filename.startswith(_INSTALLED):
        return filename[len(_INSTALLED):]
    head, sep, tail = filename.rpartition(os.sep + "site-packages" + os.sep)
    return tail if sep else filename


def _error(exc: BaseException, filename: str, defined_earlier: dict[str, str]) -> CellError:
    """The traceback from the cell's first frame on (the runner's own frames are not the
    reader's business); a syntax error as Python reports one."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    report = traceback.TracebackException(type(exc), exc, tb)
    for frame in report.stack:
        frame.filename = _short_path(frame.filename)
    lines = report.format() if tb is not None or isinstance(exc, SyntaxError) else report.format_exception_only()
    text = "".join(lines).rstrip("\n")
    summary = text.splitlines()[-1] if text else type(exc).__name__
    error = CellError(summary=summary, traceback=text, kind=type(exc).__name__,
                      interrupted=isinstance(exc, KeyboardInterrupt))
    missing = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    if missing in defined_earlier:
        error.hint = (f"{missing} is defined in {defined_earlier[missing]} above, which has not run "
                      "on this page yet: run that cell first.")
    if error.interrupted:
        error.summary = "Stopped: the cell was interrupted (KeyboardInterrupt)."
    return error

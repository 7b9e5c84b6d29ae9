"""Code cells: the site's Python blocks, run when the page is built and live in the reader's browser.

A fenced ``python`` block becomes a *cell* when it can run in the browser (NumPy, gradclip and
the standard library; nothing from the reader's own training script). The build runs a page's
cells in order in one namespace with :func:`gradclip.cells.run_cell`, the function the browser's
worker runs, and writes the output under the code, so the page reads complete without
WebAssembly. ``docs/javascripts/cells.js`` makes the code editable and runnable.

::

    ```python                   a cell (or code that cannot run here: the build decides)
    ```python static            never a cell; ``static="why"`` gives the reason shown on hover
    ```python error             a cell expected to raise (its traceback is the output)
    ```pycon scope="gradclip.clipping.clip_by_norm"
                                a docstring's doctest (the API reference), run as doctest runs
                                it: each expression's value printed, in its module's globals

A block that cannot run stays highlighted code, with the reason on hover: a module the page's
Python does not have (``torch``), or names that no earlier cell defines (``model``, ``loader``:
objects from the reader's own script). A cell that fails when the page is built fails the build,
naming the page's line, so an example can never rot into a traceback.

The markup (``ARCHITECTURE.md`` section 2): ``.gc-cell`` with ``data-cell`` (its number on the
page), ``data-state`` (``idle`` | ``running`` | ``done`` | ``error``), ``data-mode``,
``data-scope``, ``data-defined-earlier`` (names it uses that earlier cells define -> "cell n"),
then the highlighted code, a bar of buttons and ``[data-cell-output]``.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import html
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

from markdown import Extension
from markdown.preprocessors import Preprocessor

from gradclip import cells
from site_hooks.fences import Fence, find_fences, replace_fences

__all__ = ["Block", "CellBlockError", "find_blocks", "runnable", "PageCells", "CellsExtension",
           "makeExtension", "BROWSER_MODULES"]

_CONSOLE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*console[ \t]*$")
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>python|py|pycon)\b(?P<opts>[^`]*)$")

#: Modules a cell may import: what the site's Pyodide has (NumPy, gradclip) and the standard
#: library, less the parts Pyodide leaves out or cannot run in a browser worker.
BROWSER_MODULES = frozenset({"numpy", "gradclip"})
_NOT_IN_PYODIDE = frozenset({"tkinter", "turtle", "turtledemo", "curses", "dbm", "idlelib", "ensurepip",
                             "venv", "multiprocessing", "subprocess", "readline", "ssl", "sqlite3", "lzma",
                             "webbrowser", "pydoc", "socket", "threading", "concurrent"})
_KNOWN = {"torch": "PyTorch", "keras": "Keras", "tensorflow": "TensorFlow", "jax": "JAX", "optax": "optax",
          "flax": "Flax", "opacus": "Opacus", "transformers": "Hugging Face Transformers",
          "lightning": "PyTorch Lightning", "pytorch_lightning": "PyTorch Lightning",
          "matplotlib": "Matplotlib", "pandas": "pandas", "scipy": "SciPy"}


class CellBlockError(ValueError):
    """A code block that fails when the page is built; the message names its line."""


@dataclass
class Block:
    """One fenced Python block of a page: where it is, its code and its options."""

    start: int                   # index of the opening fence line
    end: int                     # index after the closing fence line
    indent: str
    lang: str                    # python | py | pycon
    source: str                  # the code (for pycon: the statements, prompts removed)
    options: dict[str, str] = field(default_factory=dict)
    transcript: str = ""         # pycon: the block as written (prompts and expected output)

    @property
    def line(self) -> int:
        return self.start + 1


def _options(text: str) -> dict[str, str]:
    """``static error scope="a.b"`` -> ``{"static": "", "error": "", "scope": "a.b"}``; braces of
    the attribute-list form (``{scope="a.b"}``) are allowed."""
    out: dict[str, str] = {}
    for word in shlex.split(text.strip().strip("{}")):
        key, _, value = word.partition("=")
        out[key.lstrip(".")] = value
    return out


def find_blocks(lines: list[str]) -> list[Block]:
    """Every fenced ``python``/``py``/``pycon`` block of a page, in order (nested ones included:
    a block inside a tab or an admonition is indented)."""
    return [_block(f) for f in find_fences(lines, _OPEN, "code", CellBlockError)]


def _block(f: Fence) -> Block:
    lang, body, options = f.match.group("lang"), "\n".join(f.body), _options(f.match.group("opts"))
    if lang != "pycon":
        return Block(f.start, f.end, f.indent, lang, body, options)
    examples = doctest.DocTestParser().get_examples(body)
    source = "".join(e.source for e in examples).rstrip("\n")
    return Block(f.start, f.end, f.indent, lang, source, options, transcript=body)


# --- can it run in the browser? ------------------------------------------------------------------

def _imports(tree: ast.AST) -> set[str]:
    """Top-level package names the code imports (``import a.b`` -> ``a``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _binds(node: ast.AST) -> set[str]:
    """Names one statement or expression binds in the scope it runs in."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return {node.id}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, ast.arg):
        return {node.arg}
    return set()


def top_level_names(tree: ast.AST) -> set[str]:
    """Names a cell leaves in its namespace: bound at the top level, not inside a function,
    class or comprehension (their names are local to them).

    >>> sorted(top_level_names(ast.parse("import numpy as np\\ndef f(x):\\n    y = x\\nz = [w for w in ()]")))
    ['f', 'np', 'z']
    """
    names: set[str] = set()
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        names |= _binds(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names


def free_names(tree: ast.AST) -> set[str]:
    """Names the code reads that it never binds anywhere and that are not builtins: what it
    expects to find already defined.

    >>> sorted(free_names(ast.parse("for x, y in loader:\\n    model(x).backward()\\nprint(len(y))")))
    ['loader', 'model']
    """
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        bound |= _binds(node)
    return loaded - bound - set(dir(builtins)) - {"show"}


def _module_reason(modules: set[str]) -> str:
    missing = sorted(m for m in modules if m not in BROWSER_MODULES
                     and (m not in sys.stdlib_module_names or m in _NOT_IN_PYODIDE))
    if not missing:
        return ""
    named = ", ".join(f"{_KNOWN[m]} ({m})" if m in _KNOWN else m for m in missing)
    return f"Runs on your machine, not in this page: it needs {named}, which the page's Python does not have."


def runnable(block: Block, defined: set[str]) -> str:
    """Why ``block`` cannot be a cell (``""``: it can), given the names earlier cells define.

    >>> runnable(Block(0, 2, "", "python", "import torch\\ntorch.ones(2)"), set())[:60]
    'Runs on your machine, not in this page: it needs PyTorch (to'
    >>> runnable(Block(0, 2, "", "python", "model.train()"), set())
    'Runs inside your own training script: it uses model, which this page does not define.'
    >>> runnable(Block(0, 2, "", "python", "g * 2"), {"g"})
    ''
    """
    if "static" in block.options:
        return block.options["static"] or "An excerpt, not meant to run on its own."
    if block.lang == "pycon" and not block.options.get("scope"):
        return "A transcript of an interactive session."
    try:
        tree = ast.parse(block.source)
    except SyntaxError as exc:
        raise CellBlockError(f"line {block.line}: this Python block does not parse: {exc}") from None
    free = free_names(tree) - defined
    # A package used without its import line (the tab before imported it) needs it all the same.
    reason = _module_reason(_imports(tree) | (free & _KNOWN.keys()))
    if reason:
        return reason
    missing = sorted(free)
    if missing:
        names = ", ".join(missing)
        return (f"Runs inside your own training script: it uses {names}, which this page does not "
                "define.")
    return ""


# --- the markup --------------------------------------------------------------------------------

def highlighted(source: str, lang: str = "python") -> str:
    """Code as the theme shows fenced code: ``<div class="highlight"><pre><code>`` with Pygments'
    classes, which Material colours for light and dark."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonConsoleLexer, PythonLexer

    lexer = PythonConsoleLexer() if lang == "pycon" else PythonLexer()
    return highlight(source, lexer, HtmlFormatter(wrapcode=True, cssclass="highlight")).rstrip("\n")


def static_html(block: Block, reason: str) -> str:
    """A block that is not a cell: highlighted code, with why it does not run here on hover (and
    for screen readers, in the code's accessible description)."""
    code = block.transcript if block.lang == "pycon" else block.source
    why = html.escape(reason)
    return (f'<div class="gc-code-static" title="{why}"><span class="gc-sr-only">{why}</span>'
            f'{highlighted(code, block.lang if block.lang == "pycon" else "python")}</div>')


def output_html(result: cells.CellResult, prefix: str) -> str:
    """What a run printed, its value, figures and error, as ``cells.js`` writes them too."""
    from site_hooks.demo_blocks import figure_html

    parts = []
    if result.streams:
        text = "".join(f'<span class="gc-cell-stderr">{html.escape(t)}</span>' if name == "stderr"
                       else html.escape(t) for name, t in result.streams)
        parts.append(f'<pre class="gc-cell-stream">{text}</pre>')
    if result.truncated:
        parts.append(f'<p class="gc-cell-note">{result.truncated:,} more characters of output were not kept.</p>')
    if result.value is not None:
        parts.append(f'<pre class="gc-cell-value">{html.escape(result.value)}</pre>')
    for i, fig in enumerate(result.figures):
        parts.append(figure_html(f"{prefix}-fig{i}", "cell", fig.get("alt") or fig.get("title") or "", fig))
    if result.error is not None:
        parts.append(error_html(result.error))
    return "".join(parts)


def error_html(error: cells.CellError) -> str:
    hint = f'<p class="gc-cell-hint">{html.escape(error.hint)}</p>' if error.hint else ""
    return (f'<div class="gc-cell-error"><pre class="gc-cell-error-last">{html.escape(error.summary)}</pre>'
            f'{hint}<details><summary>Full traceback</summary><pre class="gc-cell-traceback">'
            f'{html.escape(error.traceback)}</pre></details></div>')


_BUTTONS = ('<button type="button" class="md-button gc-cell-run" disabled '
            'title="Run (Ctrl+Enter)">Run</button>'
            '<button type="button" class="md-button gc-cell-stop" hidden>Stop</button>'
            '<button type="button" class="md-button gc-cell-reset" disabled>Reset</button>'
            '<button type="button" class="md-button gc-cell-copy" disabled>Copy</button>')


def cell_html(*, cell_id: str, label: str, block: Block, result: cells.CellResult, mode: str,
              scope: str, defined_earlier: dict[str, str]) -> str:
    """One cell: code, a bar (buttons and an announced status), and the build-time output."""
    attrs = {"class": "gc-cell", "data-cell": cell_id, "data-label": label, "data-mode": mode,
             "data-state": "idle", "data-scope": scope,
             "data-defined-earlier": json.dumps(defined_earlier, sort_keys=True),
             "role": "group", "aria-label": f"Code {label}"}
    head = " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items())
    prefix = "cell-" + re.sub(r"[^\w-]", "-", cell_id)
    status = ('<span class="gc-cell-status" role="status" aria-live="polite">Output computed when '
              'this page was built.</span><noscript>Running it needs JavaScript.</noscript>')
    return (f'<div {head}><div class="gc-cell-code">{highlighted(block.source)}</div>'
            f'<div class="gc-cell-bar"><span class="gc-cell-label">{html.escape(label)}</span>'
            f'{_BUTTONS}{status}</div>'
            f'<div class="gc-cell-output" data-cell-output>{output_html(result, prefix)}</div></div>')


# --- a page's cells, run in order ---------------------------------------------------------------

class PageCells:
    """The cells of one Markdown conversion, run in order in one namespace, as the page's reader
    will run them. Docstring examples (``scope``) run in their module's globals instead, one
    namespace per documented object, the later example blocks of one docstring continuing the
    first (``example="2"``), as :mod:`doctest` runs a docstring."""

    def __init__(self) -> None:
        self.notebook = cells.Notebook()
        self.defined: dict[str, str] = {}     # name -> label of the (last) cell defining it
        self.count = 0

    def render(self, block: Block, scoped: dict[str, tuple[dict[str, Any], dict[str, str]]]) -> str:
        """The block's HTML: a cell, run now, or static code saying why it is not one."""
        scope = block.options.get("scope", "") if block.lang == "pycon" else ""
        if scope and (block.options.get("example", "1") == "1" or scope not in scoped):
            scoped[scope] = (cells.fresh_namespace(scope), {})
        if scope:
            namespace, defined = scoped[scope]
            known = set(defined) | set(namespace)          # a doctest sees its module's globals
        else:
            namespace, defined = self.notebook.namespace("build", "1"), self.defined
            known = set(defined)
        reason = runnable(block, known)
        if reason:
            return static_html(block, reason)
        if scope:
            number = block.options.get("example", "1")
            cell_id, label = f"{scope}-{number}", f"example {number}"
        else:
            self.count += 1
            cell_id, label = str(self.count), f"cell {self.count}"
        mode = "all" if scope else "last"
        result = cells.run_cell(block.source, namespace, mode=mode, defined_earlier=defined, name=label)
        self._check(block, result)
        tree = ast.parse(block.source)
        own = top_level_names(tree)
        uses = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        earlier = {n: defined[n] for n in sorted(uses & set(defined) - own)}
        defined.update(dict.fromkeys(own, label))
        return cell_html(cell_id=cell_id, label=label, block=block, result=result, mode=mode, scope=scope,
                         defined_earlier=earlier)

    @staticmethod
    def _check(block: Block, result: cells.CellResult) -> None:
        expects_error = "error" in block.options
        if result.error and not expects_error:
            raise CellBlockError(f"line {block.line}: this code block failed when the page was built "
                                 f"(mark it 'error' if that is the point):\n{result.error.traceback}")
        if expects_error and not result.error:
            raise CellBlockError(f"line {block.line}: this block is marked 'error' but ran without one")


# --- the command line, run -----------------------------------------------------------------------

def run_command(line: str) -> str:
    """``$ gradclip …`` run in this process through :func:`gradclip.cli.main`: the prompt line and
    what the command printed (stdout and stderr, as a terminal shows them).

    >>> print(run_command("$ gradclip simulate --tau -1"))
    $ gradclip simulate --tau -1
    gradclip: error: tau must be a number > 0 and <= 1e+06, got -1.0
    """
    import contextlib
    import io

    from gradclip import cli

    words = shlex.split(line[2:])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            cli.main(words[1:])
        except SystemExit:
            pass   # a refused argument exits with status 2; its message is the point
    return f"{line}\n{out.getvalue().rstrip()}"


def console_blocks(lines: list[str]) -> list[Fence]:
    """``console`` blocks holding only ``$ gradclip …`` lines. Typed output under such a command is
    refused: it is computed when the page is built."""
    found = []
    for f in find_fences(lines, _CONSOLE, "console", CellBlockError):
        if not f.body or not f.body[0].startswith("$ gradclip"):
            continue
        typed = [ln for ln in f.body if ln.strip() and not ln.startswith("$ gradclip")]
        if typed:
            raise CellBlockError(f"line {f.line}: the output of a gradclip command is computed when the page "
                                 f"is built; remove the typed lines ({typed[0]!r}, …)")
        found.append(f)
    return found


def console_html(commands: list[str]) -> str:
    text = "\n\n".join(run_command(c) for c in commands if c.strip())
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import BashSessionLexer

    return highlight(text, BashSessionLexer(), HtmlFormatter(wrapcode=True, cssclass="highlight")).rstrip("\n")


class _CellPreprocessor(Preprocessor):
    def __init__(self, md, scoped: dict) -> None:
        super().__init__(md)
        self.scoped = scoped

    def run(self, lines: list[str]) -> list[str]:
        page = PageCells()
        code = find_fences(lines, _OPEN, "code", CellBlockError)
        blocks = {f.start: _block(f) for f in code}

        def render(f: Fence) -> str:   # in page order: the cells share one namespace
            return page.render(blocks[f.start], self.scoped) if f.start in blocks else console_html(f.body)

        return replace_fences(self.md, lines, sorted([*code, *console_blocks(lines)], key=lambda f: f.start), render)


class CellsExtension(Extension):
    """Register with ``markdown_extensions: [site_hooks.cells]``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # After the demo (28), predict (28.5) and reST-role (29.5) blocks, which may write a pycon
        # fence; before fenced code (25), which would otherwise take the block as plain code.
        # The docstring examples' namespaces live as long as this Markdown instance: the API
        # reference converts each example of a docstring separately.
        md.preprocessors.register(_CellPreprocessor(md, {}), "gc_cells", 27)


def makeExtension(**kwargs) -> CellsExtension:  # noqa: N802
    return CellsExtension(**kwargs)


# --- reading the cells back from a built page (tests, benchmarks) ---------------------------------

@dataclass
class ShownCell:
    """A cell as a built page shows it: its attributes, code and the parts of its output."""

    attrs: dict[str, str]
    code: str = ""
    stream: str = ""
    value: str | None = None
    error: str | None = None
    figures: int = 0


class _CellReader:
    """Collects :class:`ShownCell` from a page's HTML (``html.parser``, no third-party parser)."""

    PARTS = {"gc-cell-code": "code", "gc-cell-stream": "stream", "gc-cell-value": "value",
             "gc-cell-error-last": "error"}

    def __init__(self) -> None:
        from html.parser import HTMLParser

        self.cells: list[ShownCell] = []
        self.depth = 0            # element depth inside the current cell (0: outside any)
        self.part: tuple[str, int] | None = None
        parser = HTMLParser(convert_charrefs=True)
        parser.handle_starttag, parser.handle_endtag, parser.handle_data = self.start, self.end, self.data
        self.parser = parser

    def start(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if not self.depth:
            if "gc-cell" in classes:
                self.cells.append(ShownCell(attrs=a))
                self.depth = 1
            return
        self.depth += tag not in _VOID
        cell = self.cells[-1]
        if "gc-figure" in classes:
            cell.figures += 1
        for cls in classes:
            if cls in self.PARTS and self.part is None:
                self.part = (self.PARTS[cls], self.depth)
                if self.PARTS[cls] in ("value", "error"):
                    setattr(cell, self.PARTS[cls], "")

    def end(self, tag: str) -> None:
        if not self.depth or tag in _VOID:
            return
        if self.part and self.part[1] == self.depth:
            self.part = None
        self.depth -= 1

    def data(self, text: str) -> None:
        if self.depth and self.part:
            cell, name = self.cells[-1], self.part[0]
            setattr(cell, name, getattr(cell, name) + text)


_VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "col", "embed", "track", "param"}


def read_cells(page_html: str) -> list[ShownCell]:
    """The cells of a built page, in order.

    >>> [c.value for c in read_cells(PageCells().render(Block(0, 2, "", "python", "6 * 7"), {}))]
    ['42']
    """
    reader = _CellReader()
    reader.parser.feed(page_html)
    reader.parser.close()
    return reader.cells

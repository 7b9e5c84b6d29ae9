"""Predict-first blocks: the reader commits to an answer before a demo shows what happens.

A page writes::

    ```gradclip-predict
    demo: pit-vanish                  # the id: of a gradclip-demo block on the same page
    question: The raw norm is 1e-6 and tau is 1. What does norm clipping return?
    choice: A norm of 1: clipping lifts small gradients up to tau.
    choice: The same norm, 1e-6: clipping only ever shrinks.
    choice: Zero.
    answer: B
    explanation: The scale factor is min(1, tau / norm), never above one.
      Continuation lines are indented.
    ```

and gets an admonition-styled ``<div class="gc-predict">`` holding a ``<fieldset>`` of
radio buttons (the question is its legend) and, in a ``<details>``, the answer and its
explanation. Without JavaScript that is already a complete exercise: read, choose, open
the answer. ``docs/javascripts/predict.js`` adds the interaction: it hides the linked
demo's figures and results until the reader picks, then marks the pick, opens the
explanation and reveals the demo, which stays fully usable afterwards.

The same extension expands the site's one computed table, ``gradclip-table``::

    ```gradclip-table
    table: framework_differences
    ```

which becomes an HTML table of :func:`gradclip.frameworks.framework_differences`, run when the
page is built, so the table of framework differences is always what the package computes.

Finally, the API reference renders the package's NumPy-style docstrings, which write math
and cross-references the Sphinx way (``:math:`\\tau```, ``.. math::`` blocks,
``:func:`clip_by_norm```, doctest blocks outside an Examples section). Markdown has no such
roles, so :func:`rest_roles` rewrites them before anything else sees the text: math becomes the
site's ``$…$`` / ``$$…$$`` (rendered by ``site_hooks.math``), object roles become code spans,
and a bare ``>>>`` block becomes a code block instead of a nest of quotes.

Texts may use inline Markdown (``code``, **bold**, ``$math$``); they are converted with a
small child Markdown instance because the block is emitted as raw HTML. Mistakes in a
block (unknown key, missing field, an answer that is not one of the choices, a demo id
that no ``gradclip-demo`` block on the page declares) fail the build with the block's
line number, so a broken exercise never reaches a reader.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

from site_hooks.fences import Fence, find_fences, replace_fences

__all__ = ["Predict", "PredictExtension", "Table", "parse_block", "render", "render_table", "TABLES",
           "rest_roles", "makeExtension"]

_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*gradclip-predict\s*$")
_TABLE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*gradclip-table\s*$")
_DEMO_OPEN = re.compile(r"^\s*(`{3,}|~{3,})\s*gradclip-demo\s*$")
_ANY_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_KEY = re.compile(r"^(?P<key>[a-z_]+)\s*:\s?(?P<value>.*)$")
_ID = re.compile(r"^[A-Za-z][\w-]*$")
_KEYS = ("demo", "cell", "question", "choice", "answer", "explanation")
_LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Predict:
    """One parsed block: what it guards, the question, the choices and the answer.

    It guards either a demo (``demo`` is that block's id) or the page's next code cell
    (``demo`` is empty and ``cell`` is ``"next"``): a cell's output is its outcome.
    ``answer`` is the index into ``choices`` (0 for A).
    """

    demo: str
    question: str
    choices: tuple[str, ...]
    answer: int
    explanation: str
    cell: str = ""


def parse_block(body: list[str], where: str = "gradclip-predict block") -> Predict:
    """Parse the lines between the fences.

    Keys are ``demo`` (or ``cell: next``), ``question``, ``choice`` (repeat it, two to eight times),
    ``answer`` (a letter, A for the first choice) and ``explanation``. A line indented
    by whitespace continues the previous value. Raises ``ValueError`` starting with
    ``where`` for anything else.

    >>> p = parse_block(["demo: d1", "question: 1 + 1?", "choice: 2", "choice: 3",
    ...                  "answer: A", "explanation: Count."])
    >>> p.choices, p.answer
    (('2', '3'), 0)
    """
    fields: dict[str, list[str]] = {k: [] for k in _KEYS}
    last: tuple[str, int] | None = None
    for offset, raw in enumerate(body):
        if not raw.strip():
            continue
        if raw[0].isspace():
            if last is None:
                raise ValueError(f"{where}, line {offset + 1}: an indented line continues a value, "
                                 f"but no key came before it")
            key, i = last
            fields[key][i] += " " + raw.strip()
            continue
        m = _KEY.match(raw.rstrip())
        if not m or m.group("key") not in _KEYS:
            raise ValueError(f"{where}, line {offset + 1}: expected one of "
                             f"{', '.join(k + ':' for k in _KEYS)} but found {raw.strip()!r}")
        key, value = m.group("key"), m.group("value").strip()
        if key != "choice" and fields[key]:
            raise ValueError(f"{where}, line {offset + 1}: {key}: is given twice")
        fields[key].append(value)
        last = (key, len(fields[key]) - 1)
    if bool(fields["demo"]) == bool(fields["cell"]):
        raise ValueError(f"{where}: give exactly one of demo: <id> (a demo on this page) or cell: next "
                         f"(the code cell after the block)")
    if fields["cell"] and fields["cell"][0] != "next":
        raise ValueError(f"{where}: cell: must be 'next' (the first code cell after the block), "
                         f"not {fields['cell'][0]!r}")
    for key in ("demo" if fields["demo"] else "cell", "question", "answer", "explanation"):
        if not fields[key] or not fields[key][0]:
            raise ValueError(f"{where}: the {key}: line is missing or empty")
    choices = tuple(fields["choice"])
    if not 2 <= len(choices) <= len(_LETTERS) or not all(choices):
        raise ValueError(f"{where}: give between 2 and {len(_LETTERS)} non-empty choice: lines "
                         f"(found {len(choices)})")
    demo = fields["demo"][0] if fields["demo"] else ""
    if fields["demo"] and not _ID.match(demo):
        raise ValueError(f"{where}: demo: {demo!r} is not a valid element id")
    letter = fields["answer"][0].strip().upper()
    allowed = _LETTERS[: len(choices)]
    if len(letter) != 1 or letter not in allowed:
        raise ValueError(f"{where}: answer: {fields['answer'][0]!r} must be one letter from "
                         f"{allowed[0]} to {allowed[-1]}")
    return Predict(demo=demo, question=fields["question"][0], choices=choices,
                   answer=allowed.index(letter), explanation=fields["explanation"][0],
                   cell=fields["cell"][0] if fields["cell"] else "")


def _inline(md: Markdown, text: str) -> str:
    """Inline Markdown to HTML, without the wrapping paragraph."""
    out = md.reset().convert(text).strip()
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out


def render(p: Predict, md: Markdown, key: str | None = None) -> str:
    """The block's HTML. ``md`` converts the texts (inline Markdown and math).

    The radio group is named after ``key`` (the demo id; for a cell, ``cell-<n>``), so two
    exercises on one page never share a group. A demo's block names it in ``data-for``; a
    cell's says ``data-cell-target="next"`` and the page script finds the cell after it.
    """
    key = html.escape(key or p.demo, quote=True)
    target = f'data-for="{key}"' if p.demo else 'data-cell-target="next"' 
    letter = _LETTERS[p.answer]
    rows = []
    for i, text in enumerate(p.choices):
        c = _LETTERS[i]
        rows.append(
            f'<label class="gc-predict-choice" data-choice="{c}">'
            f'<input type="radio" name="gc-predict-{key}" value="{c}"> '
            f'<span class="gc-predict-letter">{c}.</span> '
            f'<span class="gc-predict-text">{_inline(md, text)}</span></label>'
        )
    return (
        f'<div class="admonition question gc-predict" id="predict-{key}" {target} '
        f'data-key="{key}" data-answer="{letter}">'
        f'<p class="admonition-title">Predict first</p>'
        f'<fieldset class="gc-predict-choices">'
        f'<legend class="gc-predict-question">{_inline(md, p.question)}</legend>'
        + "".join(rows)
        + "</fieldset>"
        f'<p class="gc-predict-feedback" role="status" aria-live="polite"></p>'
        f'<details class="success gc-predict-answer"><summary>Answer</summary>'
        f'<p><strong>{letter}.</strong> {_inline(md, p.choices[p.answer])}</p>'
        f"<p>{_inline(md, p.explanation)}</p></details>"
        "</div>"
    )


def _declared_demo_ids(lines: list[str]) -> set[str]:
    """The explicit ``id:`` values of the page's gradclip-demo blocks."""
    ids: set[str] = set()
    inside = False
    for line in lines:
        if not inside and _DEMO_OPEN.match(line):
            inside = True
            continue
        if inside:
            if _ANY_FENCE.match(line):
                inside = False
                continue
            m = re.match(r"^\s*id\s*:\s*([^#\s]+)", line)
            if m:
                ids.add(m.group(1))
    return ids


class _PredictBlocks(Preprocessor):
    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        # A separate instance: the block is stashed as raw HTML, which the page's own
        # inline processors never see. Math comes from the site's math extension.
        self._child = Markdown(extensions=["site_hooks.math"])

    def run(self, lines: list[str]) -> list[str]:
        demo_ids = _declared_demo_ids(lines)
        seen: set[str] = set()
        cells = iter(range(1, len(lines) + 1))

        def render_one(f: Fence) -> str:
            where = f"gradclip-predict block at line {f.line}"
            p = parse_block(f.body, where)
            if p.cell:
                if not any(re.match(r"^\s*(`{3,}|~{3,})\s*python\b", ln) for ln in lines[f.end:]):
                    raise ValueError(f"{where}: cell: next, but no python code block follows on this page")
                return render(p, self._child, f"cell-{next(cells)}")
            if p.demo not in demo_ids:
                known = ", ".join(sorted(demo_ids)) or "none"
                raise ValueError(f"{where}: demo: {p.demo!r} is not the id: of a gradclip-demo "
                                 f"block on this page (ids declared: {known})")
            if p.demo in seen:
                raise ValueError(f"{where}: demo {p.demo!r} already has a prediction on this page")
            seen.add(p.demo)
            return render(p, self._child)

        return replace_fences(self.md, lines, find_fences(lines, _OPEN, "gradclip-predict"), render_one)


@dataclass(frozen=True)
class Table:
    """A computed table: header cells, and rows of (cells, note). The first cell of a row is
    its label; ``code`` is shown under the label in monospace; the note spans the full width
    under the row. All text is plain (escaped when rendered)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, str, tuple[str, ...], str], ...]   # (label, code, cells, note)


def _framework_differences() -> Table:
    from gradclip.frameworks import FRAMEWORK_CONVENTIONS, framework_differences

    keys = [k for k, _ in FRAMEWORK_CONVENTIONS]
    rows = tuple((r["case"], r["setup"], tuple(r[k] for k in keys), r["note"])
                 for r in framework_differences())
    return Table(headers=("Case",) + tuple(label for _, label in FRAMEWORK_CONVENTIONS), rows=rows)


# Table name -> function computing it.
TABLES = {"framework_differences": _framework_differences}


def render_table(name: str) -> str:
    """The HTML of a computed table, in Material's table wrapper so it scrolls on narrow screens.

    >>> "scaled by 0.9999998" in render_table("framework_differences")
    True
    """
    table = TABLES[name]()
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    body = []
    for label, code, cells, note in table.rows:
        first = f"<td><strong>{esc(label)}</strong><br><code>{esc(code)}</code></td>"
        body.append("<tr>" + first + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        if note:
            body.append(f'<tr class="gc-table-note"><td colspan="{len(table.headers)}">'
                        f"<em>Why:</em> {esc(note)}</td></tr>")
    return (f'<div class="md-typeset__scrollwrap"><div class="md-typeset__table gc-table" '
            f'data-table="{esc(name)}"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></div>')


class _TableBlocks(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        def render_one(f: Fence) -> str:
            body = [ln.strip() for ln in f.body if ln.strip()]
            km = _KEY.match(body[0]) if len(body) == 1 else None
            if not km or km.group("key") != "table" or km.group("value").strip() not in TABLES:
                raise ValueError(f"gradclip-table block at line {f.line}: expected one line 'table: <name>' "
                                 f"with a name from {', '.join(TABLES)}; found {body!r}")
            return render_table(km.group("value").strip())

        return replace_fences(self.md, lines, find_fences(lines, _TABLE_OPEN, "gradclip-table"), render_one)


_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_OBJ_ROLE = re.compile(r":(?:func|class|meth|data|mod|attr|obj|exc):`~?([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")


def rest_roles(lines: list[str]) -> list[str]:
    r"""Rewrite Sphinx math and object roles, and bare doctest blocks, as Markdown (outside code fences).

    >>> rest_roles([":math:`\\tau` is the threshold of :func:`~gradclip.clip_by_norm`."])
    ['$\\tau$ is the threshold of `gradclip.clip_by_norm`.']
    >>> rest_roles([".. math::", "", "    a = b", "", "after"])
    ['$$a = b$$', '', 'after']
    >>> rest_roles(["", ">>> 1 + 1", "2"])
    ['', '```pycon', '>>> 1 + 1', '2', '```']
    """
    out: list[str] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _ANY_FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker
            elif marker.startswith(fence[0]) and len(marker) >= len(fence):
                fence = None
            out.append(line)
            i += 1
            continue
        if fence is not None:
            out.append(line)
            i += 1
            continue
        if line.lstrip().startswith(">>>") and (not out or not out[-1].strip()):
            # A doctest block (Sphinx shows it as code; Markdown would read ">>>" as quotes).
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(indent + lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        d = _MATH_DIRECTIVE.match(line)
        if d:
            indent = d.group("indent")
            body = [d.group("rest").strip()] if d.group("rest").strip() else []
            i += 1
            # The directive's content: the following lines indented deeper (blank lines allowed).
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
                if lines[i].strip() and not lines[i].strip().startswith(":"):   # skip :label: options
                    body.append(lines[i].strip())
                elif body and not lines[i].strip() and i + 1 < len(lines) and lines[i + 1].strip() \
                        and len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= len(indent):
                    break
                i += 1
            if body:
                out.append(f"{indent}$${' '.join(body)}$$")
            continue
        line = _MATH_ROLE.sub(lambda k: f"${k.group(1).strip()}$", line)
        out.append(_OBJ_ROLE.sub(lambda k: f"`{k.group(1)}`", line))
        i += 1
    return out


class _RestRoles(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return rest_roles(lines)


class PredictExtension(Extension):
    """Register with ``markdown_extensions: [site_hooks.predict]``."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        # Above the demo blocks (28) so their fences are still visible for the id check;
        # below display math (29) so formulas in the page are already handled.
        md.preprocessors.register(_PredictBlocks(md), "gc_predict", 28.5)
        md.preprocessors.register(_TableBlocks(md), "gc_tables", 28.4)
        # Before display math (29): the rewritten docstring math must reach it as $$…$$.
        md.preprocessors.register(_RestRoles(md), "gc_rest_roles", 29.5)


def makeExtension(**kwargs) -> PredictExtension:  # noqa: N802
    return PredictExtension(**kwargs)

"""Math without scripts: ``$…$`` and ``$$…$$`` become MathML when the page is built.

Browsers render MathML natively, so formulas appear with JavaScript off, survive
Material's instant navigation (nothing to re-typeset) and never fetch a script from a
third party. latex2mathml does the conversion; anything it cannot convert fails the
build with the page's formula in the message, rather than showing raw LaTeX.

Display math: a line starting with ``$$`` up to a line ending with ``$$`` (one line
``$$ … $$`` works too), outside code fences. Inline math: ``$…$`` with no space just
inside the dollars, so prices such as "$5 and $10" are left alone. ``\\$`` is a dollar.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

from latex2mathml.converter import convert
from markdown import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

__all__ = ["MathExtension", "to_mathml", "makeExtension"]

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ROW_SPACING = re.compile(r"\\\\\[[^\]]*\]")
_INLINE = r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])"


# Sizes of a delimiter that latex2mathml prints as text when the delimiter is a command.
_SIZED_DELIMITER = re.compile(
    r"(\\[bB]igg?[lrm]?)\s*\\((?:lVert|rVert|Vert|lvert|rvert|vert|langle|rangle)(?![A-Za-z])|\|)")
_DELIMITER_CHAR = {"lVert": "\u2016", "rVert": "\u2016", "Vert": "\u2016", "|": "\u2016",
                   "lvert": "|", "rvert": "|", "vert": "|", "langle": "\u27e8", "rangle": "\u27e9"}
_BARE_BAR = re.compile(r"<mo>(&#x02016;|&#x0007C;|&#x02225;|\u2016|\|)</mo>")
_TEXT = re.compile(r"\\text\{([^{}]*)\}")


def _prepare(latex: str) -> str:
    """Rewrite the few constructs latex2mathml would print as raw LaTeX into ones it reads.

    - the spacing argument of a row break, ``\\\\[1ex]``: dropped;
    - a sized delimiter given as a command, ``\\bigl\\lVert``: the delimiter as its character;
    - an escaped underscore inside ``\\text{}``: a plain one.
    """
    latex = _ROW_SPACING.sub(r"\\\\", latex)
    latex = _SIZED_DELIMITER.sub(lambda m: m.group(1) + _DELIMITER_CHAR[m.group(2)], latex)
    return _TEXT.sub(lambda m: "\\text{" + m.group(1).replace("\\_", "_") + "}", latex)


def to_mathml(latex: str, display: bool) -> str:
    """MathML for one formula; ``ValueError`` naming the formula if it cannot be converted."""
    source = _prepare(latex.strip())
    try:
        mathml = convert(source, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many types; the author needs the formula
        raise ValueError(f"cannot render the formula ${latex}$: {exc}") from exc
    # A bare norm or absolute-value bar is stretchy by MathML's operator dictionary: with a math
    # font it would grow to the height of everything in its row (a square root, a sum). In LaTeX
    # only \left, \right and \big* stretch one, and those already carry their own attributes.
    # Nor does it space them as a relation: a bar inside a row (the closing one of |x| <= 1)
    # would otherwise get the wide spacing of an infix operator.
    mathml = _BARE_BAR.sub(r'<mo stretchy="false" lspace="0" rspace="0">\1</mo>', mathml)
    label = html.escape(latex.strip(), quote=True)
    # The LaTeX source as alttext: screen readers without MathML support, and copy-paste.
    return mathml.replace("<math ", f'<math alttext="{label}" ', 1)


class _DisplayMath(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: str | None = None
        buf: list[str] | None = None
        indent = ""
        for line in lines:
            m = _FENCE.match(line)
            if buf is None and m:
                marker = m.group(1)
                if fence is None:
                    fence = marker
                elif marker.startswith(fence[0]) and len(marker) >= len(fence):
                    fence = None
                out.append(line)
                continue
            if fence is not None:
                out.append(line)
                continue
            stripped = line.strip()
            if buf is None and stripped.startswith("$$"):
                indent = line[: len(line) - len(line.lstrip())]
                body = stripped[2:]
                if body.endswith("$$") and body.strip() != "":
                    out.extend(self._emit(indent, body[:-2]))
                    continue
                buf = [body]
                continue
            if buf is not None:
                if stripped.endswith("$$"):
                    buf.append(stripped[:-2])
                    out.extend(self._emit(indent, "\n".join(buf)))
                    buf = None
                else:
                    buf.append(stripped)
                continue
            out.append(line)
        if buf is not None:
            raise ValueError("a display formula opened with $$ is never closed: $$" + "\n".join(buf))
        return out

    def _emit(self, indent: str, latex: str) -> list[str]:
        html = f'<div class="gc-math">{to_mathml(latex, display=True)}</div>'
        return ["", indent + self.md.htmlStash.store(html), ""]


class _InlineMath(InlineProcessor):
    def handleMatch(self, m: re.Match, data: str):  # type: ignore[override]
        return self.md.htmlStash.store(to_mathml(m.group(1), display=False)), m.start(0), m.end(0)


class _Dollar(InlineProcessor):
    def handleMatch(self, m: re.Match, data: str):  # type: ignore[override]
        el = etree.Element("span")
        el.text = "$"
        return el, m.start(0), m.end(0)


class MathExtension(Extension):
    """Register with ``markdown_extensions: [site_hooks.math]``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # After normalize_whitespace (30), before the demo blocks (28) and fenced code (25);
        # it skips code fences itself, so a $$ inside a code sample stays literal.
        md.preprocessors.register(_DisplayMath(md), "gc_display_math", 29)
        # Below backticks (190): code spans win, so `$x$` in code stays literal.
        md.inlinePatterns.register(_Dollar(r"\\\$", md), "gc_dollar", 186)
        md.inlinePatterns.register(_InlineMath(_INLINE, md), "gc_inline_math", 185)


def makeExtension(**kwargs) -> MathExtension:  # noqa: N802
    return MathExtension(**kwargs)

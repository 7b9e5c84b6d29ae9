"""Fenced blocks of a page: finding them and putting rendered HTML in their place.

Every block extension of the site (demo, predict, table, code cells, command lines) is a
Markdown preprocessor that looks for a fenced block opened by its own line, reads the lines up to
the closing fence, and stashes HTML where the block was. Finding the closing fence and the
indentation (a block inside a tab or an admonition is indented) is the same for all of them,
so it lives here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

__all__ = ["Fence", "find_fences", "replace_fences"]


@dataclass
class Fence:
    """One fenced block: where it is, its opening line's match and its dedented body."""

    start: int                   # index of the opening fence line
    end: int                     # index after the closing fence line
    indent: str
    match: re.Match
    body: list[str]              # the lines between the fences, the block's indent removed

    @property
    def line(self) -> int:
        """The opening line's number, counted from 1 (for error messages)."""
        return self.start + 1


def find_fences(lines: list[str], opener: re.Pattern, what: str,
                error: type[Exception] = ValueError) -> list[Fence]:
    """Every block whose first line matches ``opener`` (groups ``indent`` and ``fence``), in order.

    The block ends at the next line made of the same fence character, at least as many of them
    (CommonMark's rule). A block never closed raises ``error`` naming ``what`` and its line.

    >>> opener = re.compile(r"^(?P<indent>\\s*)(?P<fence>`{3,})\\s*demo\\s*$")
    >>> [(f.start, f.end, f.body) for f in find_fences(["a", "  ```demo", "  x: 1", "  ````", "b"], opener, "demo")]
    [(1, 4, ['x: 1'])]
    """
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        m = opener.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = next((k for k in range(i + 1, len(lines)) if close.match(lines[k])), None)
        if j is None:
            raise error(f"line {i + 1}: the {what} block is never closed with {fence}")
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1:j]]
        found.append(Fence(i, j + 1, indent, m, body))
        i = j + 1
    return found


def replace_fences(md, lines: list[str], fences: list[Fence], render: Callable[[Fence], str]) -> list[str]:
    """``lines`` with each of ``fences`` (in page order) replaced by ``render(fence)``, stashed as
    raw HTML at the block's indent (so it stays inside its tab or admonition). ``render`` is
    called in page order: the code cells rely on it."""
    out: list[str] = []
    pos = 0
    for fence in fences:
        out.extend(lines[pos:fence.start])
        out.extend(["", fence.indent + md.htmlStash.store(render(fence)), ""])
        pos = fence.end
    out.extend(lines[pos:])
    return out

"""Every Python block of the "Clipping in real training" pages runs somewhere in the suite.

A block the page's Python can run is a live cell, and the build runs it (a failing cell fails
the build). Any other block, a recipe that imports a framework or uses the reader's ``model``,
must be run as written by a test: some ``run_page_block(page, marker, ...)`` or
``page_block(page, marker)`` call in ``tests/unit/`` names a marker that only that block holds.
The markers are read from the tests' source, so a recipe added to a page without a test fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from site_hooks.cells import find_blocks, runnable, top_level_names
from support import nav_pages

ROOT = Path(__file__).resolve().parents[2]
PAGES = nav_pages("Clipping in real training")


def markers() -> set[str]:
    """The string markers of every page_block / run_page_block call in tests/unit."""
    found = set()
    for path in (ROOT / "tests" / "unit").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("page_block", "run_page_block")
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                found.add(node.args[1].value)
    return found


def static_blocks(page: str) -> list[str]:
    """The page's Python blocks that are not live cells, decided as the build decides."""
    defined: set[str] = set()
    static = []
    for block in find_blocks((ROOT / "docs" / page).read_text(encoding="utf-8").splitlines()):
        if block.lang == "pycon":
            continue
        if runnable(block, defined):
            static.append(block.source)
        else:
            defined |= top_level_names(ast.parse(block.source))
    return static


def test_the_section_has_its_seven_pages():
    assert len(PAGES) == 7 and all(p.startswith("training/") for p in PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_recipe_of_the_page_is_run_by_a_test(page):
    known = markers()
    for source in static_blocks(page):
        hits = [m for m in known if m in source]
        assert hits, f"{page}: no test runs this block:\n{source[:300]}"

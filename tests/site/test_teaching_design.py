"""The learning design of the Learn and Practice pages, read from the built site.

Every Learn page goes intuition → formula → code → demo: it has at least one code cell whose
output was computed when the page was built. Every Learn and Practice page asks the reader to
predict an outcome before showing it, and each prediction guards something that is really
there: a demo on the page, or the code cell right after the block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from site_hooks.cells import read_cells  # noqa: E402
from support import nav_pages  # noqa: E402


LEARN = nav_pages("Learn")
PRACTICE = nav_pages("Practice", "Clipping in real training")


def built(site: Path, page: str) -> str:
    return (site / page.replace(".md", "") / "index.html").read_text()


@pytest.mark.parametrize("page", LEARN)
def test_every_learn_page_has_a_code_cell_with_build_time_output(built_site, page):
    cells = read_cells(built(built_site, page))
    assert cells, f"{page} has no code cell"
    assert any(c.stream.strip() or c.value or c.figures for c in cells), \
        f"{page}: no cell shows output computed at build time"


@pytest.mark.parametrize("page", LEARN + PRACTICE)
def test_every_learn_and_practice_page_asks_for_a_prediction(built_site, page):
    html = built(built_site, page)
    blocks = re.findall(r'<div class="admonition question gc-predict"[^>]*>', html)
    assert blocks, f"{page} has no predict-first block"
    for block in blocks:
        if 'data-for="' in block:
            demo = re.search(r'data-for="([^"]+)"', block).group(1)
            assert f'id="{demo}"' in html
        else:
            # The cell it guards is the very next code block: no static block in between.
            after = html[html.index(block):]
            after = after[after.index("</div>", after.index("gc-predict-answer")):]
            first_code = re.search(r'<div class="(gc-cell|language-|highlight)', after)
            assert first_code and first_code.group(1) == "gc-cell", f"{page}: a cell prediction is not followed by a cell"

"""docs/javascripts/generated.js is written from Python (site_hooks/jsgen.py) and kept current."""

from __future__ import annotations

import re

from gradclip.figures import style
from site_hooks import demo_blocks, jsgen


def test_the_committed_file_is_current():
    assert jsgen.TARGET.read_text(encoding="utf-8") == jsgen.generated_js(), \
        "docs/javascripts/generated.js is stale: run python -m site_hooks.jsgen"


def test_it_holds_the_python_values():
    text = jsgen.generated_js()
    assert f"export const PAD = {style.PAD};" in text
    assert f"export const HANDLE_RADIUS = {style.HANDLE_RADIUS};" in text
    assert f"export const SLIDER_STEPS = {demo_blocks.SLIDER_STEPS};" in text
    assert '"danger": "' + style.THEMES["light"]["danger"] + '"' in text


def test_no_browser_module_restates_a_generated_constant():
    names = re.findall(r"export const (\w+) =", jsgen.generated_js())
    for path in sorted(jsgen.TARGET.parent.glob("*.js")):
        if path == jsgen.TARGET:
            continue
        text = path.read_text(encoding="utf-8")
        for name in names:
            assert not re.search(rf"\b(const|let|var)\s+{name}\b", text), f"{path.name} declares {name} again"

"""The built editor bundle (site_hooks/editor.py -> javascripts/editor.js) in real headless Chromium.

The harness (tests/harness/editor.html + editor-harness.js) is served from a temporary folder
with the freshly built editor.js, Material's own stylesheets and the site's site.css, under the
site's style and script rules (a CSP meta tag). No site build is needed. Keys are pressed as a
reader would: Playwright's keyboard into the focused editor.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import material
import pytest

from site_hooks.editor import build_editor

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]   # the repository
HARNESS = ROOT / "tests" / "harness"
STYLES = Path(material.__file__).parent / "templates" / "assets" / "stylesheets"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):   # keep test output clean
        pass


def _harness_folder(dest: Path) -> Path:
    """The harness, the built editor and the stylesheets it is measured against, side by side."""
    build_editor(dest)
    for name in ("editor.html", "editor-harness.js"):
        shutil.copyfile(HARNESS / name, dest / name)
    for pattern, name in (("main.*.min.css", "material.css"), ("palette.*.min.css", "palette.css")):
        (found,) = STYLES.glob(pattern)
        shutil.copyfile(found, dest / name)
    shutil.copyfile(ROOT / "docs" / "stylesheets" / "site.css", dest / "site.css")
    return dest


@pytest.fixture(scope="module")
def harness_url(tmp_path_factory):
    folder = _harness_folder(tmp_path_factory.mktemp("editor-harness"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/editor.html"
    server.shutdown()
    server.server_close()


@pytest.fixture
def harness(page, harness_url, console_errors):
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true")
    yield page
    # The only error allowed is the harness's own proof that the policy is in force.
    assert [e for e in console_errors if not ("inline script" in e and "Content Security Policy" in e)] == []


def fresh(page, doc: str = "") -> None:
    """A new editor holding ``doc``, focused, the cursor at the end of the text."""
    page.evaluate("doc => harness.create(doc)", doc)
    page.click(".cm-content")
    page.keyboard.press("Control+End")


def doc(page) -> str:
    return page.evaluate("harness.editor.getDoc()")


def active_id(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.className")


def test_typing_reaches_getdoc_and_onchange(harness):
    fresh(harness)
    harness.keyboard.type("x = [1, 2]")
    assert doc(harness) == "x = [1, 2]"
    assert harness.evaluate("harness.changes.at(-1)") == "x = [1, 2]"
    assert harness.get_attribute(".cm-content", "aria-label") == "Python code"
    harness.keyboard.press("Control+z")   # undo history
    assert doc(harness) == ""


def test_enter_indents_python_blocks(harness):
    fresh(harness)
    for line in ("def f(x):", "if x:", "return 1"):
        harness.keyboard.type(line)
        harness.keyboard.press("Enter")
    harness.keyboard.type("else:")         # dedented to its `if` as it is typed
    assert doc(harness) == "def f(x):\n    if x:\n        return 1\n    else:"


def test_mod_enter_and_shift_enter_run_without_editing(harness):
    fresh(harness, "print(1)")
    harness.keyboard.press("Control+Enter")
    harness.keyboard.press("Shift+Enter")
    assert harness.evaluate("harness.runs") == ["print(1)", "print(1)"]
    assert doc(harness) == "print(1)"      # the keys were taken: no new line


def test_tab_indents_and_escape_tab_leaves(harness):
    fresh(harness, "x = 1")
    harness.keyboard.press("Tab")
    assert doc(harness) == "    x = 1"
    assert "cm-content" in active_id(harness)   # Tab alone stays in the editor
    harness.keyboard.press("Shift+Tab")
    assert doc(harness) == "x = 1"
    harness.keyboard.press("Escape")
    harness.keyboard.press("Tab")
    assert active_id(harness) == "after"
    assert doc(harness) == "x = 1"
    harness.keyboard.press("Shift+Tab")          # back in: the usual Tab order, nothing trapped
    harness.keyboard.press("Escape")
    harness.keyboard.press("Shift+Tab")
    assert active_id(harness) == "before"


def test_setdoc_replaces_the_text_without_running(harness):
    fresh(harness, "a = 1")
    harness.keyboard.type("  # edited")
    harness.evaluate("harness.editor.setDoc('b = 2\\nc = 3')")
    assert doc(harness) == "b = 2\nc = 3"
    assert harness.locator(".cm-line").all_text_contents() == ["b = 2", "c = 3"]
    assert harness.evaluate("harness.runs") == []
    assert harness.evaluate("harness.changes.at(-1)") == "b = 2\nc = 3"


def test_brackets_match_and_focus_shows(harness):
    fresh(harness, "f(x)")
    harness.keyboard.press("Home")
    harness.keyboard.press("ArrowRight")   # between f and (: the pair is marked
    assert harness.locator(".cm-matchingBracket").count() == 2
    outline = harness.evaluate("(({outlineStyle, outlineWidth}) => [outlineStyle, outlineWidth])"
                               "(getComputedStyle(document.querySelector('.cm-editor')))")
    assert outline == ["solid", "2px"]


KEYWORD = "[...document.querySelectorAll('.cm-line span')].find(s => s.textContent === 'def')"


def keyword_colour(page) -> str:
    return page.evaluate(f"getComputedStyle({KEYWORD}).color")


def probe_colour(page, var: str) -> str:
    """The colour ``var(--…)`` resolves to here, read from a probe element inside the harness."""
    return page.evaluate("""v => { const p = document.createElement('span');
        p.style.color = `var(${v})`; document.getElementById('cell').append(p);
        const c = getComputedStyle(p).color; p.remove(); return c; }""", var)


def test_keywords_take_the_theme_variable(harness):
    fresh(harness, "def f():\n    return None")
    assert keyword_colour(harness) == probe_colour(harness, "--md-code-hl-keyword-color") == "rgb(63, 110, 198)"
    harness.evaluate("document.getElementById('cell').style.setProperty('--md-code-hl-keyword-color', 'rgb(1, 2, 3)')")
    assert keyword_colour(harness) == "rgb(1, 2, 3)"
    harness.evaluate("document.getElementById('cell').style.removeProperty('--md-code-hl-keyword-color')")
    # Dark palette: the same span changes colour with no script, as Material's own code blocks.
    harness.evaluate("document.body.dataset.mdColorScheme = 'slate'")
    assert keyword_colour(harness) == probe_colour(harness, "--md-code-hl-keyword-color") == "rgb(103, 145, 224)"


def box(page, selector: str) -> dict:
    return page.evaluate("""sel => { const el = document.querySelector(sel), s = getComputedStyle(el);
        return {height: el.getBoundingClientRect().height, width: el.getBoundingClientRect().width,
                font: s.fontFamily, size: s.fontSize, lineHeight: s.lineHeight, background: s.backgroundColor}; }""",
                         selector)


def test_styled_under_csp_like_the_static_block(harness):
    assert harness.evaluate("window.inlineRan") is None    # the policy is in force
    static, editor = box(harness, "#static > code"), box(harness, ".cm-editor")
    assert static["background"] == editor["background"] == "rgb(245, 245, 245)"
    assert static["size"] == editor["size"]
    scroller = box(harness, ".cm-scroller")
    assert static["font"] == scroller["font"] and scroller["font"].endswith("monospace")
    assert static["lineHeight"] == scroller["lineHeight"]
    # Same box, so swapping the block for the editor moves nothing on the page.
    assert abs(static["height"] - editor["height"]) < 1 and abs(static["width"] - editor["width"]) < 1
    padding = "getComputedStyle(document.querySelector(sel)).padding"
    assert (harness.evaluate(f"sel => {padding}", "#static > code")
            == harness.evaluate(f"sel => {padding}", ".cm-content"))


def test_long_line_scrolls_inside_on_a_phone(harness):
    harness.set_viewport_size({"width": 360, "height": 640})
    fresh(harness, "values = [" + ", ".join(str(i) for i in range(60)) + "]")
    sizes = harness.evaluate("""(() => { const s = document.querySelector('.cm-scroller');
        return [document.documentElement.scrollWidth, s.scrollWidth, s.clientWidth]; })()""")
    page_width, scroll_width, client_width = sizes
    assert page_width <= 360
    assert scroll_width > client_width          # no wrapping: the editor scrolls sideways
    assert harness.locator(".cm-line").count() == 1

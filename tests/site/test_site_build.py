"""The built site: complete, self-contained, every demo expanded and pre-rendered.

These tests read the output of ``mkdocs build --strict`` (built once per session by the
``built_site`` fixture) and the build-time functions directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import markdown
import pytest

from site_hooks.demo_blocks import DemoBlockError, find_blocks
from site_hooks.math import to_mathml

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]   # the repository


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "assets" not in p.parts)


def test_every_nav_page_is_built(built_site):
    nav_pages = re.findall(r":\s*([\w/-]+)\.md", (ROOT / "mkdocs.yml").read_text())
    assert "index" in nav_pages and len(nav_pages) >= 15
    for name in nav_pages:
        out = built_site / ("index.html" if name == "index" else f"{name}/index.html")
        assert out.exists(), f"{name}.md was not built"


def test_runtime_and_package_are_vendored(built_site):
    pyo = built_site / "assets" / "pyodide"
    for name in ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json"):
        assert (pyo / name).stat().st_size > 0, name
    lock = json.loads((pyo / "pyodide-lock.json").read_text())
    for pkg in ("numpy",):
        assert (pyo / lock["packages"][pkg]["file_name"]).exists(), pkg
    manifest = json.loads((built_site / "assets" / "wheels" / "manifest.json").read_text())
    assert (built_site / "assets" / "wheels" / manifest["wheel"]).exists()
    # Bytecode for Pyodide's Python 3.12 when pyodide-build could run, else the pure-Python wheel.
    assert re.fullmatch(r"gradclip-[\d.]+-(py3|cp312)-none-any\.whl", manifest["wheel"]), manifest["wheel"]


def test_no_unexpanded_markers(built_site):
    """Every demo block, predict block and formula was turned into HTML."""
    leftovers = re.compile(r"gradclip-demo|gradclip-predict|\$\$|\x02wzxhzdk|klzzwxh")
    for page in html_pages(built_site):
        text = page.read_text(encoding="utf-8")
        # Code samples may legitimately show a fence; strip <code> before looking.
        prose = re.sub(r"<code[^>]*>.*?</code>", "", text, flags=re.S)
        hits = leftovers.findall(prose)
        assert not hits, f"{page.relative_to(built_site)} still contains {hits[:3]}"


def test_demos_carry_static_figures_and_numbers(built_site):
    """Each demo on the home page has its SVG and its results before any script runs."""
    text = (built_site / "index.html").read_text(encoding="utf-8")
    demos = re.findall(r'<div class="gc-demo"[^>]*data-demo="([\w-]+)"', text)
    assert demos, "the home page has no demo"
    assert 'data-state="loading"' in text
    assert text.count("<svg") >= 2
    values = dict(re.findall(r'data-result="(\w+)" data-value="([^"]*)"', text))
    assert {"final_loss", "max_raw_norm", "clip_events", "diverged", "verdict"} <= set(values)
    assert all(v != "" for v in values.values())


def test_no_third_party_assets(built_site):
    """Scripts, styles, images and fonts all come from the site itself."""
    external = re.compile(r"""(?:<script[^>]+src|<link[^>]+href|<img[^>]+src|<source[^>]+src)=["']?(?:https?:)?//""")
    css_url = re.compile(r"""url\(\s*["']?(?:https?:)?//""")
    for page in html_pages(built_site):
        text = page.read_text(encoding="utf-8")
        for m in external.finditer(text):
            tag = text[m.start(): text.find(">", m.start()) + 1]
            assert 'rel="canonical"' in tag, f"{page.relative_to(built_site)} loads {tag}"
    for css in built_site.rglob("*.css"):
        assert not css_url.search(css.read_text(encoding="utf-8")), css


def test_formulas_are_mathml(built_site):
    text = (built_site / "index.html").read_text(encoding="utf-8")
    assert "<math" in text and 'display="block"' in text


def test_no_formula_on_any_page_shows_raw_latex(built_site):
    """What the reader sees of a formula (its MathML without the alttext) has no backslash left."""
    leaks = []
    for page in built_site.rglob("*.html"):
        for formula in re.findall(r"<math.*?</math>", page.read_text(encoding="utf-8"), flags=re.S):
            if "\\" in re.sub(r'alttext="[^"]*"', "", formula):
                leaks.append(f"{page.relative_to(built_site)}: {formula[:160]}")
    assert not leaks, "\n".join(leaks)


# ---------- the build-time functions, without MkDocs ----------

def render(md_text: str) -> str:
    return markdown.markdown(md_text, extensions=["site_hooks.math", "site_hooks.demo_blocks",
                                                  "pymdownx.superfences"])


def test_math_inline_display_and_code_left_alone():
    html = render("Norm $\\lVert g \\rVert$ costs $5 and $10.\n\n$$\n\\frac{\\tau}{x}\n$$\n\n"
                  "```python\nprice = '$$'\n```\n\n`$x$` stays.")
    assert html.count("<math") == 2
    assert "$5 and $10" in html
    assert "'$$'" in html.replace("&#39;", "'")         # inside the highlighted code sample
    assert "<code>$x$</code>" in html


@pytest.mark.parametrize("latex, shown", [
    ("\\begin{cases} a \\\\[1ex] b \\end{cases}", "<mi>b</mi>"),     # a row break's spacing
    ("\\bigl\\lVert g \\bigr\\rVert_2", "\u2016"),                  # a sized delimiter command
    ("\\bigl\\| g \\bigr\\|", "\u2016"),
    ("\\text{clip\\_factor}", "<mtext>clip_factor</mtext>"),              # an escaped underscore
])
def test_constructs_latex2mathml_would_print_raw_are_rewritten(latex, shown):
    body = re.sub(r'alttext="[^"]*"', "", to_mathml(latex, display=True))
    assert shown in body and "\\" not in body and "1ex" not in body


def test_a_broken_formula_names_itself():
    with pytest.raises(ValueError, match=r"\\frac\{"):
        to_mathml("\\frac{", display=False)


def test_demo_block_is_expanded_with_controls_and_results():
    html = render("```gradclip-demo\ndemo: simulator\nid: t1\ncontrols: tau, method\ntau: 2.5\n```\n")
    assert 'data-demo="simulator"' in html and 'id="t1"' in html
    assert 'data-param="tau"' in html and 'data-param="method"' in html
    assert 'data-param="lr"' not in html           # only the listed controls
    assert '&quot;tau&quot;:2.5' in html            # the initial state the page starts from
    assert "<svg" in html


@pytest.mark.parametrize("body, message", [
    ("demo: no_such_demo", "unknown demo"),
    ("demo: simulator\ncolour: red", "unknown setting 'colour'"),
    ("demo: simulator\ntau: 1000", "outside the allowed range"),
    ("demo: simulator\ncontrols: tau, nope", "unknown control 'nope'"),
    ("tau: 1", "needs 'demo: <name>'"),
])
def test_demo_block_mistakes_fail_the_build_clearly(body, message):
    with pytest.raises(ValueError, match=message):
        render(f"Intro.\n\n```gradclip-demo\n{body}\n```\n")


def test_two_demos_of_a_page_need_different_names():
    """Their settings forms are landmarks a screen reader lists by name (axe: landmark-unique)."""
    twice = "```gradclip-demo\ndemo: simulator\nid: a\n```\n\n```gradclip-demo\ndemo: simulator\nid: b\n{}```\n"
    with pytest.raises(DemoBlockError, match="line 6: this demo and the one on line 1 are both called"):
        render(twice.format(""))
    html = render(twice.format("caption: The same, again\n"))
    assert 'role="group" aria-label="The same, again"' in html
    assert 'aria-label="The same, again: settings"' in html


def test_unclosed_block_is_an_error():
    with pytest.raises(DemoBlockError, match="never closed"):
        find_blocks(["```gradclip-demo", "demo: simulator"])


def test_a_tampered_vendored_file_fails_the_build(tmp_path):
    """Flip one byte of the cached NumPy wheel: the real build stops and names file and hashes."""
    import os
    import shutil

    from support import build_site
    from site_hooks import pins
    from site_hooks.cache import default_cache_dir

    source = default_cache_dir() / f"pyodide-{pins.PYODIDE_VERSION}"
    if not source.is_dir():
        pytest.skip("no vendored cache yet (the session's site build creates it)")
    cache = tmp_path / "cache"
    shutil.copytree(source, cache / source.name, ignore=shutil.ignore_patterns("*.tgz", "*.whl.part"))
    wheel = next((cache / source.name).glob("numpy-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))

    env_before = dict(os.environ)
    os.environ.update(GRADCLIP_CACHE=str(cache), GRADCLIP_PYCOMPILE="0")
    try:
        proc = build_site(tmp_path / "site")
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert wheel.name in out and "sha256 mismatch" in out
    assert pins.PACKAGE_SHA256[wheel.name] in out  # the expected hash, next to the actual one
    assert not (tmp_path / "site" / "assets" / "pyodide" / wheel.name).exists()


def test_performance_page_shows_every_benchmark(built_site):
    """The Performance page carries the output of every script in bench/, with date and machine."""
    text = (built_site / "performance" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"date: \d{4}-\d{2}-\d{2}", text)
    assert "machine: " in text
    for script in sorted((ROOT / "bench").glob("[!_]*.py")):   # _*.py: helpers, not benchmarks
        assert f"== bench/{script.name}" in text, f"{script.name} has no figures on the page"


def test_prose_quotes_a_demo_result_computed_at_build_time():
    import gradclip

    html = render("It ends at {gc:q1.final_loss} with {gc:q1.verdict}.\n\n"
                  "```gradclip-demo\ndemo: simulator\nid: q1\ntau: 0.5\n```\n")
    expected = gradclip.simulate("cliff", method="norm", tau=0.5, lr=0.05, steps=200).summary
    value = re.search(r'data-field="final_loss" data-value="([^"]+)"', html).group(1)
    assert float(value) == expected.final_loss
    assert f'data-field="verdict" data-value="{expected.verdict.code}"' in html


@pytest.mark.parametrize("ref, message", [("{gc:nope.final_loss}", "no demo with id 'nope'"),
                                          ("{gc:q1.colour}", "has no result 'colour'")])
def test_a_quoted_value_that_does_not_exist_fails_the_build(ref, message):
    with pytest.raises(ValueError, match=message):
        render(f"It ends at {ref}.\n\n```gradclip-demo\ndemo: simulator\nid: q1\n```\n")


def test_a_bare_norm_bar_does_not_stretch_to_its_row():
    """Only \\left, \\right and \\big* size a delimiter in LaTeX; a plain \\lVert next to a square
    root must not grow to the root's height."""
    body = to_mathml("\\lVert g\\rVert = \\sqrt{\\sum_j \\lVert g_j\\rVert^2}", display=True)
    assert "<mo>&#x02016;</mo>" not in body
    assert body.count('<mo stretchy="false" lspace="0" rspace="0">&#x02016;</mo>') == 4

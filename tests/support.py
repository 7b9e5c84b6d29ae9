"""Helpers shared by the tests and the benchmarks: where the repository and the browser are,
building the site, and reading a live demo in a page.

The benchmarks import this module too (``bench/`` puts ``tests/`` on ``sys.path``), so a bench
and a test that wait for a demo or launch Chromium do it the same way.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the repository
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
READY_TIMEOUT_MS = 120_000   # a cold Pyodide start on a loaded 2-core machine


def make_fixtures():
    """tests/fixtures/normlogs/make_fixtures.py as a module: the script that made the real log
    files, and the tiny training setups it made them with (importable without any framework)."""
    import importlib.util
    path = ROOT / "tests" / "fixtures" / "normlogs" / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def need(module: str):
    """``module``, imported; the test skips with the reason when it is not installed."""
    import pytest

    return pytest.importorskip(module, reason=f"{module} is not installed (make venv installs it for these tests)")


def page_block(page: str, marker: str) -> str:
    """The one Python block of ``docs/<page>`` whose code contains ``marker``, read with the
    site's own block finder, so a test runs the recipe exactly as the page shows it."""
    from site_hooks.cells import find_blocks

    path = ROOT / "docs" / page
    found = [b.source for b in find_blocks(path.read_text(encoding="utf-8").splitlines()) if marker in b.source]
    assert len(found) == 1, f"{len(found)} blocks of {page} contain {marker!r}"
    return found[0]


def run_page_block(page: str, marker: str, names: dict) -> dict:
    """Run :func:`page_block` in the namespace ``names`` (what the page leaves to the reader:
    a model, a loader, ...); returns the namespace. The code object is named after the page and
    the marker, so a traceback says which recipe failed."""
    exec(compile(page_block(page, marker), f"docs/{page}:{marker}", "exec"), names)
    return names


def chromium_path() -> str | None:
    env = os.environ.get("GRADCLIP_CHROMIUM")
    if env:
        return env
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def build_site(dest: Path, *extra: str) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` into ``dest``; returns the finished process (check returncode)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(dest), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def demo_ready(page, selector: str = ".gc-demo", timeout: int = READY_TIMEOUT_MS):
    """Wait until the demo at ``selector`` is ``ready`` (fails fast on ``error``); returns its locator.

    The demo is scrolled into view first, as a reader would: the runtime starts only when the
    first demo of a page nears the viewport.
    """
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_selector(f"{selector}[data-state=ready], {selector}[data-state=error]", timeout=timeout)
    state = page.get_attribute(selector, "data-state")
    if state != "ready":
        status = page.text_content(f"{selector} .gc-status")
        raise AssertionError(f"demo {selector} ended in state {state!r}: {status}")
    return page.locator(selector)


def wait_idle(page, selector: str = ".gc-demo", timeout: int = 30_000) -> None:
    """Wait until the demo has no request in flight (its results are current)."""
    page.wait_for_function(
        "sel => { const el = document.querySelector(sel); return el && !el.hasAttribute('data-busy'); }",
        arg=selector, timeout=timeout)


def offline_ready(page, timeout: int = READY_TIMEOUT_MS) -> None:
    """Wait until the site's service worker has precached this build and is active
    (``<html data-offline>``, set by offline.js); a failed install fails here, naming it."""
    page.wait_for_function("() => ['ready', 'failed'].includes(document.documentElement.dataset.offline)",
                           timeout=timeout)
    state = page.evaluate("document.documentElement.dataset.offline")
    assert state == "ready", f"the service worker did not install: data-offline={state}"


def canvas_ink(page, selector: str) -> int:
    """How many pixels of a canvas differ from its top-left pixel: 0 means blank."""
    return page.eval_on_selector(selector, """c => {
        const ctx = c.getContext('2d'); const {width: w, height: h} = c;
        if (!w || !h) return 0;
        const d = ctx.getImageData(0, 0, w, h).data; let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (Math.abs(d[i]-d[0]) + Math.abs(d[i+1]-d[1]) + Math.abs(d[i+2]-d[2]) > 30) n++;
        return n; }""")


def results(page, selector: str) -> dict[str, str]:
    """Every result the demo at ``selector`` shows: field -> its unrounded ``data-value``."""
    return page.eval_on_selector_all(
        f"{selector} [data-result]",
        "els => Object.fromEntries(els.map(e => [e.dataset.result, e.dataset.value]))")


def live_params(page, selector: str) -> dict:
    """The parameters of the output the demo shows now, as the worker received them."""
    return page.eval_on_selector(selector, "el => el.gcDemo.output.params")


def same(browser: str, cpython: str) -> bool:
    """Equal values; numbers to 1e-6 relative (Pyodide's maths library and LAPACK may round
    differently from the machine's)."""
    try:
        a, b = float(browser), float(cpython)
    except ValueError:
        return browser == cpython
    return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def assert_matches_cpython(page, selector: str, chaotic: frozenset[str] = frozenset()) -> None:
    """Every result the demo shows equals what CPython gradclip computes for its parameters.

    A field in ``chaotic`` comes from a run that amplifies the last-bit differences between
    Pyodide's maths library and the machine's (an unclipped run thrown about by bad batches):
    for it the text the reader sees must be identical and the value equal to 1e-3 relative."""
    import gradclip.demos as demos

    name = page.get_attribute(selector, "data-demo")
    expected = demos.run(name, live_params(page, selector))["results"]
    shown = results(page, selector)
    assert shown, f"{selector} shows no results"
    for field, got in shown.items():
        want = expected[field]["value"]
        if field in chaotic:
            assert page.text_content(f"{selector} [data-result={field}]").strip() == expected[field]["text"]
            assert math.isclose(float(got), float(want), rel_tol=1e-3), (selector, field, got, want)
        else:
            assert same(got, want), (selector, field, got, want)


# ---------- every page of a built site ----------

def site_pages(site: Path) -> list[Path]:
    """Every page of the built site (its ``index.html`` files), from the build itself."""
    return sorted(p for p in Path(site).rglob("index.html") if "assets" not in p.parts)


def nav_pages(*sections: str) -> list[str]:
    """The Markdown pages of the named sections of mkdocs.yml's ``nav`` (e.g. "Learn"), in order.

    Only the ``nav`` block is read (the rest of mkdocs.yml has ``!ENV`` tags a plain YAML loader
    refuses)."""
    import yaml

    text = (ROOT / "mkdocs.yml").read_text()
    start = text.index("\nnav:")
    end = text.find("\n\n", start + 1)
    nav = yaml.load(text[start:end if end > 0 else None], Loader=yaml.BaseLoader)["nav"]
    return [next(iter(page.values())) for item in nav if isinstance(item, dict)
            for section, entries in item.items() if section in sections and isinstance(entries, list)
            for page in entries]


def page_url(site: Path, base: str, page: Path) -> str:
    """The address ``base`` serves ``page`` (an ``index.html`` of ``site``) at."""
    rel = page.parent.relative_to(site).as_posix()
    return base + ("" if rel == "." else rel + "/")


def instant_goto(page, url: str) -> None:
    """Open ``url`` as a reader's click on a link does under Material's instant navigation (the
    way Material itself navigates: a link added, clicked and removed), so the page's scripts and
    the Python worker carry on; waits until the new page's content is in place. Before Material
    has read the sitemap the click is an ordinary full load, which this waits for just the same."""
    page.evaluate("""url => {
        document.querySelector('[data-md-component=container]').dataset.gcLeft = '';
        const a = Object.assign(document.createElement('a'), { href: url });
        document.body.append(a); a.click(); a.remove(); }""", url)
    page.wait_for_function("""url => location.href === url &&
        !('gcLeft' in (document.querySelector('[data-md-component=container]') || {dataset: {gcLeft: 1}}).dataset)""",
                           arg=url)
    transitions_done(page)   # the header's title fades to the new page's


def transitions_done(page) -> None:
    """Wait until no CSS transition is running (colours and fades in between are not what a
    reader sees once the page has settled, nor what a contrast check should measure)."""
    page.wait_for_function("""() => document.getAnimations()
        .every(a => !(a instanceof CSSTransition) || a.playState !== 'running')""")


def all_demos_ready(page) -> list[str]:
    """Scroll to each demo of the page in turn and wait until it is ready; returns their ids.

    Scrolling past the page's title makes Material fade its header from the site's name to the
    page's: the fades are waited out, so a contrast check that follows measures the settled page
    (once, under load, axe-core caught the header half-faded)."""
    ids = page.eval_on_selector_all(".gc-demo", "els => els.map(e => e.id)")
    for demo_id in ids:
        demo_ready(page, f"#{demo_id}")
    transitions_done(page)
    return ids


# ---------- predict-first blocks (site_hooks/predict.py, docs/javascripts/predict.js) ----------

def prediction_target(page, key: str) -> str:
    """The selector of what the prediction ``key`` guards: its demo, or the first code cell after it."""
    block = f"#predict-{key}"
    demo = page.get_attribute(block, "data-for")
    if demo:
        return f"#{demo}"
    n = page.eval_on_selector(block, """b => [...document.querySelectorAll('.gc-cell')]
        .find(c => b.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING).dataset.cell""")
    return f'.gc-cell[data-cell="{n}"]'


def answer_prediction(page, key: str, right: bool = True) -> str:
    """Check what the prediction ``key`` guards starts veiled and out of reach, pick the right
    (or a wrong) answer, and check the reveal: the choice marked, the explanation open, the
    feedback said, the veil gone. Returns the target's selector."""
    block, target = f"#predict-{key}", prediction_target(page, key)
    hidden = ".gc-figures" if target.startswith("#") else "[data-cell-output]"
    assert page.eval_on_selector(target, "el => el.classList.contains('gc-predict-veiled')"), target
    assert page.eval_on_selector(f"{target} {hidden}", "el => el.inert"), target
    answer = page.get_attribute(block, "data-answer")
    pick = answer if right else ("A" if answer != "A" else "B")
    page.locator(f"{block} input[value={pick}]").check()
    page.wait_for_function("s => !document.querySelector(s).classList.contains('gc-predict-veiled')", arg=target)
    feedback = page.text_content(f"{block} .gc-predict-feedback")
    assert (f"Right: {answer}." if right else f"You chose {pick}; the answer is {answer}.") in feedback
    assert page.eval_on_selector(f"{block} details", "el => el.open")
    assert page.eval_on_selector(f"{block} [data-choice={answer}]", "el => el.classList.contains('gc-predict-correct')")
    if not right:
        assert page.eval_on_selector(f"{block} [data-choice={pick}]", "el => el.classList.contains('gc-predict-wrong')")
    assert not page.eval_on_selector(f"{target} {hidden}", "el => el.inert")
    assert page.locator(f"{target} .gc-predict-veil").count() == 0
    return target


def assert_quoted_values_are_live(page, demo_id: str) -> int:
    """Every ``{gc:<demo_id>.<field>}`` the page quotes (computed by CPython at the build, at the
    demo's defaults) equals what the live demo shows, computed in the browser; returns how many."""
    quoted = page.eval_on_selector_all(f'.gc-value[data-value-of="{demo_id}"]',
                                       "els => els.map(e => [e.dataset.field, e.dataset.value, e.textContent])")
    live = results(page, f"#{demo_id}")
    for field, built, text in quoted:
        assert field in live, f"the page quotes {demo_id}.{field}, which the demo does not show"
        assert same(live[field], built), (demo_id, field, live[field], built)
        # ... and the sentence reads as the demo's panel does
        assert page.text_content(f"#{demo_id} [data-result={field}]").strip() == text.strip(), (demo_id, field)
    return len(quoted)


def cell_printed(page, cell: str) -> str:
    """What a code cell printed and its value, whitespace-normalised (its figures aside: the
    build writes them as SVG, the page paints them on canvas)."""
    text = page.eval_on_selector(cell, """c => [...c.querySelectorAll('.gc-cell-stream, .gc-cell-value')]
        .map(e => e.textContent).join('\\n')""")
    return " ".join(text.split())


def run_cell_in_page(page, cell: str, timeout: int = READY_TIMEOUT_MS) -> str:
    """Run a code cell through its page hook; it must not fail. Returns :func:`cell_printed`."""
    page.locator(cell).scroll_into_view_if_needed()
    page.eval_on_selector(cell, "c => { c.gcCell.run(); }")
    page.wait_for_function("s => ['done', 'error'].includes(document.querySelector(s).dataset.state)",
                           arg=cell, timeout=timeout)
    assert page.get_attribute(cell, "data-state") == "done", page.text_content(f"{cell} [data-cell-output]")
    return cell_printed(page, cell)


# ---------- accessibility (axe-core, pinned in site_hooks/pins.py) ----------

AXE_IMPACTS = ("critical", "serious", "moderate", "minor")


def axe_source() -> str:
    """axe-core's ``axe.min.js``, verified against its pin (fetched once with npm into the cache)."""
    from site_hooks.vendor import axe_core_js

    return axe_core_js()


def axe_violations(page) -> list[dict]:
    """axe-core's violations for the page as it is now (axe must be in the page: pass
    :func:`axe_source` to ``context.add_init_script``, which no Content-Security-Policy blocks)."""
    return page.evaluate("""async () => {
        if (!window.axe) throw new Error('axe-core is not in this page');
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')) }));
    }""")


def set_scheme(page, scheme: str) -> None:
    """Switch Material's palette to ``scheme`` ("default" or "slate") with its own toggle, as a
    reader would, and wait until the colour transitions it starts have finished."""
    current = page.get_attribute("body", "data-md-color-scheme")
    if current != scheme:
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=scheme)
    transitions_done(page)


def set_number(page, selector: str, param: str, value) -> None:
    """Type ``value`` into the demo's number field for ``param`` and wait for its output."""
    field = page.locator(f"{selector} input[data-param={param}]")
    field.fill(str(value))
    field.dispatch_event("change")
    page.wait_for_function(
        "([sel, p, v]) => { const d = document.querySelector(sel).gcDemo;"
        " return d && d.output && Math.abs(d.output.params[p] - v) < 1e-9; }",
        arg=[selector, param, value])
    wait_idle(page, selector)


def assert_figures_painted(page, selector: str, min_ink: int = 500) -> None:
    """Every figure of the demo is its live canvas (not the static picture), and none is blank."""
    for canvas in page.locator(f"{selector} [data-figure] canvas").all():
        canvas.scroll_into_view_if_needed()
        assert canvas.is_visible(), f"{selector}: a figure is still the static picture"
    for name in page.eval_on_selector_all(f"{selector} [data-figure]", "els => els.map(e => e.dataset.figure)"):
        assert canvas_ink(page, f"{selector} [data-figure={name}] canvas") > min_ink, f"{selector} {name} is blank"


def exercise_page_demos(page, url: str, ids: list[str], change, reveal=None) -> None:
    """Open ``url``, whose live demos must be exactly ``ids`` in page order, and for each: it
    gets ready, paints every figure, and shows what CPython computes; then ``change(page, sel,
    demo_id)`` alters one setting (returning False when the demo has none to alter), after which
    the results must differ and still equal CPython's. ``reveal(page, demo_id)`` runs first
    when given (a prediction to answer before the figures show)."""
    page.goto(url)
    assert page.eval_on_selector_all(".gc-demo", "els => els.map(e => e.id)") == ids
    for demo_id in ids:
        sel = f"#{demo_id}"
        demo_ready(page, sel)
        wait_idle(page, sel)
        if reveal:
            reveal(page, demo_id)
        assert_figures_painted(page, sel)
        assert_matches_cpython(page, sel)
        before = results(page, sel)
        if change(page, sel, demo_id) is False:
            continue
        assert results(page, sel) != before, f"{sel}: the change did not reach the results"
        assert_matches_cpython(page, sel)


def launch_options() -> dict:
    """Keyword arguments for Playwright's ``chromium.launch``: the flags, and the machine's
    Chromium when there is one (else Playwright's own browser)."""
    path = chromium_path()
    return {"args": CHROMIUM_ARGS, **({"executable_path": path} if path else {})}


def site_or_build(site: str | None) -> Path:
    """The built site at ``site``, or (None) a fresh strict build in a temporary folder; a
    failed build ends the program with mkdocs' output (for the benchmarks)."""
    if site:
        return Path(site)
    import tempfile

    dest = Path(tempfile.mkdtemp(prefix="gradclip-bench-site-"))
    proc = build_site(dest)
    if proc.returncode != 0:
        sys.exit(f"site build failed:\n{proc.stdout}\n{proc.stderr}")
    return dest


# ------------------------------------------------------------------ breaking the runtime

# `python -m pytest` from the repository (and every bench) has the repository on sys.path.
from site_hooks.serve import _Handler  # noqa: E402


class _BrokenSiteHandler(_Handler):
    """The site's static server with one file missing (404) or one download cut short."""

    missing: tuple[str, ...] = ()
    cut: tuple[str, ...] = ()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith(self.missing):
            self.send_error(404, "File not found")
            return
        if path.endswith(self.cut):
            self._send_part()
            return
        super().do_GET()

    def _send_part(self) -> None:
        full = self.translate_path(self.path.split("?")[0])
        with open(full, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(full))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 3])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)


def serve_broken(directory, missing=(), cut=()):
    """Serve the built site with files ending in ``missing`` answered by a 404 and files ending
    in ``cut`` cut off after a third of their bytes; returns the server and its base URL."""
    import functools
    import threading
    from http.server import ThreadingHTTPServer

    handler = type("Handler", (_BrokenSiteHandler,), {"missing": tuple(missing), "cut": tuple(cut)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def crash_python(page) -> None:
    """Exhaust the JavaScript stack inside Python, as a deeply nested JSON file once did.

    It runs in the worker itself (through the debugging handle worker.js leaves on
    ``self.gradclip``), bypassing gradclip's own depth check, so it stays a fatal error.
    """
    worker = next(w for w in page.workers if w.url.endswith("/worker.js"))
    worker.evaluate("""() => { try { self.gradclip.pyodide.runPython(
        "import json; json.loads('[' * 200000)"); } catch (e) { return String(e); } }""")

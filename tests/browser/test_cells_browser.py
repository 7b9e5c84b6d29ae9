"""Code cells in a real browser (issue 15): edit, run, stop, figures, navigation, no network.

The witness is CPython: what a cell prints in the page must be what ``gradclip.cells.run_cell``
prints here for the same code. Stop is tested both ways it can happen: with cross-origin
isolation (the service worker's headers; Python is interrupted and keeps its variables) and
without (a fresh worker; the variables are gone, the demos come back).
"""

from __future__ import annotations

import time

import pytest

from gradclip.cells import fresh_namespace, run_cell
from support import canvas_ink, demo_ready, instant_goto, offline_ready

pytestmark = pytest.mark.browser

PYTHON = "guide/python/"
CELL = ".gc-cell"
READY_MS = 180_000


def cell(page, n: int) -> str:
    """The selector of the n-th cell (1-based) of the page."""
    return f'{CELL}[data-cell="{n}"]'


def settle(page, selector: str, timeout: int = READY_MS) -> str:
    """Wait until the cell is no longer running; returns its state."""
    page.wait_for_function("s => document.querySelector(s).dataset.state !== 'running'", arg=selector,
                           timeout=timeout)
    return page.get_attribute(selector, "data-state")


def start(page, selector: str, source: str | None = None) -> None:
    """Click into the cell (the editor opens), optionally replace its code, press Ctrl+Enter."""
    page.click(f"{selector} .gc-cell-code")
    page.wait_for_selector(f"{selector} .cm-content:focus")
    if source is not None:
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(source)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f'{selector}[data-state="running"], {selector}[data-state="done"], '
                           f'{selector}[data-state="error"]')


def run(page, selector: str, source: str | None = None) -> str:
    """:func:`start`, then wait for the end; returns the cell's state."""
    start(page, selector, source)
    return settle(page, selector)


def shown(page, selector: str) -> dict:
    return page.eval_on_selector(selector, """c => ({
        stream: (c.querySelector('.gc-cell-stream') || {textContent: ''}).textContent,
        value: (c.querySelector('.gc-cell-value') || {textContent: null}).textContent,
        error: (c.querySelector('.gc-cell-error-last') || {textContent: null}).textContent,
        status: c.querySelector('.gc-cell-status').textContent })""")


def test_an_edited_cell_prints_what_cpython_prints(page, site_url, console_errors):
    page.goto(site_url + PYTHON)
    code = "import numpy as np, gradclip\nfor t in (0.5, 2.0):\n    print(t, gradclip.clip_by_norm(np.array([3.0, 4.0]), t))\nnp.arange(4) ** 2"
    assert run(page, cell(page, 1), code) == "done"
    want = run_cell(code, fresh_namespace())
    got = shown(page, cell(page, 1))
    assert got["stream"] == want.stdout and got["value"] == want.value == "array([0, 1, 4, 9])"
    assert "ran: 2 lines of output, a value" in got["status"]     # announced (role=status)
    assert console_errors == []


def test_output_streams_while_the_cell_runs(page, site_url):
    page.goto(site_url + PYTHON)
    demo_ready(page, "#python-call")
    sel = cell(page, 1)
    code = ("import time\nfor i in range(3):\n    print('line', i)\n    t = time.perf_counter()\n"
            "    while time.perf_counter() - t < 0.4:\n        pass")
    start(page, sel, code)
    # The first line is on the page while the cell is still busy with the rest.
    page.wait_for_function("s => document.querySelector(s + ' .gc-cell-stream').textContent.startsWith('line 0')"
                           " && document.querySelector(s).dataset.state === 'running'", arg=sel)
    assert settle(page, sel) == "done"
    assert shown(page, sel)["stream"] == "line 0\nline 1\nline 2\n"


def test_leaving_a_page_stops_its_running_cell(page, site_url):
    page.goto(site_url + PYTHON)
    demo_ready(page, "#python-call")
    start(page, cell(page, 1), "while True:\n    pass")
    instant_goto(page, site_url)
    demo_ready(page, "#home-sim")                      # Python is free for the next page's demo


def test_bad_code_shows_the_last_line_and_the_full_traceback_one_click_away(page, site_url):
    page.goto(site_url + PYTHON)
    sel = cell(page, 1)
    assert run(page, sel, "def f(x):\n    return 1 / x\nf(0)") == "error"
    assert shown(page, sel)["error"] == "ZeroDivisionError: division by zero"
    details = page.locator(f"{sel} .gc-cell-error details")
    assert details.get_attribute("open") is None            # closed until asked
    page.click(f"{sel} .gc-cell-error summary")
    tb = page.inner_text(f"{sel} .gc-cell-traceback")
    assert 'File "<cell 1>", line 3' in tb and "return 1 / x" in tb


def test_a_cell_run_before_the_one_it_needs_says_which_to_run(page, site_url):
    page.goto(site_url + PYTHON)
    page.click(f"{cell(page, 2)} .gc-cell-run")
    assert settle(page, cell(page, 2)) == "error"
    hint = page.inner_text(f"{cell(page, 2)} .gc-cell-hint")
    assert hint == "np is defined in cell 1 above, which has not run on this page yet: run that cell first."
    page.click(f"{cell(page, 1)} .gc-cell-run")
    settle(page, cell(page, 1))
    page.click(f"{cell(page, 2)} .gc-cell-run")
    assert settle(page, cell(page, 2)) == "done"


def test_reset_brings_the_original_code_back(page, site_url):
    page.goto(site_url + PYTHON)
    sel = cell(page, 2)
    original = page.eval_on_selector(sel, "c => c.gcCell.source")
    assert page.is_disabled(f"{sel} .gc-cell-reset")
    run(page, sel, "print('changed')")
    assert page.eval_on_selector(sel, "c => c.gcCell.source") == "print('changed')"
    page.click(f"{sel} .gc-cell-reset")
    assert page.eval_on_selector(sel, "c => c.gcCell.source") == original
    assert page.is_disabled(f"{sel} .gc-cell-reset")


def test_a_cells_figure_is_painted(page, site_url):
    page.goto(site_url + PYTHON)
    sel = cell(page, 1)
    code = ("import gradclip\nrun = gradclip.simulate('cliff', method='norm', tau=1.0)\n"
            "fig = gradclip.Figure(x_range=(0, 200), y_range=(1e-8, 1e3), y_log=True)\n"
            "fig.line(range(len(run.losses)), run.losses, color='s0')")
    assert run(page, sel, code) == "done"
    assert canvas_ink(page, f"{sel} .gc-figure canvas") > 500


def test_stop_without_isolation_restarts_python_and_the_page_keeps_working(page, site_url):
    page.goto(site_url + PYTHON)
    assert page.evaluate("crossOriginIsolated") is False
    demo_ready(page, "#python-call")
    sel = cell(page, 1)
    run(page, sel, "x = 1")
    start(page, cell(page, 2), "while True:\n    pass")
    page.wait_for_selector(f'{cell(page, 2)}[data-state="running"]')
    time.sleep(0.5)
    page.click(f"{cell(page, 2)} .gc-cell-stop")
    assert settle(page, cell(page, 2), timeout=5_000) == "error"
    assert "Python was restarted" in page.inner_text(f"{cell(page, 2)} [data-cell-output]")
    demo_ready(page, "#python-call")                   # the demo came back on the fresh worker
    assert run(page, sel, "x") == "error"              # the variables went with the old worker
    assert run(page, sel, "print('again')") == "done"
    assert shown(page, sel)["stream"] == "again\n"


def test_stop_with_isolation_interrupts_and_keeps_the_variables(browser, site_url):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(site_url + PYTHON)
        offline_ready(page)
        page.reload()                                   # now served by the worker, with COOP/COEP
        assert page.evaluate("crossOriginIsolated") is True
        demo_ready(page, "#python-call")                # Python is up: Stop has a run to stop
        sel = cell(page, 1)
        start(page, sel, "n = 0\nwhile True:\n    n += 1")
        page.wait_for_selector(f'{sel}[data-state="running"]')
        time.sleep(0.5)
        page.click(f"{sel} .gc-cell-stop")
        assert settle(page, sel, timeout=5_000) == "error"   # how fast: bench/cells.py
        assert shown(page, sel)["error"] == "Stopped: the cell was interrupted (KeyboardInterrupt)."
        assert page.evaluate("globalThis.__gradclipRuntime.restarts") == 0
        assert run(page, sel, "print(n > 1000)") == "done"
        assert shown(page, sel)["stream"] == "True\n"
    finally:
        ctx.close()


def test_cells_survive_instant_navigation_and_each_page_has_its_own_namespace(page, site_url):
    page.goto(site_url + PYTHON)
    run(page, cell(page, 1), "shared = 'python page'")
    started = page.evaluate("globalThis.__gradclipRuntime.startedAt")
    instant_goto(page, site_url + "monitor/training-monitor/")
    assert page.evaluate("globalThis.__gradclipRuntime.startedAt") == started
    assert run(page, cell(page, 1), "print('shared' in globals())") == "done"
    assert shown(page, cell(page, 1))["stream"] == "False\n"
    instant_goto(page, site_url + PYTHON)
    assert run(page, cell(page, 1), "print('shared' in globals())") == "done"
    assert shown(page, cell(page, 1))["stream"] == "False\n", "a page shown again starts afresh"


def test_cells_run_with_the_network_cut_after_load(browser, built_site):
    from site_hooks.serve import start, stop

    server, url = start(built_site)
    ctx = browser.new_context(service_workers="block")
    try:
        page = ctx.new_page()
        page.goto(url + PYTHON)
        demo_ready(page, "#python-call")
        page.wait_for_function("() => performance.getEntriesByType('resource').some(r => r.name.endsWith('/editor.js'))")
        stop(server)
        assert run(page, cell(page, 1), "print(sum(range(10)))") == "done"
        assert shown(page, cell(page, 1))["stream"] == "45\n"
    finally:
        ctx.close()
        stop(server)


def test_the_keyboard_reaches_edits_and_leaves_a_cell(page, site_url):
    page.goto(site_url + PYTHON)
    sel = cell(page, 1)
    page.focus(f"{sel} .gc-cell-code code")          # what Tab reaches: the theme makes it focusable
    page.wait_for_selector(f"{sel} .cm-content:focus")
    page.keyboard.press("End")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className").startswith("md-button gc-cell-run")


def test_before_python_the_cell_shows_the_build_output_and_nothing_jumps(page, site_url):
    page.route("**/pyodide.asm.wasm", lambda route: None)     # Python never arrives
    page.goto(site_url + PYTHON)
    sel = cell(page, 1)
    assert page.get_attribute(sel, "data-state") == "idle"
    assert shown(page, sel)["stream"].startswith("[0.6 0.8]\n[1. 1.]\n")
    before = page.eval_on_selector(f"{sel} .gc-cell-code", "e => e.getBoundingClientRect().height")
    page.click(f"{sel} .gc-cell-code")
    page.wait_for_selector(f"{sel} .cm-editor")
    after = page.eval_on_selector(f"{sel} .gc-cell-code", "e => e.getBoundingClientRect().height")
    assert abs(after - before) <= 1

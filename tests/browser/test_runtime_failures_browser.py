"""Every way the runtime's download can fail ends in plain words, and a dead Python heals.

A real server, not request interception: a missing file is a genuine 404 from the static
server, and a download cut short is a response that announces its full length, sends part
of it and closes the connection, as a dropped network does. In each case the demo must end
in ``data-state=error`` with a sentence a reader understands, and keep its build-time figure.

The waits below are hang guards (a broken loader used to sit at "Loading…" for ever), not
timings: how fast the error appears is measured by ``bench/runtime_recovery.py``.
"""

from __future__ import annotations

import pytest

from support import crash_python, demo_ready, results, serve_broken, wait_idle

pytestmark = pytest.mark.browser

HOME = "#home-sim"
GIVE_UP_MS = 45_000   # far longer than any failure path needs; only a hang reaches it


@pytest.fixture
def faulty_site(built_site):
    """A function serving the built site with some files broken; returns its base URL."""
    servers = []

    def serve(missing=(), cut=()):
        server, url = serve_broken(built_site, missing, cut)
        servers.append(server)
        return url

    yield serve
    for s in servers:
        s.shutdown()


def _error_status(page) -> str:
    page.locator(HOME).scroll_into_view_if_needed()
    page.wait_for_selector(f"{HOME}[data-state=error]", timeout=GIVE_UP_MS)
    assert page.is_visible(f"{HOME} [data-figure=contour] .gc-static svg"), "the build-time figure must stay"
    return page.text_content(f"{HOME} .gc-status-text")


@pytest.mark.parametrize("missing, words", [
    ("pyodide.asm.wasm", "pyodide.asm.wasm"),
    ("python_stdlib.zip", "python_stdlib.zip"),
    ("pyodide-lock.json", "pyodide-lock.json"),
    ("pyodide.asm.js", "pyodide.asm.js"),
    ("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl", "NumPy could not be downloaded"),
    ("-none-any.whl", "-none-any.whl could not be downloaded"),   # gradclip's wheel (py3 or cp312)
    ("manifest.json", "manifest.json"),
    (".whl", "NumPy could not be downloaded"),   # every wheel: NumPy's and gradclip's
], ids=["wasm", "stdlib", "lock", "asm-js", "numpy", "gradclip", "manifest", "wheels"])
def test_a_missing_runtime_file_ends_in_plain_words(page, faulty_site, missing, words):
    page.goto(faulty_site(missing=[missing]))
    status = _error_status(page)
    assert "could not start" in status
    assert words in status, status


@pytest.mark.parametrize("cut", ["pyodide.asm.wasm", "python_stdlib.zip", "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"],
                         ids=["wasm", "stdlib", "numpy"])
def test_a_download_cut_short_ends_in_plain_words(page, faulty_site, cut):
    page.goto(faulty_site(cut=[cut]))
    status = _error_status(page)
    assert "could not start" in status


def test_a_fatal_python_error_restarts_the_runtime_and_reruns_the_demos(page, site_url):
    page.goto(site_url)
    demo_ready(page, HOME)
    wait_idle(page, HOME)
    before = results(page, HOME)
    crash_python(page)
    # The next computation finds Python dead: the page says so, starts a fresh worker and
    # recomputes every demo with its current settings.
    page.fill(f"{HOME} input[data-param=tau]", "2.5")
    page.dispatch_event(f"{HOME} input[data-param=tau]", "change")
    page.wait_for_function("() => globalThis.__gradclipRuntime.restarts === 1", timeout=GIVE_UP_MS)
    demo_ready(page, HOME)
    page.wait_for_function(
        "sel => document.querySelector(sel).gcDemo.output.params.tau === 2.5", arg=HOME, timeout=GIVE_UP_MS)
    wait_idle(page, HOME)
    assert results(page, HOME) != before
    notices = page.text_content(f"{HOME} .gc-notices")
    assert "restarted" in notices, notices


def test_a_second_fatal_error_in_a_row_stops_retrying_and_says_so(page, site_url):
    """A runtime that dies again before it has computed anything is not restarted a third time."""
    page.goto(site_url)
    demo_ready(page, HOME)
    wait_idle(page, HOME)
    crash_python(page)
    with page.expect_worker(lambda w: w.url.endswith("/worker.js")) as fresh:
        page.evaluate("() => globalThis.__gradclipRuntime.request('home_sim', {}).promise.catch(() => {})")
    # The fresh worker is still downloading Python: make its first computation find Python dead.
    fresh.value.evaluate("""() => {
        const handle = self.onmessage;
        self.onmessage = async (event) => {
            if (event.data.type === "run") {
                await self.gradclip.ready;
                try { self.gradclip.pyodide.runPython("import json; json.loads('[' * 200000)"); } catch {}
            }
            return handle(event);
        };
    }""")
    page.wait_for_selector(f"{HOME}[data-state=error]", timeout=GIVE_UP_MS)
    status = page.text_content(f"{HOME} .gc-status-text")
    assert "twice" in status, status
    assert page.evaluate("globalThis.__gradclipRuntime.restarts") == 1

"""The worker's Python entry point (gradclip/web.py), called exactly as worker.js calls it.

worker.js runs ``gradclip.web.prepare()`` once and then ``session.stream(demo, params_json)``
per request, calling ``step()`` until it returns None; ``gradclip.web.idle()`` once the worker
has nothing to do. These tests do the same in CPython. What each call imports is watched in a
fresh interpreter (this one has imported every demo long ago).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradclip import demos, web
from gradclip.demos import monitor, run

ROOT = Path(__file__).resolve().parents[2]   # the repository
FAST = {"steps": 60}

# A visit as the worker makes it, in a fresh interpreter: which demo modules are imported and
# how many objects are frozen after each call. A streaming demo is half done when idle() runs.
VISIT = """
import gc, json, sys
def seen():
    return {"modules": sorted(m.split(".")[-1] for m in sys.modules if m.startswith("gradclip.demos.")),
            "frozen": gc.get_freeze_count()}
import gradclip.web as web
stages = {}
session = web.prepare(); stages["prepare"] = seen()
step = session.stream("simulator", '{"steps": 60}'); stages["stream"] = seen()
step(); stages["first step"] = seen()
import gradclip.demos.monitor as monitor; monitor.CHUNK_SECONDS = 0.0   # partial outputs, at once
step = session.stream("monitor", '{"model": "rnn1", "steps": 20}'); assert not json.loads(step())["done"]
stages["idle"] = {"imported": web.idle(), **seen()}
while (text := step()) is not None:
    last = json.loads(text)
full = gc.get_stats()[2]["collections"]
stages["again"] = {"imported": web.idle(), "full collections": gc.get_stats()[2]["collections"] - full}
stages["monitor equals run_json"] = last == json.loads(web.run_json("monitor", '{"model": "rnn1", "steps": 20}'))
print(json.dumps(stages))
"""


@pytest.fixture(scope="module")
def visit():
    proc = subprocess.run([sys.executable, "-c", VISIT], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def drain(step):
    """Every output of a stream, parsed, as the worker posts them."""
    outs = []
    while (text := step()) is not None:
        outs.append(json.loads(text))
    return outs


@pytest.fixture(scope="module")
def session():
    return web.prepare()


def test_the_worker_calls_this_module_and_nothing_else_in_python():
    js = (ROOT / "docs" / "javascripts" / "worker.js").read_text(encoding="utf-8")
    calls = [line.strip() for line in js.splitlines() if "runPython(" in line and "numpy" not in line]
    assert calls == ['session = pyodide.runPython("import gradclip.web; gradclip.web.prepare()");',
                     'pyodide.runPython("gradclip.web.idle()").destroy();']
    assert "session.stream(demo, JSON.stringify(params || {}))" in js


def test_prepare_imports_no_demo_and_freezes_what_is_loaded(visit):
    assert visit["prepare"]["modules"] == []
    assert visit["prepare"]["frozen"] > 0          # NumPy: a collection walks none of it


def test_the_first_run_imports_only_the_module_of_its_demo_then_freezes(visit):
    assert visit["stream"] == visit["prepare"]     # stream() only sets up: step() runs
    loaded = visit["first step"]["modules"]
    assert [m for m in loaded if m in demos.MODULES] == ["simulator"]
    assert "practice" not in loaded and "monitor" not in loaded
    assert visit["first step"]["frozen"] > visit["prepare"]["frozen"]


def test_idle_imports_every_other_demo_module_and_freezes(visit):
    assert sorted(visit["idle"]["imported"]) == sorted(set(demos.MODULES) - {"simulator", "monitor"})
    assert set(demos.MODULES) <= set(visit["idle"]["modules"])
    assert visit["idle"]["frozen"] > visit["first step"]["frozen"]


def test_idle_twice_does_nothing_and_a_stream_it_interrupted_is_unchanged(visit):
    assert visit["again"]["imported"] == []
    assert visit["again"]["full collections"] == 0
    assert visit["monitor equals run_json"]


def test_a_plain_demo_gives_one_final_output_equal_to_run(session):
    outs = drain(session.stream("clip_vector", json.dumps({"tau": 1.5})))
    assert len(outs) == 1 and outs[0]["done"] is True
    assert outs[0] == json.loads(json.dumps(run("clip_vector", {"tau": 1.5})))


def test_keyed_layers_go_once_per_session_then_as_references():
    session = web.Session()
    first = drain(session.stream("simulator", json.dumps({**FAST, "tau": 0.5})))[-1]
    second = drain(session.stream("simulator", json.dumps({**FAST, "tau": 2.0})))[-1]
    keyed = [it for it in first["figures"]["contour"]["items"] if "key" in it]
    assert keyed and not any(it.get("ref") for it in keyed)
    refs = [it for it in second["figures"]["contour"]["items"] if it.get("ref")]
    assert refs == [{"t": it["t"], "key": it["key"], "ref": True} for it in keyed]
    assert session.sent == {it["key"] for it in keyed}
    # A new session (a new visit) sends everything again.
    again = drain(web.Session().stream("simulator", json.dumps({**FAST, "tau": 2.0})))[-1]
    assert not any(it.get("ref") for it in again["figures"]["contour"]["items"])


def test_a_streaming_demo_posts_partials_then_one_result(monkeypatch, session):
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.0)
    outs = drain(session.stream("monitor", json.dumps({"model": "rnn1", "steps": 20})))
    assert [o["done"] for o in outs] == [False] * (len(outs) - 1) + [True]
    assert len(outs) > 2


def test_input_the_reader_got_wrong_is_a_final_output_not_a_crash(session):
    outs = drain(session.stream("norm_analyser", json.dumps({"file": "1\n2\nfoo\n"})))
    assert len(outs) == 1
    assert outs[0]["done"] is True and outs[0]["demo"] == "norm_analyser"
    assert "line 3: 'foo' is not a number" in outs[0]["input_error"]


def test_output_is_strict_json_and_empty_params_mean_defaults(session):
    text = session.stream("simulator", "")()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["params"] == run("simulator", {})["params"]


def test_an_unknown_demo_raises_for_the_worker_to_report(session):
    step = session.stream("no_such_demo", "{}")
    with pytest.raises(ValueError, match="unknown demo"):
        step()

"""The worker's Python entry point (gradclip/web.py), called exactly as worker.js calls it.

worker.js runs ``gradclip.web.prepare()`` once and then ``session.stream(demo, params_json)``
per request, calling ``step()`` until it returns None. These tests do the same in CPython.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradclip import web
from gradclip.demos import monitor, run

ROOT = Path(__file__).resolve().parents[2]   # the repository
FAST = {"steps": 60}


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
    assert calls == ['session = pyodide.runPython("import gradclip.web; gradclip.web.prepare()");']
    assert "session.stream(demo, JSON.stringify(params || {}))" in js


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

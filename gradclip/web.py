"""The Python side of the site's Web Worker (``docs/javascripts/worker.js``).

The worker starts Pyodide, unpacks the gradclip wheel and then runs one line,
``gradclip.web.prepare()``; after that every demo request goes through
:meth:`Session.stream`. Keeping this glue in the package (not as a string inside the
JavaScript) means the CPython tests run exactly the code the browser runs
(``tests/unit/test_web.py``).

Each call of a stream's ``step()`` returns the next output as strict JSON text (no NaN or
Infinity), or ``None`` once the demo is finished. A figure layer with a content ``key``
goes to the page once per visit; later outputs carry a reference in its place
(:func:`gradclip.demos.dedupe_layers`), which ``runtime.js`` resolves.

>>> session = Session()
>>> step = session.stream("clip_vector", '{"gx": 6, "gy": 2.5, "tau": 2}')
>>> import json; json.loads(step())["results"]["raw_norm"]["text"]
'6.5'
>>> step() is None
True
"""

from __future__ import annotations

import gc
import json
from typing import Callable

from gradclip import demos

__all__ = ["Session", "prepare", "run_json"]


class Session:
    """What the worker remembers during one visit: the keys of the layers already posted.

    The set only grows (a page never forgets a layer it received), so it is a cache of what
    the other side holds, not state that a run could leave inconsistent.
    """

    def __init__(self) -> None:
        self.sent: set[str] = set()

    def stream(self, name: str, params_json: str) -> Callable[[], str | None]:
        """Start demo ``name`` with the JSON parameters; returns ``step()`` for its outputs.

        A :class:`gradclip.demos.DemoInputError` becomes a final output
        ``{"demo": name, "input_error": message, "done": true}``: the page shows the message
        and keeps its figures, instead of treating it as a crash.

        >>> step = Session().stream("clip_vector", "{}")
        >>> sorted(json.loads(step()))[:3]
        ['demo', 'description', 'done']
        """
        outputs = demos.run_iter(name, json.loads(params_json or "{}"))

        def step() -> str | None:
            try:
                out = next(outputs)
            except StopIteration:
                return None
            except demos.DemoInputError as exc:
                return json.dumps({"demo": name, "input_error": str(exc), "done": True})
            slim, new = demos.dedupe_layers(out, self.sent)
            text = json.dumps(slim, allow_nan=False)
            # Only once the text exists: a failed dump must not mark its layers as sent.
            self.sent.update(new)
            return text

        return step


def prepare() -> Session:
    """Import every demo module and freeze what is loaded; returns the visit's session.

    Freezing moves NumPy and gradclip (about 30 000 objects) into the collector's permanent
    generation: a full collection under Pyodide would otherwise walk them all (30-90 ms) in
    the middle of a reader's drag. Only what the demos allocate afterwards is scanned.

    >>> prepare().sent
    set()
    """
    try:
        demos._load_all()
    except Exception:  # noqa: BLE001 - a broken demo module fails its own runs, not the runtime
        pass
    gc.collect()
    gc.freeze()
    return Session()


def run_json(name: str, params_json: str) -> str:
    """The final output as the worker sends it: JSON in, JSON out (strict JSON: no NaN or Infinity).

    The same path as the browser's worker (:meth:`Session.stream`), in a fresh
    session so every layer is sent in full. A :class:`gradclip.demos.DemoInputError` becomes
    ``{"demo": name, "input_error": message, "done": true}`` so the page can show it without
    treating it as a crash.
    """
    step = Session().stream(name, params_json)
    last = None
    while (text := step()) is not None:
        last = text
    assert last is not None
    return last

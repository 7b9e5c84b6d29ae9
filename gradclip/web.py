"""The Python side of the site's Web Worker (``docs/javascripts/worker.js``).

The worker starts Pyodide, unpacks the gradclip wheel and then makes these calls:

1. ``gradclip.web.prepare()`` once, at load: cheap, it imports no demo and returns the
   visit's :class:`Session`;
2. ``session.stream(demo, params_json)`` per request, calling ``step()`` until it returns
   ``None``; the first request for a demo imports only the module that registers it, so the
   first figure on a page waits for its own module and no other;
3. ``gradclip.web.idle()`` once the first result is posted and no request is waiting: it
   imports the remaining demo modules, so a later request does not pay for its import;
4. ``session.cell(payload_json, write)`` when a reader runs a code cell
   (:mod:`gradclip.cells`): its output streams through ``write`` and the result comes back as
   JSON.

Keeping this glue in the package (not as a string inside the JavaScript) means the CPython
tests run exactly the code the browser runs (``tests/unit/test_web.py``).

Each call of a stream's ``step()`` returns the next output as strict JSON text (no NaN or
Infinity), or ``None`` once the demo is finished. A figure layer with a content ``key``
goes to the page once per visit; later outputs carry a reference in its place
(:func:`gradclip.demos.dedupe_layers`), which ``runtime.js`` resolves.

The cyclic garbage collector is kept off the long-lived objects. ``gc.freeze()`` moves every
object alive into the collector's permanent generation, which no collection walks: without it a
full collection under Pyodide walks NumPy and gradclip (about 30 000 objects, 30-90 ms) in the
middle of a reader's drag. Freezing costs nothing, so it happens at each point where many
long-lived objects have just been made: in :func:`prepare` (NumPy), when a run imports a demo
module, and in :func:`idle`, which alone also collects first (the one full pass, while the
reader waits for nothing).

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
from typing import Any, Callable, Iterator

from gradclip import demos

__all__ = ["Session", "prepare", "idle", "run_json"]


class Session:
    """What the worker remembers during one visit: the keys of the layers already posted.

    The set only grows (a page never forgets a layer it received), so it is a cache of what
    the other side holds, not state that a run could leave inconsistent.
    """

    def __init__(self) -> None:
        self.sent: set[str] = set()
        self.notebook = None      # gradclip.cells.Notebook, made by the first cell run

    def cell(self, payload_json: str, write: Callable[[str, str], None] | None = None) -> str:
        """Run a code cell of a page: ``payload_json`` holds ``page``, ``view``, ``source``
        and optionally ``scope``, ``mode``, ``name`` and ``defined_earlier`` (see
        :func:`gradclip.cells.run_cell`); returns the :class:`gradclip.cells.CellResult` as JSON.

        >>> s = Session()
        >>> out = s.cell('{"page": "p/", "view": "1", "source": "print(2 + 2)"}')
        >>> json.loads(out)["stdout"]
        '4\\n'
        """
        from gradclip import cells   # not at load: the first figure does not wait for it

        if self.notebook is None:
            self.notebook = cells.Notebook()
        p = json.loads(payload_json)
        namespace = self.notebook.namespace(str(p["page"]), str(p["view"]), str(p.get("scope") or ""))
        result = cells.run_cell(p["source"], namespace, mode=p.get("mode", "last"), write=write,
                                defined_earlier=p.get("defined_earlier") or {}, name=p.get("name", ""))
        return result.to_json()

    def stream(self, name: str, params_json: str) -> Callable[[], str | None]:
        """Start demo ``name`` with the JSON parameters; returns ``step()`` for its outputs.

        A :class:`gradclip.demos.DemoInputError` becomes a final output
        ``{"demo": name, "input_error": message, "done": true}``: the page shows the message
        and keeps its figures, instead of treating it as a crash.

        >>> step = Session().stream("clip_vector", "{}")
        >>> sorted(json.loads(step()))[:3]
        ['demo', 'description', 'done']
        """
        outputs = _outputs(name, json.loads(params_json or "{}"))

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


def _outputs(name: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """:func:`gradclip.demos.run_iter`, freezing what the demo's module import made.

    A generator, so that the import (and an unknown name's ``ValueError``) happens in the
    first ``step()``, where the worker reports errors.
    """
    if name not in demos.REGISTRY:
        demos._spec(name)
        gc.freeze()
    yield from demos.run_iter(name, params)


def prepare() -> Session:
    """The visit's session; freezes what is loaded (NumPy) and imports no demo.

    >>> prepare().sent
    set()
    """
    gc.freeze()
    return Session()


def idle() -> list[str]:
    """Import every demo module not yet imported, then collect and freeze; returns their names.

    For the worker once the first result is posted and no request waits: a later demo then
    runs without paying for its import. The collection is the one full pass of the visit: it
    unfreezes first, so garbage caught by the earlier freezes (which collect nothing, to keep
    the first figure quick) is freed too, then freezes everything alive again. A second call,
    with nothing left to import, does nothing. Between two steps of a stream it changes
    nothing the stream uses (importing only adds demos to the registry).

    >>> _ = idle(); idle()
    []
    """
    imported = demos._load_all(strict=False)
    if imported:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    return imported


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

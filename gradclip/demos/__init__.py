"""Demo registry: every live figure on the site is a function from parameters to plain data.

A demo is declared once, in Python, as a :class:`DemoSpec`: its parameters (with
ranges, defaults and labels), and a ``compute`` function that returns a
:class:`DemoOutput` (display-list figures and result fields). The same function runs

* at build time in CPython, to pre-render the default state as SVG and text, and
* in the reader's browser under Pyodide, each time a control changes.

The site's Markdown extension writes the controls from the parameter specs, so a
demo's page markup, its validation and its computation cannot drift apart.

Parameters arriving from a page (or a tampered URL) go through :func:`validate`:
out-of-range numbers are clamped to the nearest allowed value and unknown choices
fall back to the default, each with a plain-words notice; nothing raises.

The demos live in the modules of :data:`MODULES` and register themselves when imported. A
lookup by name imports only the module that registers that demo, so the site's worker
computes its first figure without importing the other demos; code that reads all of
:data:`REGISTRY` (the site build, the tests) calls :func:`_load_all` first.

>>> out = run("vector", {"gx": 3.0, "gy": 4.0, "tau": 1.0})   # doctest: +SKIP
>>> out["results"]["norm_clipped"]["text"]                    # doctest: +SKIP
'1.00'
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from gradclip.figures.numbers import fmt_number, size_text  # noqa: F401 - fmt_number is part of this module's API

__all__ = [
    "Param", "DemoSpec", "DemoOutput", "REGISTRY", "register", "validate", "run",
    "run_iter", "fmt_number", "result", "DemoInputError", "layer_key", "dedupe_layers", "MODULES",
]


class DemoInputError(ValueError):
    """Raised by a demo's ``compute`` when the reader's input cannot be used (a garbage upload,
    an impossible combination). The page shows the message in plain words and keeps its figures."""


@dataclass(frozen=True)
class Param:
    """One control of a demo.

    kind: ``"float"`` (slider + number field; ``log`` for a log-scaled slider),
    ``"int"``, ``"choice"`` (``choices``: tuple of (value, label)), ``"bool"``
    (checkbox), ``"file"`` (a file picker + drop zone: the page reads the file in the browser
    and passes its text; ``max`` is the size limit in bytes), or ``"hidden"`` (state that only figures set, e.g. a dragged point;
    still range-checked when ``min``/``max`` are given).
    """

    name: str
    kind: str
    default: Any
    label: str = ""
    min: float | None = None
    max: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "default": self.default,
            "label": self.label or self.name, "min": self.min, "max": self.max,
            "log": self.log, "step": self.step,
            "choices": [list(c) for c in self.choices], "help": self.help,
        }


@dataclass
class DemoOutput:
    """What a demo computation returns.

    figures: name -> display list (``Figure.to_dict()``), drawn on the canvas with
    ``data-figure="<name>"``. results: field -> ``{"value": str, "text": str}`` via
    :func:`result`. description: one sentence describing the figure for screen readers.
    done: False for a partial output of a streaming demo.
    """

    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, dict[str, str]] = field(default_factory=dict)
    description: str = ""
    done: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoSpec:
    """A demo: name, parameters, and the computation.

    compute(params) returns a DemoOutput, or (``stream=True``) an iterator of them,
    the last one with ``done=True``.
    results: ordered (field, label) pairs the page shows in its results panel.
    figures: ordered (name, caption) pairs, one canvas each.
    """

    name: str
    title: str
    params: tuple[Param, ...]
    compute: Callable[[dict[str, Any]], Any]
    results: tuple[tuple[str, str], ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
    stream: bool = False

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "stream": self.stream,
            "params": [p.to_dict() for p in self.params],
            "results": [list(r) for r in self.results],
            "figures": [list(f) for f in self.figures],
        }


REGISTRY: dict[str, DemoSpec] = {}

# Each demo module -> the demos it registers, so that a lookup imports one module. Written out
# (the names are only known once a module runs); tests/unit/test_lazy_imports.py compares it
# with the module that calls register() for each demo, so it cannot drift.
MODULES: dict[str, tuple[str, ...]] = {
    "simulator": ("simulator", "simulator_export", "phase"),
    "teaching": ("jacobian_product", "rnn_cliff"),
    "teaching_theory": ("clip_vector", "global_norm_tensors", "clip_bias"),
    "teaching_rules": ("cliff_methods", "agc_units", "adaptive_thresholds", "tau_from_norms"),
    "practice": ("rnn_clip_run", "transformer_tensors", "policy_gradient_spikes", "step_limiter",
                 "vanishing_not_fixed", "tau_too_small", "lr_not_safe", "clip_event_reader",
                 "sustained_norms", "framework_compare", "python_call", "api_clip"),
    "practice_rules": ("clip_every_step", "threshold_rules"),
    "monitor_spikes": ("bad_batches",),
    "monitor": ("monitor", "worked_rnn", "worked_mlp"),
    "norm_analyser": ("norm_analyser",),
    "stacks_precision": ("amp_clip_order", "accumulation_clip"),
    "stacks_dp": ("dp_sgd",),
    "stacks_theory": ("smooth_descent", "spike_remedies"),
    "stacks_distributed": ("sharded_clip",),
}


def register(spec: DemoSpec) -> DemoSpec:
    """Add a demo to the registry (module import time); names are unique."""
    if spec.name in REGISTRY and REGISTRY[spec.name] is not spec:
        raise ValueError(f"demo {spec.name!r} is registered twice")
    REGISTRY[spec.name] = spec
    return spec


def _spec(name: str) -> DemoSpec:
    """The demo called ``name``, importing only the module that registers it.

    >>> _spec("clip_vector").title == REGISTRY["clip_vector"].title
    True
    """
    if name not in REGISTRY:
        module = next((m for m, names in MODULES.items() if name in names), None)
        if module is not None:
            _import(module)
        else:
            _load_all()   # an unknown name: the message below lists every demo
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown demo {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def validate(name: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Clean parameters for demo ``name``: clamp, coerce, fall back; never raise.

    Returns the cleaned parameters (every declared parameter present) and a list of
    notices in plain words, one per value that had to change. Unknown keys are ignored
    with a notice.
    """
    spec = _spec(name)
    clean = spec.defaults()
    notices: list[str] = []
    for key, raw in (params or {}).items():
        try:
            p = spec.param(key)
        except KeyError:
            notices.append(f"Ignored unknown setting {key!r}.")
            continue
        value, note = _coerce(p, raw)
        clean[key] = value
        if note:
            notices.append(note)
    return clean, notices


def _coerce(p: Param, raw: Any) -> tuple[Any, str | None]:
    label = p.label or p.name
    if p.kind == "choice":
        allowed = [c[0] for c in p.choices]
        if str(raw) in allowed:
            return str(raw), None
        return p.default, (f"{label}: {raw!r} is not one of {', '.join(allowed)}; "
                           f"using {p.default!r}.")
    if p.kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        s = str(raw).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True, None
        if s in ("0", "false", "no", "off", ""):
            return False, None
        return p.default, f"{label}: {raw!r} is not true or false; using {p.default}."
    if p.kind == "file":
        if raw is None:
            return "", None
        text = str(raw)
        if p.max is not None and len(text) > p.max:     # characters: never more than its bytes
            return "", (f"{label}: the file holds {size_text(len(text.encode('utf-8', 'surrogatepass')))} "
                        f"of text, over the limit of {size_text(int(p.max))}; it was not read.")
        return text, None
    if p.kind in ("float", "int", "hidden"):
        if p.kind == "hidden" and p.min is None and not isinstance(p.default, (int, float)):
            return raw, None
        try:
            x = float(raw)
        except (TypeError, ValueError):
            return p.default, f"{label}: {raw!r} is not a number; using {fmt_number(p.default)}."
        if math.isnan(x):
            return p.default, f"{label}: NaN is not allowed; using {fmt_number(p.default)}."
        note = None
        lo = -math.inf if p.min is None else p.min
        hi = math.inf if p.max is None else p.max
        if x < lo or x > hi:
            clamped = min(max(x, lo), hi)
            note = (f"{label}: {fmt_number(x)} is outside the allowed range "
                    f"{fmt_number(lo)} to {fmt_number(hi)}; using {fmt_number(clamped)}.")
            x = clamped
        if p.kind == "int":
            x = int(round(x))
        return x, note
    return raw, None


def _as_iter(spec: DemoSpec, params: dict[str, Any]) -> Iterator[DemoOutput]:
    out = spec.compute(params)
    if isinstance(out, DemoOutput):
        yield out
    else:
        yield from out


def _echo(name: str, clean: dict[str, Any]) -> dict[str, Any]:
    """The parameters an output carries back: a file's text as its length only. The page keeps
    the text it sent (demos.js puts it back); a log of 100 MiB would otherwise travel back with
    every output, encoded and decoded twice more.

    >>> _echo("norm_analyser", {"file": "1\\n2\\n", "run": 1})
    {'file': {'chars': 4}, 'run': 1}
    """
    files = {p.name for p in _spec(name).params if p.kind == "file"}
    return {k: ({"chars": len(v)} if k in files else v) for k, v in clean.items()}


def _package(name: str, clean: dict[str, Any], notices: list[str], out: DemoOutput) -> dict[str, Any]:
    return {
        # Notices from compute itself (a check only the computation can make, such as a start
        # point outside the current landscape's view) join the validation notices.
        "demo": name, "params": _echo(name, clean), "notices": notices + list(out.extra.get("notices", [])),
        "figures": out.figures,
        "results": out.results, "description": out.description, "done": out.done,
        "extra": out.extra,
    }


def run(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate and compute; the final output as a plain dictionary."""
    last: dict[str, Any] | None = None
    for last in run_iter(name, params):
        pass
    assert last is not None
    return last


def run_iter(name: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Validate and compute, yielding each (partial) output as a plain dictionary."""
    spec = _spec(name)
    clean, notices = validate(name, params)
    for out in _as_iter(spec, clean):
        yield _package(name, clean, notices, out)


def layer_key(kind: str, item: dict[str, Any]) -> str:
    """A content key for a figure item that many outputs share (a landscape's shading, a
    sweep's cells): ``kind`` and a hash of the item's JSON, so equal keys mean equal items.

    An item with a ``key`` is sent to the page once per visit (:func:`dedupe_layers`), and
    the painter keeps its drawing while the key stays the same.

    >>> layer_key("demo.cells", {"t": "rects", "x0": [1.0]})
    'demo.cells.f00e07da87d34052'
    """
    text = json.dumps(item, sort_keys=True, allow_nan=False)
    return f"{kind}.{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"


def dedupe_layers(output: dict[str, Any], sent: set[str]) -> tuple[dict[str, Any], set[str]]:
    """The worker's side of sending keyed items once: ``output`` (a :func:`run` dictionary)
    with every figure item whose ``key`` is in ``sent`` replaced by the reference
    ``{"t": ..., "key": ..., "ref": true}``, and the set of keys it sends in full.

    The caller adds those keys to ``sent`` once the output is on its way; the page's runtime
    (``docs/javascripts/runtime.js``) keeps every keyed item it receives and puts it back in
    place of its reference, so what a demo sees is the full output. ``output`` is not changed.

    >>> out = {"figures": {"f": {"items": [{"t": "raster", "key": "k1", "values": [[0.5]]},
    ...                                    {"t": "line", "x": [0], "y": [1]}]}}}
    >>> slim, new = dedupe_layers(out, set())
    >>> new, slim["figures"]["f"]["items"][0]["values"]
    ({'k1'}, [[0.5]])
    >>> dedupe_layers(out, {"k1"})[0]["figures"]["f"]["items"][0]
    {'t': 'raster', 'key': 'k1', 'ref': True}
    """
    figures = output.get("figures")
    if not figures:
        return output, set()
    new: set[str] = set()
    slim_figures = {}
    for name, fig in figures.items():
        items = fig.get("items") or []
        if not any("key" in it for it in items):
            slim_figures[name] = fig
            continue
        slim_items = []
        for it in items:
            key = it.get("key")
            if key is None:
                slim_items.append(it)
            elif key in sent:
                slim_items.append({"t": it["t"], "key": key, "ref": True})
            else:
                new.add(key)
                slim_items.append(it)
        slim_figures[name] = {**fig, "items": slim_items}
    return {**output, "figures": slim_figures}, new


def result(value: Any, text: str | None = None) -> dict[str, str]:
    """A result field: ``value`` unrounded as a string (``repr`` of a float, 'inf', 'nan',
    'true'/'false', or any text), ``text`` formatted for people.

    >>> result(0.1 + 0.2)
    {'value': '0.30000000000000004', 'text': '0.3'}
    """
    if isinstance(value, bool):
        v = "true" if value else "false"
    elif isinstance(value, int):
        v = str(value)
    elif isinstance(value, float):
        v = repr(value)
    else:
        try:
            import numpy as np  # numpy scalars
            if isinstance(value, np.generic):
                return result(value.item(), text)
        except ImportError:  # pragma: no cover
            pass
        v = str(value)
    return {"value": v, "text": fmt_number(value) if text is None else text}


def _import(module: str) -> None:
    """Import demo module ``module`` of :data:`MODULES` (once; it registers its demos)."""
    importlib.import_module(f"{__name__}.{module}")


def _load_all(strict: bool = True) -> list[str]:
    """Import every demo module not imported yet, for the readers of the whole :data:`REGISTRY`;
    returns the modules it imported. ``strict=False`` (the site's worker) passes over a module
    that fails to import: its demos' own runs raise the same error where the page shows it.

    >>> _ = _load_all(); sorted(REGISTRY) == sorted(n for names in MODULES.values() for n in names)
    True
    >>> _load_all()
    []
    """
    def loaded(module: str) -> bool:
        return f"{__name__}.{module}" in sys.modules

    missing = [m for m in MODULES if not loaded(m)]
    for module in missing:
        try:
            _import(module)
        except Exception:  # noqa: BLE001 - strict=False: see above
            if strict:
                raise
    # One module may import another, so "imported" is what was missing and now is not.
    return [m for m in missing if loaded(m)]

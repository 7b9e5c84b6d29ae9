"""Every exported callable, every argument, every kind of bad value: a documented result, or a
``ValueError``/``TypeError`` whose message names the argument. Nothing else.

The table of calls is built from ``gradclip``'s exports by introspection: each callable's
signature gives its arguments, and :data:`BASE` gives one valid call of it, so that each test
changes one argument only. A callable exported without an entry in :data:`BASE` (or in
:data:`NOT_CALLED`, with the reason) fails :func:`test_every_export_is_covered`.

:data:`ACCEPTS` says which classes of bad value an argument is documented to take (``inf`` for
``max_norm`` means "never clip"; NaN inside a gradient is carried through). For those a
result is fine; every other class must raise, naming the argument. Each (callable, argument,
class) is called with a fixed spread of values, and hypothesis adds generated ones.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import gradclip
from gradclip import AddingTask, RegressionTask, ZClip

NAN, INF = math.nan, math.inf

# --- the bad values ----------------------------------------------------------------------------

# One list of fixed values per class of bad value (the scalar forms).
CLASSES: dict[str, list] = {
    "nan": [NAN, np.float32(NAN)],
    "inf": [INF, np.float64(INF)],
    "-inf": [-INF],
    "zero": [0, 0.0, np.int64(0)],
    "negative": [-1, -0.5, -1e300],
    "huge": [1e300, 10 ** 30, 2 ** 63],
    "bool": [True, False, np.True_],
    "complex": [1 + 1j, np.complex128(2.0)],
    "str": ["", "1", "abc"],
    "none": [None],
    "empty": [[], (), np.array([])],
    "wrong_shape": [np.ones((2, 2, 2, 2, 2)), [[1.0], [2.0, 3.0]]],
    "object": [object(), np.array([1.0, None], dtype=object)],
}
_NUMERIC = ("nan", "inf", "-inf", "zero", "negative", "huge")


def array_forms(cls: str) -> list:
    """The class's values inside arrays, for an argument that takes an array."""
    if cls in _NUMERIC:
        return [np.array([1.0, float(v)]) for v in CLASSES[cls] if abs(float(v)) < 1e308 or cls != "huge"] + \
               [[1.0, float(CLASSES[cls][0])]]
    if cls == "bool":
        return [np.array([True, False]), [False]]
    if cls == "complex":
        return [np.array([1.0 + 2j, 3.0]), [1j]]
    if cls == "str":
        return [np.array(["1.0", "2"]), ["a"]]
    if cls == "none":
        return [[None, None]]
    return []


def strategy(cls: str, takes_array: bool) -> st.SearchStrategy:
    """Generated values of one class."""
    tiny = 1e-300
    base = {
        "nan": st.just(NAN),
        "inf": st.just(INF),
        "-inf": st.just(-INF),
        "zero": st.sampled_from([0, 0.0, -0.0]),
        "negative": st.one_of(st.integers(max_value=-1), st.floats(max_value=-tiny, allow_infinity=False)),
        "huge": st.one_of(st.integers(min_value=10 ** 7), st.floats(min_value=1e7, allow_infinity=False)),
        "bool": st.booleans(),
        "complex": st.complex_numbers(allow_nan=False, min_magnitude=1e-3, max_magnitude=1e3)
                     .filter(lambda z: z.imag != 0),
        "str": st.text(max_size=8),
        "none": st.none(),
        "empty": st.sampled_from([[], (), np.zeros(0), np.zeros((0, 2))]),
        "wrong_shape": st.integers(3, 6).map(lambda d: np.ones((2,) * d)),
        "object": st.sampled_from([object(), np.array([1.0, None], dtype=object), {"a": 1}]),
    }[cls]
    if takes_array and cls in _NUMERIC:
        return st.one_of(base, base.map(lambda v: np.array([1.0, float(v)])))
    return base


# --- the calls -----------------------------------------------------------------------------------

G = np.array([3.0, 4.0])
GRADS = [np.array([3.0, 4.0])]
NORMS = [1.0, 2.0, 3.0, 2.5, 1.5]

# One valid call of every exported callable (keyword arguments; the rest take their defaults).
BASE: dict[str, dict] = {
    "clip_by_norm": {"g": G, "max_norm": 1.0, "axis": None},
    "clip_by_value": {"g": G, "clip_value": 1.0},
    "clip_grad_norm": {"grads": GRADS, "max_norm": 1.0, "norm_type": 2.0, "error_if_nonfinite": False},
    "clip_grad_value": {"grads": GRADS, "clip_value": 1.0},
    "global_norm": {"grads": GRADS, "norm_type": 2.0},
    "clip_by_norm_per_tensor": {"grads": GRADS, "max_norm": 1.0},
    "clip_by_global_norm": {"grads": GRADS, "max_norm": 1.0, "convention": "optax"},
    "framework_differences": {},
    "shard_norms": {"shards": [GRADS, [np.array([1.0])]], "norm_type": 2.0, "replicated": None},
    "combine_norms": {"local_norms": [3.0, 4.0], "norm_type": 2.0},
    "clip_sharded": {"shards": [GRADS, [np.array([1.0])]], "max_norm": 1.0, "norm_type": 2.0,
                     "replicated": [[False], [False]]},
    "adaptive_grad_clip": {"grads": GRADS, "params": [np.array([6.0, 8.0])], "clipping": 0.1, "eps": 1e-3,
                           "axis": None},
    "unitwise_norm": {"x": G, "axis": None},
    "autoclip_series": {"norms": NORMS, "percentile": 10.0},
    "autoclip_threshold": {"history": NORMS, "percentile": 10.0},
    "suggest_thresholds": {"norms": NORMS, "percentiles": (50, 90), "zclip": None},
    "zclip_series": {"norms": NORMS, "state": None},
    "zclip_step": {"state": ZClip(), "norm": 1.0},
    "ZClip": {"alpha": 0.97, "z_thresh": 2.5, "warmup_steps": 25, "eps": 1e-6, "mode": "zscore",
              "clip_option": "adaptive_scaling", "clip_factor": 1.0, "skip_update_on_spike": False,
              "step": 0, "mean": 0.0, "var": 0.0},
    "get_landscape": {"name": "cliff"},
    "method_names": {"place": "simulator"},
    "simulate": {"landscape": "cliff", "method": "norm", "tau": 1.0, "lr": 0.05, "steps": 5,
                 "optimizer": "sgd", "start": None, "seed": 0},
    "simulate_batch": {"landscape": "cliff", "method": "norm", "tau": [1.0, 2.0], "lr": 0.05, "steps": 5,
                       "optimizer": "sgd", "start": None, "seed": 0},
    "sweep": {"landscape": "cliff", "method": "norm", "taus": [1.0], "lrs": [0.05], "steps": 5,
              "optimizer": "sgd", "start": None, "seed": 0},
    "MLP": {"n_in": 3, "n_out": 1, "n_hidden": 4, "loss": "mse"},
    "ElmanRNN": {"n_in": 2, "n_out": 1, "n_hidden": 4, "n_layers": 1, "rho": 1.0, "loss": "mse"},
    "make_model": {"name": "rnn1", "task": AddingTask(), "n_hidden": None, "rho": None},
    "AddingTask": {"seq_len": 10, "batch_size": 8},
    "TemporalOrderTask": {"seq_len": 10, "batch_size": 8},
    "RegressionTask": {"n_samples": 50, "n_features": 4, "n_informative": 2, "noise": 0.1, "batch_size": 8},
    "make_task": {"name": "adding"},
    "BadBatches": {"task": AddingTask(), "count": 2, "scale": 10.0, "part": "targets", "start": 1},
    "train": {"model": "rnn1", "task": "adding", "method": "norm", "tau": 1.0, "lr": 0.05, "steps": 2,
              "optimizer": "sgd", "seed": 0},
    "train_iter": {"model": "rnn1", "task": "adding", "runs": [gradclip.RunSpec()], "steps": 2,
                   "optimizer": "sgd", "seed": 0, "momentum": 0.9, "batch_size": None, "seq_len": None,
                   "n_hidden": None, "rho": None, "gradients": None, "clip": None},
    "train_runs": {"model": "rnn1", "task": "adding", "runs": [gradclip.RunSpec()], "steps": 2,
                   "optimizer": "sgd", "seed": 0},
    "RunSpec": {"method": "zclip", "tau": 2.5, "lr": 0.05, "skip_update_on_spike": False,
                "skip_step_on_spike": False},
    "CoshLoss": {"sharpness": 1.0},
    "compare_descent": {"starts": [1.0, 2.0], "sharpness": 1.0, "lr": None, "gamma": None, "tol": 1e-3,
                        "max_iter": 50, "record": 2},
    "NormTracker": {"values": [1.0]},
    "NormTracker.record": {"norm": 1.0},
    "analyse_norms": {"norms": NORMS, "zclip": None},
    "parse_norm_log": {"text": "1.0\n2.0\n"},
    "read_norm_log": {"text": "1.0\n2.0\n", "run": None},
    "clip_per_example": {"grads": [np.array([[3.0, 4.0], [0.3, 0.4]])], "max_norm": 1.0, "per_layer": False},
    "dp_sgd_step": {"grads": [np.array([[3.0, 4.0], [0.3, 0.4]])], "max_norm": 1.0, "noise_multiplier": 1.0,
                    "per_layer": False, "expected_batch_size": None, "seed": 0},
    "dp_sgd_train": {"max_norms": [1.0, 10.0], "noise_multipliers": 1.0, "lr": 0.003, "steps": 2,
                     "batch_size": 8, "seed": 0},
    "GradScalerRule": {"init_scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000},
    "loss_scale_history": {"found_inf": [True, False], "rule": gradclip.GradScalerRule()},
    "fp16_scaled": {"grads": GRADS, "scale": 1024.0},
    "amp_clip": {"grads": GRADS, "scale": 1024.0, "max_norm": 1.0, "order": "after_unscale"},
    "train_amp": {"orders": ["after_unscale"], "tau": 1.0, "lr": 0.05, "steps": 2, "rule": gradclip.GradScalerRule(),
                  "optimizer": "sgd", "seed": 0, "model": "rnn1", "task": "adding", "rho": 1.0},
    "accumulate": {"micro_grads": [GRADS, GRADS], "max_norm": 1.0, "clip": "once"},
    "train_accumulated": {"k": 2, "tau": 1.0, "lr": 0.05, "steps": 2, "optimizer": "sgd", "seed": 0, "model": "rnn1",
                          "task": "adding", "rho": 1.0, "micro_batch": 8},
}

# Exported callables that are not called here, and why.
NOT_CALLED = {
    # Results and registry entries: the package builds them; their fields are its output.
    **{name: "a result record" for name in (
        "NonFiniteNormError", "NormAnalysis", "NormLog", "NormSummary", "Run", "RunBatch", "Summary", "Sweep",
        "Suggestion", "TrainLog", "TrainProgress", "TrainSummary", "Verdict", "ZClipSeries", "DPRuns", "DPStep",
        "DescentComparison", "AmpStep", "AmpRun", "AccumulationRuns", "ShardedClip")},
    **{name: "a registry entry, defined by the package" for name in ("Knob", "Method", "Landscape")},
    # A display list builder: figures are drawn from the package's own numbers, and its
    # checks run when it is drawn (tests/unit/test_svg.py, test_figure_helpers.py).
    "Figure": "a display list, checked when drawn",
}

# Which classes of bad value each argument is documented to take (space-separated); a result
# is then fine. Not listed: every class must raise, naming the argument.
_GRADS = "nan inf -inf zero negative huge empty wrong_shape"
ACCEPTS: dict[str, str] = {
    "BadBatches.count": "zero",   # no bad batch: the clean task, a baseline run
    "clip_by_norm.g": _GRADS, "clip_by_norm.max_norm": "inf zero huge", "clip_by_norm.axis": "zero negative none",
    "clip_by_value.g": _GRADS, "clip_by_value.clip_value": "inf zero huge",
    "clip_by_value.min_value": "none", "clip_by_value.max_value": "none",
    "clip_grad_norm.grads": _GRADS, "clip_grad_norm.max_norm": "inf zero huge",
    "clip_grad_norm.norm_type": "inf huge", "clip_grad_norm.error_if_nonfinite": "bool",
    "clip_grad_value.grads": _GRADS, "clip_grad_value.clip_value": "inf zero huge",
    "global_norm.grads": _GRADS, "global_norm.norm_type": "inf huge",
    "clip_by_norm_per_tensor.grads": _GRADS, "clip_by_norm_per_tensor.max_norm": "huge",
    "clip_by_global_norm.grads": _GRADS, "clip_by_global_norm.max_norm": "huge",
    # a rank's pieces may be scalars, hold NaN or inf (carried into the norm), or be none at all
    "shard_norms.shards": "wrong_shape", "shard_norms.norm_type": "inf huge", "shard_norms.replicated": "none",
    "clip_sharded.shards": "wrong_shape", "clip_sharded.norm_type": "inf huge",
    "clip_sharded.max_norm": "inf zero huge", "clip_sharded.replicated": "none",
    "combine_norms.local_norms": "nan inf zero huge", "combine_norms.norm_type": "inf huge",
    "adaptive_grad_clip.grads": "nan inf -inf zero negative huge",
    "adaptive_grad_clip.params": "nan inf -inf zero negative huge",
    "adaptive_grad_clip.clipping": "inf zero huge", "adaptive_grad_clip.eps": "inf zero huge",
    "adaptive_grad_clip.axis": "zero negative none",
    # 1 to 4 dimensions are documented layouts (5 and more raise, naming x)
    "unitwise_norm.x": "nan inf -inf zero negative huge empty wrong_shape", "unitwise_norm.axis": "zero negative none",
    "autoclip_series.norms": "zero huge", "autoclip_series.percentile": "zero",
    "autoclip_threshold.history": "zero huge", "autoclip_threshold.percentile": "zero",
    "suggest_thresholds.norms": "zero huge", "suggest_thresholds.percentiles": "zero empty",
    "zclip_series.norms": "inf zero huge", "zclip_series.state": "none",
    "zclip_step.norm": "inf zero huge",
    "ZClip.z_thresh": "huge", "ZClip.warmup_steps": "huge", "ZClip.eps": "zero huge", "ZClip.clip_factor": "huge",
    "ZClip.skip_update_on_spike": "bool", "ZClip.step": "zero huge",
    "RunSpec.skip_update_on_spike": "bool", "RunSpec.skip_step_on_spike": "bool",
    # a start may lie on either side of the minimum; None takes the documented default
    "compare_descent.starts": "negative", "compare_descent.lr": "none", "compare_descent.gamma": "none",
    "compare_descent.record": "zero",
    "suggest_thresholds.zclip": "none", "analyse_norms.zclip": "none",
    "ZClip.mean": "nan inf -inf zero negative huge empty", "ZClip.var": "nan inf -inf zero negative huge empty",
    # a start point's coordinates may be 0 or negative: only the landscape's bound limits them
    "simulate.start": "zero negative none", "simulate.seed": "zero huge",
    "simulate_batch.start": "zero negative none", "simulate_batch.seed": "zero huge",
    # tau and lr broadcast together in any shape, one run per element
    "simulate_batch.tau": "wrong_shape", "simulate_batch.lr": "wrong_shape",
    "sweep.start": "zero negative none", "sweep.seed": "zero huge", "sweep.taus": "none", "sweep.lrs": "none",
    "make_model.n_hidden": "none", "make_model.rho": "none",
    "RegressionTask.n_informative": "zero", "RegressionTask.noise": "zero huge",
    "train.seed": "zero huge", "train_runs.seed": "zero huge", "train_iter.seed": "zero huge",
    "train_iter.momentum": "zero", "train_iter.batch_size": "none", "train_iter.seq_len": "none",
    "train_iter.n_hidden": "none", "train_iter.rho": "none", "train_iter.gradients": "none",
    "train_iter.clip": "none",
    # per-example gradients: any finite numbers in any (B, ...) shape (huge ones overflow the norm: clipped to 0)
    "clip_per_example.grads": "zero negative huge wrong_shape", "dp_sgd_step.grads": "zero negative huge wrong_shape",
    "dp_sgd_step.noise_multiplier": "zero huge", "dp_sgd_step.expected_batch_size": "huge none",
    "dp_sgd_step.seed": "zero huge", "clip_per_example.max_norm": "huge", "dp_sgd_step.max_norm": "huge",
    "clip_per_example.per_layer": "bool", "dp_sgd_step.per_layer": "bool",
    "dp_sgd_train.max_norms": "inf huge",       # inf: no clipping (with noise 0: plain SGD)
    "dp_sgd_train.noise_multipliers": "zero huge", "dp_sgd_train.seed": "zero huge",
    "NormTracker.values": "nan inf zero huge empty", "NormTracker.record.norm": "nan inf zero huge",
    "NormTracker.steps": "none", "NormTracker.losses": "none",      # None: 0, 1, 2, ... and no losses
    "NormTracker.record.step": "zero huge none",                    # None: the step after the last
    "NormTracker.record.loss": "nan inf -inf zero negative huge none",   # any real loss, or none
    "analyse_norms.norms": "nan inf zero huge wrong_shape",     # flattened, as documented
    "parse_norm_log.text": "str",                                  # any text: a file's content
    "read_norm_log.text": "str",
    "read_norm_log.run": "huge none str",   # a run past those in the file is refused only by a W&B export
    "GradScalerRule.init_scale": "huge", "GradScalerRule.growth_interval": "huge", "loss_scale_history.found_inf": "zero empty",
    "fp16_scaled.grads": _GRADS, "fp16_scaled.scale": "zero huge", "amp_clip.grads": _GRADS, "amp_clip.scale": "zero huge",
    "amp_clip.max_norm": "inf zero huge", "accumulate.max_norm": "inf zero huge",
    "train_amp.seed": "zero huge", "train_amp.rho": "none", "train_accumulated.seed": "zero huge",
    "train_accumulated.rho": "none",
}

# Where a message calls an argument by what it is rather than by its parameter name.
ALIASES = {"get_landscape.name": "landscape", "make_model.name": "model", "make_task.name": "task"}

# Arguments that take an array (or a list of them): their bad values come inside arrays too.
ARRAY_ARGS = {"max_norms", "noise_multipliers", "g", "grads", "params", "x", "norms", "history", "percentiles", "max_norm", "clip_value",
              "clipping", "tau", "lr", "taus", "lrs", "start", "values", "mean", "var", "norm"}

_SKIP_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def target(name: str):
    """The callable for a BASE key (``NormTracker.record`` is a method of a fresh tracker)."""
    if name == "NormTracker.record":
        return gradclip.NormTracker().record
    return getattr(gradclip, name)


def arguments(name: str) -> list[str]:
    """The arguments of a callable, from its signature (``self`` and ``*args``/``**kw`` left out)."""
    params = inspect.signature(target(name)).parameters.values()
    return [p.name for p in params if p.kind not in _SKIP_KINDS and p.name != "self"]


def exported_callables() -> set[str]:
    return {n for n in getattr(gradclip, "__all__", dir(gradclip)) if not n.startswith("_")
            and callable(getattr(gradclip, n)) and not inspect.ismodule(getattr(gradclip, n))}


CASES = [(fn, arg) for fn in BASE for arg in arguments(fn)]
CALLS: Counter = Counter()


def check(fn: str, arg: str, cls: str, value) -> None:
    raised = _raises(fn, arg, value)
    if not raised and cls not in ACCEPTS.get(f"{fn}.{arg}", "").split():
        pytest.fail(f"{fn}({arg}={value!r}) ran without complaint, but {cls!r} is not a documented "
                    f"value of {arg}")


def _arrays(kwargs: dict) -> list[np.ndarray]:
    """Every NumPy array among the arguments (at the top level or in a list)."""
    found = []
    for v in kwargs.values():
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(x, np.ndarray):
                found.append(x)
    return found


def _raises(fn: str, arg: str, value) -> bool:
    """Call ``fn`` with ``arg`` replaced by ``value``: True if it refused, naming ``arg``."""
    CALLS[fn] += 1
    kwargs = {**BASE[fn], arg: value}
    arrays = _arrays(kwargs)
    before = [a.copy() for a in arrays]
    try:
        out = target(fn)(**kwargs)
        if inspect.isgenerator(out):          # train_iter: the first step must run too
            next(out)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        # a norm log's text is a file's content: its messages name the file's line.
        named = (arg in message or ALIASES.get(f"{fn}.{arg}", arg) in message
                 or (fn in ("parse_norm_log", "read_norm_log") and ("file" in message or "line" in message)))
        assert named, f"{fn}({arg}={value!r}) raised {type(exc).__name__} not naming {arg!r}: {message}"
        return True
    finally:
        for a, b in zip(arrays, before):      # inputs are never modified
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), \
                f"{fn}({arg}={value!r}) modified an input array"
    return False


# --- the tests ------------------------------------------------------------------------------------


def test_every_export_is_covered():
    """A new export needs a valid call in BASE (then it is fuzzed) or a reason in NOT_CALLED."""
    exported = exported_callables()
    missing = exported - set(BASE) - set(NOT_CALLED)
    assert not missing, f"exported but not fuzzed: {sorted(missing)}; add them to BASE (or NOT_CALLED)"
    stale = {k for k in BASE if k.split(".")[0] not in exported} | (set(NOT_CALLED) - exported)
    assert not stale, f"no longer exported: {sorted(stale)}"
    for key in ACCEPTS:
        fn, _, arg = key.rpartition(".")
        assert fn in BASE and arg in arguments(fn), f"ACCEPTS names an unknown argument: {key}"


@pytest.mark.parametrize("fn", sorted(BASE))
def test_the_base_call_is_valid(fn):
    out = target(fn)(**BASE[fn])
    if inspect.isgenerator(out):
        next(out)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn, arg", CASES, ids=[f"{f}.{a}" for f, a in CASES])
def test_every_class_of_bad_value(fn, arg):
    for cls, values in CLASSES.items():
        for value in values + (array_forms(cls) if arg in ARRAY_ARGS else []):
            check(fn, arg, cls, value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn, arg", CASES, ids=[f"{f}.{a}" for f, a in CASES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_bad_values(fn, arg, data):
    cls = data.draw(st.sampled_from(sorted(CLASSES)), label="class")
    value = data.draw(strategy(cls, arg in ARRAY_ARGS), label="value")
    check(fn, arg, cls, value)


@pytest.fixture(scope="module", autouse=True)
def report():
    """Print the size of the table and the number of calls made (shown with ``pytest -s``)."""
    yield
    n_args = len(CASES)
    print(f"\nfuzz: {len(BASE)} callables, {n_args} arguments, {len(CLASSES)} classes of bad value: "
          f"{n_args * len(CLASSES)} (callable, argument, class) cases; {sum(CALLS.values())} calls made")

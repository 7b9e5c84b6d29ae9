"""gradclip: gradient clipping, explained and explorable.

Clipping operations with the exact semantics of PyTorch, Keras and optax; loss
landscapes with cliffs; a vectorised optimisation simulator; training monitors and
tools to choose a threshold. Pure Python + NumPy, importable in CPython and Pyodide.

>>> import numpy as np, gradclip
>>> gradclip.clip_by_norm(np.array([3.0, 4.0]), 1.0)
array([0.6, 0.8])

``import gradclip`` imports none of the submodules: each public name's module is imported
the first time the name is used (PEP 562), so the site's worker pays only for what its
first demo needs.

>>> "clip_by_norm" in dir(gradclip) and "sweep" in gradclip.__all__
True
"""

import importlib
import sys
import types

__version__ = "0.1.0"

# Every public name -> the submodule that defines it: the one list of the package's exports.
_EXPORTS: dict[str, str] = {
    "Figure": "figures",
    # clipping (clipping.py, frameworks.py, adaptive.py)
    **dict.fromkeys(("NonFiniteNormError", "clip_by_global_norm", "clip_by_norm", "clip_by_norm_per_tensor",
                     "clip_by_value", "clip_grad_norm", "clip_grad_value", "global_norm"), "clipping"),
    **dict.fromkeys(("FRAMEWORK_CONVENTIONS", "framework_differences"), "frameworks"),
    **dict.fromkeys(("ShardedClip", "clip_sharded", "combine_norms", "shard_norms"), "sharded"),
    **dict.fromkeys(("Suggestion", "ZClip", "ZClipSeries", "adaptive_grad_clip", "autoclip_series",
                     "autoclip_threshold", "suggest_thresholds", "unitwise_norm", "zclip_series",
                     "zclip_step"), "adaptive"),
    # methods, landscapes and simulator (methods.py, landscapes.py, simulate.py)
    **dict.fromkeys(("LANDSCAPES", "Landscape", "get_landscape"), "landscapes"),
    **dict.fromkeys(("CLIP_METHODS", "Knob", "Method", "method_names"), "methods"),
    **dict.fromkeys(("MAX_STEPS", "SIM_MAX_STEPS", "METHODS", "OPTIMIZERS", "OUTCOMES", "Run", "RunBatch",
                     "Summary", "Sweep", "Verdict", "simulate", "simulate_batch", "sweep"), "simulate"),
    # training monitor (nets.py, tasks.py, train.py, tracker.py, logfiles/)
    **dict.fromkeys(("MLP", "ElmanRNN", "make_model"), "nets"),
    **dict.fromkeys(("AddingTask", "BadBatches", "RegressionTask", "TemporalOrderTask", "make_task"), "tasks"),
    **dict.fromkeys(("TRAIN_MAX_STEPS", "RunSpec", "TrainLog", "TrainProgress", "TrainSummary", "train",
                     "train_iter", "train_runs"), "train"),
    **dict.fromkeys(("NormAnalysis", "NormSummary", "NormTracker", "analyse_norms"), "tracker"),
    **dict.fromkeys(("NormLog", "read_norm_log", "parse_norm_log"), "logfiles"),
    # mixed precision and accumulation (loss_scale.py, accumulation.py)
    **dict.fromkeys(("CLIP_ORDERS", "GradScalerRule", "AmpStep", "AmpRun", "loss_scale_history", "fp16_scaled",
                     "amp_clip", "train_amp"), "loss_scale"),
    **dict.fromkeys(("ACCUMULATE_CLIPS", "AccumulationRuns", "accumulate", "train_accumulated"), "accumulation"),
    # DP-SGD (dp.py)
    **dict.fromkeys(("DPRuns", "DPStep", "clip_per_example", "dp_sgd_step", "dp_sgd_train"), "dp"),
    # theory (smoothness.py)
    **dict.fromkeys(("CoshLoss", "DescentComparison", "compare_descent"), "smoothness"),
}

__all__ = list(_EXPORTS)

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing; type checkers read the name
if TYPE_CHECKING:   # what IDEs and type checkers see; tests/unit/test_lazy_imports.py holds it equal to _EXPORTS
    from gradclip.accumulation import ACCUMULATE_CLIPS, AccumulationRuns, accumulate, train_accumulated
    from gradclip.loss_scale import (CLIP_ORDERS, AmpRun, AmpStep, GradScalerRule, amp_clip, fp16_scaled,
                                     loss_scale_history, train_amp)
    from gradclip.adaptive import (Suggestion, ZClip, ZClipSeries, adaptive_grad_clip, autoclip_series,
                                   autoclip_threshold, suggest_thresholds, unitwise_norm, zclip_series,
                                   zclip_step)
    from gradclip.dp import DPRuns, DPStep, clip_per_example, dp_sgd_step, dp_sgd_train
    from gradclip.clipping import (NonFiniteNormError, clip_by_global_norm, clip_by_norm,
                                   clip_by_norm_per_tensor, clip_by_value, clip_grad_norm, clip_grad_value,
                                   global_norm)
    from gradclip.figures import Figure
    from gradclip.frameworks import FRAMEWORK_CONVENTIONS, framework_differences
    from gradclip.sharded import ShardedClip, clip_sharded, combine_norms, shard_norms
    from gradclip.landscapes import LANDSCAPES, Landscape, get_landscape
    from gradclip.methods import CLIP_METHODS, Knob, Method, method_names
    from gradclip.nets import MLP, ElmanRNN, make_model
    from gradclip.simulate import (MAX_STEPS, METHODS, OPTIMIZERS, OUTCOMES, SIM_MAX_STEPS, Run, RunBatch,
                                   Summary, Sweep, Verdict, simulate, simulate_batch, sweep)
    from gradclip.tasks import AddingTask, BadBatches, RegressionTask, TemporalOrderTask, make_task
    from gradclip.logfiles import NormLog, parse_norm_log, read_norm_log
    from gradclip.tracker import NormAnalysis, NormSummary, NormTracker, analyse_norms
    from gradclip.smoothness import CoshLoss, DescentComparison, compare_descent
    from gradclip.train import (TRAIN_MAX_STEPS, RunSpec, TrainLog, TrainProgress, TrainSummary, train,
                                train_iter, train_runs)


def __getattr__(name: str):
    """Import the submodule that defines public ``name`` on its first use (PEP 562).

    >>> __getattr__("global_norm").__module__
    'gradclip.clipping'
    """
    if name not in _EXPORTS:
        # AttributeError, not KeyError: "from gradclip import demos" relies on it to import the submodule.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value   # later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``gradclip.simulate`` and ``gradclip.train`` name both a function and its submodule.

    Importing a submodule sets it as an attribute of the package; eagerly, the functions were
    bound afterwards and won. Lazily, ``import gradclip.simulate`` (which any demo does) could
    come later, so the function is kept here in place of its module.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if (isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name
                and value.__name__ == f"{__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

"""gradclip: gradient clipping, explained and explorable.

Clipping operations with the exact semantics of PyTorch, Keras and optax; loss
landscapes with cliffs; a vectorised optimisation simulator; training monitors and
tools to choose a threshold. Pure Python + NumPy, importable in CPython and Pyodide.

>>> import numpy as np, gradclip
>>> gradclip.clip_by_norm(np.array([3.0, 4.0]), 1.0)
array([0.6, 0.8])
"""

__version__ = "0.1.0"

from gradclip.figures import Figure

# --- clipping (gradclip/clipping.py, gradclip/adaptive.py) ---
from gradclip.clipping import (
    NonFiniteNormError,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_norm_per_tensor,
    clip_by_value,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
)
from gradclip.frameworks import FRAMEWORK_CONVENTIONS, framework_differences
from gradclip.adaptive import (
    Suggestion,
    ZClip,
    ZClipSeries,
    adaptive_grad_clip,
    autoclip_series,
    autoclip_threshold,
    suggest_thresholds,
    unitwise_norm,
    zclip_series,
    zclip_step,
)

# --- methods, landscapes and simulator (gradclip/methods.py, gradclip/landscapes.py, gradclip/simulate.py) ---
from gradclip.landscapes import LANDSCAPES, Landscape, get_landscape
from gradclip.methods import CLIP_METHODS, Knob, Method, method_names
from gradclip.simulate import (
    MAX_STEPS,
    SIM_MAX_STEPS,
    METHODS,
    OPTIMIZERS,
    OUTCOMES,
    Run,
    RunBatch,
    Summary,
    Sweep,
    Verdict,
    simulate,
    simulate_batch,
    sweep,
)

# --- training monitor (gradclip/nets.py, gradclip/tasks.py, gradclip/train.py, gradclip/tracker.py) ---
from gradclip.nets import MLP, ElmanRNN, make_model
from gradclip.tasks import AddingTask, RegressionTask, TemporalOrderTask, make_task
from gradclip.train import TRAIN_MAX_STEPS, RunSpec, TrainLog, TrainProgress, TrainSummary, train, train_iter, train_runs
from gradclip.tracker import NormAnalysis, NormSummary, NormTracker, analyse_norms, parse_norm_log

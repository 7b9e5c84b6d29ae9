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

# --- landscapes and simulator (gradclip/landscapes.py, gradclip/simulate.py) ---

# --- training monitor (gradclip/nets.py, gradclip/tasks.py, gradclip/train.py, gradclip/tracker.py) ---

r"""The optimisers the simulator and training step with: SGD, heavy-ball momentum, Adam.

With :math:`g_k` the (clipped) gradient of step :math:`k = 1, 2, \dots` and :math:`\eta` the
learning rate, each returns the move :math:`\Delta_k` that the caller *subtracts* from the
parameters:

.. math::

    \text{sgd:}\quad \Delta_k = \eta g_k, \qquad
    \text{momentum:}\quad b_k = \mu b_{k-1} + g_k,\; \Delta_k = \eta b_k

    \text{adam:}\quad m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\;
    v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\;
    \Delta_k = \eta\,\frac{m_k / (1-\beta_1^k)}{\sqrt{v_k / (1-\beta_2^k)} + \epsilon}

(PyTorch's conventions: momentum without dampening or Nesterov, :math:`\mu = 0.9`; Adam with
:math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`). Two steppers share these constants:
:class:`ArrayStepper` for arrays (the simulator's ``(runs, 2)`` positions, training's
``(runs, parameters)`` rows) and :func:`float_stepper` for one 2-D run in Python floats, the
simulator's fast path (see :mod:`gradclip.simulate`); a test holds them equal bit for bit.

Examples
--------
>>> import numpy as np

from gradclip.checks import choice
>>> s = ArrayStepper("momentum", np.array([[0.1]]), (1, 2))
>>> [s.step(np.array([[1.0, 2.0]]), k).tolist() for k in (1, 2)]   # b = g, then 0.9 g + g
[[[0.1, 0.2]], [[0.19, 0.38]]]
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from gradclip.checks import choice

__all__ = ["OPTIMIZERS", "MOMENTUM", "ADAM_BETAS", "ADAM_EPS", "ArrayStepper", "float_stepper"]

OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class ArrayStepper:
    r"""One optimiser's state for a stack of runs; :meth:`step` gives the move to subtract.

    ``lr`` broadcasts against the gradients (``(runs, 1)`` or ``(runs, n)``); ``shape`` is the
    gradients' shape. ``bias_in_lr`` chooses where Adam's first bias correction is applied:
    folded into the rate, :math:`(\eta / (1-\beta_1^k))\, m_k`, as the simulator does, or to
    the moment, :math:`\eta\,(m_k / (1-\beta_1^k))`, as training does. The two are the same
    number up to rounding; both stay because recorded outputs pin each caller's bits.
    The returned move may live in a buffer that the next step overwrites.
    """

    def __init__(self, name: str, lr: np.ndarray, shape: tuple[int, ...], *,
                 momentum: float = MOMENTUM, bias_in_lr: bool = True):
        choice(name, "optimizer", OPTIMIZERS)
        self.name, self.lr, self.bias_in_lr = name, lr, bias_in_lr
        b1, b2 = ADAM_BETAS
        # 0-d arrays: NumPy converts a Python float operand on every call, a 0-d array it does not
        self.mu, self.b1, self.b2, self.c1, self.c2, self.eps = (
            np.array(v) for v in (momentum, b1, b2, 1 - b1, 1 - b2, ADAM_EPS))
        self.m, self.v, self.out = np.zeros(shape), np.zeros(shape), np.empty(shape)
        self.step: Callable[[np.ndarray, int], np.ndarray] = getattr(self, "_" + name)

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the runs in ``rows`` (training drops runs that blew up)."""
        self.lr, self.m, self.v = self.lr[rows], self.m[rows], self.v[rows]
        self.out = np.empty_like(self.m)

    def _sgd(self, g: np.ndarray, k: int) -> np.ndarray:
        return np.multiply(self.lr, g, out=self.out)

    def _momentum(self, g: np.ndarray, k: int) -> np.ndarray:
        self.m *= self.mu
        self.m += g
        return np.multiply(self.lr, self.m, out=self.out)

    def _adam(self, g: np.ndarray, k: int) -> np.ndarray:
        m, v = self.m, self.v
        m *= self.b1
        m += self.c1 * g
        v *= self.b2
        v += self.c2 * g * g
        b1, b2 = ADAM_BETAS
        denom = np.sqrt(v / (1 - b2 ** k)) + self.eps
        if self.bias_in_lr:
            return (self.lr / (1 - b1 ** k)) * m / denom
        return self.lr * (m / (1 - b1 ** k)) / denom


def float_stepper(name: str, lr: float) -> Callable[[int, float, float], tuple[float, float]]:
    """``move(k, gx, gy) -> (dx, dy)`` for one 2-D run in Python floats (keeps its own state).

    The operations of :class:`ArrayStepper` with ``bias_in_lr=True``, in the same order, so
    the same bits: ``+ - * /`` and ``sqrt`` are correctly rounded in Python and NumPy alike.

    >>> move = float_stepper("adam", 0.1)
    >>> move(1, 3.0, -4.0)                    # Adam's first step: lr times the sign
    (0.09999999966666667, -0.09999999975000001)
    """
    if name == "sgd":
        return lambda k, gx, gy: (lr * gx, lr * gy)
    if name == "momentum":
        buf = [0.0, 0.0]

        def momentum(k: int, gx: float, gy: float) -> tuple[float, float]:
            buf[0] = MOMENTUM * buf[0] + gx
            buf[1] = MOMENTUM * buf[1] + gy
            return lr * buf[0], lr * buf[1]
        return momentum
    choice(name, "optimizer", OPTIMIZERS)
    b1, b2 = ADAM_BETAS
    c1, c2 = 1 - b1, 1 - b2
    m = [0.0, 0.0, 0.0, 0.0]   # first moments x, y; second moments x, y

    def adam(k: int, gx: float, gy: float) -> tuple[float, float]:
        m[0] = b1 * m[0] + c1 * gx
        m[1] = b1 * m[1] + c1 * gy
        m[2] = b2 * m[2] + c2 * gx * gx
        m[3] = b2 * m[3] + c2 * gy * gy
        rate, bias2 = lr / (1 - b1 ** k), 1 - b2 ** k
        return (rate * m[0] / (math.sqrt(m[2] / bias2) + ADAM_EPS),
                rate * m[1] / (math.sqrt(m[3] / bias2) + ADAM_EPS))
    return adam

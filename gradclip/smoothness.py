r"""(L0, L1)-smoothness: a loss whose curvature grows with its gradient, and three kinds of descent on it.

Zhang, He, Sra and Jadbabaie (ICLR 2020, arXiv:1905.11881) call a twice-differentiable
:math:`f` *(L0, L1)-smooth* when :math:`\lVert\nabla^2 f(x)\rVert \le L_0 + L_1\lVert\nabla f(x)\rVert`
everywhere. The one-dimensional family used here,

.. math:: f_a(x) = \cosh(a x) - 1,\qquad f_a'(x) = a\sinh(a x),\qquad f_a''(x) = a^2\cosh(a x),

is of that class with :math:`L_0 = a^2`, :math:`L_1 = a` (because
:math:`\cosh u \le 1 + \lvert\sinh u\rvert`), but it is not :math:`L`-smooth for any :math:`L`:
its curvature :math:`a^2\cosh(ax)` is unbounded. :func:`compare_descent` runs, from many start
points at once, gradient descent with the three step rules

.. math::

    \text{fixed:}\; h = \frac{1}{L_0 + L_1 M}, \qquad
    \text{clipped:}\; h = \eta\min\Bigl(1, \frac{\gamma}{\lvert f'(x)\rvert}\Bigr), \qquad
    \text{normalised:}\; h = \frac{\eta\,\gamma}{\lvert f'(x)\rvert + \gamma},

:math:`x \leftarrow x - h\,f'(x)`, and counts the iterations until :math:`\lvert f'(x)\rvert \le \epsilon`.
:math:`M = \lvert f'(x_0)\rvert` is the largest gradient on the sublevel set
:math:`\{f \le f(x_0)\}`, so the fixed step is the one the descent lemma with the curvature
bound :math:`L_0 + L_1 M` allows there. The normalised step is within a factor 2 of the clipped one:

.. math::

    \tfrac12\min(1, \gamma/g) \le \frac{\gamma}{g + \gamma} \le \min(1, \gamma/g).

Examples
--------
>>> res = compare_descent([1.0, 4.0])
>>> res.iterations[0].tolist() < res.iterations[0][::-1].tolist()    # fixed: further start, more steps
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradclip.checks import integer, real, real_array

__all__ = ["DESCENT_RULES", "CoshLoss", "DescentComparison", "compare_descent"]

DESCENT_RULES = ("fixed", "clipped", "normalised")
_MAX_START = 20.0     # a * |x0| above ~700 overflows cosh; 20 keeps every number modest


@dataclass(frozen=True)
class CoshLoss:
    r"""The loss :math:`f_a(x) = \cosh(ax) - 1` (minimum 0 at :math:`x = 0`), vectorised.

    It is :math:`(L_0, L_1)`-smooth with :math:`L_0 = a^2` and :math:`L_1 = a`:

    .. math::

        f'' = a^2\cosh(ax) \le a^2 + a\,\lvert a\sinh(ax)\rvert = L_0 + L_1\lvert f'\rvert.

    Parameters
    ----------
    sharpness : float
        :math:`a`, > 0 and <= 10.

    Examples
    --------
    >>> f = CoshLoss(2.0)
    >>> f.l0, f.l1, float(f.grad(0.0)), float(f.hess(0.0))
    (4.0, 2.0, 0.0, 4.0)
    """

    sharpness: float = 1.0

    def __post_init__(self) -> None:
        real(self.sharpness, "sharpness", 0, 10, lo_open=True)

    @property
    def l0(self) -> float:
        """:math:`L_0 = a^2`."""
        return float(self.sharpness) ** 2

    @property
    def l1(self) -> float:
        """:math:`L_1 = a`."""
        return float(self.sharpness)

    def value(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\cosh(ax) - 1`."""
        return np.cosh(self.sharpness * np.asarray(x, dtype=float)) - 1.0

    def grad(self, x: np.ndarray) -> np.ndarray:
        """:math:`a\\sinh(ax)`."""
        return self.sharpness * np.sinh(self.sharpness * np.asarray(x, dtype=float))

    def hess(self, x: np.ndarray) -> np.ndarray:
        """:math:`a^2\\cosh(ax)`."""
        return self.sharpness ** 2 * np.cosh(self.sharpness * np.asarray(x, dtype=float))


@dataclass(frozen=True)
class DescentComparison:
    """What :func:`compare_descent` returns; rows follow :data:`DESCENT_RULES`.

    Attributes
    ----------
    starts : numpy.ndarray, shape (runs,)
    iterations : numpy.ndarray of int, shape (3, runs)
        Iterations until :math:`\\lvert f'(x)\\rvert \\le \\epsilon`; ``max_iter + 1`` when not reached.
    reached : numpy.ndarray of bool, shape (3, runs)
    fixed_step : numpy.ndarray, shape (runs,)
        The fixed rule's step :math:`1/(L_0 + L_1 M)` for each start.
    loss : numpy.ndarray, shape (3, record + 1, runs)
        :math:`f(x_k)` for :math:`k = 0, \\dots,` ``record`` (kept at its last value once reached).
    """

    starts: np.ndarray
    iterations: np.ndarray
    reached: np.ndarray
    fixed_step: np.ndarray
    loss: np.ndarray


def compare_descent(starts, sharpness: float = 1.0, lr: float | None = None, gamma: float | None = None,
                    tol: float = 1e-3, max_iter: int = 20000, record: int = 0) -> DescentComparison:
    r"""Fixed-step, clipped and normalised gradient descent on :class:`CoshLoss`, from many starts at once.

    The step rules are those of the module docstring. Defaults: :math:`\eta = 1/(2L_0)` and
    :math:`\gamma = L_0/L_1`, so a clipped step is never longer than :math:`\eta\gamma = 1/(2L_1)`
    and, near the minimum (curvature :math:`\approx L_0`), it is the plain step :math:`1/(2L_0)`.

    Parameters
    ----------
    starts : array_like, shape (runs,)
        Start points :math:`x_0`, :math:`0 < a\lvert x_0\rvert \le 20`.
    sharpness : float
        :math:`a` of the loss (> 0, <= 10).
    lr, gamma : float, optional
        :math:`\eta` (> 0, <= 1e3) and :math:`\gamma` (> 0, <= 1e6) of the clipped and normalised rules.
    tol : float
        :math:`\epsilon`, the gradient size that counts as arrived (> 0, <= 1).
    max_iter : int
        At most this many iterations (1 to 1,000,000).
    record : int
        Keep :math:`f(x_k)` for the first ``record`` iterations (0 to 10,000).

    Returns
    -------
    DescentComparison

    Examples
    --------
    >>> res = compare_descent([3.0], record=2)
    >>> res.iterations[:, 0].tolist()          # fixed, clipped, normalised
    [78, 14, 18]
    >>> res.loss.shape
    (3, 3, 1)
    """
    f = CoshLoss(sharpness)
    x0 = real_array(starts, "starts", ndim=1, empty=False, finite=True, shape_text="(runs,)").astype(float)
    if np.any(x0 == 0) or np.any(np.abs(f.sharpness * x0) > _MAX_START):
        raise ValueError(f"starts must be non-zero with sharpness * |start| <= {_MAX_START:g}, got {x0!r}")
    eta = 1 / (2 * f.l0) if lr is None else real(lr, "lr", 0, 1e3, lo_open=True)
    gam = f.l0 / f.l1 if gamma is None else real(gamma, "gamma", 0, 1e6, lo_open=True)
    eps = real(tol, "tol", 0, 1, lo_open=True)
    n = integer(max_iter, "max_iter", 1, 1_000_000)
    rec = integer(record, "record", 0, 10_000)
    fixed = 1 / (f.l0 + f.l1 * np.abs(f.grad(x0)))
    x = np.tile(x0, (3, 1))
    its = np.full(x.shape, n + 1)
    loss = np.empty((3, rec + 1, x0.size))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n + 1):
            g = f.grad(x)
            size = np.abs(g)
            if k <= rec:
                loss[:, k] = f.value(x)
            done = size <= eps
            its = np.where(done & (its > n), k, its)
            if k == n or (done.all() and k >= rec):
                break
            h = np.stack([fixed, eta * np.minimum(1.0, gam / size[1]), eta * gam / (size[2] + gam)])
            x = np.where(done, x, x - h * g)
    return DescentComparison(starts=x0, iterations=its, reached=its <= n, fixed_step=fixed, loss=loss)

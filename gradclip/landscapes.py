"""Loss landscapes in two parameters, with the cliffs that make gradients explode.

Each :class:`Landscape` gives a loss ``value(x, y)`` and its analytic gradient
``grad(x, y)``, both vectorised over arrays of points of any (broadcast) shape, plus
what a plot and the simulator need: the ``minimum``, a default ``start``, a ``view``
box ``(xmin, xmax, ymin, ymax)`` and a larger ``bound`` box (leaving it counts as
divergence). The registry :data:`LANDSCAPES` maps a name to its landscape:

``cliff``
    A valley whose walls rise like :math:`\\cosh`:
    :math:`f(x, y) = \\cosh(kx) - 1 + \\tfrac{q}{2} y^2` with :math:`k = 3`, :math:`q = 1`.
    At the start :math:`(2, 1.5)` the slope across the valley is
    :math:`k \\sinh(kx) \\approx 605`, so one unclipped step at learning rate 0.05 lands 30 units away.
``pascanu_rnn``
    The loss of a one-unit recurrent net :math:`x_t = w\\,\\sigma(x_{t-1}) + b`,
    :math:`x_0 = 0.5`, unrolled for :math:`T = 20` steps, with
    :math:`L(w, b) = \\tfrac12 (x_T - 4)^2`, after Pascanu, Mikolov & Bengio (2013).
    For :math:`w > 4` the map has two stable fixed points; a small change of :math:`b`
    moves the border between their basins past :math:`x_0`, :math:`x_T` jumps, and the loss has a
    cliff whose gradient, computed by backpropagation through time, is a product of
    :math:`T` factors :math:`w\\,\\sigma'(x_t)`. The wall is thin (about 0.05 in
    :math:`b`), so whether an unclipped run is catapulted depends on where its steps land:
    from the default start :math:`(5, -3.1)` the second step lands on it. The loss is zero
    along a whole curve; ``minimum`` is its point at the start's :math:`w`.
``ravine``
    An ill-conditioned quadratic :math:`f = \\tfrac12 (x^2 + 30 y^2)` (condition number 30).
``rosenbrock``
    :math:`f = (1 - x)^2 + 100 (y - x^2)^2`: a curved, narrow valley.
``spiky``
    A round bowl :math:`f = \\tfrac12 (x^2 + y^2)` where rare "bad batches" (each step with
    probability 0.04) add a gradient outlier of size 20 to 200 in a random direction, drawn
    from ``numpy.random.default_rng(seed)``: clipping's everyday job.

Examples
--------
>>> from gradclip.landscapes import LANDSCAPES
>>> cliff = LANDSCAPES["cliff"]
>>> float(cliff.value(0.0, 0.0)), [round(float(g), 1) for g in cliff.grad(2.0, 1.5)]
(0.0, [605.1, 1.5])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gradclip.checks import choice, integer

__all__ = [
    "Landscape", "LANDSCAPES", "get_landscape",
    "cliff_value", "cliff_grad", "pascanu_rnn_value", "pascanu_rnn_grad",
    "ravine_value", "ravine_grad", "rosenbrock_value", "rosenbrock_grad",
    "spiky_value", "spiky_grad", "spiky_noise",
]

Array = np.ndarray
GradFn = Callable[[Array, Array], tuple[Array, Array]]
# A string, so that naming the type does not import numpy.random (its compiled modules take
# 80 ms to start under Pyodide) before a noisy landscape needs it.
NoiseFn = Callable[["np.random.Generator", tuple[int, ...]], tuple[Array, Array]]


@dataclass(frozen=True)
class Landscape:
    """A loss surface over two parameters, vectorised over arrays of points.

    Attributes
    ----------
    name, title, description : str
        Registry key, a short title and one plain sentence for readers.
    value_fn, grad_fn : callable
        ``value_fn(x, y) -> f`` and ``grad_fn(x, y) -> (df/dx, df/dy)`` on broadcast arrays.
    minimum : (float, float)
        A point where the loss is smallest (``min_value``).
    start : (float, float)
        The default starting point of an optimisation run.
    view : (xmin, xmax, ymin, ymax)
        The box a contour plot shows.
    bound : (xmin, xmax, ymin, ymax)
        The box an optimisation run must stay in; leaving it counts as divergence.
    axis_names : (str, str)
        Names of the two parameters (``("w", "b")`` for the recurrent net).
    noise_fn : callable or None
        ``noise_fn(rng, shape) -> (nx, ny)``: gradient noise added by ``grad(..., rng=rng)``
        and by the simulator (``spiky`` only).
    """

    name: str
    title: str
    description: str
    value_fn: Callable[[Array, Array], Array]
    grad_fn: GradFn
    minimum: tuple[float, float]
    start: tuple[float, float]
    view: tuple[float, float, float, float]
    bound: tuple[float, float, float, float]
    min_value: float = 0.0
    axis_names: tuple[str, str] = ("x", "y")
    noise_fn: NoiseFn | None = None

    def value(self, x: Any, y: Any) -> Array:
        """The loss at points ``(x, y)`` (arrays broadcast together)."""
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return self.value_fn(x, y)

    def grad(self, x: Any, y: Any, rng: np.random.Generator | None = None) -> tuple[Array, Array]:
        """The gradient ``(df/dx, df/dy)`` at points ``(x, y)``.

        With ``rng`` and a noisy landscape, each point gets its own draw of gradient noise;
        without it the gradient is the exact, deterministic one.
        """
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        gx, gy = self.grad_fn(x, y)
        if rng is not None and self.noise_fn is not None:
            nx, ny = self.noise_fn(rng, x.shape)
            gx, gy = gx + nx, gy + ny
        return gx, gy

    @property
    def stochastic(self) -> bool:
        """True when the landscape adds random gradient noise (bad batches)."""
        return self.noise_fn is not None

    def inside(self, x: Any, y: Any) -> Array:
        """True where ``(x, y)`` is finite and inside ``bound`` (edges included)."""
        x0, x1, y0, y1 = self.bound
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

    def grid(self, n: int = 101) -> tuple[Array, Array, Array]:
        """``(X, Y, Z)`` on an ``n`` × ``n`` grid over ``view``; row 0 is at ``ymin``.

        Examples
        --------
        >>> X, Y, Z = LANDSCAPES["ravine"].grid(3)
        >>> Z.shape, float(Z[1, 1])
        ((3, 3), 0.0)
        """
        n = integer(n, "n", 2, 1000)
        x0, x1, y0, y1 = self.view
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        with np.errstate(over="ignore", invalid="ignore"):
            Z = self.value(X, Y)
        return X, Y, Z

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no functions)."""
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "minimum": [float(v) for v in self.minimum], "min_value": float(self.min_value),
            "start": [float(v) for v in self.start], "view": [float(v) for v in self.view],
            "bound": [float(v) for v in self.bound], "axis_names": list(self.axis_names),
            "stochastic": self.stochastic,
        }


# --- cliff -----------------------------------------------------------------------------

CLIFF_K = 3.0   # steepness of the walls: the slope at x is K sinh(K x)
CLIFF_Q = 1.0   # curvature along the valley floor


def cliff_value(x: Array, y: Array) -> Array:
    """:math:`f(x, y) = \\cosh(kx) - 1 + \\tfrac{q}{2} y^2`, :math:`k = 3`, :math:`q = 1`.

    Examples
    --------
    >>> float(cliff_value(np.array(1.0), np.array(0.0)))  # cosh(3) - 1
    9.067661995777765
    """
    return np.cosh(CLIFF_K * x) - 1.0 + 0.5 * CLIFF_Q * y * y


def cliff_grad(x: Array, y: Array) -> tuple[Array, Array]:
    """:math:`\\nabla f = (k \\sinh(kx),\\; q y)`: the x-slope grows like :math:`e^{k|x|}`.

    Examples
    --------
    >>> [float(g) for g in cliff_grad(np.array(0.0), np.array(2.0))]
    [0.0, 2.0]
    """
    return CLIFF_K * np.sinh(CLIFF_K * x), CLIFF_Q * y


# --- pascanu_rnn -----------------------------------------------------------------------

RNN_STEPS = 20     # T: how far the recurrence is unrolled
RNN_X0 = 0.5       # the initial state x_0
RNN_TARGET = 4.0   # the wanted final state x_T


def _sigmoid(z: Array) -> Array:
    # tanh form: no overflow warning for large |z|, unlike 1 / (1 + exp(-z))
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _rnn_forward(w: Array, b: Array) -> list[Array]:
    states = [np.full(np.broadcast(w, b).shape, RNN_X0)]
    for _ in range(RNN_STEPS):
        states.append(w * _sigmoid(states[-1]) + b)
    return states


def pascanu_rnn_value(w: Array, b: Array) -> Array:
    """:math:`L(w, b) = \\tfrac12 (x_T - 4)^2` with :math:`x_t = w\\sigma(x_{t-1}) + b`,
    :math:`x_0 = 0.5`, :math:`T = 20`.

    Examples
    --------
    >>> round(float(pascanu_rnn_value(np.array(0.0), np.array(4.0))), 12)  # x_t = b = 4
    0.0
    """
    return 0.5 * (_rnn_forward(w, b)[-1] - RNN_TARGET) ** 2


def pascanu_rnn_grad(w: Array, b: Array) -> tuple[Array, Array]:
    """Backpropagation through time.

    With :math:`\\delta_T = x_T - 4` and :math:`\\delta_{t-1} = \\delta_t\\, w\\, \\sigma'(x_{t-1})`,

    .. math:: \\frac{\\partial L}{\\partial w} = \\sum_{t=1}^{T} \\delta_t\\, \\sigma(x_{t-1}),
              \\qquad \\frac{\\partial L}{\\partial b} = \\sum_{t=1}^{T} \\delta_t .

    The products :math:`\\prod w\\sigma'(x_t)` are what explode near the cliff.

    Examples
    --------
    >>> [float(g) for g in pascanu_rnn_grad(np.array(0.0), np.array(4.0))]
    [0.0, 0.0]
    """
    states = _rnn_forward(w, b)
    delta = states[-1] - RNN_TARGET
    gw = np.zeros_like(delta)
    gb = np.zeros_like(delta)
    for t in range(RNN_STEPS, 0, -1):
        s = _sigmoid(states[t - 1])
        gw = gw + delta * s
        gb = gb + delta
        delta = delta * w * s * (1.0 - s)
    return gw, gb


def _rnn_valley_point(w: float) -> tuple[float, float]:
    """The point ``(w, b)`` on the high branch where ``x_T`` equals the target (bisection).

    The loss is zero along a whole curve; the registry uses the point of that curve at the
    start's ``w`` as "the" minimum, which is where the simulator's runs head.
    """
    lo, hi = -1.0, 4.0  # x_T - target changes sign in between (the minimum test checks the result)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _rnn_forward(np.array(w), np.array(mid))[-1] < RNN_TARGET:
            lo = mid
        else:
            hi = mid
    return (float(w), 0.5 * (lo + hi))


# --- ravine ----------------------------------------------------------------------------

RAVINE_KAPPA = 30.0  # condition number: curvature across / along the ravine


def ravine_value(x: Array, y: Array) -> Array:
    """:math:`f = \\tfrac12 (x^2 + \\kappa y^2)`, :math:`\\kappa = 30`.

    Examples
    --------
    >>> float(ravine_value(np.array(2.0), np.array(1.0)))
    17.0
    """
    return 0.5 * (x * x + RAVINE_KAPPA * y * y)


def ravine_grad(x: Array, y: Array) -> tuple[Array, Array]:
    """:math:`\\nabla f = (x, \\kappa y)`.

    Examples
    --------
    >>> [float(g) for g in ravine_grad(np.array(2.0), np.array(1.0))]
    [2.0, 30.0]
    """
    return x * 1.0, RAVINE_KAPPA * y


# --- rosenbrock ------------------------------------------------------------------------


def rosenbrock_value(x: Array, y: Array) -> Array:
    """:math:`f = (1 - x)^2 + 100 (y - x^2)^2`, minimum 0 at (1, 1).

    Examples
    --------
    >>> float(rosenbrock_value(np.array(1.0), np.array(1.0)))
    0.0
    """
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def rosenbrock_grad(x: Array, y: Array) -> tuple[Array, Array]:
    """:math:`\\nabla f = (-2(1 - x) - 400 x (y - x^2),\\; 200 (y - x^2))`.

    Examples
    --------
    >>> [float(g) for g in rosenbrock_grad(np.array(0.0), np.array(0.0))]
    [-2.0, 0.0]
    """
    r = y - x * x
    return -2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r


# --- spiky -----------------------------------------------------------------------------

SPIKY_P_BAD = 0.04                   # chance that a step's batch is a bad one
SPIKY_OUTLIER = (20.0, 200.0)        # size range of a bad batch's extra gradient (log-uniform)


def spiky_value(x: Array, y: Array) -> Array:
    """The clean loss :math:`f = \\tfrac12 (x^2 + y^2)`.

    Examples
    --------
    >>> float(spiky_value(np.array(3.0), np.array(4.0)))
    12.5
    """
    return 0.5 * (x * x + y * y)


def spiky_grad(x: Array, y: Array) -> tuple[Array, Array]:
    """The clean gradient :math:`(x, y)`; bad batches come from :func:`spiky_noise`.

    Examples
    --------
    >>> [float(g) for g in spiky_grad(np.array(3.0), np.array(4.0))]
    [3.0, 4.0]
    """
    return x * 1.0, y * 1.0


def spiky_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Bad-batch gradient outliers: zero, except with probability 0.04 a vector of length
    log-uniform in [20, 200] pointing in a uniformly random direction.

    The draws are made in a fixed order (bad?, size, angle), so one seed gives one sequence.

    Examples
    --------
    >>> nx, ny = spiky_noise(np.random.default_rng(0), (1000,))
    >>> n = np.hypot(nx, ny); bool(((n == 0) | ((n >= 20) & (n <= 200))).all())
    True
    """
    bad = rng.random(shape) < SPIKY_P_BAD
    lo, hi = SPIKY_OUTLIER
    size = np.exp(rng.uniform(np.log(lo), np.log(hi), shape))
    angle = rng.uniform(0.0, 2.0 * np.pi, shape)
    size = np.where(bad, size, 0.0)
    return size * np.cos(angle), size * np.sin(angle)


# --- registry --------------------------------------------------------------------------

_RNN_START = (5.0, -3.1)

LANDSCAPES: dict[str, Landscape] = {
    "cliff": Landscape(
        name="cliff", title="Cliff valley",
        description=("A valley whose walls rise like cosh: on the wall the slope is in the "
                     "hundreds, on the floor it is gentle."),
        value_fn=cliff_value, grad_fn=cliff_grad,
        minimum=(0.0, 0.0), start=(2.0, 1.5),
        view=(-2.5, 2.5, -2.0, 2.0), bound=(-6.0, 6.0, -6.0, 6.0),
    ),
    "pascanu_rnn": Landscape(
        name="pascanu_rnn", title="One-unit recurrent net",
        description=("The loss of a one-neuron recurrent net over its weight w and bias b; the "
                     "recurrence makes a cliff where the final state jumps between two fixed points."),
        value_fn=pascanu_rnn_value, grad_fn=pascanu_rnn_grad,
        minimum=_rnn_valley_point(_RNN_START[0]), start=_RNN_START,
        view=(2.0, 8.0, -5.0, 0.0), bound=(-10.0, 20.0, -20.0, 10.0),
        axis_names=("w", "b"),
    ),
    "ravine": Landscape(
        name="ravine", title="Ravine",
        description="A long, narrow quadratic valley, 30 times steeper across than along.",
        value_fn=ravine_value, grad_fn=ravine_grad,
        minimum=(0.0, 0.0), start=(-4.0, 1.0),
        view=(-5.0, 5.0, -2.0, 2.0), bound=(-50.0, 50.0, -50.0, 50.0),
    ),
    "rosenbrock": Landscape(
        name="rosenbrock", title="Rosenbrock banana",
        description="A curved, flat-bottomed valley with steep sides; the minimum is at (1, 1).",
        value_fn=rosenbrock_value, grad_fn=rosenbrock_grad,
        minimum=(1.0, 1.0), start=(-1.2, 1.0),
        view=(-2.0, 2.0, -1.0, 3.0), bound=(-10.0, 10.0, -10.0, 10.0),
    ),
    "spiky": Landscape(
        name="spiky", title="Bowl with bad batches",
        description=("A smooth round bowl; now and then a bad batch adds a huge gradient "
                     "outlier in a random direction."),
        value_fn=spiky_value, grad_fn=spiky_grad,
        minimum=(0.0, 0.0), start=(2.5, 2.0),
        view=(-4.0, 4.0, -4.0, 4.0), bound=(-20.0, 20.0, -20.0, 20.0),
        noise_fn=spiky_noise,
    ),
}


def get_landscape(name: str | Landscape) -> Landscape:
    """The landscape called ``name`` (a :class:`Landscape` passes through).

    Examples
    --------
    >>> get_landscape("ravine").title
    'Ravine'
    """
    if isinstance(name, Landscape):
        return name
    return LANDSCAPES[choice(name, "landscape", LANDSCAPES)]

"""Small networks with hand-written backpropagation, vectorised over independent runs.

Every parameter array carries a leading *run* axis ``R``: ``params[i][r]`` is tensor ``i``
of run ``r``. Runs share the data batch but not their weights, so one forward/backward
pass trains, say, a clipped and an unclipped copy of the same network side by side.

:class:`ElmanRNN` -- ``n_layers`` stacked tanh layers, read out from the last step
(backpropagation through time):

.. math::

    h^{(l)}_t = \\tanh\\!\\big(h^{(l-1)}_t W^{(l)}_\\text{in} + h^{(l)}_{t-1} W^{(l)}_\\text{rec}
    + b^{(l)}\\big),\\quad h^{(0)}_t = x_t,\\quad \\hat y = h^{(L)}_T W_\\text{out} + b_\\text{out}

:class:`MLP` -- two dense layers with a ReLU between them (the regression network of the
Neptune blog post: 20 -> 25 -> 1):

.. math:: \\hat y = \\max(0,\\, x W_1 + b_1)\\, W_2 + b_2

Losses (``loss`` attribute): ``"mse"`` = mean over batch and outputs of
:math:`(\\hat y - y)^2` (PyTorch ``MSELoss``); ``"xent"`` = mean softmax cross-entropy
against integer classes (PyTorch ``CrossEntropyLoss``).

Gradients are checked against central finite differences in ``tests/unit/test_nets.py``.

>>> from gradclip.tasks import AddingTask
>>> task = AddingTask(seq_len=8)
>>> net = ElmanRNN(n_in=2, n_out=1, n_hidden=4, n_layers=2)
>>> params = net.init(seed=0, runs=3)
>>> [p.shape for p in params][:3]
[(3, 2, 4), (3, 4, 4), (3, 4)]
>>> loss, grads = net.loss_and_grads(params, task.batches(1, 5, seed=0)[0])
>>> loss.shape, len(grads) == len(params)
((3,), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradclip.checks import choice, integer, real

__all__ = ["ElmanRNN", "MLP", "MODELS", "make_model", "group_norms", "RNN_HIDDEN", "RNN_RHO", "MLP_HIDDEN"]

_INIT_STREAM = 2
_LOSSES = ("mse", "xent")


def _init_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([integer(seed, "seed", 0), _INIT_STREAM])


def _xavier(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    # PyTorch's xavier_uniform_: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def _readout_loss(out: np.ndarray, y: np.ndarray, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Loss per run and its gradient with respect to the outputs ``out`` (R, B, n_out)."""
    B = out.shape[1]
    if loss == "mse":
        diff = out - y[None]
        # The mean as np.mean computes it (sum, then divide by the count), minus its overhead.
        return np.add.reduce(diff * diff, axis=(1, 2)) / diff[0].size, diff * (2.0 / diff[0].size)
    # Softmax cross-entropy, shifted by the row maximum so large logits cannot overflow.
    z = out - out.max(axis=2, keepdims=True)
    logsum = np.log(np.exp(z).sum(axis=2, keepdims=True))
    logp = z - logsum
    rows = np.arange(B)
    nll = -logp[:, rows, y]                                   # (R, B)
    dout = np.exp(logp)
    dout[:, rows, y] -= 1.0
    return np.add.reduce(nll, axis=1) / B, dout / B


def group_norms(grads: list[np.ndarray], groups: list[tuple[str, tuple[int, ...]]]) -> np.ndarray:
    """Euclidean norm of each parameter group, per run: shape ``(R, n_groups)``.

    .. math:: \\lVert g_G \\rVert = \\sqrt{\\textstyle\\sum_{i \\in G} \\lVert g_i \\rVert^2}

    >>> g = [np.array([[3.0]]), np.array([[4.0]]), np.array([[12.0]])]
    >>> group_norms(g, [("a", (0, 1)), ("b", (2,))])
    array([[ 5., 12.]])
    """
    sq = [np.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in grads]
    return np.sqrt(np.stack([sum(sq[i] for i in idx) for _, idx in groups], axis=1))


@dataclass(frozen=True)
class ElmanRNN:
    """Stacked tanh RNN, many-to-one readout.

    ``rho`` is the spectral radius each recurrent matrix starts with (a scaled random
    orthogonal matrix, so every singular value equals ``rho`` too): above 1 the linearised
    dynamics expand, which is what lets gradients explode. Pascanu et al. (2013, section 2.2)
    state the condition on the largest *singular value*: for tanh units it must exceed 1 for
    gradients to explode; for a matrix that is not orthogonal it can exceed the spectral radius.
    """

    n_in: int
    n_out: int = 1
    n_hidden: int = 16
    n_layers: int = 1
    rho: float = 1.0
    loss: str = "mse"

    def __post_init__(self) -> None:
        integer(self.n_in, "n_in", 1, 10_000)
        integer(self.n_out, "n_out", 1, 10_000)
        integer(self.n_hidden, "n_hidden", 1, 4096)
        integer(self.n_layers, "n_layers", 1, 3)
        real(self.rho, "rho", 0, 10, lo_open=True)
        choice(self.loss, "loss", _LOSSES)

    @property
    def name(self) -> str:
        return f"rnn{self.n_layers}"

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Parameter names and shapes (without the run axis), in ``params`` order."""
        out: list[tuple[str, tuple[int, ...]]] = []
        n = self.n_in
        for l in range(1, self.n_layers + 1):
            out += [(f"W_in{l}", (n, self.n_hidden)), (f"W_rec{l}", (self.n_hidden, self.n_hidden)),
                    (f"b{l}", (self.n_hidden,))]
            n = self.n_hidden
        out += [("W_out", (self.n_hidden, self.n_out)), ("b_out", (self.n_out,))]
        return out

    def groups(self) -> list[tuple[str, tuple[int, ...]]]:
        """Parameter indices per layer, for per-layer gradient norms."""
        g = [(f"layer {l}", (3 * l - 3, 3 * l - 2, 3 * l - 1)) for l in range(1, self.n_layers + 1)]
        return g + [("output", (3 * self.n_layers, 3 * self.n_layers + 1))]

    def init(self, seed: int = 0, runs: int = 1) -> list[np.ndarray]:
        """Initial parameters, identical in every run (``runs`` copies)."""
        integer(runs, "runs", 1, 1024)
        rng = _init_rng(seed)
        H = self.n_hidden
        one: list[np.ndarray] = []
        n = self.n_in
        for _ in range(self.n_layers):
            q, r = np.linalg.qr(rng.standard_normal((H, H)))
            q = q * np.sign(np.diag(r))                      # a uniformly random orthogonal matrix
            one += [_xavier(rng, n, H), self.rho * q, np.zeros(H)]
            n = H
        one += [_xavier(rng, H, self.n_out), np.zeros(self.n_out)]
        return [np.repeat(p[None], runs, axis=0) for p in one]

    def workspace(self, runs: int, seq_len: int, batch_size: int) -> "_RNNWork":
        """Scratch buffers for :meth:`loss_and_grads` with ``runs`` runs and batches of shape
        ``(seq_len, batch_size, n_in)``; reusing one across calls saves allocating them and
        making their per-step views on every step (what a training loop does)."""
        return _RNNWork(self.n_layers, runs, seq_len, batch_size, self.n_hidden)

    def _work(self, work: "_RNNWork | None", R: int, T: int, B: int) -> "_RNNWork":
        return work if work is not None and work.key == (R, T, B) else self.workspace(R, T, B)

    def _forward(self, params: list[np.ndarray], x: np.ndarray, work: "_RNNWork") -> np.ndarray:
        """Hidden states of every layer, time-major ``(L, T, R, B, H)`` (``work.S``, overwritten by
        the next call)."""
        T = x.shape[0]
        pre = work.pre
        for l in range(self.n_layers):
            W_in, W_rec, b = params[3 * l: 3 * l + 3]
            # The input projection of every step at once; only the recurrence needs the loop.
            if l == 0:
                np.matmul(x[:, None], W_in[None], out=pre)               # (T,1,B,n)@(1,R,n,H)
            else:
                np.matmul(work.S[l - 1], W_in, out=pre)                  # (T,R,B,H)@(R,H,H)
            pre += b[None, :, None, :]
            S = work.S[l]
            np.tanh(pre[0], S[0])
            for t in range(1, T):               # out= passed by position: cheaper per call
                z = S[t]
                np.matmul(S[t - 1], W_rec, z)
                np.add(z, pre[t], z)
                np.tanh(z, z)
        return work.S

    def predict(self, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        """Network outputs ``(R, B, n_out)`` for time-major inputs ``x`` of shape (T, B, n_in)."""
        T, B, _ = x.shape
        S = self._forward(params, x, self.workspace(params[0].shape[0], T, B))
        return np.matmul(S[-1, -1], params[-2]) + params[-1][:, None, :]

    def loss_and_grads(self, params: list[np.ndarray], batch, *, out: list[np.ndarray] | None = None,
                       work: "_RNNWork | None" = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Loss per run ``(R,)`` and its gradient for every parameter, by BPTT.

        ``out``: arrays (or views) of the parameters' shapes to write the gradients into,
        returned as the gradients; ``work``: scratch buffers from :meth:`workspace` to reuse.
        """
        x = batch.x
        T, B, n_in = x.shape
        R = params[0].shape[0]
        L = self.n_layers
        w = self._work(work, R, T, B)
        grads = out if out is not None else [np.empty(p.shape) for p in params]
        S = self._forward(params, x, w)
        W_out, b_out = params[-2], params[-1]
        h_last = S[-1, -1]                                               # (R, B, H)
        y_hat = np.matmul(h_last, W_out) + b_out[:, None, :]
        loss, dout = _readout_loss(y_hat, batch.y, self.loss)
        np.matmul(h_last.transpose(0, 2, 1), dout, out=grads[-2])
        np.add.reduce(dout, axis=1, out=grads[-1])
        carry_top = np.matmul(dout, W_out.transpose(0, 2, 1))           # enters at t = T-1 only
        deriv = np.multiply(S, S, out=w.deriv)
        np.subtract(1.0, deriv, out=deriv)                                # tanh' = 1 - h^2, every layer
        carry, delta, d_above = w.carry, w.delta, w.d_above
        np.copyto(w.S_rm, S.transpose(0, 2, 1, 3, 4))                   # run-major, for the weights
        for l in reversed(range(L)):
            W_in, W_rec, _ = params[3 * l: 3 * l + 3]
            dv = deriv[l]
            W_rec_T = W_rec.transpose(0, 2, 1)
            np.multiply(carry_top if l == L - 1 else d_above[T - 1], dv[T - 1], delta[T - 1])
            below_top = l < L - 1
            for t in range(T - 1, 0, -1):
                np.matmul(delta[t], W_rec_T, carry)
                if below_top:
                    np.add(carry, d_above[t - 1], carry)
                np.multiply(carry, dv[t - 1], delta[t - 1])
            # Per-run sums over time and batch as one matrix product each, (R, ., T*B) @ (R, T*B, .),
            # on run-major copies.
            np.copyto(w.delta_rm, delta.transpose(1, 0, 2, 3))
            np.matmul(w.S_prev_T[l], w.delta_tail, out=grads[3 * l + 1])
            np.add.reduce(w.delta_mat, axis=1, out=grads[3 * l + 2])
            if l == 0:
                np.matmul(x.reshape(T * B, n_in).T, w.delta_mat, out=grads[0])
            else:
                np.matmul(w.S_mat_T[l - 1], w.delta_mat, out=grads[3 * l])
                np.matmul(delta, W_in.transpose(0, 2, 1), out=d_above)  # (T,R,B,H)@(R,H,H)
        return loss, grads

    def loss_only(self, params: list[np.ndarray], batch) -> np.ndarray:
        """Loss per run, forward pass only."""
        return _readout_loss(self.predict(params, batch.x), batch.y, self.loss)[0]


class _RNNWork:
    """Scratch buffers of :class:`ElmanRNN` for one shape ``(runs R, steps T, batch B)``.

    Time-major, ``(T, R, B, H)`` per layer, so the step the recurrences are at is one
    contiguous block (NumPy's fast path for small arrays); the weight gradients use
    run-major copies, ``(R, T*B, H)`` matrices.
    """

    def __init__(self, L: int, R: int, T: int, B: int, H: int) -> None:
        self.key = (R, T, B)
        self.S = np.empty((L, T, R, B, H))            # hidden states of every layer
        self.deriv = np.empty((L, T, R, B, H))        # tanh' of them
        self.pre = np.empty((T, R, B, H))             # input projection of the current layer
        self.delta = np.empty((T, R, B, H))           # dL/d(pre-activation) of the current layer
        self.d_above = np.empty((T, R, B, H))         # what the layer above sends down
        self.carry = np.empty((R, B, H))
        self.S_rm = np.empty((L, R, T, B, H))         # run-major copies
        self.delta_rm = np.empty((R, T, B, H))
        self.delta_mat = self.delta_rm.reshape(R, T * B, H)
        self.delta_tail = self.delta_mat[:, B:]
        self.S_mat_T = [self.S_rm[l].reshape(R, T * B, H).transpose(0, 2, 1) for l in range(L)]
        self.S_prev_T = [self.S_rm[l, :, :-1].reshape(R, (T - 1) * B, H).transpose(0, 2, 1) for l in range(L)]


@dataclass(frozen=True)
class MLP:
    """Two dense layers with ReLU: ``n_in -> n_hidden -> n_out``.

    Initialised as the blog post does it: Xavier-uniform weights, biases 0.01.
    """

    n_in: int
    n_out: int = 1
    n_hidden: int = 25
    loss: str = "mse"

    def __post_init__(self) -> None:
        integer(self.n_in, "n_in", 1, 100_000)
        integer(self.n_out, "n_out", 1, 10_000)
        integer(self.n_hidden, "n_hidden", 1, 100_000)
        choice(self.loss, "loss", _LOSSES)

    name = "mlp"

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("W1", (self.n_in, self.n_hidden)), ("b1", (self.n_hidden,)),
                ("W2", (self.n_hidden, self.n_out)), ("b2", (self.n_out,))]

    def groups(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("layer 1", (0, 1)), ("layer 2", (2, 3))]

    def init(self, seed: int = 0, runs: int = 1) -> list[np.ndarray]:
        integer(runs, "runs", 1, 1024)
        rng = _init_rng(seed)
        one = [_xavier(rng, self.n_in, self.n_hidden), np.full(self.n_hidden, 0.01),
               _xavier(rng, self.n_hidden, self.n_out), np.full(self.n_out, 0.01)]
        return [np.repeat(p[None], runs, axis=0) for p in one]

    def predict(self, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        W1, b1, W2, b2 = params
        a = np.maximum(np.matmul(x, W1) + b1[:, None, :], 0.0)
        return np.matmul(a, W2) + b2[:, None, :]

    def _backprop(self, params: list[np.ndarray], batch) -> tuple[np.ndarray, ...]:
        """The one forward and backward pass: ``(loss, a, dout, dz)`` with ``a`` the hidden
        activations ``(R, B, H)``, ``dout`` and ``dz`` the mean loss's gradients at the outputs
        and at the hidden pre-activations; the weights' gradients are their products with the
        inputs, summed over the batch (:meth:`loss_and_grads`) or kept per row
        (:meth:`per_example_grads`)."""
        W1, b1, W2, b2 = params
        z = np.matmul(batch.x, W1)                            # (R, B, H)
        z += b1[:, None, :]
        a = np.maximum(z, 0.0)
        y_hat = np.matmul(a, W2)
        y_hat += b2[:, None, :]
        loss, dout = _readout_loss(y_hat, batch.y, self.loss)
        dz = np.matmul(dout, W2.transpose(0, 2, 1))
        dz *= z > 0
        return loss, a, dout, dz

    def loss_and_grads(self, params: list[np.ndarray], batch, *, out: list[np.ndarray] | None = None,
                       work: None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Loss per run ``(R,)`` and its gradients; ``out`` as in :meth:`ElmanRNN.loss_and_grads`
        (``work`` is accepted for the same call signature and not used)."""
        dW1, db1, dW2, db2 = out if out is not None else [np.empty(p.shape) for p in params]
        loss, a, dout, dz = self._backprop(params, batch)
        np.matmul(a.transpose(0, 2, 1), dout, out=dW2)
        np.add.reduce(dout, axis=1, out=db2)
        np.matmul(batch.x.T, dz, out=dW1)
        np.add.reduce(dz, axis=1, out=db1)
        return loss, [dW1, db1, dW2, db2]

    def per_example_grads(self, params: list[np.ndarray], batch) -> tuple[np.ndarray, list[np.ndarray]]:
        r"""Loss per run ``(R,)`` (the batch mean) and each example's own gradient: tensors of
        shape ``(R, B, ...)``, row ``i`` the gradient of example ``i``'s loss :math:`\ell_i`.

        The same backward pass as :meth:`loss_and_grads`, with the batch axis kept instead of
        summed, so the mean of the rows is that method's gradient:

        .. math:: \nabla_\theta \ell_i,\qquad \frac{1}{B}\sum_i \nabla_\theta \ell_i
                  = \nabla_\theta \frac{1}{B}\sum_i \ell_i

        Examples
        --------
        >>> from gradclip.tasks import RegressionTask
        >>> net, batch = MLP(n_in=20, n_hidden=5), RegressionTask().batches(1, 8)[0]
        >>> params = net.init(seed=0, runs=2)
        >>> loss, rows = net.per_example_grads(params, batch)
        >>> [g.shape for g in rows]
        [(2, 8, 20, 5), (2, 8, 5), (2, 8, 5, 1), (2, 8, 1)]
        >>> _, mean = net.loss_and_grads(params, batch)
        >>> all(np.allclose(r.mean(axis=1), m, rtol=1e-12, atol=0) for r, m in zip(rows, mean))
        True
        """
        loss, factors = self.per_example_factors(params, batch)
        return loss, [right if left is None else left[..., :, None] * right[..., None, :]
                      for left, right in factors]

    def per_example_factors(self, params: list[np.ndarray], batch) -> tuple[np.ndarray, list[tuple]]:
        r""":meth:`per_example_grads` in factored form, without building them: one pair
        ``(left, right)`` per tensor; example ``i``'s gradient of a weight matrix is the outer
        product ``left[:, i] ⊗ right[:, i]``, of a bias (``left`` None) ``right[:, i]``.

        .. math:: \nabla_{W_1} \ell_i = x_i \otimes \delta^{(1)}_i,\quad
                  \nabla_{W_2} \ell_i = a_i \otimes \delta^{(2)}_i,\quad
                  \lVert u \otimes v\rVert_F = \lVert u\rVert\,\lVert v\rVert

        so each example's norm and any weighted sum of the examples' gradients take matrix
        products only (the "ghost" norm of Goodfellow 2015, arXiv:1510.01799).

        >>> from gradclip.tasks import RegressionTask
        >>> net, batch = MLP(n_in=20, n_hidden=5), RegressionTask().batches(1, 8)[0]
        >>> _, factors = net.per_example_factors(net.init(runs=2), batch)
        >>> [(None if l is None else l.shape, r.shape) for l, r in factors]
        [((1, 8, 20), (2, 8, 5)), (None, (2, 8, 5)), ((2, 8, 5), (2, 8, 1)), (None, (2, 8, 1))]
        """
        loss, a, dout, dz = self._backprop(params, batch)
        B = batch.x.shape[0]
        dout, dz = dout * B, dz * B           # the mean's gradient has 1/B in it; each row's has not
        return loss, [(batch.x[None], dz), (None, dz), (a, dout), (None, dout)]

    def loss_only(self, params: list[np.ndarray], batch) -> np.ndarray:
        return _readout_loss(self.predict(params, batch.x), batch.y, self.loss)[0]


MODELS = ("rnn1", "rnn2", "rnn3", "mlp")


RNN_HIDDEN = 32
RNN_RHO = 1.3
MLP_HIDDEN = 25


def make_model(name: str, task, *, n_hidden: int | None = None, rho: float | None = None):
    """The model ``name`` (``rnn1``..``rnn3``, ``mlp``) sized for ``task``.

    A recurrent model needs a sequence task and the MLP a tabular one. Defaults: RNNs with
    ``RNN_HIDDEN`` = 32 units per layer whose recurrent matrices start with spectral radius
    ``RNN_RHO`` = 1.3 (expanding, so gradients can explode -- Pascanu et al.'s necessary
    condition for tanh units is a largest singular value above 1); the MLP with the blog
    post's 25 hidden units.

    >>> from gradclip.tasks import AddingTask
    >>> make_model("rnn3", AddingTask()).n_layers
    3
    """
    choice(name, "model", MODELS)
    if not hasattr(task, "sequence"):
        raise TypeError(f"task must be a task object (AddingTask, TemporalOrderTask, RegressionTask), "
                        f"got {task!r}")
    if name == "mlp":
        if task.sequence:
            raise ValueError(f"model 'mlp' needs a tabular task (regression), got {task.name!r}")
        return MLP(n_in=task.n_in, n_out=task.n_out, n_hidden=MLP_HIDDEN if n_hidden is None else n_hidden, loss=task.loss)
    if not task.sequence:
        raise ValueError(f"model {name!r} needs a sequence task (adding, temporal_order), "
                         f"got {task.name!r}")
    return ElmanRNN(n_in=task.n_in, n_out=task.n_out, n_hidden=RNN_HIDDEN if n_hidden is None else n_hidden,
                    n_layers=int(name[3]), rho=RNN_RHO if rho is None else rho, loss=task.loss)

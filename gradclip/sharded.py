"""The global gradient norm when the gradient is split across ranks (FSDP, ZeRO, tensor parallel).

Each rank holds some pieces of the gradient (its *shards*). No rank can see the global norm on
its own, but the p-norm of a concatenation is the p-norm of the parts' p-norms, so every rank
computes its local norm, the ranks all-reduce the p-th powers (a sum; a max for ``inf``), and
each rank then scales its own pieces by the one global factor. That is what PyTorch's DTensor
does for FSDP2 gradients (``_NormPartial`` in torch/distributed/tensor/_ops/_math_ops.py:
``x**p`` → all-reduce sum → ``x**(1/p)``), and what Megatron-LM and DeepSpeed write out by hand.

A piece present in full on every rank (a replicated parameter: a LayerNorm weight under tensor
parallelism, a tied embedding under pipeline parallelism) must be counted once, not once per
rank; here rank 0 counts it and the other ranks skip it.

The norm and the scaling are :mod:`gradclip.clipping`'s (PyTorch's rule, with its 1e-6), so a
sharded clip equals ``clip_grad_norm`` of the unsharded gradient.

Examples
--------
>>> import numpy as np
>>> shards = [[np.array([3.0, 0.0])], [np.array([0.0, 4.0])]]
>>> shard_norms(shards)
array([3., 4.])
>>> combine_norms([3.0, 4.0])
5.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.checks import real, real_array
from gradclip.clipping import _as_array_list, _norm_type, _scale_by_total_norm, _total_norm

__all__ = ["ShardedClip", "shard_norms", "combine_norms", "clip_sharded"]


@dataclass(frozen=True)
class ShardedClip:
    """What :func:`clip_sharded` did.

    Attributes
    ----------
    clipped : list of list of numpy.ndarray
        Each rank's pieces after clipping (same shapes and dtypes as given).
    local_norms : numpy.ndarray
        Each rank's norm of the pieces it counts, before clipping.
    total_norm : float
        The global norm before clipping, combined from ``local_norms``.
    coefficient : float
        The factor every piece on every rank was multiplied by.
    """

    clipped: list
    local_norms: np.ndarray
    total_norm: float
    coefficient: float


def _ranks(shards: Any) -> list[list[np.ndarray]]:
    """``shards`` as a list (one entry per rank) of lists of float arrays."""
    if isinstance(shards, (str, bytes, np.ndarray)) or not hasattr(shards, "__iter__"):
        raise TypeError(f"shards must be a list with one list of arrays per rank, got {type(shards).__name__}")
    ranks = [_as_array_list(rank, f"shards[{r}]") for r, rank in enumerate(shards)]
    if not ranks:
        raise ValueError("shards must hold at least one rank, got an empty list")
    return ranks


def _replicated(replicated: Any, ranks: list[list[np.ndarray]]) -> list[list[bool]]:
    """``replicated`` checked against the ranks' pieces: one bool per piece (None: none replicated)."""
    if replicated is None:
        return [[False] * len(rank) for rank in ranks]
    if isinstance(replicated, (str, bytes)) or not hasattr(replicated, "__len__") or len(replicated) != len(ranks):
        raise ValueError(f"replicated must be None or a list with one list of bools per rank "
                         f"({len(ranks)} ranks), got {replicated!r}")
    flags = []
    for r, (marks, rank) in enumerate(zip(replicated, ranks)):
        if isinstance(marks, (str, bytes)) or not hasattr(marks, "__len__") or len(marks) != len(rank):
            raise ValueError(f"replicated[{r}] must hold one bool per piece of shards[{r}] "
                             f"({len(rank)} pieces), got {marks!r}")
        if not all(isinstance(m, (bool, np.bool_)) for m in marks):
            raise TypeError(f"replicated[{r}] must hold bools, got {marks!r}")
        flags.append([bool(m) for m in marks])
    return flags


def _local_norms(ranks: list[list[np.ndarray]], flags: list[list[bool]], p: float) -> np.ndarray:
    """Each rank's norm of the pieces it counts (rank 0 counts replicated pieces, others skip them;
    an empty piece, which a rank gets when a tensor has fewer rows than there are ranks, adds nothing)."""
    counted = [[a for a, rep in zip(rank, marks) if (r == 0 or not rep) and a.size]
               for r, (rank, marks) in enumerate(zip(ranks, flags))]
    return np.array([float(_total_norm(pieces, p)) for pieces in counted])


def shard_norms(shards: Any, norm_type: float = 2.0, replicated: Any = None) -> np.ndarray:
    r"""Each rank's local norm of its pieces: what a rank can compute before any communication.

    .. math:: n_r = \Bigl(\sum_{i \in \text{rank } r} \lVert g_i \rVert_p^p\Bigr)^{1/p}

    (``p = inf``: the largest absolute entry), computed as
    :func:`gradclip.clipping.global_norm` computes it. A piece marked in ``replicated`` is
    counted by rank 0 only. An empty piece adds nothing, for every ``p`` (a rank holds none of
    a tensor with fewer rows than there are ranks).

    Parameters
    ----------
    shards : list of (list of array_like)
        One entry per rank: the gradient pieces that rank holds (a single array is one piece).
    norm_type : float
        :math:`p > 0`, or ``inf``.
    replicated : list of (list of bool), optional
        Same nesting as ``shards``: ``True`` marks a piece every rank holds a full copy of.

    Returns
    -------
    numpy.ndarray
        One float64 norm per rank.

    Examples
    --------
    >>> import numpy as np
    >>> shard_norms([[np.array([3.0, 4.0])], [np.array([1.0])]])
    array([5., 1.])
    >>> shard_norms([[np.array([2.0])], [np.array([2.0])]], replicated=[[True], [True]])
    array([2., 0.])
    """
    ranks = _ranks(shards)
    return _local_norms(ranks, _replicated(replicated, ranks), _norm_type(norm_type))


def combine_norms(local_norms: Any, norm_type: float = 2.0) -> float:
    r"""The global norm from the ranks' local norms: an all-reduce of their p-th powers.

    .. math:: \lVert g\rVert_p = \Bigl(\sum_r n_r^p\Bigr)^{1/p}, \qquad \lVert g\rVert_\infty = \max_r n_r

    Parameters
    ----------
    local_norms : array_like
        One norm per rank (>= 0; NaN and inf pass through, as they would in the all-reduce).
    norm_type : float
        :math:`p > 0`, or ``inf``.

    Returns
    -------
    float

    Examples
    --------
    >>> combine_norms([3.0, 4.0])
    5.0
    >>> combine_norms([3.0, 4.0], norm_type=float("inf"))
    4.0
    """
    norms = real_array(local_norms, "local_norms", lo=0, nan=True, ndim=1, empty=False)
    return float(_total_norm([norms.astype(np.float64)], _norm_type(norm_type)))


def clip_sharded(shards: Any, max_norm: float, norm_type: float = 2.0, replicated: Any = None) -> ShardedClip:
    r"""Clip a sharded gradient by its global norm, with PyTorch's rule, as FSDP2 does.

    .. math::

        n = \Bigl(\sum_r n_r^p\Bigr)^{1/p}, \qquad
        c = \min\Bigl(1, \frac{\tau}{n + 10^{-6}}\Bigr), \qquad g_i \leftarrow c\, g_i \ \text{on every rank}

    with :math:`n_r` from :func:`shard_norms` and :func:`combine_norms`. The result equals
    :func:`gradclip.clipping.clip_grad_norm` of all the (unreplicated) pieces together, up to
    the order of the sum. Clipping each rank's shard by its own norm instead is wrong: every
    shard is below ``max_norm`` long before the whole gradient is.

    Parameters
    ----------
    shards : list of (list of array_like)
        One entry per rank: the pieces it holds.
    max_norm : float
        :math:`\tau \ge 0`.
    norm_type : float
        :math:`p > 0`, or ``inf``.
    replicated : list of (list of bool), optional
        Marks pieces every rank holds in full (counted once, scaled everywhere).

    Returns
    -------
    ShardedClip

    Examples
    --------
    >>> import numpy as np
    >>> out = clip_sharded([[np.array([3.0, 0.0])], [np.array([0.0, 4.0])]], 1.0)
    >>> out.total_norm, out.local_norms
    (5.0, array([3., 4.]))
    >>> [rank[0].round(6) for rank in out.clipped]
    [array([0.6, 0. ]), array([0. , 0.8])]
    """
    ranks = _ranks(shards)
    tau = real(max_norm, "max_norm", lo=0, finite=False)
    p = _norm_type(norm_type)
    local = _local_norms(ranks, _replicated(replicated, ranks), p)
    total = _total_norm([local], p)
    clipped = [_scale_by_total_norm(rank, tau, total) for rank in ranks]
    coefficient = _scale_by_total_norm([np.ones(1)], tau, total)[0][0]
    return ShardedClip(clipped=clipped, local_norms=local, total_norm=float(total), coefficient=float(coefficient))

"""The distributed-training page's demo: one gradient split across ranks, clipped two ways.

``sharded_clip``
    A fixed gradient (a "hot" block at its start, the rest ordinary noise) is split into
    ``ranks`` contiguous shards, as FSDP or ZeRO split a flattened gradient. The right way
    (:func:`gradclip.sharded.clip_sharded`) combines the ranks' local norms into the global
    one and scales every shard by the one factor; the naive way clips each shard by its own
    norm (each rank calling ``clip_grad_norm`` on what it holds). Bars: each rank's norm before
    clipping, after the right clip and after the naive one; dashed line: τ.

>>> out = sharded_gradient(4, 3.0, 0)
>>> [s.shape for s in out]
[(48,), (48,), (48,), (48,)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradclip.clipping import clip_grad_norm
from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.teaching_theory import angle_degrees
from gradclip.figures import Figure
from gradclip.figures.helpers import padded_log_range
from gradclip.figures.numbers import fmt_number
from gradclip.sharded import clip_sharded

__all__ = ["GRADIENT_SIZE", "HOT_SIZE", "sharded_gradient", "naive_shard_clip"]

GRADIENT_SIZE = 192     # entries of the flattened gradient (1 to 16 ranks: array_split's shards)
HOT_SIZE = 16           # the first entries, multiplied by ``hot``: one layer with a spike
_SCALE = 0.15           # standard deviation of an ordinary entry


def sharded_gradient(ranks: int, hot: float, seed: int) -> list[np.ndarray]:
    """The demo's gradient, split into ``ranks`` contiguous shards (sizes differ by at most 1).

    Entries are :math:`N(0, 0.15^2)`; the first 16 are multiplied by ``hot``.
    """
    g = np.random.default_rng(seed).normal(scale=_SCALE, size=GRADIENT_SIZE)
    g[:HOT_SIZE] *= hot
    return np.array_split(g, ranks)


def naive_shard_clip(shards: list[np.ndarray], tau: float) -> list[np.ndarray]:
    """Each shard clipped by its own norm, PyTorch's rule (the wrong way under sharding)."""
    return [clip_grad_norm([s], tau)[0][0] for s in shards]


def _bars(fig: Figure, norms: dict[str, np.ndarray], colors: dict[str, str]) -> None:
    n = len(next(iter(norms.values())))
    width = 0.8 / len(norms)
    lo = fig.y_range[0]
    for k, (name, values) in enumerate(norms.items()):
        x0 = np.arange(n) + 0.6 + k * width
        fig.rects(x0, x0 + width, np.full(n, lo), values, fill=colors[name])
        fig.line([-1.0], [lo], color=colors[name], width=8.0, label=name)   # the legend's swatch


def _compute(p: dict[str, Any]) -> DemoOutput:
    ranks, tau, hot, seed = int(p["ranks"]), float(p["tau"]), float(p["hot"]), int(p["seed"])
    shards = sharded_gradient(ranks, hot, seed)
    right = clip_sharded([[s] for s in shards], tau)
    right_flat = np.concatenate([r[0] for r in right.clipped])
    naive = naive_shard_clip(shards, tau)
    naive_flat = np.concatenate(naive)
    local = right.local_norms
    norms = {"before": local, "right: global factor": np.array([np.linalg.norm(r[0]) for r in right.clipped]),
             "naive: each shard ≤ τ": np.array([np.linalg.norm(s) for s in naive])}
    colors = {"before": "muted", "right: global factor": "s0", "naive: each shard ≤ τ": "s2"}
    y_range = padded_log_range(np.concatenate([*norms.values(), [tau, right.total_norm]]), pad=2.0)
    fig = Figure(x_range=(0.4, ranks + 0.6), y_range=y_range, y_log=True, x_label="rank",
                 y_label="norm of the rank's shard", legend=True, title="Each rank's shard, clipped two ways",
                 alt=(f"Norms of the {ranks} shards of one gradient before clipping, after clipping by the "
                      f"global factor, and after each rank clipped its own shard to τ = {fmt_number(tau)}."))
    _bars(fig, norms, colors)
    fig.hline(tau, color="danger", width=1.5, dash=[5, 4], label="τ")
    clipped = int(np.sum(local > tau))
    angle = angle_degrees(naive_flat, right_flat, decimals=6)
    res = {
        "global_before": result(right.total_norm),
        "global_right": result(float(np.linalg.norm(right_flat))),
        "global_naive": result(float(np.linalg.norm(naive_flat))),
        "angle": result(angle, f"{fmt_number(angle)}°"),
        "shards_clipped": result(clipped, f"{clipped} of {ranks}"),
        "largest_shard": result(float(local.max())),
    }
    return DemoOutput(
        figures={"shards": fig.to_dict()}, results=res,
        description=(f"Global norm {res['global_before']['text']}; the global factor brings it to "
                     f"{res['global_right']['text']}, per-shard clipping to {res['global_naive']['text']} "
                     f"({res['shards_clipped']['text']} shards clipped, {res['angle']['text']} off the right "
                     f"direction)."),
    )


register(DemoSpec(
    name="sharded_clip",
    title="Clipping a sharded gradient: the global factor or each shard on its own",
    params=(
        Param("ranks", "int", 4, "Ranks (shards)", min=1, max=16, step=1,
              help="The gradient's 192 entries split into this many contiguous shards."),
        Param("tau", "float", 1.5, "Threshold τ", min=0.05, max=20.0, log=True),
        Param("hot", "float", 4.0, "Spike in the first 16 entries (×)", min=0.1, max=100.0, log=True,
              help="Multiplies the first 16 entries: one layer whose gradient jumped."),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute,
    results=(("global_before", "Global norm before clipping"),
             ("global_right", "Global norm after the global factor"),
             ("global_naive", "Global norm after per-shard clipping"),
             ("angle", "Angle between the per-shard update and the right one"),
             ("shards_clipped", "Shards the per-shard rule clipped"),
             ("largest_shard", "Largest shard norm")),
    figures=(("shards", "Three bars per rank: its shard's norm before clipping, after the global factor "
                        "(every shard shrunk by the same ratio) and after per-shard clipping, which cuts "
                        "only the shards above τ, so the whole gradient stays longer than τ and turns."),),
))

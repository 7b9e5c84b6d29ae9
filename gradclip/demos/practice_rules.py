"""Demos that put rules of thumb about clipping to the test on gradclip's own training runs.

The practical-notes page quotes rules that circulate in tutorials ("clipping every step is a
learning-rate cut", "plain RNNs want a threshold of 0.1 to 0.5", "a run that clips nearly
every step has too high a learning rate", "norms above 5 for 50 steps in a row call for a
lower threshold") and says which hold, and when. Each verdict on that page is a result of
one of these demos, computed from :func:`gradclip.train_runs` (same seed, same initial
weights, same batches for every run of a comparison), so no sentence there can drift from
what the runs do.

Demos registered here:

``clip_every_step``  the regression MLP clipped at every step, under plain SGD and under Adam
``threshold_rules``  a threshold sweep on a recurrent net at two learning rates, against three rules

>>> out = _compute_every({"tau": 1.0, "sgd_lr": 0.003, "adam_lr": 0.03, "seed": 0})
>>> out.results["sgd_clips"]["text"], out.results["adam_clips"]["text"]
('400 of 400 (100%)', '400 of 400 (100%)')
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.practice_inputs import longest_streak
from gradclip.demos.training_figures import final_loss_result, loss_figure, update_figure
from gradclip.figures import Figure
from gradclip.figures.numbers import count_share_text, fmt_number
from gradclip.train import RunSpec, TrainLog, train_runs

__all__ = ["EVERY_STEPS", "RULE_STEPS", "RULE_TAUS", "RNN_RANGE", "HIGH_NORM", "HIGH_STREAK", "NEARLY_ALL",
           "step_ratio", "ratio_text", "rule_sweep", "SweepSummary", "summarise_sweep"]

EVERY_STEPS = 400        # the regression MLP's run, as on the worked-examples page
RULE_STEPS = 300         # each run of the threshold sweep
RULE_TAUS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
RNN_RANGE = (0.1, 0.5)   # the range the rule of thumb gives for plain RNNs
HIGH_NORM, HIGH_STREAK = 5.0, 50   # "norms above 5 for 50 steps in a row"
NEARLY_ALL = 0.95        # "clipping on nearly every step": at least this share of the steps
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}


# ---------------------------------------------------------------------------------------
# Clipping every step: SGD against Adam


def step_ratio(clipped: TrainLog, plain: TrainLog) -> float:
    r"""How long the clipped run's updates are, relative to the unclipped run's.

    .. math:: r = \frac{\operatorname{median}_t \lVert \Delta\theta_t^{\text{clipped}} \rVert}
                       {\operatorname{median}_t \lVert \Delta\theta_t^{\text{plain}} \rVert}

    over the steps at which both runs were still finite (a run that blew up has no
    meaningful update size afterwards). NaN when there is no such step.

    >>> from gradclip.train import train_runs, RunSpec
    >>> a, b = train_runs("mlp", "regression", [RunSpec("norm", 1.0, 0.003), RunSpec("none", 1.0, 0.003)],
    ...                   steps=20, optimizer="sgd")
    >>> bool(step_ratio(a, b) < 1)
    True
    """
    both = np.isfinite(clipped.update_norm) & np.isfinite(plain.update_norm)
    if not both.any():
        return math.nan
    below = float(np.median(plain.update_norm[both]))
    return float(np.median(clipped.update_norm[both])) / below if below > 0 else math.nan


def ratio_text(r: float) -> str:
    """A step ratio for people: ``"18× shorter"``, ``"2.5× longer"``, ``"about the same"``.

    >>> ratio_text(0.05), ratio_text(2.5), ratio_text(1.02), ratio_text(float("nan"))
    ('20× shorter', '2.5× longer', 'about the same', '—')
    """
    if not math.isfinite(r) or r <= 0:
        return "—"
    if 0.9 <= r <= 1.1:
        return "about the same"
    return f"{fmt_number(1 / r, 2)}× shorter" if r < 1 else f"{fmt_number(r, 2)}× longer"


def _every_runs(p: dict[str, Any]) -> list[TrainLog]:
    """SGD unclipped, SGD clipped, Adam unclipped, Adam clipped: one seed, the same batches."""
    tau, seed = float(p["tau"]), int(p["seed"])
    logs: list[TrainLog] = []
    for opt, lr in (("sgd", float(p["sgd_lr"])), ("adam", float(p["adam_lr"]))):
        logs += train_runs("mlp", "regression", [RunSpec("none", tau, lr), RunSpec("norm", tau, lr)],
                           steps=EVERY_STEPS, optimizer=opt, seed=seed)
    return logs


def _relabel(fig: Figure, logs: Sequence[TrainLog]) -> Figure:
    """Name each line by its optimiser too, and dash the unclipped runs: the shared figure
    builders label a run by its clipping only, and two runs here share each clipping."""
    lines = [it for it in fig.items if it["t"] == "line"]
    for it, log in zip(lines, logs):
        kind = "no clipping" if log.method == "none" else f"clipped at τ = {fmt_number(log.tau)}"
        it["label"] = f"{OPT_LABELS[log.optimizer]}, {kind}"
        if log.method == "none":
            it["dash"] = [5, 3]
    notes = [it for it in fig.items if it["t"] == "text" and "blew up" in it.get("text", "")]
    for it, log in zip(notes, [l for l in logs if l.summary.diverged_at is not None]):
        it["text"] = f" {OPT_LABELS[log.optimizer]}, no clipping: blew up at step {log.summary.diverged_at}"
    fig.legend = True
    return fig


def _compute_every(p: dict[str, Any]) -> DemoOutput:
    logs = _every_runs(p)
    sgd_plain, sgd_clip, adam_plain, adam_clip = logs
    colors = ("s0", "s0", "s2", "s2")
    figures = {
        "update": _relabel(update_figure(logs, EVERY_STEPS, colors=colors), logs).to_dict(),
        "loss": _relabel(loss_figure(logs, EVERY_STEPS, colors=colors), logs).to_dict(),
    }
    results: dict[str, dict[str, str]] = {}
    for name, plain, clip in (("sgd", sgd_plain, sgd_clip), ("adam", adam_plain, adam_clip)):
        r = step_ratio(clip, plain)
        norms = plain.grad_norm[np.isfinite(plain.grad_norm)]
        median = float(np.median(norms)) if norms.size else math.nan
        results.update({
            f"{name}_clips": result(clip.summary.clip_events, count_share_text(clip.summary.clip_events, clip.steps)),
            f"{name}_norm": result(median),
            f"{name}_max": result(float(norms.max()) if norms.size else math.nan),
            f"{name}_ratio": result(r, ratio_text(r)),
            f"{name}_final_none": final_loss_result(plain),
            f"{name}_final_clip": final_loss_result(clip),
        })
    desc = (f"Regression MLP, {EVERY_STEPS} steps, τ = {fmt_number(float(p['tau']))}. SGD: "
            f"{results['sgd_clips']['text']} steps clipped, updates {results['sgd_ratio']['text']} than "
            f"unclipped, final loss {results['sgd_final_clip']['text']} against "
            f"{results['sgd_final_none']['text']}. Adam: {results['adam_clips']['text']} clipped, updates "
            f"{results['adam_ratio']['text']}, final loss {results['adam_final_clip']['text']} against "
            f"{results['adam_final_none']['text']}.")
    return DemoOutput(figures=figures, results=results, description=desc)


register(DemoSpec(
    name="clip_every_step",
    title="Clipping every step: plain SGD against Adam",
    params=(
        Param("tau", "float", 1.0, "Clip threshold τ", min=0.01, max=1e4, log=True),
        Param("sgd_lr", "float", 0.003, "SGD learning rate", min=1e-5, max=0.03, log=True),
        Param("adam_lr", "float", 0.03, "Adam learning rate", min=1e-4, max=0.3, log=True),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1,
              help="Another seed: another data set, initial weights and batches."),
    ),
    compute=_compute_every,
    results=(("sgd_max", "SGD: largest gradient norm, unclipped"),
             ("sgd_norm", "SGD: median gradient norm, unclipped"), ("sgd_clips", "SGD: steps clipped"),
             ("sgd_ratio", "SGD: clipped updates vs unclipped"),
             ("sgd_final_none", "SGD: final loss, unclipped"), ("sgd_final_clip", "SGD: final loss, clipped"),
             ("adam_max", "Adam: largest gradient norm, unclipped"),
             ("adam_norm", "Adam: median gradient norm, unclipped"), ("adam_clips", "Adam: steps clipped"),
             ("adam_ratio", "Adam: clipped updates vs unclipped"),
             ("adam_final_none", "Adam: final loss, unclipped"), ("adam_final_clip", "Adam: final loss, clipped")),
    figures=(("update", "Size of each update ‖Δθ‖, four runs from the same seed (log scale)."),
             ("loss", "Loss per step, the same four runs (log scale).")),
))


# ---------------------------------------------------------------------------------------
# Three rules of thumb against a threshold sweep


def rule_sweep(model: str, optimizer: str, lr: float, seed: int) -> list[TrainLog]:
    """The unclipped run, then one norm-clipped run per threshold of :data:`RULE_TAUS`, on the
    adding problem, :data:`RULE_STEPS` steps, one seed (the same weights and batches).

    >>> [l.method for l in rule_sweep("rnn1", "sgd", 0.05, 0)][:2]
    ['none', 'norm']
    """
    runs = [RunSpec("none", 1.0, lr)] + [RunSpec("norm", t, lr) for t in RULE_TAUS]
    return train_runs(model, "adding", runs, steps=RULE_STEPS, optimizer=optimizer, seed=seed)


class SweepSummary:
    """What one learning rate's sweep says about the three rules.

    ``final``: each threshold's final loss (:data:`RULE_TAUS` order; inf where a run blew up);
    ``share``: the share of steps it clipped; ``streak``: its longest run of consecutive steps
    with a raw norm above :data:`HIGH_NORM`; ``best``: the index of the lowest final loss;
    ``range_rank``: the rank (1 = best) of the best threshold inside :data:`RNN_RANGE`.
    """

    def __init__(self, logs: Sequence[TrainLog]):
        self.plain = logs[0]
        clipped = logs[1:]
        self.final = np.array([l.summary.final_loss if l.summary.diverged_at is None else math.inf
                               for l in clipped])
        self.share = np.array([l.summary.clip_fraction for l in clipped])
        self.streak = np.array([longest_streak(l.grad_norm > HIGH_NORM) for l in clipped])
        safe = np.where(np.isfinite(self.final), self.final, np.inf)
        self.best = int(np.argmin(safe))
        order = np.argsort(safe, kind="stable")
        rank = np.empty(len(order), dtype=int)
        rank[order] = np.arange(1, len(order) + 1)
        inside = [i for i, t in enumerate(RULE_TAUS) if RNN_RANGE[0] <= t <= RNN_RANGE[1]]
        self.range_best = min(inside, key=lambda i: safe[i])
        self.range_rank = int(rank[self.range_best])


def summarise_sweep(logs: Sequence[TrainLog]) -> SweepSummary:
    """:class:`SweepSummary` of one :func:`rule_sweep`."""
    return SweepSummary(logs)


def _streak_verdict(sums: Sequence[SweepSummary]) -> tuple[int, int, int]:
    """Rule three, over every run of the sweeps: how many runs it fires on (norms above
    :data:`HIGH_NORM` for :data:`HIGH_STREAK` steps in a row), how many of those have a lower
    threshold on the grid, and for how many of those the next lower threshold ended lower."""
    fired = with_lower = helped = 0
    for s in sums:
        for i in np.flatnonzero(s.streak >= HIGH_STREAK):
            fired += 1
            if i > 0:
                with_lower += 1
                helped += int(s.final[i - 1] < s.final[i])
    return fired, with_lower, helped


def _plain_text(log: TrainLog) -> dict[str, str]:
    s = log.summary
    if s.diverged_at is not None:
        return result(f"step {s.diverged_at}", f"blew up at step {s.diverged_at}")
    return result(s.final_loss, f"final loss {fmt_number(s.final_loss)}")


def _best_text(s: SweepSummary) -> dict[str, str]:
    t = RULE_TAUS[s.best]
    return result(t, f"τ = {fmt_number(t)} (final loss {fmt_number(float(s.final[s.best]))})")


def _range_text(s: SweepSummary) -> dict[str, str]:
    t = RULE_TAUS[s.range_best]
    return result(s.range_rank, f"τ = {fmt_number(t)}, rank {s.range_rank} of {len(RULE_TAUS)}")


def _tau_one_share(s: SweepSummary) -> dict[str, str]:
    i = RULE_TAUS.index(1.0)
    k = int(round(s.share[i] * RULE_STEPS))
    return result(float(s.share[i]), count_share_text(k, RULE_STEPS))


def _rules_figures(sums: Sequence[SweepSummary], lrs: Sequence[float]) -> dict[str, Any]:
    """Final loss and share of steps clipped against the threshold, one line per learning rate."""
    taus = np.array(RULE_TAUS)
    x_range = (RULE_TAUS[0] / 1.3, RULE_TAUS[-1] * 1.3)
    shown = [s.final[np.isfinite(s.final)] for s in sums]
    shown += [np.array([s.plain.summary.final_loss]) for s in sums if s.plain.summary.diverged_at is None]
    values = np.concatenate(shown)
    values = values[np.isfinite(values)]
    top = float(values.max()) if values.size else 1.0
    loss = Figure(x_range=x_range, y_range=(0.0, 1.25 * top), x_log=True, x_label="threshold τ",
                  y_label="final loss (mean of the last tenth)", title="Final loss against τ",
                  legend=True, width=480, height=300)
    for edge in RNN_RANGE:          # the rule's range for plain RNNs, between two dashed lines
        loss.vline(edge, color="muted", dash=[2, 3], width=1.0,
                   label="0.1–0.5: the rule for plain RNNs" if edge == RNN_RANGE[0] else None)
    share = Figure(x_range=x_range, y_range=(0.0, 105.0), x_log=True, x_label="threshold τ",
                   y_label="steps clipped (%)", title="Share of steps clipped against τ",
                   legend=True, width=480, height=240)
    share.hline(100 * NEARLY_ALL, color="muted", dash=[3, 3], width=1.0,
                label=f"{100 * NEARLY_ALL:.0f}%: “nearly every step”")
    blown: list[str] = []
    for s, lr, color in zip(sums, lrs, ("s0", "s3")):
        label = f"η = {fmt_number(lr)}"
        ok = np.isfinite(s.final)
        loss.line(taus[ok], s.final[ok], color=color, label=label, hover=True,
                  hover_names=("τ", "final loss"))
        loss.points(taus[ok], s.final[ok], color=color, size=3.5)
        loss.marker(RULE_TAUS[s.best], float(s.final[s.best]), shape="circle", color=color, size=7)
        ps = s.plain.summary
        if ps.diverged_at is None:
            loss.hline(ps.final_loss, color=color, dash=[5, 3], width=1.0, label=f"{label}, no clipping")
        else:
            blown.append(f"{label}, no clipping: blew up at step {ps.diverged_at}")
        share.line(taus, 100 * s.share, color=color, label=label, hover=True, hover_names=("τ", "% clipped"))
        share.points(taus, 100 * s.share, color=color, size=3.5)
    for k, note in enumerate(blown):   # a run that blew up has no final loss to draw
        loss.text(x_range[0] * 1.1, top * (1.18 - 0.08 * k), note, color="danger", size=11)
    loss.alt = ("Final loss against the clipping threshold for two learning rates; best thresholds "
                + ", ".join(f"{fmt_number(RULE_TAUS[s.best])} at η = {fmt_number(lr)}" for s, lr in zip(sums, lrs)) + ".")
    share.alt = "Share of steps clipped against the clipping threshold for two learning rates."
    return {"loss": loss.to_dict(), "share": share.to_dict()}


def _compute_rules(p: dict[str, Any]) -> DemoOutput:
    lrs = (float(p["lr_high"]), float(p["lr_low"]))
    sums = [SweepSummary(rule_sweep(p["model"], p["optimizer"], lr, int(p["seed"]))) for lr in lrs]
    high, low = sums
    fired, with_lower, helped = _streak_verdict(sums)
    total = len(RULE_TAUS) * len(sums)
    results = {
        "plain_high": _plain_text(high.plain), "plain_low": _plain_text(low.plain),
        "best_high": _best_text(high), "best_low": _best_text(low),
        "range_high": _range_text(high), "range_low": _range_text(low),
        "tau1_high": _tau_one_share(high), "tau1_low": _tau_one_share(low),
        "streak_fired": result(fired, f"{fired} of {total} runs"),
        "streak_helped": result(helped, f"{helped} of {with_lower}" if with_lower else "no run to compare"),
    }
    desc = (f"{p['model']} on the adding problem, {OPT_LABELS[p['optimizer']]}, {RULE_STEPS} steps: the best "
            f"threshold is {results['best_high']['text']} at η = {fmt_number(lrs[0])} and "
            f"{results['best_low']['text']} at η = {fmt_number(lrs[1])}.")
    return DemoOutput(figures=_rules_figures(sums, lrs), results=results, description=desc)


register(DemoSpec(
    name="threshold_rules",
    title="Three rules of thumb against a threshold sweep",
    params=(
        Param("model", "choice", "rnn3", "Model", choices=(("rnn1", "RNN, 1 layer"), ("rnn2", "RNN, 2 layers"),
                                                         ("rnn3", "RNN, 3 layers"))),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=tuple(OPT_LABELS.items())),
        Param("lr_high", "float", 0.05, "Higher learning rate", min=0.001, max=0.2, log=True),
        Param("lr_low", "float", 0.01, "Lower learning rate", min=0.0005, max=0.1, log=True),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1,
              help="Another seed: other initial weights and batches."),
    ),
    compute=_compute_rules,
    results=(("plain_high", "No clipping, higher η"), ("plain_low", "No clipping, lower η"),
             ("best_high", "Best τ, higher η"), ("best_low", "Best τ, lower η"),
             ("range_high", "Best τ in 0.1–0.5, higher η"), ("range_low", "Best τ in 0.1–0.5, lower η"),
             ("tau1_high", "Clipped at τ = 1, higher η"), ("tau1_low", "Clipped at τ = 1, lower η"),
             ("streak_fired", "Runs with norms above 5 for 50 steps in a row"),
             ("streak_helped", "… of which a lower τ ended lower")),
    figures=(("loss", "Final loss against τ for both learning rates (the large dot: the best τ); dashed: the unclipped runs; dotted: 0.1 and 0.5."),
             ("share", "Share of steps clipped against τ for both learning rates.")),
))

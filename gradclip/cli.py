"""The ``gradclip`` command (also ``python -m gradclip``).

::

    gradclip simulate [--landscape L] [--method M] [--tau T] [--lr LR] [--steps N]
                      [--optimizer O] [--seed S] [--start X Y] [--json]
    gradclip sweep    [--landscape L] [--method M] [--taus T,T,...] [--lrs LR,LR,...]
                      [--steps N] [--optimizer O] [--seed S] [--json]
    gradclip landscapes [--json]
    gradclip suggest  FILE [--run R] [--zclip-skip-update] [--json]
    gradclip dp-sgd   [--clip C,C,...] [--noise SIGMA] [--lr LR] [--steps N] [--batch-size B] [--seed S]
    gradclip shards   NORM [NORM ...] [--tau T] [--norm-type P] [--json]

``simulate`` prints the six results of one run and its verdict as a table (``--json``: the
fields of :class:`gradclip.simulate.Summary`); ``sweep`` prints a tau × learning-rate grid of
outcomes; ``landscapes`` lists the landscapes; ``dp-sgd`` trains the MLP with DP-SGD
(:func:`gradclip.dp.dp_sgd_train`) and prints each clip norm's final loss; ``shards``
combines the local gradient norms of the ranks of a sharded run (FSDP, ZeRO, tensor
parallel) into the global norm and the one factor every rank must scale by.

Bad input never shows a traceback: one line on standard error naming the value and the
allowed range, and exit status 2.

Adding a subcommand: write ``_add_<name>(subparsers)``, which registers its parser and
``set_defaults(run=<function of the parsed args returning an exit status>)``, and append it
to :data:`SUBCOMMANDS`.

Examples
--------
>>> main(["simulate", "--method", "none", "--json"])  # doctest: +ELLIPSIS
{
  "final_loss": "inf",
...
0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Sequence

import numpy as np

from gradclip.demos import fmt_number
from gradclip.figures.numbers import size_text
from gradclip.landscapes import LANDSCAPES
from gradclip.methods import CLIP_METHODS
from gradclip.simulate import (SIM_MAX_STEPS, METHODS, OPTIMIZERS, OUTCOMES, RANGES, Run, simulate,
                               sweep)

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

EXIT_USAGE = 2

# One letter per outcome for the sweep grid (upper case = a problem).
OUTCOME_LETTERS = {"healthy": ".", "slow": "s", "over_clipped": "C", "spiked": "S",
                   "oscillating": "O", "diverged": "D"}
DEFAULT_TAUS = "0.01,0.03,0.1,0.3,1,3,10,30,100"
DEFAULT_LRS = "0.001,0.003,0.01,0.03,0.1,0.3,1"


class UsageError(Exception):
    """Bad command-line input; the message is the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage and exits; we want one line and no SystemExit mid-parse.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def _number(name: str, allowed: str | None = None) -> Callable[[str], float]:
    """An argparse type: a float, or one line naming ``name`` and what it allows (by default
    the simulator's range, ``RANGES[name]``); the range itself is checked by gradclip.checks."""
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number; {name} must be {allowed or RANGES[name]}") from None
    return parse


def _whole(name: str, allowed: str | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an integer; {name} must be {allowed or RANGES[name]}") from None
    return parse


def _coordinate(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; start must be two numbers X Y inside the "
            f"landscape's bound (see gradclip landscapes --json)") from None


def _number_list(name: str, allowed: str | None = None) -> Callable[[str], list[float]]:
    single = name[:-1]  # "taus" -> "tau"
    allowed = allowed or RANGES[single]

    def parse(text: str) -> list[float]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(
                f"{text!r} has no numbers; give {name} as a comma-separated list, each {allowed}")
        return [_number(single, allowed)(p) for p in parts]
    return parse


# What --tau is for each method, from the registry (e.g. "norm: max_norm").
_TAU_KNOBS = ", ".join(f"{m.name}: {m.simulator.name}" for m in CLIP_METHODS.values()
                       if m.simulator is not None and m.name != "none")


def _common(p: argparse.ArgumentParser, steps_default: int) -> None:
    p.add_argument("--landscape", default="cliff", choices=list(LANDSCAPES),
                   help="the loss landscape (default: cliff)")
    p.add_argument("--method", default="norm", choices=list(METHODS),
                   help="how the gradient is clipped (default: norm)")
    p.add_argument("--optimizer", default="sgd", choices=list(OPTIMIZERS),
                   help="the optimizer (default: sgd)")
    p.add_argument("--steps", type=_whole("steps"), default=steps_default,
                   help=f"optimisation steps, 1 to {SIM_MAX_STEPS} (default: {steps_default})")
    p.add_argument("--seed", type=_whole("seed"), default=0,
                   help="seed of the bad batches on the spiky landscape (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


# --- simulate --------------------------------------------------------------------------


def _add_simulate(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run the optimiser once and print the results",
                       description="Run gradient descent with clipping on a landscape.")
    _common(p, 200)
    p.add_argument("--tau", type=_number("tau"), default=1.0,
                   help=f"the method's number, > 0 (default: 1): {_TAU_KNOBS}")
    p.add_argument("--lr", type=_number("lr"), default=0.05,
                   help="learning rate, > 0 (default: 0.05)")
    p.add_argument("--start", type=_coordinate, nargs=2, metavar=("X", "Y"), default=None,
                   help="starting point (default: the landscape's)")
    p.set_defaults(run=_run_simulate)


def simulate_table(run: Run) -> str:
    """The six results and the verdict of a run, one per line.

    Examples
    --------
    >>> from gradclip.simulate import simulate
    >>> print(simulate_table(simulate("cliff", method="none")))
    cliff, method none, tau 1, lr 0.05, 200 steps, sgd
      Final loss                       ∞
      Max gradient norm (before clip)  605
      Clip events                      0 of 1 steps taken
      Divergence                       yes, at step 1
      Loss reduction                   −∞
      Verdict                          diverged: lower the learning rate or the threshold
    """
    s = run.summary
    taken = run.steps if s.diverged_at is None else s.diverged_at
    rows = [
        ("Final loss", fmt_number(s.final_loss)),
        ("Max gradient norm (before clip)", fmt_number(s.max_raw_norm)),
        ("Clip events", f"{s.clip_events} of {taken} steps" + ("" if s.diverged_at is None else " taken")),
        ("Divergence", "no" if not s.diverged else f"yes, at step {s.diverged_at}"),
        ("Loss reduction", fmt_number(s.loss_reduction_pct) + ("%" if np.isfinite(s.loss_reduction_pct) else "")),
        ("Verdict", s.verdict.reason),
    ]
    head = (f"{run.landscape}, method {run.method}, tau {fmt_number(run.tau)}, "
            f"lr {fmt_number(run.lr)}, {run.steps} steps, {run.optimizer}")
    width = max(len(k) for k, _ in rows)
    return "\n".join([head] + [f"  {k:<{width}}  {v}" for k, v in rows])


def _run_simulate(args: argparse.Namespace) -> int:
    run = simulate(args.landscape, args.method, args.tau, args.lr, args.steps, args.optimizer,
                   args.start, args.seed)
    if args.json:
        print(json.dumps(run.summary.to_dict(), indent=2))
    else:
        print(simulate_table(run))
    return 0


# --- sweep -----------------------------------------------------------------------------


def _add_sweep(sub: Any) -> None:
    p = sub.add_parser("sweep", help="print a tau x learning-rate grid of outcomes",
                       description="Run every (tau, lr) pair at once and print the outcome grid.")
    _common(p, 500)
    p.add_argument("--taus", type=_number_list("taus"), default=_number_list("taus")(DEFAULT_TAUS),
                   help=f"comma-separated thresholds (default: {DEFAULT_TAUS})")
    p.add_argument("--lrs", type=_number_list("lrs"), default=_number_list("lrs")(DEFAULT_LRS),
                   help=f"comma-separated learning rates (default: {DEFAULT_LRS})")
    p.set_defaults(run=_run_sweep)


def sweep_table(grid: Any) -> str:
    """The outcome grid: a row per tau (largest on top), a column per learning rate."""
    cols = [fmt_number(v) for v in grid.lrs]
    width = max(6, *(len(c) for c in cols))
    rows_label = [fmt_number(v) for v in grid.taus]
    corner = "tau \\ lr"
    lw = max(len(corner), *(len(r) for r in rows_label))
    lines = [f"{grid.landscape}, method {grid.method}, {grid.optimizer}, {grid.steps} steps "
             f"(rows: tau, columns: learning rate)",
             f"{corner:>{lw}}  " + " ".join(f"{c:>{width}}" for c in cols)]
    for i in range(len(grid.taus) - 1, -1, -1):
        cells = " ".join(f"{OUTCOME_LETTERS[str(c)]:>{width}}" for c in grid.codes[i])
        lines.append(f"{rows_label[i]:>{lw}}  {cells}")
    counts = grid.counts()
    lines.append("")
    lines.append("  ".join(f"{OUTCOME_LETTERS[c]} {c} ({counts[c]})" for c in OUTCOMES))
    return "\n".join(lines)


def _run_sweep(args: argparse.Namespace) -> int:
    grid = sweep(args.landscape, args.method, taus=args.taus, lrs=args.lrs, steps=args.steps,
                 optimizer=args.optimizer, seed=args.seed)
    if args.json:
        print(json.dumps(grid.to_dict(), indent=2))
    else:
        print(sweep_table(grid))
    return 0


# --- landscapes ------------------------------------------------------------------------


def _add_landscapes(sub: Any) -> None:
    p = sub.add_parser("landscapes", help="list the loss landscapes",
                       description="List the loss landscapes the simulator knows.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_run_landscapes)


def _run_landscapes(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps([land.to_dict() for land in LANDSCAPES.values()], indent=2))
        return 0
    w = max(len(n) for n in LANDSCAPES)
    for name, land in LANDSCAPES.items():
        a, b = land.axis_names
        sx, sy = (fmt_number(v) for v in land.start)
        mx, my = (fmt_number(v) for v in land.minimum)
        print(f"{name:<{w}}  {land.title}: {land.description}")
        print(f"{'':<{w}}  parameters ({a}, {b}), start ({sx}, {sy}), minimum ({mx}, {my})")
    return 0


# --- suggest ---------------------------------------------------------------------------


def _add_suggest(sub: Any) -> None:
    from gradclip.logfiles import COMMAND_FILE_LIMIT
    p = sub.add_parser("suggest", help="suggest clipping thresholds from a log of gradient norms",
                       description="Read a log of gradient norms and print thresholds by percentile, "
                                   "AutoClip and ZClip, with how many logged steps each would clip: the "
                                   "norm-log analyser's page, in a terminal. Recognised without flags: a "
                                   "Hugging Face trainer_state.json, a Lightning metrics.csv, a Weights & "
                                   "Biases CSV export, TensorBoard's CSV or JSON download, a TensorBoard "
                                   "event file or folder of them (with the tensorboard package), plain "
                                   "CSV or JSON (what gradclip.NormTracker saves).")
    p.add_argument("file", help=f"the log (text files at most {size_text(COMMAND_FILE_LIMIT)}), or a TensorBoard "
                                "event file or log folder")
    p.add_argument("--run", dest="pick", metavar="RUN",
                   help="for a W&B export of several runs: the run's number (from 1) or name")
    p.add_argument("--zclip-skip-update", action="store_true",
                   help="replay ZClip with skip_update_on_spike (as its reference code's option): a "
                        "spike's norm does not enter the running mean and variance")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_run_suggest)


def _read_log(path: str) -> str:
    """The text of a norm log, read with a byte limit (``COMMAND_FILE_LIMIT``): a device such
    as /dev/zero, or a huge file, is refused after that many bytes instead of filling memory."""
    from gradclip.logfiles import COMMAND_FILE_LIMIT as limit
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"gradclip suggest: cannot read {path!r}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"gradclip suggest: {path}: the file is larger than {size_text(limit)}; "
                         f"files over {size_text(limit)} are not read (keep every k-th step)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"gradclip suggest: {path}: this is not a text file (byte {exc.start + 1} "
                         "is not UTF-8); expected CSV or JSON text") from None


def _is_tensorboard(path: str) -> bool:
    """A log folder, or a file whose first bytes are a TensorBoard event record."""
    if os.path.isdir(path):
        return True
    if not os.path.isfile(path):                     # a pipe or device: read it once, as text
        return False
    from gradclip.integrations.tensorboard import is_event_file   # pure Python: no tensorboard needed
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False                                 # _read_log words the error
    return is_event_file(head)


def _tensorboard_log(path: str):
    from gradclip.logfiles import TB_EVENTS, log_from_series
    try:
        from gradclip.integrations.tensorboard import read_scalars
        scalars = read_scalars(path)
    except ImportError:
        raise UsageError(f"gradclip suggest: {path}: reading a {TB_EVENTS} needs the tensorboard package "
                         "(pip install tensorboard, or pip install -e \".[tensorboard]\" in a gradclip "
                         "checkout); or download the chart as CSV from TensorBoard") from None
    return log_from_series(TB_EVENTS, scalars)


def _run_suggest(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from gradclip.logfiles import read_norm_log
    from gradclip.tracker import RULE_LABELS, analyse_norms, suggestion_text
    run = int(args.pick) if args.pick and args.pick.isdigit() else args.pick
    try:
        log = _tensorboard_log(args.file) if _is_tensorboard(args.file) else read_norm_log(_read_log(args.file), run)
        from gradclip.zclip import ZClip
        analysis = analyse_norms(log.norms.values, zclip=ZClip(skip_update_on_spike=args.zclip_skip_update))
    except ValueError as exc:
        raise UsageError(f"gradclip suggest: {args.file}: {exc}") from None
    s = analysis.summary
    logged = int(np.isfinite(log.norms.values).sum())
    if args.json:
        def strict(d: dict) -> dict:      # strict JSON: non-finite numbers as text, as simulate does
            return {k: (str(v) if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}
        print(json.dumps({"kind": log.kind, "series": log.norms.key, "run": log.run, "runs": list(log.runs),
                          "logged_steps": logged, "summary": strict(asdict(s)),
                          "suggestions": [strict(asdict(g)) for g in analysis.suggestions]}, indent=2))
        return 0
    print(f"{args.file}: read as a {log.kind}: {log.norms.describe()}")
    if log.runs:
        print("  runs: " + " · ".join(f"{i}: {r}{' (shown)' if r == log.run else ''}"
                                      for i, r in enumerate(log.runs, 1)))
    if s.nonfinite:
        print(f"  {s.nonfinite} not finite (first at {log.norms.step_key} {log.norms.steps[s.first_nonfinite]:g})")
    print(f"  median {fmt_number(s.median)}, 90th percentile {fmt_number(s.p90)}, "
          f"99th percentile {fmt_number(s.p99)}, largest {fmt_number(s.max)}")
    for g in analysis.suggestions:
        print(f"  {RULE_LABELS[g.rule] + ':':<19} {suggestion_text(g, logged)}")
    return 0


# --- dp-sgd ----------------------------------------------------------------------------


def _add_dp_sgd(sub: Any) -> None:
    p = sub.add_parser("dp-sgd", help="train the MLP with DP-SGD at given clip norms and noise",
                       description="Train gradclip's MLP on the regression task with DP-SGD (per-example "
                                   "clipping to C, Gaussian noise sigma*C on the sum), beside non-private SGD.")
    p.add_argument("--clip", type=_number_list("clips", "> 0"), default=[100.0, 1000.0, 10000.0],
                   help="comma-separated clip norms C, each > 0 (default: 100,1000,10000)")
    p.add_argument("--noise", type=_number("noise", ">= 0"), default=1.0,
                   help="the noise multiplier sigma, >= 0 (default: 1)")
    p.add_argument("--lr", type=_number("lr", "> 0"), default=0.003, help="SGD learning rate, > 0 (default: 0.003)")
    p.add_argument("--steps", type=_whole("steps", "1 to 10000"), default=60,
                   help="training steps, 1 to 10000 (default: 60)")
    p.add_argument("--batch-size", type=_whole("batch-size", "1 to 1000"), default=64,
                   help="examples per batch, 1 to 1000 (default: 64)")
    p.add_argument("--seed", type=_whole("seed", ">= 0"), default=0,
                   help="weights, batches and noise, >= 0 (default: 0)")
    p.set_defaults(run=_run_dp_sgd)


def _run_dp_sgd(args: argparse.Namespace) -> int:
    from gradclip.checks import integer, real
    from gradclip.dp import dp_sgd_train
    from gradclip.tasks import RegressionTask

    clips = [real(c, "clip", 0, lo_open=True) for c in args.clip]
    sigma = real(args.noise, "noise", 0)
    lr = real(args.lr, "lr", 0, lo_open=True)
    steps = integer(args.steps, "steps", 1, 10_000)
    batch = integer(args.batch_size, "batch_size", 1, 1000)
    seed = integer(args.seed, "seed", 0)
    if len(clips) > 16:
        raise ValueError(f"clip must list at most 16 clip norms, got {len(clips)}")
    out = dp_sgd_train([np.inf, *clips], [0.0] + [sigma] * len(clips), lr=lr, steps=steps, batch_size=batch,
                       seed=seed)
    final = out.final_loss(min(10, steps)) / RegressionTask().baseline_loss
    print(f"DP-SGD on the MLP, regression task: {steps} steps, batch {batch}, lr {fmt_number(lr)}, "
          f"seed {seed}; loss = mean of the last {min(10, steps)} steps / Var(y)")
    print(f"{'C':>10} {'sigma':>6} {'loss':>10} {'median norm':>12} {'clipped':>8}")
    for i, c in enumerate([None, *clips]):
        label = "no DP" if c is None else fmt_number(c)
        share = f"{100 * np.nanmean(out.clipped_fraction[i]):.0f}%"
        print(f"{label:>10} {fmt_number(out.noise_multipliers[i]):>6} {fmt_number(final[i]):>10} "
              f"{fmt_number(float(np.nanmedian(out.median_norm[i]))):>12} {share:>8}")
    return 0


# --- shards ----------------------------------------------------------------------------


def _add_shards(sub: Any) -> None:
    p = sub.add_parser("shards", help="combine the ranks' local gradient norms into the global one",
                       description="Combine each rank's local gradient norm (FSDP, ZeRO, tensor parallel) "
                                   "into the global norm, and print the factor every rank must clip by.")
    p.add_argument("norms", type=_number("each local norm", "a number >= 0"), nargs="+", metavar="NORM",
                   help="each rank's local norm")
    p.add_argument("--tau", type=_number("tau", "> 0"), default=1.0, help="the clipping threshold, > 0 (default: 1)")
    p.add_argument("--norm-type", type=_number("norm-type", "> 0, or inf"), default=2.0,
                   help="p of the p-norm, > 0, or inf (default: 2)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_run_shards)


def _run_shards(args: argparse.Namespace) -> int:
    from gradclip.checks import real
    from gradclip.sharded import clip_sharded

    tau = real(args.tau, "tau", lo=0, lo_open=True, finite=False)
    norms = np.array(args.norms)
    if np.any(norms < 0) or np.any(np.isnan(norms)):
        raise UsageError(f"each local norm must be a number >= 0, got {args.norms}")
    # A rank whose local norm is n_r contributes as a one-entry piece of value n_r.
    out = clip_sharded([[np.array([n])] for n in norms], tau, args.norm_type)
    above = int(np.sum(norms > tau))
    if args.json:
        print(json.dumps({"global_norm": out.total_norm, "factor": out.coefficient,
                          "ranks": len(norms), "ranks_above_tau": above}, indent=2))
        return 0
    rows = [("Ranks", str(len(norms))), ("Global norm", fmt_number(out.total_norm)),
            ("Factor for every rank", fmt_number(out.coefficient)),
            ("Ranks above tau on their own", f"{above} of {len(norms)}")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    return 0


# --- entry point -----------------------------------------------------------------------

SUBCOMMANDS: list[Callable[[Any], None]] = [_add_simulate, _add_sweep, _add_landscapes, _add_suggest, _add_dp_sgd, _add_shards]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`SUBCOMMANDS` registered."""
    parser = _Parser(prog="gradclip",
                     description="Gradient clipping, explained and explorable.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command",
                                parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for bad input)."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except (UsageError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not message.startswith("gradclip"):
            message = f"gradclip: error: {message}"
        print(message, file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Norm-log analyser speed on files of a million rows, for every kind of text file it reads.

Prints medians (it asserts nothing; ``make bench`` runs it). Each input is built from the
layout of the real file in ``tests/fixtures/normlogs/`` (its header, keys, line endings and
rows without a norm), scaled to ``--rows`` rows (default 1,000,000, ``MAX_ROWS``):

* Hugging Face ``trainer_state.json`` (``indent=2``, keys sorted, as the Trainer writes it;
  an evaluation entry every 20 logged steps), Lightning ``metrics.csv`` (its columns, a
  validation row with empty cells every 20 rows), a W&B export (two runs, ``__MIN``/``__MAX``),
  TensorBoard's CSV (CRLF) and JSON downloads, and the plain ``step,grad_norm`` CSV that
  :class:`gradclip.NormTracker` saves.

For each: reading (``read_norm_log``) and the analyser demo end to end (reading, analysis,
figures, JSON: ``run_json("norm_analyser")``, what the page's worker runs), in CPython.

With ``--baseline DIR`` (a checkout of an earlier commit, e.g. a ``git worktree``), the same
end to end is timed for that commit's analyser in a subprocess, on the plain CSV (the file every
version reads), interleaved with this one's. Goal from issue 16: every format within today's
analyser speed, i.e. end to end at most the baseline's on the plain CSV (ratio <= 1.00: met).

Usage: ``python bench/normlogs.py [--rows N] [--repeats N] [--baseline DIR]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOGS = ROOT / "tests" / "fixtures" / "normlogs"


def norms(rows: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.exp(0.3 * rng.standard_normal(rows)) * (0.5 + 2.0 * np.exp(-np.arange(rows) / (rows / 5)))
    x[rng.choice(rows, rows // 1000, replace=False)] *= 30.0
    return x


def formats(rows: int) -> dict[str, str]:
    """Each kind of file with ``rows`` rows (log entries), in the real file's layout: in the
    Hugging Face and Lightning files every 20th is an evaluation row, without a norm."""
    x = norms(rows).tolist()
    loss = (np.asarray(x) * 0.7 + 1.0).tolist()
    out = {"plain CSV (NormTracker)": "step,grad_norm\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(x))}

    state = json.loads((LOGS / "hf_trainer_state.json").read_text())
    train = next(e for e in state["log_history"] if "grad_norm" in e)
    evaluation = next(e for e in state["log_history"] if "eval_loss" in e)
    history = [{**evaluation, "step": 5 * i} if i % 20 == 19 else
               {**train, "grad_norm": v, "loss": loss[i], "step": 5 * (i + 1), "epoch": i / 1000}
               for i, v in enumerate(x)]
    state["log_history"] = history
    out["Hugging Face trainer_state.json"] = json.dumps(state, indent=2, sort_keys=True)

    header = (LOGS / "lightning_metrics.csv").read_text().splitlines()[0].split(",")
    total, step, tl, vl = (header.index(c) for c in ("grad_2.0_norm_total", "step", "train_loss", "val_loss"))
    lines = [",".join(header)]
    for i, v in enumerate(x):
        if i % 20 == 19:                          # a validation row: only epoch, step and val_loss
            row = [""] * len(header)
            row[0], row[step], row[vl] = "0", str(3 * i - 1), repr(loss[i])
        else:
            row = [repr(v / 2)] * len(header)
            row[0], row[total], row[step], row[tl], row[vl] = "0", repr(v), str(3 * i + 2), repr(loss[i]), ""
        lines.append(",".join(row))
    out["Lightning metrics.csv"] = "\n".join(lines) + "\n"

    cols = [f'"{r} - train/grad_norm{a}"' for r in ("calm-sky-2", "bold-sun-3") for a in ("", "__MIN", "__MAX")]
    out["W&B CSV export"] = '"Step",' + ",".join(cols) + "\n" + "".join(
        f'"{i}",' + ",".join([f'"{v!r}"'] * 6) + "\n" for i, v in enumerate(x))

    wall = 1.7965e9
    out["TensorBoard CSV download"] = "Wall time,Step,Value\r\n" + "".join(
        f"{wall + i * 0.01!r},{2 * i},{v!r}\r\n" for i, v in enumerate(x))
    out["TensorBoard JSON download"] = json.dumps([[wall + i * 0.01, 2 * i, v] for i, v in enumerate(x)])
    return out


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


BASELINE_SNIPPET = """
import sys, time, json
sys.path.insert(0, sys.argv[1])
from gradclip.web import run_json
run_json("norm_analyser", json.dumps({"file": "1\\n2\\n"}))      # imports, before the timing
params = json.dumps({"file": open(sys.argv[2]).read()})
t0 = time.perf_counter(); run_json("norm_analyser", params); print(time.perf_counter() - t0)
"""


def baseline_time(directory: str, csv_path: str) -> float:
    done = subprocess.run([sys.executable, "-c", BASELINE_SNIPPET, directory, csv_path],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", help="a checkout of an earlier commit, timed on the plain CSV")
    args = ap.parse_args()

    from gradclip.logfiles import read_norm_log
    from gradclip.web import run_json

    files = formats(args.rows)
    run_json("norm_analyser", json.dumps({"file": "1\n2\n"}))      # imports, before any timing
    plain = files["plain CSV (NormTracker)"]
    base: list[float] = []
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write(plain)
    print(f"Norm-log analyser, files of {args.rows:,} rows, CPython (median of {args.repeats}):")
    results = {}
    for name, text in files.items():
        if args.baseline:
            base.append(baseline_time(args.baseline, f.name))
        read = median_time(lambda: read_norm_log(text), args.repeats)
        params = json.dumps({"file": text})
        whole = median_time(lambda: run_json("norm_analyser", params), args.repeats)
        results[name] = whole
        print(f"  {name:<32} {len(text) / 2**20:6.0f} MiB   read {read:5.2f} s   analyser end to end {whole:5.2f} s")
    Path(f.name).unlink()
    if not base:
        return
    ref = statistics.median(base)
    print(f"Baseline ({args.baseline}), analyser end to end on the plain CSV, median of {len(base)} "
          f"(interleaved with the above): {ref:.2f} s")
    for name, whole in results.items():
        ratio = whole / ref
        print(f"  {name:<32} {ratio:5.2f}x the baseline   {'met' if ratio <= 1.0 else 'missed'}")


if __name__ == "__main__":
    main()

"""The rule-testing demos of the practical notes, and the claims the Practice pages make about them.

``gradclip/demos/practice_rules.py`` trains small networks to test rules of thumb. Each demo
must run at its defaults and at the ends of its ranges (strict JSON, as the worker sends it),
report what :func:`gradclip.train_runs` computes, and keep saying what the page's prose and
predictions say it shows: if a change in the package flipped a verdict, the page would be wrong,
so these tests fail first. The code cells of the Practice pages are run here too, for the
claims that their prose makes about their printed output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import gradclip
from gradclip import demos
from gradclip.demos import practice_rules as pr
from gradclip.train import RunSpec, train_runs
from test_practice_demos import run, value   # the same helpers: a demo at settings, a result's value

ROOT = Path(__file__).resolve().parents[2]
RULE_DEMOS = ["clip_every_step", "threshold_rules"]




@pytest.fixture(scope="module")
def every() -> dict:
    return run("clip_every_step")


@pytest.fixture(scope="module")
def rules() -> dict:
    return run("threshold_rules")


# --------------------------------------------------------------------------- every demo runs


def test_the_module_registers_exactly_these_demos_and_the_table_says_so():
    demos._load_all()
    mine = {n for n, s in demos.REGISTRY.items() if s.compute.__module__ == pr.__name__}
    assert mine == set(RULE_DEMOS) == set(demos.MODULES["practice_rules"])


@pytest.mark.parametrize("name", RULE_DEMOS)
def test_each_demo_runs_at_its_defaults_with_every_declared_figure_and_result(name, every, rules):
    spec = demos.REGISTRY[name]
    out = {"clip_every_step": every, "threshold_rules": rules}[name]
    json.dumps(out, allow_nan=False)
    assert set(out["figures"]) == {f for f, _ in spec.figures}
    assert set(out["results"]) == {r for r, _ in spec.results}
    assert out["description"]
    for fig in out["figures"].values():
        assert fig["items"] and (fig["alt"] or fig["title"])


@pytest.mark.parametrize("end", ["min", "max"])
@pytest.mark.parametrize("name", RULE_DEMOS)
def test_each_demo_runs_at_the_ends_of_its_ranges(name, end):
    spec = demos.REGISTRY[name]
    params = {p.name: (p.min if end == "min" else p.max) for p in spec.params
              if p.kind in ("float", "int") and p.min is not None}
    out = run(name, **params)
    json.dumps(out, allow_nan=False)
    assert all(r["text"] for r in out["results"].values())


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_threshold_rules_runs_with_every_optimizer_and_model(optimizer):
    out = run("threshold_rules", optimizer=optimizer, model="rnn1")
    json.dumps(out, allow_nan=False)
    assert float(value(out, "best_high")) in pr.RULE_TAUS


# --------------------------------------------------------------------------- the numbers are the package's


def test_clip_every_step_reports_what_train_runs_computes(every):
    for opt, lr in (("sgd", 0.003), ("adam", 0.03)):
        plain, clipped = train_runs("mlp", "regression", [RunSpec("none", 1.0, lr), RunSpec("norm", 1.0, lr)],
                                    steps=pr.EVERY_STEPS, optimizer=opt, seed=0)
        assert float(value(every, f"{opt}_final_none")) == plain.summary.final_loss
        assert float(value(every, f"{opt}_final_clip")) == clipped.summary.final_loss
        assert int(value(every, f"{opt}_clips")) == clipped.summary.clip_events
        ratio = np.median(clipped.update_norm) / np.median(plain.update_norm)
        assert float(value(every, f"{opt}_ratio")) == pytest.approx(ratio)
        assert float(value(every, f"{opt}_norm")) == pytest.approx(np.median(plain.grad_norm))


def test_step_ratio_ignores_the_steps_after_a_run_blew_up():
    a, b = train_runs("mlp", "regression", [RunSpec("norm", 1.0, 0.03), RunSpec("none", 1.0, 0.03)],
                      steps=30, optimizer="sgd")
    assert b.summary.diverged                       # plain SGD at 0.03 blows up on this MLP
    r = pr.step_ratio(a, b)
    assert np.isfinite(r) and r < 1
    assert pr.ratio_text(r).endswith("shorter")


def test_threshold_rules_reports_what_the_sweep_computes(rules):
    logs = pr.rule_sweep("rnn3", "sgd", 0.01, 0)
    finals = [l.summary.final_loss for l in logs[1:]]
    best = int(np.argmin(finals))
    assert float(value(rules, "best_low")) == pr.RULE_TAUS[best]
    assert float(value(rules, "plain_low")) == logs[0].summary.final_loss
    i = pr.RULE_TAUS.index(1.0)
    assert float(value(rules, "tau1_low")) == logs[1 + i].summary.clip_fraction


def test_sweep_summary_ranks_and_streaks():
    logs = pr.rule_sweep("rnn1", "sgd", 0.05, 1)
    s = pr.summarise_sweep(logs)
    finite = np.where(np.isfinite(s.final), s.final, np.inf)
    assert s.best == int(np.argmin(finite))
    assert 1 <= s.range_rank <= len(pr.RULE_TAUS)
    assert pr.RNN_RANGE[0] <= pr.RULE_TAUS[s.range_best] <= pr.RNN_RANGE[1]
    for log, streak in zip(logs[1:], s.streak):
        assert streak == gradclip.demos.practice.longest_streak(log.grad_norm > pr.HIGH_NORM)


# --------------------------------------------------------------------------- what the page says


def test_every_step_prediction_sgd_cut_adam_not(every):
    """practical notes: both clipped runs clip every step; SGD's updates are much shorter and it
    barely trains; Adam's updates are longer and it ends lower than unclipped."""
    assert value(every, "sgd_clips") == value(every, "adam_clips") == str(pr.EVERY_STEPS)
    assert float(value(every, "sgd_ratio")) < 0.2
    assert float(value(every, "sgd_final_clip")) > 100 * float(value(every, "sgd_final_none"))
    assert float(value(every, "adam_ratio")) > 1.1
    assert float(value(every, "adam_final_clip")) < float(value(every, "adam_final_none")) / 5
    # "peak at {adam_max} within the first tenth of the run"
    plain = train_runs("mlp", "regression", [RunSpec("none", 1.0, 0.03)], steps=pr.EVERY_STEPS,
                       optimizer="adam")[0]
    assert int(np.argmax(plain.grad_norm)) < pr.EVERY_STEPS // 10
    assert float(value(every, "adam_max")) > 10 * float(value(every, "adam_norm"))


def test_rules_of_thumb_verdicts_of_the_page(rules):
    """practical notes, 'Four rules of thumb, tested' at the demo's defaults."""
    assert value(rules, "plain_high").startswith("step")            # unclipped blows up at 0.05
    assert float(value(rules, "plain_low")) < 0.2                    # ... trains at 0.01
    lo, hi = pr.RNN_RANGE
    assert lo <= float(value(rules, "best_high")) <= hi              # the range holds at 0.05
    assert float(value(rules, "best_low")) > hi                      # ... not at 0.01
    assert int(value(rules, "range_low")) >= 4                       # "the range holds the worst choices"
    assert float(value(rules, "tau1_high")) >= pr.NEARLY_ALL          # lower lr, no lower clip rate
    assert float(value(rules, "tau1_low")) >= float(value(rules, "tau1_high"))
    assert int(value(rules, "streak_fired")) >= 2
    assert int(value(rules, "streak_helped")) == 0


def test_rule_three_fires_only_where_tau_is_low_already():
    """'In every one it was the threshold that was low already': streaks only at tau <= 0.5."""
    for lr in (0.05, 0.01):
        s = pr.summarise_sweep(pr.rule_sweep("rnn3", "sgd", lr, 0))
        fired = [pr.RULE_TAUS[i] for i in np.flatnonzero(s.streak >= pr.HIGH_STREAK)]
        assert all(t <= pr.RNN_RANGE[1] for t in fired)


def test_with_the_higher_learning_rate_the_best_run_clips_nearly_every_step(rules):
    s = pr.summarise_sweep(pr.rule_sweep("rnn3", "sgd", 0.05, 0))
    assert s.share[s.best] >= pr.NEARLY_ALL


def test_with_adam_the_thresholds_end_closer_together_at_the_lower_rate():
    sgd = pr.summarise_sweep(pr.rule_sweep("rnn3", "sgd", 0.01, 0))
    adam = pr.summarise_sweep(pr.rule_sweep("rnn3", "adam", 0.01, 0))
    spread = lambda s: np.ptp(s.final[np.isfinite(s.final)])   # noqa: E731
    assert spread(adam) < spread(sgd) / 2
    # "0.05 is too large a learning rate for Adam on this network, clipped or not"
    fast = pr.summarise_sweep(pr.rule_sweep("rnn3", "adam", 0.05, 0))
    assert fast.final.min() > adam.final.max()
    assert fast.plain.summary.final_loss > adam.plain.summary.final_loss


def test_raising_tau_above_every_norm_removes_the_difference(every):
    out = run("clip_every_step", tau=1e4)       # above the largest norm of all four runs
    assert value(out, "sgd_clips") == value(out, "adam_clips") == "0"
    assert value(out, "sgd_final_clip") == value(out, "sgd_final_none")
    assert value(out, "adam_final_clip") == value(out, "adam_final_none")


def _cells(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def test_the_tau_rule_cell_says_what_its_prediction_explains(capsys):
    """practical notes: under Adam the 10th percentile ends lowest and the 95th is close to no
    clipping; under SGD the low thresholds clip every step and barely train, the 95th ends close
    to unclipped."""
    (cell,) = _cells("guide/practical-notes.md")
    exec(cell, {})
    lines = capsys.readouterr().out.splitlines()
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for line in lines:
        if not line.startswith(" "):
            opt = line.split(",")[0]
            table[opt] = {}
        elif not line.split()[0] == "tau":
            name, loss, share = line.split()
            table[opt][name] = (float(loss), float(share.rstrip("%")))
    adam, sgd = table["adam"], table["sgd"]
    assert min(adam, key=lambda k: adam[k][0]) == "p10"
    assert adam["p95"][0] > 0.5 * adam["none"][0]
    assert sgd["p10"][1] == sgd["p50"][1] == 100
    assert sgd["p10"][0] > 100 * sgd["none"][0]
    assert sgd["p95"][0] < 2 * sgd["none"][0] and sgd["p95"][1] <= 15


def test_the_simulator_course_cell_matches_the_five_experiments(capsys):
    course, exp4 = _cells("guide/using-the-simulator.md")
    exec(course, {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["run", "verdict", "clips", "last"]
    rows = {line[:9].strip(): line[9:].split() for line in out[1:]}
    assert rows["1 none"][:2] == ["diverged", "0"]
    assert rows["1 norm"][0] == "healthy"
    assert rows["1 norm"][1] == rows["1 norm"][2]                      # a stretch at the start, then never
    assert rows["2 tau=.1"][:2] == ["over_clipped", "200"]
    assert rows["3 lr=1"][0] == "oscillating"
    assert rows["5 none"][0] == "spiked" and rows["5 norm"][0] == "healthy"
    ns = {"np": np, "gradclip": gradclip}
    exec(exp4, ns)
    g = ns["g"]
    assert g[0] > 100 * abs(g[1]) > 1                                  # "almost straight across"
    assert np.array_equal(gradclip.clip_by_value(g, 1.0), [1.0, 1.0])  # "a diagonal step"

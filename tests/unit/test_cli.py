"""The `gradclip` command line: tables, JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradclip import cli
from gradclip.landscapes import LANDSCAPES

ROOT = Path(__file__).resolve().parents[2]   # the repository
SUMMARY_FIELDS = ["final_loss", "max_raw_norm", "clip_events", "diverged", "diverged_at",
                  "loss_reduction_pct", "verdict"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_prints_the_six_results_and_the_verdict(capsys):
    code, out, err = run_cli(capsys, "simulate")
    assert code == 0 and err == ""
    for label in ("Final loss", "Max gradient norm (before clip)", "Clip events", "Divergence",
                  "Loss reduction", "Verdict"):
        assert label in out
    assert "healthy: the run reached the valley floor" in out
    assert "cliff, method norm, tau 1, lr 0.05, 200 steps, sgd" in out


def test_simulate_without_clipping_reports_the_step_it_diverged_at(capsys):
    code, out, _ = run_cli(capsys, "simulate", "--method", "none")
    assert code == 0
    assert "yes, at step 1" in out and "diverged: lower the learning rate" in out


def test_simulate_json_has_exactly_the_summary_fields(capsys):
    code, out, _ = run_cli(capsys, "simulate", "--method", "none", "--json")
    data = json.loads(out)
    assert code == 0 and list(data) == SUMMARY_FIELDS
    assert data["final_loss"] == "inf" and data["diverged_at"] == 1
    assert data["verdict"]["code"] == "diverged"


def test_simulate_passes_every_option_through(capsys):
    code, out, _ = run_cli(capsys, "simulate", "--landscape", "ravine", "--method", "value",
                           "--tau", "0.5", "--lr", "0.02", "--steps", "30", "--optimizer",
                           "momentum", "--start", "-3", "0.5", "--json")
    from gradclip.simulate import simulate

    expected = simulate("ravine", "value", 0.5, 0.02, 30, "momentum", (-3.0, 0.5)).summary
    assert code == 0 and json.loads(out) == json.loads(json.dumps(expected.to_dict()))


def test_sweep_prints_a_grid_with_a_row_per_tau_and_a_legend(capsys):
    code, out, _ = run_cli(capsys, "sweep", "--taus", "0.1,1,100", "--lrs", "0.01,0.05,1",
                           "--steps", "200")
    assert code == 0
    lines = out.splitlines()
    grid = lines[2:5]
    assert [row.split()[0] for row in grid] == ["100", "1", "0.1"]   # largest tau on top
    assert grid[0].split()[1:] == [".", "O", "D"]                   # tau 100
    assert grid[1].split()[1:] == ["C", ".", "O"]                   # tau 1
    assert grid[2].split()[1:] == ["C", "C", "."]                   # tau 0.1
    assert "D diverged (1)" in lines[-1] and "C over_clipped (3)" in lines[-1]


def test_sweep_json_has_the_codes_grid(capsys):
    code, out, _ = run_cli(capsys, "sweep", "--taus", "0.1,1", "--lrs", "0.05", "--steps", "200",
                           "--json")
    data = json.loads(out)
    assert code == 0 and data["codes"] == [["over_clipped"], ["healthy"]]


def test_landscapes_lists_every_landscape(capsys):
    code, out, _ = run_cli(capsys, "landscapes")
    assert code == 0
    for name in LANDSCAPES:
        assert any(line.startswith(name) for line in out.splitlines())
    code, out, _ = run_cli(capsys, "landscapes", "--json")
    assert [d["name"] for d in json.loads(out)] == list(LANDSCAPES)


@pytest.mark.parametrize("args, expected", [
    (["simulate", "--tau", "-1"], "tau must be a number > 0 and <= 1e+06, got -1.0"),
    (["simulate", "--tau", "0"], "tau must be a number > 0"),
    (["simulate", "--tau", "abc"], "'abc' is not a number; tau must be a number > 0"),
    (["simulate", "--lr", "nan"], "lr must be a number > 0 and <= 10, got nan"),
    (["simulate", "--steps", "0"], "steps must be an integer from 1 to 2000, got 0"),
    (["simulate", "--steps", "5000"], "steps must be an integer from 1 to 2000, got 5000"),
    (["simulate", "--steps", "1.5"], "'1.5' is not an integer; steps must be"),
    (["simulate", "--method", "clamp"], "invalid choice: 'clamp' (choose from 'none', 'norm'"),
    (["simulate", "--landscape", "moon"], "invalid choice: 'moon' (choose from 'cliff'"),
    (["simulate", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["simulate", "--start", "100", "0"], "start must be a point (x, y) inside the cliff bound"),
    (["sweep", "--taus", "1,x"], "'x' is not a number; tau must be a number > 0"),
    (["sweep", "--lrs", "0.1,-1"], "lrs must hold numbers > 0 and <= 10; lrs[1] is -1.0"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_bad_input_is_one_line_naming_the_value_and_range_with_status_2(capsys, args, expected):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("gradclip")
    assert expected in err


def test_a_subcommand_is_one_function_on_the_registry(capsys, monkeypatch):
    def add_echo(sub):
        p = sub.add_parser("echo")
        p.add_argument("word")
        p.set_defaults(run=lambda args: print(args.word) or 0)

    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, add_echo])
    assert run_cli(capsys, "echo", "hello")[:2] == (0, "hello\n")


def test_python_dash_m_gradclip_works_and_bad_input_has_no_traceback():
    ok = subprocess.run([sys.executable, "-m", "gradclip", "simulate", "--json"], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["verdict"]["code"] == "healthy"
    bad = subprocess.run([sys.executable, "-m", "gradclip", "simulate", "--lr", "-3"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "gradclip: error: lr must be a number > 0 and <= 10, got -3.0\n"


# --- every option with bad values: exit 2, one line, no traceback (issue 17) ----------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

BAD_VALUES = ["nan", "inf", "-inf", "0", "-1", "1e400", "-1e400", "abc", "", " ", "1.5", "True",
              "1+2j", "0x10", "None", "[1]", "1,", ",", "1e-400", "9" * 400, "é", "\N{MINUS SIGN}1"]
OPTIONS = [("simulate", "--tau"), ("simulate", "--lr"), ("simulate", "--steps"), ("simulate", "--seed"),
           ("simulate", "--landscape"), ("simulate", "--method"), ("simulate", "--optimizer"),
           ("sweep", "--taus"), ("sweep", "--lrs"), ("sweep", "--steps"), ("sweep", "--seed")]


def assert_clean_exit(capsys, argv):
    """Exit 0 (a value that happens to be valid) or exit 2 with one line and no traceback."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    if code == 0:
        assert err == "", argv
        return
    assert code == 2, argv
    assert out == "" and err.count("\n") == 1 and err.startswith("gradclip"), (argv, err)
    assert "Traceback" not in err


@pytest.mark.parametrize("command, option", OPTIONS)
@pytest.mark.parametrize("value", BAD_VALUES)
def test_every_option_answers_a_bad_value_with_one_line_and_status_2(capsys, command, option, value):
    extra = ["--steps", "5"] if option != "--steps" else []
    assert_clean_exit(capsys, [command, option, value, *extra])


@pytest.mark.parametrize("start", [["nan", "0"], ["inf", "0"], ["1e400", "1"], ["a", "b"], ["0"]])
def test_a_bad_start_point_is_one_line(capsys, start):
    assert_clean_exit(capsys, ["simulate", "--start", *start])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(OPTIONS), value=st.text(max_size=12))
def test_generated_option_values_never_show_a_traceback(capsys, option, value):
    capsys.readouterr()          # the fixture lives across examples: start each from nothing
    command, flag = option
    extra = ["--steps", "5"] if flag != "--steps" else []
    assert_clean_exit(capsys, [command, f"{flag}={value}", *extra])

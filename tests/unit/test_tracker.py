"""The norm tracker, the log reader and the `gradclip suggest` command.

Every bad file gets a ValueError that names the problem and, where there is one, the first
bad line (1-based, counting blank and comment lines, as an editor does).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradclip.adaptive import suggest_thresholds
from gradclip.cli import main
from gradclip.tracker import MAX_ROWS, NormTracker, analyse_norms, parse_norm_log


def test_tracker_round_trips_through_csv_exactly(tmp_path):
    t = NormTracker()
    values = [0.1 + 1 / 3, 2.0, float("inf"), float("nan"), 1e-300]
    for v in values:
        t.record(np.float32(v) if v == 2.0 else v)
    path = tmp_path / "norms.csv"
    t.save(str(path))
    back = parse_norm_log(path.read_text())
    np.testing.assert_array_equal(back, np.array(t.values))
    assert t.csv_text().splitlines()[0] == "step,grad_norm"


def test_tracker_accepts_anything_with_item_and_refuses_negative_norms():
    class Scalar:                                # what a PyTorch 0-d tensor offers
        def item(self):
            return 1.5

    t = NormTracker()
    assert t.record(Scalar()) == 1.5
    with pytest.raises(ValueError, match=r"norm must be a number >= 0 \(inf allowed\), got -1"):
        t.record(-1.0)


@pytest.mark.torch
def test_tracker_records_what_torch_clip_grad_norm_returns():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    (w * torch.tensor([1.0, 1.0])).sum().backward()
    t = NormTracker()
    total = t.clip_grad_norm_([w], max_norm=1.0)
    assert total == pytest.approx(math.sqrt(2)) and t.values == [total]
    assert float(w.grad.norm()) == pytest.approx(1.0, rel=1e-5)   # and it did clip


def test_tracker_keeps_the_loops_own_step_numbers_and_losses():
    t = NormTracker()
    for step, norm, loss in [(5, 0.5, 2.25), (10, 0.75, 2.0), (15, 12.0, float("nan"))]:
        t.record(norm, step=step, loss=loss)
    assert t.steps == [5, 10, 15] and t.values == [0.5, 0.75, 12.0]
    assert t.csv_text() == "step,grad_norm,loss\n5,0.5,2.25\n10,0.75,2.0\n15,12.0,nan\n"
    assert parse_norm_log(t.csv_text()).tolist() == [0.5, 0.75, 12.0]   # the norm column, by its name


def test_without_a_step_a_record_is_the_step_after_the_last():
    t = NormTracker()
    t.record(1.0)
    t.record(2.0, step=10)
    t.record(3.0)
    assert t.steps == [0, 10, 11]


def test_a_step_without_a_loss_is_written_nan_once_any_step_has_one():
    t = NormTracker()
    t.record(1.0)
    assert t.csv_text() == "step,grad_norm\n0,1.0\n"             # no loss anywhere: no column
    t.record(2.0, loss=-0.5)                                       # a loss may be negative (a log-likelihood)
    t.record(3.0, loss=float("-inf"))
    assert t.losses == [None, -0.5, float("-inf")]
    assert t.csv_text() == "step,grad_norm,loss\n0,1.0,nan\n1,2.0,-0.5\n2,3.0,-inf\n"


@pytest.mark.parametrize("step, kind, message", [
    (3, ValueError, r"step must be an integer >= 4 \(steps increase strictly; the last recorded is 3\), got 3"),
    (1, ValueError, r"step must be an integer >= 4 .*, got 1"),
    (-1, ValueError, r"step must be an integer >= 0, got -1"),
    (4.5, ValueError, r"step must be an integer >= 0, got 4.5"),
    (True, TypeError, r"step must be an integer >= 0, got True \(bool\)"),
    ("5", TypeError, r"step must be an integer >= 0, got '5'"),
])
def test_a_step_that_is_not_after_the_last_is_refused_and_nothing_is_recorded(step, kind, message):
    t = NormTracker()
    t.record(1.0, step=3, loss=0.5)
    with pytest.raises(kind, match=message):
        t.record(2.0, step=step, loss=0.25)
    assert (t.values, t.steps, t.losses) == ([1.0], [3], [0.5])


@pytest.mark.parametrize("loss, kind", [("0.5", TypeError), (True, TypeError), (1j, TypeError),
                                        ([1.0, 2.0], TypeError)])
def test_a_loss_that_is_not_one_real_number_is_refused_naming_loss(loss, kind):
    t = NormTracker()
    with pytest.raises(kind, match=r"loss must be a real number \(NaN and ±inf allowed\) or None, got "):
        t.record(1.0, loss=loss)
    assert t.values == [] and t.steps == [] and t.losses == []


def test_a_tracker_is_rebuilt_from_its_three_lists():
    t = NormTracker()
    t.record(1.0, step=2)
    t.record(float("inf"), step=9, loss=3.0)
    assert NormTracker(t.values, t.steps, t.losses) == t
    assert NormTracker([1.0, 2.0]).steps == [0, 1] and NormTracker([1.0, 2.0]).losses == [None, None]


@pytest.mark.parametrize("kwargs, kind, message", [
    ({"steps": [0]}, ValueError, r"steps must hold one entry per value \(2\), got 1"),
    ({"steps": [4, 4]}, ValueError, r"steps must increase strictly; steps\[1\] is 4, after 4"),
    ({"steps": [-1, 0]}, ValueError, r"steps\[0\] must be an integer >= 0, got -1"),
    ({"steps": "01"}, TypeError, r"steps must be a list of integers >= 0, one per value, got '01'"),
    ({"losses": [1.0]}, ValueError, r"losses must hold one entry per value \(2\), got 1"),
    ({"losses": [1.0, "x"]}, TypeError, r"losses\[1\] must be a real number \(NaN and ±inf allowed\) or None, got 'x'"),
])
def test_a_tracker_refuses_steps_and_losses_that_do_not_fit_its_values(kwargs, kind, message):
    with pytest.raises(kind, match=message):
        NormTracker([1.0, 2.0], **kwargs)


def test_summary_and_suggestions_come_from_the_package_rules():
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal(300)) + 0.1
    x[[50, 120, 250]] = 40.0
    a = analyse_norms(np.r_[x, np.nan])
    assert a.summary.steps == 301 and a.summary.nonfinite == 1 and a.summary.first_nonfinite == 300
    assert a.summary.median == pytest.approx(np.median(x)) and a.summary.max == 40.0
    expected = suggest_thresholds(x)                                  # finite values only
    assert [(s.rule, s.tau, s.steps_clipped) for s in a.suggestions] == \
        [(s.rule, s.tau, s.steps_clipped) for s in expected]


def test_an_all_nonfinite_log_has_a_summary_but_no_suggestions():
    a = analyse_norms([math.inf, math.nan])
    assert a.summary.nonfinite == 2 and math.isnan(a.summary.median) and a.suggestions == []


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("text, expected", [
    ("1.5\n2\n3e-2\n", [1.5, 2.0, 0.03]),
    ("step,grad_norm\n0,1.5\n1,2.5\n", [1.5, 2.5]),
    ("step,loss,grad_norm,lr\n0,9,1.5,0.1\n1,8,2.5,0.1\n", [1.5, 2.5]),         # named column
    ("Wall time,Step,Value\n1.7e9,0,3.5\n1.7e9,1,4\n", [3.5, 4.0]),             # TensorBoard export
    ("step;total_norm\n0;1\n1;2\n", [1.0, 2.0]),
    ("step\tnorm\n0\t1\n1\t2\n", [1.0, 2.0]),
    ("0 1.0\n1 2.0\n", [1.0, 2.0]),                                              # spaces, no header
    ("# from my run\n\nstep,grad_norm\n0,1\n\n# resumed\n1,2\n", [1.0, 2.0]),
    ('"step","grad_norm"\n"0","1.25"\n', [1.25]),
    ("time,grad_norm\n2024-01-01T10:00,1.5\n2024-01-01T10:01,2\n", [1.5, 2.0]),   # text column
    ("\ufeffgrad_norm\r\n1\r\n2\r\n", [1.0, 2.0]),                              # BOM, CRLF
    ("nan\ninf\n1\n", [math.nan, math.inf, 1.0]),
    ("[1, 2.5, 3]", [1.0, 2.5, 3.0]),
    ('{"grad_norm": [1, 2]}', [1.0, 2.0]),
    ('{"norms": [1, null, 3]}', [1.0, math.nan, 3.0]),                           # JS writes NaN as null
    ('[{"step": 0, "grad_norm": 1}, {"step": 1, "grad_norm": 2}]', [1.0, 2.0]),
    ("[1, NaN, Infinity]", [1.0, math.nan, math.inf]),                           # Python's json.dumps
])
def test_good_files(text, expected):
    np.testing.assert_array_equal(parse_norm_log(text), np.array(expected))


# ---------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("   \n\n", "the file is empty"),
    ("# only a comment\n", "no data lines"),
    ("step,grad_norm\n", "line 1: only a header"),
    ("1.0\n2.0\nabc\n4\n", "line 3: 'abc' is not a number"),
    ("step,grad_norm\n0,1\n\n1,oops\n", "CSV file, line 4: 'oops' (column 2, 'grad_norm') is not a number"),
    ("step,grad_norm\n0,1\n1\n", "line 3: expected 2 columns like line 1, found 1"),
    ("1\n-0.5\n", "line 2: -0.5 is negative"),
    ("[1, 2,", "line 1: the JSON is malformed"),
    ('[\n  1,\n  2,\n  "x"\n]', "line 4: entry 3"),
    ("[\n 1,\n true\n]", "line 3: entry 2 ('true') is not a number"),
    ("[]", "the JSON list is empty"),
    ('{"loss": [1, 2]}', "no list of norms"),
    ('{"grad_norm": 3}', "not a list of numbers"),
    ("[{\"loss\": 1}]", "has no norm field"),
    ('[{"norm": 1}, {"loss": 2}]', "line 1: entry 2 has no 'norm' field"),
    ('{"norms": {"a": 1}}', "holds dict, not a list of numbers"),
])
def test_bad_files_name_the_problem_and_the_first_bad_line(text, message):
    with pytest.raises(ValueError) as err:
        parse_norm_log(text)
    assert message in str(err.value)


def test_a_file_over_the_row_limit_is_refused_with_the_limit_named():
    text = "grad_norm\n" + "1\n" * (MAX_ROWS + 1)
    with pytest.raises(ValueError, match=r"more than 1,000,000 rows"):
        parse_norm_log(text)
    with pytest.raises(ValueError, match=r"more than 1,000,000 rows"):
        parse_norm_log(json.dumps([1] * (MAX_ROWS + 1)))


def test_exactly_the_row_limit_is_accepted():
    x = parse_norm_log("1\n" * MAX_ROWS)
    assert x.shape == (MAX_ROWS,)


# --------------------------------------------------------------------------------- CLI


def test_cli_suggest_prints_the_rules_and_their_clip_counts(tmp_path, capsys):
    t = NormTracker()
    for v in [1.0] * 40 + [30.0]:
        t.record(v)
    t.save(str(tmp_path / "n.csv"))
    assert main(["suggest", str(tmp_path / "n.csv")]) == 0
    out = capsys.readouterr().out
    assert "'grad_norm' at 41 logged steps" in out and "99th percentile:" in out and "AutoClip" in out
    assert "ZClip (z = 2.5):    τ = 1 · would clip 1 of 41 logged steps (2%)" in out
    assert main(["suggest", str(tmp_path / "n.csv"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["steps"] == 41
    assert [s["rule"] for s in data["suggestions"]] == ["p50", "p90", "p95", "p99", "autoclip", "zclip"]


def test_cli_suggest_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("1\nx\n")
    assert main(["suggest", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 2: 'x' is not a number" in err
    assert main(["suggest", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- hostile input (issue 17) --------------------------------------------------------------


@pytest.mark.parametrize("text", ["[" * 200_000, '{"grad_norm": ' * 200_000, "[\n" * 150 + "1" + "\n]" * 150])
def test_deep_json_is_refused_before_the_parser_recurses(text):
    with pytest.raises(ValueError, match=r"the JSON nests deeper than 100 levels"):
        parse_norm_log(text)


def test_the_depth_error_names_the_line_where_the_limit_is_passed():
    with pytest.raises(ValueError, match=r"^JSON file, line 101: the JSON nests"):
        parse_norm_log("[\n" * 150)


def test_brackets_inside_strings_do_not_count_as_nesting():
    key = "[" * 300 + '\\"' + "{" * 300          # an escaped quote must not end the string
    text = json.dumps([{"note": key, "grad_norm": 1.5}, {"note": "]" * 300, "grad_norm": 2.0}])
    assert parse_norm_log(text).tolist() == [1.5, 2.0]
    # ...while real nesting hidden behind a string of closing brackets is still found
    with pytest.raises(ValueError, match="nests deeper"):
        parse_norm_log('["' + "]" * 300 + '", ' + "[" * 150 + "1" + "]" * 151)


def test_a_norm_log_with_ordinary_nesting_and_many_rows_still_reads():
    rows = [{"step": i, "grad_norm": float(i)} for i in range(500)]
    assert parse_norm_log(json.dumps({"history": {"x": 1}, "grad_norm": [r["grad_norm"] for r in rows]})).size == 500
    assert parse_norm_log(json.dumps(rows)).size == 500


@pytest.mark.parametrize("text, what", [
    ("step,grad_norm\n0,1.0\n1,\x002.0\n", "line 3: this is not a text file \\(it holds NUL bytes\\)"),
    ("\ufffd\ufffdPNG\n1,2\n", "line 1: this is not a text file \\(it holds bytes that are not UTF-8 text\\)"),
])
def test_a_binary_file_is_reported_as_not_text_not_as_a_column_problem(text, what):
    with pytest.raises(ValueError, match=what):
        parse_norm_log(text)


def test_parse_norm_log_refuses_what_is_not_text_by_kind():
    with pytest.raises(TypeError, match="text must be a str"):
        parse_norm_log(b"1.0\n2.0\n")


@pytest.mark.parametrize("bad, kind, match", [
    (None, TypeError, "norms must be an array of real numbers, got None"),
    ("1,2", TypeError, "norms must be an array of real numbers"),
    ([True, False], TypeError, "dtype bool"),
    ([1 + 2j], TypeError, "dtype complex"),
    ([], ValueError, "norms must not be empty"),
    ([1.0, -2.0], ValueError, r"norms must hold numbers >= 0 \(inf allowed\) or NaN; norms\[1\] is -2"),
])
def test_analyse_norms_refuses_what_is_not_a_norm_log(bad, kind, match):
    with pytest.raises(kind, match=match):
        analyse_norms(bad)


def test_the_mean_of_huge_norms_does_not_overflow():
    s = analyse_norms([1e308, 1e308]).summary
    assert s.mean == 1e308 and s.max == 1e308
    s = analyse_norms([1e308, 1.7e308, 0.0]).summary
    assert s.mean == pytest.approx(1e308 / 3 + 1.7e308 / 3, rel=1e-12)      # 9e307
    assert analyse_norms([1.0, 2.0, 4.0]).summary.mean == np.mean([1.0, 2.0, 4.0])   # the plain path


def test_suggest_reads_at_most_the_file_limit_and_refuses_beyond_it(capsys, tmp_path, monkeypatch):
    import gradclip.logfiles as logfiles
    monkeypatch.setattr(logfiles, "COMMAND_FILE_LIMIT", 1024)
    big = tmp_path / "big.csv"
    big.write_text("1.0\n" * 300)                  # 1200 bytes
    assert main(["suggest", str(big)]) == 2
    err = capsys.readouterr().err
    assert err == f"gradclip suggest: {big}: the file is larger than 1 KiB; files over 1 KiB are not read (keep every k-th step)\n"
    small = tmp_path / "small.csv"
    small.write_text("1.0\n" * 200)                # 800 bytes: read
    assert main(["suggest", str(small)]) == 0


def test_suggest_on_dev_zero_stops_at_the_limit():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    assert main(["suggest", "/dev/zero"]) == 2


@pytest.mark.parametrize("data, message", [
    (b"step,grad_norm\n0,1\n\x00\x00\x01", "line 3: this is not a text file (it holds NUL bytes)"),
    (b"\x89PNG\r\n\x1a\n\xff\xfe", "this is not a text file (byte 1 is not UTF-8)"),
])
def test_suggest_reports_a_binary_file_as_not_text(capsys, tmp_path, data, message):
    f = tmp_path / "x.bin"
    f.write_bytes(data)
    assert main(["suggest", str(f)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "column" not in err


def test_a_demo_file_over_the_limit_is_refused_in_binary_units():
    from gradclip.demos import Param, _coerce
    p = Param("file", "file", "", "Gradient-norm log", max=1024)
    value, notice = _coerce(p, "1.0\n" * 300)
    assert value == "" and notice == ("Gradient-norm log: the file holds 1.17 KiB of text, over the limit of "
                                      "1 KiB; it was not read.")

"""The "why clipping helps" page: the (L0, L1)-smooth loss, the three step rules, and the demo."""

from __future__ import annotations

import numpy as np
import pytest

from gradclip import demos
from gradclip.smoothness import CoshLoss, compare_descent


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5])
def test_cosh_is_l0_l1_smooth_with_its_constants_but_not_l_smooth(a):
    f = CoshLoss(a)
    x = np.linspace(-20 / a, 20 / a, 20001)
    h, g = f.hess(x), np.abs(f.grad(x))
    assert np.all(h <= f.l0 + f.l1 * g + 1e-9 * h)
    assert np.min(f.l0 + f.l1 * g - h) == pytest.approx(0.0, abs=1e-12 * f.l0)   # tight at x = 0
    assert h.max() > 1e6 * f.l0                                                  # no global L
    # derivatives by finite differences
    x0, d = 0.7 / a, 1e-6 / a
    assert (f.value(x0 + d) - f.value(x0 - d)) / (2 * d) == pytest.approx(f.grad(x0), rel=1e-6)
    assert (f.grad(x0 + d) - f.grad(x0 - d)) / (2 * d) == pytest.approx(f.hess(x0), rel=1e-6)


def test_each_rule_is_the_step_it_claims():
    res = compare_descent([2.0], gamma=0.3, record=1)
    f = CoshLoss(1.0)
    g = float(f.grad(2.0))
    x1 = [2.0 - res.fixed_step[0] * g, 2.0 - 0.5 * min(1, 0.3 / g) * g, 2.0 - 0.5 * 0.3 / (g + 0.3) * g]
    np.testing.assert_allclose(res.loss[:, 1, 0], f.value(np.array(x1)), rtol=1e-12)
    assert res.fixed_step[0] == pytest.approx(1 / (1 + abs(g)))


def test_fixed_step_count_grows_exponentially_clipped_linearly():
    starts = np.array([1.0, 3.0, 5.0, 7.0])
    res = compare_descent(starts)
    fixed, clipped, normalised = res.iterations
    assert res.reached.all()
    assert np.all(np.diff(fixed) > 0) and fixed[-1] / fixed[-2] > 5            # e^2 per two units
    assert np.all(np.diff(clipped) <= 4) and np.all(np.diff(normalised) <= 6)  # a few per two units
    assert np.all(clipped <= normalised) and np.all(normalised <= 2 * clipped + 5)
    # a fixed step just past 2|x0|/|f'(x0)| is not stable from x0: the first step raises the loss
    f, x0 = CoshLoss(1.0), 3.0
    h = 2.02 * x0 / f.grad(x0)
    assert f.value(x0 - h * f.grad(x0)) > f.value(x0)


def test_not_reached_is_reported():
    res = compare_descent([6.0], max_iter=50)
    assert res.iterations[0, 0] == 51 and not res.reached[0, 0] and res.reached[1, 0]


@pytest.mark.parametrize("kwargs, match", [
    ({"starts": [0.0]}, "starts"), ({"starts": [30.0]}, "starts"), ({"starts": [np.nan]}, "starts"),
    ({"starts": [1.0], "gamma": 0}, "gamma"), ({"starts": [1.0], "tol": 2}, "tol"),
    ({"starts": [1.0], "sharpness": -1}, "sharpness"), ({"starts": [1.0], "record": -1}, "record"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_descent(**kwargs)


def test_smooth_descent_demo_shows_the_claimed_ordering_and_clamps():
    out = demos.run("smooth_descent", {})
    r = {k: float(v["value"]) for k, v in out["results"].items()}
    assert r["its_clipped"] < r["its_normalised"] < r["its_fixed"]
    assert r["fixed_far"] > 100 * r["clipped_far"] and r["fixed_near"] < r["clipped_near"]
    res = compare_descent([4.0])
    assert [r["its_fixed"], r["its_clipped"], r["its_normalised"]] == res.iterations[:, 0].tolist()
    bad = demos.run("smooth_descent", {"start": 99.0, "gamma": -3})
    assert bad["notices"] and bad["results"]["its_fixed"]["value"] == demos.run(
        "smooth_descent", {"start": 7.0, "gamma": 0.1})["results"]["its_fixed"]["value"]


@pytest.mark.parametrize("name, params", [
    ("smooth_descent", {"start": 0.5, "gamma": 0.1}), ("smooth_descent", {"start": 7.0, "gamma": 10.0}),
    ("spike_remedies", {"count": 10, "scale": 100.0, "lr": 0.5, "optimizer": "momentum"}),
    ("spike_remedies", {"count": 0, "scale": 1.0, "lr": 0.005, "optimizer": "adam"}),
])
def test_the_demos_run_at_the_ends_of_their_ranges_and_give_strict_json(name, params):
    import json
    out = demos.run(name, params)
    assert out["notices"] == [] and out["figures"] and out["results"]
    json.dumps(out, allow_nan=False)

"""Landscapes: the registry, analytic gradients against finite differences, vectorisation,
and the features each landscape exists to show (a cosh wall, a recurrent cliff, bad batches)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradclip.landscapes import LANDSCAPES, Landscape, get_landscape, spiky_noise

NAMES = ["cliff", "pascanu_rnn", "ravine", "rosenbrock", "spiky"]


def test_registry_has_the_five_landscapes_by_name():
    assert set(NAMES) <= set(LANDSCAPES)
    for name, land in LANDSCAPES.items():
        assert isinstance(land, Landscape) and land.name == name
        assert land.title and land.description


@pytest.mark.parametrize("name", NAMES)
def test_start_lies_in_the_view_and_the_view_in_the_bound(name):
    land = LANDSCAPES[name]
    x0, x1, y0, y1 = land.view
    bx0, bx1, by0, by1 = land.bound
    assert x0 <= land.start[0] <= x1 and y0 <= land.start[1] <= y1
    assert bx0 <= x0 < x1 <= bx1 and by0 <= y0 < y1 <= by1
    assert land.inside(*land.start)


@pytest.mark.parametrize("name", NAMES)
def test_minimum_has_the_minimum_value_and_zero_gradient(name):
    land = LANDSCAPES[name]
    assert float(land.value(*land.minimum)) == pytest.approx(land.min_value, abs=1e-12)
    gx, gy = land.grad(*land.minimum)
    assert abs(float(gx)) < 1e-6 and abs(float(gy)) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_the_start_is_worse_than_the_minimum(name):
    land = LANDSCAPES[name]
    assert float(land.value(*land.start)) > land.min_value + 1.0


def _central_difference(land: Landscape, x: float, y: float) -> tuple[float, float]:
    hx = 1e-6 * max(1.0, abs(x))
    hy = 1e-6 * max(1.0, abs(y))
    dx = (land.value(x + hx, y) - land.value(x - hx, y)) / (2 * hx)
    dy = (land.value(x, y + hy) - land.value(x, y - hy)) / (2 * hy)
    return float(dx), float(dy)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(u=st.floats(0.0, 1.0), v=st.floats(0.0, 1.0))
def test_analytic_gradient_matches_central_differences(name, u, v):
    land = LANDSCAPES[name]
    x0, x1, y0, y1 = land.view
    x, y = x0 + u * (x1 - x0), y0 + v * (y1 - y0)
    gx, gy = land.grad(x, y)
    dx, dy = _central_difference(land, x, y)
    assert float(gx) == pytest.approx(dx, rel=1e-4, abs=1e-4)
    assert float(gy) == pytest.approx(dy, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_grad_are_vectorised_over_broadcast_arrays(name):
    land = LANDSCAPES[name]
    x0, x1, y0, y1 = land.view
    xs = np.linspace(x0, x1, 4)[:, None]       # shape (4, 1)
    ys = np.linspace(y0, y1, 3)                # shape (3,)
    values = land.value(xs, ys)
    gx, gy = land.grad(xs, ys)
    assert values.shape == gx.shape == gy.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert values[i, j] == pytest.approx(float(land.value(xs[i, 0], ys[j])), rel=1e-12)
            one = land.grad(xs[i, 0], ys[j])
            assert (gx[i, j], gy[i, j]) == pytest.approx((float(one[0]), float(one[1])), rel=1e-12)


def test_grid_covers_the_view_with_row_zero_at_the_bottom():
    land = LANDSCAPES["cliff"]
    X, Y, Z = land.grid(5)
    assert X.shape == Y.shape == Z.shape == (5, 5)
    assert (X[0, 0], X[0, -1]) == (land.view[0], land.view[1])
    assert (Y[0, 0], Y[-1, 0]) == (land.view[2], land.view[3])
    np.testing.assert_allclose(Z, land.value(X, Y))


@pytest.mark.parametrize("n", [1, 0, 1001, 2.5, "10"])
def test_grid_rejects_bad_sizes(n):
    kind = TypeError if isinstance(n, str) else ValueError       # a string is the wrong kind
    with pytest.raises(kind, match="n must be an integer from 2 to 1000"):
        LANDSCAPES["ravine"].grid(n)


def test_unknown_landscape_names_the_allowed_ones():
    with pytest.raises(ValueError, match="landscape must be one of cliff, pascanu_rnn"):
        get_landscape("moon")
    assert get_landscape(LANDSCAPES["ravine"]) is LANDSCAPES["ravine"]


def test_to_dict_is_plain_json():
    for land in LANDSCAPES.values():
        d = json.loads(json.dumps(land.to_dict(), allow_nan=False))
        assert d["name"] == land.name and len(d["view"]) == 4 and len(d["bound"]) == 4


# --- what each landscape is for -----------------------------------------------------------


def test_cliff_walls_are_hundreds_of_times_steeper_than_the_floor():
    land = LANDSCAPES["cliff"]
    wall = np.hypot(*land.grad(*land.start))
    floor = np.hypot(*land.grad(0.0, land.start[1]))
    assert wall > 500
    assert floor < 2
    # cosh walls: the slope multiplies by e^{k} = e^3 for each unit further out
    ratio = land.grad(2.0, 0.0)[0] / land.grad(1.0, 0.0)[0]
    assert ratio == pytest.approx(np.exp(3.0), rel=0.01)


def test_pascanu_rnn_has_a_cliff_made_by_the_recurrence():
    land = LANDSCAPES["pascanu_rnn"]
    w = land.start[0]
    b = np.linspace(land.start[1] - 0.5, land.start[1] + 0.5, 20001)
    loss = land.value(w, b)
    gw, gb = land.grad(w, b)
    norm = np.hypot(gw, gb)
    # most of the loss is lost over a sliver of b (0.05 wide: 1000 grid steps) ...
    drop = loss[:-1000] - loss[1000:]
    assert drop.max() > 0.5 * (loss.max() - loss.min())
    # ... where the gradient is far larger than on either side of it
    assert norm.max() > 50 * np.median(norm)


def test_pascanu_rnn_gradient_is_backprop_through_time_of_the_recurrence():
    """Unrolled by hand for T = 20: dL/db by the chain rule forward in time."""
    from gradclip.landscapes import RNN_STEPS, RNN_TARGET, RNN_X0

    w, b = 3.0, -1.0
    x, dx_db, dx_dw = RNN_X0, 0.0, 0.0
    for _ in range(RNN_STEPS):
        s = 1.0 / (1.0 + np.exp(-x))
        ds = s * (1.0 - s)
        dx_dw = s + w * ds * dx_dw
        dx_db = 1.0 + w * ds * dx_db
        x = w * s + b
    gw, gb = LANDSCAPES["pascanu_rnn"].grad(w, b)
    assert float(gw) == pytest.approx((x - RNN_TARGET) * dx_dw, rel=1e-10)
    assert float(gb) == pytest.approx((x - RNN_TARGET) * dx_db, rel=1e-10)


def test_ravine_is_thirty_times_steeper_across_than_along():
    gx, gy = LANDSCAPES["ravine"].grad(1.0, 1.0)
    assert float(gy) / float(gx) == 30.0


def test_spiky_noise_is_rare_huge_and_reproducible():
    nx, ny = spiky_noise(np.random.default_rng(7), (20000,))
    size = np.hypot(nx, ny)
    bad = size > 0
    assert 0.03 < bad.mean() < 0.05                  # about 4% of steps
    assert size[bad].min() >= 20 and size[bad].max() <= 200
    again = spiky_noise(np.random.default_rng(7), (20000,))
    np.testing.assert_array_equal(nx, again[0])
    other = spiky_noise(np.random.default_rng(8), (20000,))
    assert not np.array_equal(nx, other[0])


def test_spiky_gradient_is_clean_without_a_generator_and_noisy_with_one():
    land = LANDSCAPES["spiky"]
    x = np.full(5000, 1.0)
    clean = land.grad(x, x)
    np.testing.assert_array_equal(clean[0], x)
    noisy = land.grad(x, x, rng=np.random.default_rng(0))
    spikes = np.hypot(noisy[0] - 1.0, noisy[1] - 1.0) > 10
    assert 0.02 < spikes.mean() < 0.06
    assert land.stochastic and not LANDSCAPES["cliff"].stochastic

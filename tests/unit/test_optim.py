"""The optimisers: the float stepper (the simulator's one-run fast path) is the array stepper
bit for bit, and both follow the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest

from gradclip.optim import ADAM_BETAS, ADAM_EPS, MOMENTUM, OPTIMIZERS, ArrayStepper, float_stepper


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_float_stepper_is_the_array_stepper_bit_for_bit(name):
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((200, 2)) * np.exp(rng.uniform(-8, 8, (200, 1)))
    lr = 0.037
    arrays = ArrayStepper(name, np.full((1, 2), lr), (1, 2))
    floats = float_stepper(name, lr)
    for k, (gx, gy) in enumerate(grads.tolist(), start=1):
        want = arrays.step(np.array([[gx, gy]]), k)[0].tolist()
        assert list(floats(k, gx, gy)) == want


def test_adam_follows_its_formula_and_the_bias_correction_sites_agree_closely():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((30, 1, 3))
    folded = ArrayStepper("adam", np.array([[0.1]]), (1, 3))
    moment = ArrayStepper("adam", np.array([[0.1]]), (1, 3), bias_in_lr=False)
    b1, b2 = ADAM_BETAS
    m = v = np.zeros((1, 3))
    for k, gk in enumerate(g, start=1):
        m, v = b1 * m + (1 - b1) * gk, b2 * v + (1 - b2) * gk * gk
        want = 0.1 * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + ADAM_EPS)
        np.testing.assert_allclose(folded.step(gk, k), want, rtol=1e-12)
        np.testing.assert_allclose(moment.step(gk, k), want, rtol=1e-12)


def test_momentum_is_the_heavy_ball_and_keep_drops_runs():
    s = ArrayStepper("momentum", np.array([[1.0], [2.0]]), (2, 1))
    s.step(np.array([[1.0], [1.0]]), 1)
    assert s.step(np.array([[1.0], [1.0]]), 2).tolist() == [[1 + MOMENTUM], [2 * (1 + MOMENTUM)]]
    s.keep(np.array([False, True]))
    assert s.step(np.array([[0.0]]), 3).tolist() == [[2 * MOMENTUM * (1 + MOMENTUM)]]


def test_an_unknown_optimizer_names_the_allowed_ones():
    with pytest.raises(ValueError, match="sgd, momentum, adam"):
        ArrayStepper("rmsprop", np.ones((1, 1)), (1, 1))

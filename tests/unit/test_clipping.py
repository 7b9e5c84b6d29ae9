"""Clipping rules: what each function does, case by case (gradclip/clipping.py).

PyTorch parity lives in test_torch_parity.py and the general invariants in
test_clipping_properties.py; this file pins the specific behaviours the site describes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradclip
from gradclip import (
    NonFiniteNormError,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_norm_per_tensor,
    clip_by_value,
    clip_grad_norm,
    clip_grad_value,
    framework_differences,
    global_norm,
)
from gradclip.clipping import _clamp, _clip_rows_by_norm

NAN, INF = np.nan, np.inf


# --------------------------------------------------------------------------- clip_by_norm


class TestClipByNorm:
    def test_rescales_a_long_vector_to_the_threshold_keeping_its_direction(self):
        out = clip_by_norm(np.array([3.0, 4.0]), 1.0)
        np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-15)

    def test_leaves_a_short_vector_alone(self):
        g = np.array([0.3, -0.4])
        np.testing.assert_array_equal(clip_by_norm(g, 1.0), g)

    def test_a_vector_exactly_at_the_threshold_is_returned_unchanged(self):
        # The textbook rule clips only when the norm is strictly above tau (no epsilon).
        np.testing.assert_array_equal(clip_by_norm([3.0, 4.0], 5.0), [3.0, 4.0])

    def test_zero_vector_stays_zero(self):
        np.testing.assert_array_equal(clip_by_norm(np.zeros(3), 1.0), np.zeros(3))
        np.testing.assert_array_equal(clip_by_norm(np.zeros(3), 0.0), np.zeros(3))

    def test_zero_threshold_zeroes_any_gradient(self):
        np.testing.assert_array_equal(clip_by_norm([3.0, 4.0], 0.0), [0.0, 0.0])

    def test_infinite_threshold_never_clips(self):
        np.testing.assert_array_equal(clip_by_norm([3e300, 4e300], np.inf), [3e300, 4e300])

    def test_nan_propagates_to_the_whole_vector(self):
        out = clip_by_norm([NAN, 1.0], 1.0)
        assert np.isnan(out).all()

    def test_inf_entry_gives_nan_there_and_zero_elsewhere(self):
        out = clip_by_norm([INF, 1.0], 1.0)
        assert np.isnan(out[0]) and out[1] == 0.0

    def test_huge_finite_gradient_is_rescaled_not_zeroed(self):
        # The squares overflow float64; the norm is computed with rescaling instead.
        out = clip_by_norm([3e200, 4e200], 1.0)
        np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-14)

    def test_huge_finite_float32_gradient_is_rescaled(self):
        out = clip_by_norm(np.array([3e30, 4e30], dtype=np.float32), 1.0)
        np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-6)

    def test_axis_clips_each_run_with_its_own_threshold(self):
        g = np.array([[3.0, 4.0], [6.0, 8.0], [0.0, 0.0]])
        tau = np.array([1.0, 20.0, 1.0])
        out = clip_by_norm(g, tau, axis=-1)
        np.testing.assert_allclose(out, [[0.6, 0.8], [6.0, 8.0], [0.0, 0.0]], rtol=1e-15)

    def test_axis_with_scalar_threshold_broadcasts_to_every_run(self):
        g = np.array([[3.0, 4.0], [0.3, 0.4]])
        np.testing.assert_allclose(clip_by_norm(g, 1.0, axis=1), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-15)

    def test_axis_zero_clips_columns(self):
        g = np.array([[3.0, 0.1], [4.0, 0.0]])
        np.testing.assert_allclose(clip_by_norm(g, 1.0, axis=0), [[0.6, 0.1], [0.8, 0.0]], rtol=1e-15)

    def test_nan_in_one_run_does_not_touch_the_others(self):
        g = np.array([[NAN, 1.0], [3.0, 4.0]])
        out = clip_by_norm(g, 1.0, axis=-1)
        assert np.isnan(out[0]).all()
        np.testing.assert_allclose(out[1], [0.6, 0.8], rtol=1e-15)

    def test_float32_stays_float32_and_ints_become_float64(self):
        assert clip_by_norm(np.array([3.0, 4.0], dtype=np.float32), 1.0).dtype == np.float32
        assert clip_by_norm(np.array([[3.0, 4.0]], dtype=np.float32), np.array([1.0]), axis=1).dtype == np.float32
        out = clip_by_norm([3, 4], 1.0)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, [0.6, 0.8])

    def test_returns_a_new_array_and_leaves_the_input_alone(self):
        g = np.array([0.3, 0.4])
        out = clip_by_norm(g, 1.0)
        assert out is not g and not np.shares_memory(out, g)
        out[0] = 99.0
        assert g[0] == 0.3

    def test_zero_dimensional_input_gives_an_array(self):
        out = clip_by_norm(np.float64(-3.0), 1.0)
        assert isinstance(out, np.ndarray) and out.shape == () and out == -1.0

    @pytest.mark.parametrize("bad", [-1.0, NAN, [1.0, -0.5]])
    def test_negative_or_nan_threshold_is_rejected(self, bad):
        with pytest.raises(ValueError, match="max_norm"):
            clip_by_norm(np.ones((2, 2)), bad, axis=-1)

    def test_array_threshold_without_axis_is_rejected(self):
        with pytest.raises(ValueError, match="max_norm must be a single number"):
            clip_by_norm(np.ones((3, 2)), np.ones(3))

    def test_threshold_that_does_not_broadcast_is_rejected(self):
        with pytest.raises(ValueError, match="does not broadcast"):
            clip_by_norm(np.ones((3, 2)), np.ones(4), axis=-1)

    @pytest.mark.parametrize("axis", [2, -3, (0, 0)])
    def test_bad_axis_is_rejected(self, axis):
        with pytest.raises(ValueError, match="axis"):
            clip_by_norm(np.ones((3, 2)), 1.0, axis=axis)

    def test_non_numeric_input_is_rejected(self):
        with pytest.raises(TypeError, match="g must be an array of real numbers"):
            clip_by_norm(["a", "b"], 1.0)


# --------------------------------------------------------------------------- clip_by_value


class TestClipByValue:
    def test_symmetric_clamp(self):
        np.testing.assert_array_equal(clip_by_value([0.5, -3.0, 2.0], 1.0), [0.5, -1.0, 1.0])

    def test_explicit_bounds_and_one_sided_bounds(self):
        g = [-2.0, 0.5, 2.0]
        np.testing.assert_array_equal(clip_by_value(g, min_value=-1.0, max_value=0.0), [-1.0, 0.0, 0.0])
        np.testing.assert_array_equal(clip_by_value(g, min_value=0.0), [0.0, 0.5, 2.0])
        np.testing.assert_array_equal(clip_by_value(g, max_value=0.0), [-2.0, 0.0, 0.0])

    def test_nan_passes_through_and_inf_is_clamped(self):
        out = clip_by_value([NAN, INF, -INF], 1.0)
        assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == -1.0

    def test_value_clipping_changes_direction_where_norm_clipping_does_not(self):
        g = np.array([10.0, 0.5])
        by_value = clip_by_value(g, 1.0)
        by_norm = clip_by_norm(g, 1.0)
        cos = lambda u, v: u @ v / np.linalg.norm(u) / np.linalg.norm(v)  # noqa: E731
        assert cos(by_value, g) < 0.99
        assert cos(by_norm, g) == pytest.approx(1.0, abs=1e-15)

    def test_per_run_clip_values_broadcast(self):
        g = np.array([[3.0, -4.0], [3.0, -4.0]])
        out = clip_by_value(g, np.array([1.0, 3.5])[:, None])
        np.testing.assert_array_equal(out, [[1.0, -1.0], [3.0, -3.5]])

    def test_per_run_values_that_would_enlarge_g_are_rejected(self):
        with pytest.raises(ValueError, match="clip_value\\[:, None\\]"):
            clip_by_value(np.ones((3, 2)), np.ones(3))

    def test_float32_stays_float32(self):
        out = clip_by_value(np.array([0.5, 3.0], dtype=np.float32), 0.1)
        assert out.dtype == np.float32
        assert out[1] == np.float32(0.1)

    def test_input_is_not_modified(self):
        g = np.array([5.0, -5.0])
        clip_by_value(g, 1.0)
        np.testing.assert_array_equal(g, [5.0, -5.0])

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({}, "give clip_value"),
            ({"clip_value": 1.0, "min_value": 0.0}, "not both"),
            ({"clip_value": -1.0}, r"clip_value must hold numbers >= 0 \(inf allowed\); clip_value is -1"),
            ({"clip_value": NAN}, "clip_value must hold numbers >= 0.*clip_value is nan"),
            ({"min_value": 1.0, "max_value": 0.0}, "min_value must be <= max_value"),
            ({"min_value": NAN}, "min_value must hold numbers.*min_value is nan"),
        ],
    )
    def test_bad_arguments_are_rejected(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            clip_by_value([1.0, 2.0], **kwargs)


# --------------------------------------------------------------------------- the simulator's unchecked helpers
#
# The simulator validates its arguments once and calls these every step; they must be the
# public rules minus the checks, bit for bit, on every kind of row.

# Rows with every special case the norm rule has: zero, tiny, at/just over the threshold,
# overflowing squares, inf, NaN, negative zero; caps from 0 to inf (and -0.0, which is >= 0).
EDGE_ROWS = np.array([
    [0.0, 0.0], [-0.0, 0.0], [3.0, 4.0], [0.3, -0.4], [1e-300, 1e-310], [1e200, -1e200],
    [1.7e308, 1.7e308], [np.inf, 1.0], [-np.inf, np.inf], [np.nan, 1.0], [np.nan, np.inf],
    [5.0, 0.0], [4.999999999999999, 0.0], [-6.0, 8.0],
])
EDGE_CAPS = [0.0, -0.0, 1e-300, 0.5, 1.0, 5.0, 10.0, 1e300, np.inf]


def same_bits(a, b):
    """Equal values, NaN where NaN, and the same sign on zeros (and NaNs)."""
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


@pytest.mark.parametrize("cap", EDGE_CAPS)
def test_the_simulators_row_clipper_is_clip_by_norm_without_the_checks(cap):
    caps = np.full(len(EDGE_ROWS), cap)
    public = clip_by_norm(EDGE_ROWS, caps, axis=-1)
    with np.errstate(all="ignore"):
        unchecked = _clip_rows_by_norm(EDGE_ROWS, caps)
    assert same_bits(unchecked, public)


def test_the_norm_rule_is_the_textbook_case_split_bit_for_bit():
    # clip_by_norm computes min(tau / norm, 1) with np.fmin; this is the rule written as the
    # case split of its docstring, with NumPy's where, on every edge row and cap
    def textbook(g, tau):
        w = g.astype(np.float64)
        with np.errstate(all="ignore"):
            norm = np.sqrt(np.sum(w * w, axis=-1, keepdims=True))
            big = np.max(np.abs(w), axis=-1, keepdims=True)
            rescued = np.where(np.isinf(big), np.inf, big * np.sqrt(np.sum((w / big) ** 2, axis=-1, keepdims=True)))
            norm = np.where(np.isinf(norm), rescued, norm)
            scale = np.where(norm > tau, tau / norm, 1.0)
            scale = np.where(np.isnan(norm), np.nan, scale)
            return g * scale

    for cap in EDGE_CAPS:
        caps = np.full((len(EDGE_ROWS), 1), cap)
        assert same_bits(clip_by_norm(EDGE_ROWS, caps[:, 0], axis=-1), textbook(EDGE_ROWS, caps)), cap


@pytest.mark.parametrize("c", [0.0, 0.5, 1.0, 5.0, np.inf])
def test_the_simulators_clamp_is_clip_by_value_without_the_checks(c):
    bound = np.full((len(EDGE_ROWS), 2), c)
    assert same_bits(_clamp(EDGE_ROWS, -bound, bound), clip_by_value(EDGE_ROWS, bound))


# --------------------------------------------------------------------------- PyTorch rules


class TestGlobalNorm:
    def test_l2_norm_of_all_entries_viewed_as_one_vector(self):
        assert global_norm([np.array([3.0]), np.array([[4.0]])]) == 5.0

    @pytest.mark.parametrize("p, expected", [(1.0, 7.0), (2.0, 5.0), (INF, 4.0), (3.0, (27 + 64) ** (1 / 3))])
    def test_p_norms(self, p, expected):
        assert global_norm([np.array([3.0]), np.array([-4.0])], norm_type=p) == pytest.approx(expected, rel=1e-15)

    def test_empty_list_has_norm_zero(self):
        assert global_norm([]) == 0.0

    def test_a_single_array_counts_as_one_tensor(self):
        assert global_norm(np.array([[3.0, 4.0], [0.0, 0.0]])) == 5.0

    def test_no_overflow_protection_as_in_pytorch(self):
        assert global_norm([np.array([1e200])]) == INF

    def test_inf_norm_of_an_empty_array_is_rejected(self):
        with pytest.raises(ValueError, match=r"grads\[0\] is empty"):
            global_norm([np.array([])], norm_type=INF)

    @pytest.mark.parametrize("p", [0, -1, NAN, "two"])
    def test_bad_norm_type_is_rejected(self, p):
        with pytest.raises(TypeError if isinstance(p, str) else ValueError, match="norm_type"):
            global_norm([np.ones(2)], norm_type=p)


class TestClipGradNorm:
    def test_clips_to_max_norm_and_returns_the_norm_before_clipping(self):
        clipped, total = clip_grad_norm([np.array([3.0]), np.array([4.0])], 1.0)
        assert total == 5.0
        np.testing.assert_allclose(np.concatenate(clipped), [0.6, 0.8], rtol=1e-6)

    def test_scales_slightly_even_exactly_at_the_threshold(self):
        clipped, _ = clip_grad_norm([np.array([3.0, 4.0])], 5.0)
        expected_coef = (1.0 / (5.0 + 1e-6)) * 5.0
        np.testing.assert_array_equal(clipped[0], np.array([3.0, 4.0]) * expected_coef)
        assert clipped[0][0] < 3.0

    def test_below_the_threshold_the_coefficient_is_exactly_one(self):
        g = np.array([0.3, 0.4])
        clipped, total = clip_grad_norm([g], 1.0)
        np.testing.assert_array_equal(clipped[0], g)
        assert total == pytest.approx(0.5)

    def test_nan_total_makes_everything_nan(self):
        clipped, total = clip_grad_norm([np.array([NAN, 1.0]), np.array([2.0])], 1.0)
        assert math.isnan(total)
        assert all(np.isnan(c).all() for c in clipped)

    def test_inf_total_zeroes_finite_entries(self):
        clipped, total = clip_grad_norm([np.array([INF, 1.0]), np.array([2.0])], 1.0)
        assert total == INF
        assert np.isnan(clipped[0][0]) and clipped[0][1] == 0.0 and clipped[1][0] == 0.0

    def test_error_if_nonfinite_raises_a_runtime_error_and_leaves_input_alone(self):
        g = np.array([INF, 1.0])
        with pytest.raises(NonFiniteNormError, match="non-finite|inf") as info:
            clip_grad_norm([g], 1.0, error_if_nonfinite=True)
        assert isinstance(info.value, RuntimeError)
        np.testing.assert_array_equal(g, [INF, 1.0])

    def test_error_if_nonfinite_is_quiet_for_finite_norms(self):
        _, total = clip_grad_norm([np.array([3.0, 4.0])], 1.0, error_if_nonfinite=True)
        assert total == 5.0

    def test_empty_list(self):
        assert clip_grad_norm([], 1.0) == ([], 0.0)

    def test_float32_is_computed_and_returned_in_float32(self):
        g = np.array([3.0, 4.0], dtype=np.float32)
        clipped, total = clip_grad_norm([g], 0.1)
        assert clipped[0].dtype == np.float32
        coef = (np.float32(1) / (np.float32(5) + np.float32(1e-6))) * np.float32(0.1)
        np.testing.assert_array_equal(clipped[0], g * coef)
        assert isinstance(total, float) and total == 5.0

    def test_mixed_dtypes_share_a_float64_total_norm(self):
        clipped, total = clip_grad_norm([np.array([3.0], np.float32), np.array([4.0], np.float64)], 1.0)
        assert total == 5.0
        assert [c.dtype for c in clipped] == [np.float32, np.float64]

    def test_inputs_are_never_modified(self):
        grads = [np.array([3.0, 4.0]), np.array([12.0])]
        copies = [g.copy() for g in grads]
        clipped, _ = clip_grad_norm(grads, 1.0)
        for g, c, out in zip(grads, copies, clipped):
            np.testing.assert_array_equal(g, c)
            assert not np.shares_memory(g, out)

    def test_p_inf_uses_the_largest_entry(self):
        clipped, total = clip_grad_norm([np.array([3.0, -4.0])], 2.0, norm_type=INF)
        assert total == 4.0
        np.testing.assert_allclose(clipped[0], [1.5, -2.0], rtol=1e-6)

    @pytest.mark.parametrize("bad", [-1.0, NAN, "x"])
    def test_bad_max_norm_is_rejected(self, bad):
        with pytest.raises(TypeError if isinstance(bad, str) else ValueError, match="max_norm"):
            clip_grad_norm([np.ones(2)], bad)


class TestClipGradValue:
    def test_clamps_each_entry(self):
        out = clip_grad_value([np.array([0.5, -3.0]), np.array([[2.0]])], 1.0)
        np.testing.assert_array_equal(out[0], [0.5, -1.0])
        np.testing.assert_array_equal(out[1], [[1.0]])

    def test_nan_passes_and_infinities_clamp(self):
        out = clip_grad_value([np.array([NAN, INF, -INF])], 2.0)[0]
        assert np.isnan(out[0]) and out[1] == 2.0 and out[2] == -2.0

    def test_negative_clip_value_is_rejected(self):
        with pytest.raises(ValueError, match="clip_value"):
            clip_grad_value([np.ones(2)], -1.0)


# --------------------------------------------------------------------------- Keras and optax


class TestKerasClipnorm:
    def test_each_tensor_is_clipped_by_its_own_norm(self):
        out = clip_by_norm_per_tensor([np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0)
        np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-15)
        np.testing.assert_array_equal(out[1], [0.3, 0.4])

    def test_per_tensor_clipping_changes_the_direction_of_the_whole_update(self):
        grads = [np.array([3.0, 4.0]), np.array([0.3, 0.4])]
        per_tensor = np.concatenate(clip_by_norm_per_tensor(grads, 1.0))
        global_ = np.concatenate(clip_by_global_norm(grads, 1.0))
        flat = np.concatenate(grads)
        assert np.allclose(global_ / flat, global_[0] / flat[0])
        assert not np.allclose(per_tensor / flat, per_tensor[0] / flat[0])

    def test_zero_tensor_stays_zero_and_nan_stays_in_its_tensor(self):
        out = clip_by_norm_per_tensor([np.zeros(2), np.array([NAN, 1.0]), np.array([2.0])], 1.0)
        np.testing.assert_array_equal(out[0], [0.0, 0.0])
        assert np.isnan(out[1]).all()
        np.testing.assert_allclose(out[2], [1.0])

    @pytest.mark.parametrize("bad", [0.0, -1.0, INF, NAN])
    def test_threshold_must_be_positive_and_finite(self, bad):
        with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
            clip_by_norm_per_tensor([np.ones(2)], bad)


class TestClipByGlobalNorm:
    def test_optax_and_keras_agree_on_ordinary_input(self):
        grads = [np.array([3.0]), np.array([4.0])]
        for conv in ("optax", "keras"):
            out = clip_by_global_norm(grads, 1.0, convention=conv)
            np.testing.assert_allclose(np.concatenate(out), [0.6, 0.8], rtol=1e-15)

    def test_optax_leaves_gradients_below_the_threshold_bit_for_bit(self):
        g = np.array([0.1, 0.2])
        np.testing.assert_array_equal(clip_by_global_norm([g], 1.0)[0], g)

    def test_optax_takes_the_rescale_branch_at_equality(self):
        # (g / n) * max_norm with n == max_norm: equal to g only up to rounding.
        g = np.array([0.1, 0.7])
        n = float(np.sqrt(np.sum(g * g)))
        out = clip_by_global_norm([g], n)[0]
        np.testing.assert_array_equal(out, (g / n) * n)

    def test_keras_multiplies_by_max_norm_times_its_reciprocal_below_the_threshold(self):
        g = np.array([0.1, 0.2])
        out = clip_by_global_norm([g], 49.0, convention="keras")[0]
        np.testing.assert_array_equal(out, g * (49.0 * (1.0 / 49.0)))

    def test_keras_turns_every_value_nan_on_a_non_finite_norm(self):
        for bad in (INF, NAN):
            out = clip_by_global_norm([np.array([bad, 1.0]), np.array([2.0])], 1.0, convention="keras")
            assert all(np.isnan(o).all() for o in out)

    def test_optax_inf_zeroes_finite_entries(self):
        out = clip_by_global_norm([np.array([INF, 1.0]), np.array([2.0])], 1.0)
        assert np.isnan(out[0][0]) and out[0][1] == 0.0 and out[1][0] == 0.0

    def test_zero_gradient_is_left_alone_by_both(self):
        for conv in ("optax", "keras"):
            np.testing.assert_array_equal(clip_by_global_norm([np.zeros(3)], 1.0, convention=conv)[0], np.zeros(3))

    def test_float32_stays_float32(self):
        out = clip_by_global_norm([np.array([3.0, 4.0], np.float32)], 1.0, convention="keras")
        assert out[0].dtype == np.float32

    def test_unknown_convention_is_rejected(self):
        with pytest.raises(ValueError, match="convention"):
            clip_by_global_norm([np.ones(2)], 1.0, convention="pytorch")


# --------------------------------------------------------------------------- the comparison table


@pytest.fixture(scope="module")
def rows():
    return {r["case"]: r for r in framework_differences()}


class TestFrameworkDifferences:
    def test_has_every_edge_case_and_every_convention(self, rows):
        assert list(rows) == [
            "norm exactly at threshold", "norm just above", "inf in a gradient",
            "NaN in a gradient", "per-variable vs global", "zero gradient",
        ]
        keys = {"case", "setup", "note"} | {k for k, _ in gradclip.FRAMEWORK_CONVENTIONS}
        assert all(set(r) == keys and all(isinstance(v, str) and v for v in r.values()) for r in rows.values())

    def test_only_pytorch_shrinks_a_gradient_at_the_threshold(self, rows):
        row = rows["norm exactly at threshold"]
        assert row["pytorch"] == "scaled by 0.9999998"
        assert row["keras_clipnorm"] == row["keras_global_clipnorm"] == row["optax"] == "unchanged"

    def test_keras_global_clipnorm_is_the_one_that_nans_an_inf(self, rows):
        row = rows["inf in a gradient"]
        assert row["keras_global_clipnorm"] == "NaN everywhere"
        assert row["pytorch"] == row["optax"] == "g1: [NaN, 0]; g2: set to 0"
        assert row["keras_clipnorm"] == "g1: [NaN, 0]; g2: scaled by 0.5"

    def test_nan_poisons_all_global_rules_but_stays_local_per_tensor(self, rows):
        row = rows["NaN in a gradient"]
        assert row["pytorch"] == row["keras_global_clipnorm"] == row["optax"] == "NaN everywhere"
        assert row["keras_clipnorm"] == "g1: NaN; g2: scaled by 0.5"

    def test_per_variable_clipping_leaves_the_small_tensor_alone(self, rows):
        row = rows["per-variable vs global"]
        assert row["keras_clipnorm"] == "g1: scaled by 0.2; g2: unchanged"
        assert row["optax"].startswith("scaled by 0.19900")

    def test_zero_gradient_is_unchanged_everywhere(self, rows):
        row = rows["zero gradient"]
        assert {row[k] for k, _ in gradclip.FRAMEWORK_CONVENTIONS} == {"unchanged"}


# --- wrong kinds (issue 17) -----------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: clip_by_global_norm([np.ones(2)], "1.0"), r"max_norm must be a finite number > 0, got '1.0'"),
    (lambda: clip_by_global_norm([np.ones(2)], True), r"max_norm must be a finite number > 0, got True \(bool\)"),
    (lambda: clip_by_norm(np.ones((2, 2)), 1.0, axis=1.5), r"axis must be an integer or a tuple of integers, got 1.5"),
    (lambda: clip_by_norm(np.ones((2, 2)), 1.0, axis=True), r"axis must be an integer or a tuple of integers"),
    (lambda: clip_by_norm(np.array([True, False]), 1.0), r"g must be an array of real numbers, got an array of dtype bool"),
    (lambda: clip_grad_norm([np.array([1 + 1j])], 1.0), r"grads\[0\] must be an array of real numbers.*complex"),
    (lambda: clip_grad_norm(None, 1.0), r"grads must be a list of arrays \(or one array\), got NoneType"),
    (lambda: clip_by_value([1.0], 1 + 0j), r"clip_value must be an array of real numbers"),
    (lambda: clip_by_global_norm([np.ones(2)], 1.0, convention=None), r"convention must be one of optax, keras; got None"),
])
def test_a_wrong_kind_is_a_type_error_naming_the_argument(call, match):
    with pytest.raises(TypeError, match=match):
        call()

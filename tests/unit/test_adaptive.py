"""Adaptive clipping (gradclip/adaptive.py): AGC as in optax, AutoClip, ZClip, threshold suggestions.

ZClip is checked against a small transcription of the reference implementation
(bluorion-com/ZClip, ``zclip.py``: a Python list as warm-up buffer, two-pass mean and
variance, scalar EMA updates), which shares no code with gradclip's vectorised version.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gradclip import (
    Suggestion,
    ZClip,
    adaptive_grad_clip,
    autoclip_series,
    autoclip_threshold,
    clip_by_norm,
    suggest_thresholds,
    unitwise_norm,
    zclip_series,
    zclip_step,
)

NAN, INF = math.nan, math.inf


# --------------------------------------------------------------------------- unitwise_norm


class TestUnitwiseNorm:
    def test_vector_is_one_unit(self):
        np.testing.assert_array_equal(unitwise_norm([3.0, 4.0]), [5.0, 5.0])

    def test_scalar(self):
        assert unitwise_norm(-2.0) == 2.0

    def test_linear_layer_in_out_has_one_unit_per_output_column(self):
        w = np.array([[3.0, 0.0, 1.0], [4.0, 2.0, 0.0]])  # (in=2, out=3)
        np.testing.assert_allclose(unitwise_norm(w), [[5.0, 2.0, 1.0], [5.0, 2.0, 1.0]])

    def test_multihead_3d_reduces_axis_0(self):
        x = np.arange(24.0).reshape(2, 3, 4)
        np.testing.assert_allclose(unitwise_norm(x), np.broadcast_to(np.sqrt((x**2).sum(0)), x.shape))

    def test_conv_kernel_hwio_reduces_all_but_the_output_axis(self):
        x = np.random.default_rng(0).standard_normal((3, 3, 2, 5))
        expected = np.sqrt((x**2).sum(axis=(0, 1, 2)))
        np.testing.assert_allclose(unitwise_norm(x), np.broadcast_to(expected, x.shape))

    def test_row_vector_counts_as_a_vector_after_squeezing(self):
        np.testing.assert_allclose(unitwise_norm(np.array([[3.0, 4.0]])), [[5.0, 5.0]])

    def test_explicit_axis_for_per_run_arrays(self):
        g = np.array([[3.0, 4.0], [0.0, 1.0]])
        np.testing.assert_allclose(unitwise_norm(g, axis=-1), [[5.0, 5.0], [1.0, 1.0]])

    def test_five_dimensions_need_an_axis(self):
        with pytest.raises(ValueError, match="axis"):
            unitwise_norm(np.ones((1, 2, 1, 2, 2)))

    def test_keeps_float32(self):
        assert unitwise_norm(np.ones(3, np.float32)).dtype == np.float32


# --------------------------------------------------------------------------- AGC


class TestAdaptiveGradClip:
    def test_clips_a_unit_whose_gradient_is_too_long_for_its_weights(self):
        # |W| = 10, lambda = 0.1: the gradient may be 1 long; it is 5 long.
        out = adaptive_grad_clip([np.array([3.0, 4.0])], [np.array([6.0, 8.0])], clipping=0.1)
        np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-15)

    def test_each_output_unit_has_its_own_limit(self):
        w = np.array([[1.0, 100.0], [0.0, 0.0]])   # column norms 1 and 100
        g = np.array([[1.0, 1.0], [0.0, 0.0]])     # column norms 1 and 1
        out = adaptive_grad_clip([g], [w], clipping=0.1)[0]
        np.testing.assert_allclose(out, [[0.1, 1.0], [0.0, 0.0]], rtol=1e-15)

    def test_eps_gives_zero_initialised_weights_a_minimum_allowance(self):
        out = adaptive_grad_clip([np.array([3.0, 4.0])], [np.zeros(2)], clipping=0.5, eps=1e-3)
        np.testing.assert_allclose(out[0], np.array([0.6, 0.8]) * 0.5e-3, rtol=1e-12)

    def test_short_gradients_and_zero_gradients_pass_unchanged(self):
        g = [np.array([0.01, 0.0]), np.zeros(3)]
        p = [np.array([1.0, 0.0]), np.ones(3)]
        out = adaptive_grad_clip(g, p, clipping=0.1)
        for a, b in zip(out, g):
            np.testing.assert_array_equal(a, b)

    def test_at_exactly_the_limit_the_rescale_branch_is_taken(self):
        # optax clips unless g_norm < max_norm; at equality g * (m / m) == g here.
        out = adaptive_grad_clip([np.array([0.3, 0.4])], [np.array([3.0, 4.0])], clipping=0.1)
        np.testing.assert_allclose(out[0], [0.3, 0.4], rtol=1e-15)

    def test_nan_poisons_only_its_unit(self):
        g = np.array([[NAN, 1.0], [1.0, 1.0]])
        out = adaptive_grad_clip([g], [np.ones((2, 2))], clipping=0.1)[0]
        assert np.isnan(out[:, 0]).all() and np.isfinite(out[:, 1]).all()

    def test_per_run_lambda_with_axis(self):
        g = np.array([[3.0, 4.0], [3.0, 4.0]])
        x = np.array([[6.0, 8.0], [6.0, 8.0]])
        out = adaptive_grad_clip([g], [x], clipping=np.array([0.1, 1.0])[:, None], axis=-1)[0]
        np.testing.assert_allclose(out, [[0.6, 0.8], [3.0, 4.0]], rtol=1e-15)

    def test_inputs_untouched_and_dtype_kept(self):
        g, p = np.array([3.0, 4.0], np.float32), np.array([6.0, 8.0], np.float32)
        out = adaptive_grad_clip([g], [p], clipping=0.1)
        assert out[0].dtype == np.float32
        np.testing.assert_array_equal(g, [3.0, 4.0])

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"params": [np.ones(2), np.ones(2)]}, "same length"),
            ({"params": [np.ones(3)]}, "shape"),
            ({"clipping": -0.1}, "clipping"),
            ({"clipping": np.ones(3)}, "clipping"),
            ({"eps": -1.0}, "eps"),
        ],
    )
    def test_bad_arguments(self, kwargs, match):
        args = {"grads": [np.ones(2)], "params": [np.ones(2)], **kwargs}
        with pytest.raises(ValueError, match=match):
            adaptive_grad_clip(**args)


# --------------------------------------------------------------------------- AutoClip


class TestAutoClip:
    def test_threshold_is_the_percentile_of_the_history(self):
        assert autoclip_threshold([4.0, 1.0, 3.0, 2.0], percentile=10.0) == pytest.approx(1.3)
        assert autoclip_threshold([5.0]) == 5.0

    def test_per_run_histories(self):
        h = np.array([[1.0, 10.0], [3.0, 30.0]])
        np.testing.assert_allclose(autoclip_threshold(h, 50.0), [2.0, 20.0])

    def test_series_equals_numpy_percentile_of_every_prefix(self):
        rng = np.random.default_rng(5)
        for p in (0.0, 10.0, 37.5, 50.0, 99.0, 100.0):
            x = np.round(rng.lognormal(size=80), 1)  # rounded: plenty of ties
            expected = [np.percentile(x[: t + 1], p) for t in range(len(x))]
            np.testing.assert_array_equal(autoclip_series(x, p), expected)

    @pytest.mark.parametrize("p", [0.0, 10.0, 33.3, 50.0, 90.0, 99.9, 100.0 - 1e-13, 100.0])
    def test_series_is_numpy_percentile_of_every_prefix_bit_for_bit(self, p):
        # zeros, ties, spikes of 1e6 and tiny values; 100 - 1e-13 makes the floor of the
        # index jump by two in one step, the heaps' general branch
        rng = np.random.default_rng(int(p * 10))
        x = np.round(rng.lognormal(size=300), 1)
        x[rng.random(300) < 0.1] = 0.0
        x[rng.random(300) < 0.03] *= 1e6
        x[rng.random(300) < 0.03] = 1e-300
        expected = np.array([np.percentile(x[: t + 1], p) for t in range(len(x))])
        assert autoclip_series(x, p).tobytes() == expected.tobytes()

    def test_series_over_runs_equals_each_run_alone(self):
        x = np.random.default_rng(6).lognormal(size=(40, 3))
        out = autoclip_series(x, 10.0)
        for r in range(3):
            np.testing.assert_array_equal(out[:, r], autoclip_series(x[:, r], 10.0))

    def test_a_spike_after_a_calm_stretch_is_clipped(self):
        x = np.r_[np.ones(20), 50.0]
        tau = autoclip_series(x)
        assert x[-1] > tau[-1] == 1.0

    @pytest.mark.parametrize(
        "history, percentile, match",
        [
            ([], 10.0, "empty"),
            ([1.0, NAN], 10.0, r"history\[1\] is nan"),
            ([1.0, -2.0], 10.0, r"history\[1\] is -2"),
            ([INF], 10.0, "finite"),
            ([1.0], 101.0, "percentile"),
            ([1.0], -1.0, "percentile"),
            ([[[1.0]]], 10.0, "shape"),
        ],
    )
    def test_bad_input(self, history, percentile, match):
        with pytest.raises(ValueError, match=match):
            autoclip_threshold(history, percentile)


# --------------------------------------------------------------------------- ZClip


class ReferenceZClip:
    """The reference algorithm's arithmetic (bluorion-com/ZClip zclip.py), scalar and stateful."""

    def __init__(self, alpha=0.97, z_thresh=2.5, eps=1e-6, warmup_steps=25, mode="zscore",
                 clip_option="adaptive_scaling", clip_factor=1.0, skip_update_on_spike=False):
        self.__dict__.update(locals())
        self.buffer, self.initialized, self.mean, self.var = [], False, None, None

    def clip_val(self, g):
        std = self.var ** 0.5
        if self.mode == "percentile":
            threshold = self.mean + self.z_thresh * std
            return threshold if g > threshold else None
        z = (g - self.mean) / (std + self.eps)
        if z > self.z_thresh:
            if self.clip_option == "adaptive_scaling":
                return (self.mean + (self.z_thresh * std) / (z / self.z_thresh)) * self.clip_factor
            return self.mean
        return None

    def step(self, g):
        """Returns the norm after clipping (no max_grad_norm cap)."""
        if not self.initialized:
            self.buffer.append(g)
            if len(self.buffer) >= self.warmup_steps:
                self.mean = sum(self.buffer) / len(self.buffer)
                self.var = sum((x - self.mean) ** 2 for x in self.buffer) / len(self.buffer)
                self.initialized, self.buffer = True, []
            return g
        c = self.clip_val(g)
        if not (c is not None and self.skip_update_on_spike):
            x = c if c is not None else g
            self.mean = self.alpha * self.mean + (1 - self.alpha) * x
            self.var = self.alpha * self.var + (1 - self.alpha) * (x - self.mean) ** 2
        return min(g, c) if c is not None else g


def spiky_norms(rng, steps=200):
    x = 1.0 + 0.1 * rng.standard_normal(steps) + 0.002 * np.arange(steps)
    spikes = rng.choice(np.arange(30, steps), size=8, replace=False)
    x[spikes] *= rng.uniform(3, 50, size=8)
    return np.abs(x)


CONFIGS = [
    {},
    {"clip_option": "mean"},
    {"mode": "percentile"},
    {"skip_update_on_spike": True},
    {"alpha": 0.9, "z_thresh": 2.0, "warmup_steps": 5, "clip_factor": 0.7},
]


class TestZClip:
    @pytest.mark.parametrize("config", CONFIGS)
    def test_matches_the_reference_algorithm(self, config):
        norms = spiky_norms(np.random.default_rng(11))
        ref = ReferenceZClip(**config)
        expected = np.array([ref.step(float(g)) for g in norms])
        res = zclip_series(norms, ZClip(**config))
        np.testing.assert_allclose(res.clipped_norm, expected, rtol=1e-12)
        assert res.clipped.sum() >= 5
        assert res.final_state.mean == pytest.approx(ref.mean, rel=1e-12)
        assert res.final_state.var == pytest.approx(ref.var, rel=1e-10)

    def test_warm_up_never_clips_and_initialises_mean_and_population_variance(self):
        s = ZClip(warmup_steps=4)
        for g in (1.0, 2.0, 3.0, 4.0):
            s, tau = zclip_step(s, g)
            assert tau == INF
        assert s.ready and s.mean == pytest.approx(2.5) and s.var == pytest.approx(1.25)

    def test_a_spike_is_pulled_back_closer_to_the_mean_the_bigger_it_is(self):
        s = ZClip(warmup_steps=2)
        s, _ = zclip_step(s, 1.0)
        s, _ = zclip_step(s, 3.0)  # mean 2, std 1
        _, tau_small = zclip_step(s, 6.0)
        _, tau_big = zclip_step(s, 600.0)
        assert 2.0 < tau_big < tau_small < 2.0 + 2.5

    def test_a_normal_step_gets_a_threshold_at_or_above_its_norm(self):
        s = ZClip(warmup_steps=2)
        s, _ = zclip_step(s, 1.0)
        s, _ = zclip_step(s, 3.0)
        new, tau = zclip_step(s, 4.0)  # z = 2 < 2.5
        assert tau == pytest.approx(s.limit()) and tau >= 4.0
        assert new.mean == pytest.approx(0.97 * 2.0 + 0.03 * 4.0)

    def test_state_is_immutable_and_steps_are_pure(self):
        s0 = ZClip(warmup_steps=1)
        s1, _ = zclip_step(s0, 1.0)
        assert s0.step == 0 and s1.step == 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            s1.mean = 5.0  # type: ignore[misc]
        a = zclip_step(s1, 7.0)
        b = zclip_step(s1, 7.0)
        assert a == b

    def test_threshold_is_what_clip_by_norm_needs(self):
        rng = np.random.default_rng(3)
        s = ZClip(warmup_steps=3)
        for _ in range(40):
            g = rng.standard_normal(4) * (30.0 if rng.random() < 0.1 else 1.0)
            n = float(np.linalg.norm(g))
            s_next, tau = zclip_step(s, n)
            out = clip_by_norm(g, tau)
            assert np.linalg.norm(out) == pytest.approx(min(n, tau), rel=1e-12)
            s = s_next

    def test_vectorised_runs_equal_separate_runs(self):
        rng = np.random.default_rng(4)
        norms = np.stack([spiky_norms(rng, 120) for _ in range(3)], axis=1)
        res = zclip_series(norms, ZClip(warmup_steps=10))
        for r in range(3):
            one = zclip_series(norms[:, r], ZClip(warmup_steps=10))
            np.testing.assert_array_equal(res.threshold[:, r], one.threshold)
            np.testing.assert_array_equal(res.clipped[:, r], one.clipped)

    @pytest.mark.parametrize("config", [*CONFIGS, {"eps": 0.0, "warmup_steps": 3},
                                        {"eps": 0.0, "mode": "percentile", "warmup_steps": 1}])
    def test_series_is_a_loop_of_zclip_step_bit_for_bit(self, config):
        # zclip_series replays the statistics on plain floats; the reference is the plain
        # loop of zclip_step. Logs with spikes, inf, zeros, repeated values (a zero variance:
        # with eps = 0 plain floats would divide by zero, and zclip_step takes over), huge
        # norms (squares that overflow), one run and several, from a fresh and a mid-run state.
        rng = np.random.default_rng(len(repr(config)))
        logs = []
        for kind in range(5):
            x = spiky_norms(rng, 160)
            if kind == 1:
                x[rng.random(160) < 0.05] = INF
            elif kind == 2:
                x[rng.random(160) < 0.5] = 1.0
                x[:8] = 1.0
            elif kind == 3:
                x[rng.random(160) < 0.3] = 0.0
            elif kind == 4:
                x *= 1e300
            logs.append(x)
        runs = np.stack(logs, axis=1)
        for norms in [*logs, runs]:
            for start in (ZClip(**config), zclip_series(norms[:40], ZClip(**config)).final_state,
                          zclip_series(norms[:2], ZClip(**config)).final_state):
                s, rows = start, []
                with np.errstate(all="ignore"):
                    for g in norms:
                        warm = np.full(norms.shape[1:], NAN)
                        mean, std = (s.mean, s.std) if s.ready else (warm, warm)
                        s, tau = zclip_step(s, g)
                        rows.append((tau, mean, std))
                    res = zclip_series(norms, start)
                tau, mean, std = (np.array([r[j] for r in rows], dtype=float) for j in range(3))
                for got, want in [(res.threshold, tau), (res.mean, mean), (res.std, std),
                                  (res.clipped, norms > tau), (res.clipped_norm, np.minimum(norms, tau))]:
                    assert got.shape == norms.shape and got.tobytes() == want.tobytes()
                assert res.final_state.step == s.step
                assert type(res.final_state.mean) is type(s.mean)
                assert np.asarray(res.final_state.mean).tobytes() == np.asarray(s.mean).tobytes()
                assert np.asarray(res.final_state.var).tobytes() == np.asarray(s.var).tobytes()

    @pytest.mark.parametrize("runs", [None, 2])
    @pytest.mark.parametrize("hand_made", [False, True])
    def test_one_long_log_is_a_loop_of_zclip_step_bit_for_bit(self, runs, hand_made):
        # For one run zclip_step squares NumPy scalars with C pow, which in about one case
        # in a thousand is not the correctly rounded d * d; for several runs NumPy squares
        # arrays by multiplying. A long log with a short memory (alpha 0.5, where the square
        # is half the new variance) catches a mix-up. The hand-made state has a negative
        # variance: NumPy's sqrt gives NaN there, where plain floats raise.
        x = np.random.default_rng(1).lognormal(0.0, 1.0, 4000)
        norms = x if runs is None else np.stack([x, x[::-1]], axis=1)
        shape = norms.shape[1:]
        start = ZClip(alpha=0.5, z_thresh=10.0)
        if hand_made:
            start = dataclasses.replace(start, step=30, mean=np.ones(shape)[()], var=-np.ones(shape)[()])
        s, taus = start, []
        with np.errstate(all="ignore"):
            for g in norms:
                s, tau = zclip_step(s, g)
                taus.append(tau)
            res = zclip_series(norms, start)
        assert res.threshold.tobytes() == np.array(taus).tobytes()
        assert np.asarray(res.final_state.mean).tobytes() == np.asarray(s.mean).tobytes()
        assert np.asarray(res.final_state.var).tobytes() == np.asarray(s.var).tobytes()

    def test_series_refuses_nan_and_a_state_of_another_shape(self):
        with pytest.raises(ValueError, match=r"norms\[2\] is nan"):
            zclip_series([1.0, 2.0, NAN])
        s = zclip_series(np.ones((5, 2))).final_state
        with pytest.raises(ValueError, match="tracks shape"):
            zclip_series(np.ones(5), s)

    def test_series_reports_statistics_only_after_warm_up(self):
        res = zclip_series(np.ones(30) + 0.01 * np.arange(30), ZClip(warmup_steps=25))
        assert np.isnan(res.mean[:25]).all() and np.isfinite(res.mean[25:]).all()
        assert np.isinf(res.threshold[:25]).all() and not res.clipped.any()

    def test_inf_norm_after_warm_up_is_clipped_to_the_mean(self):
        s = ZClip(warmup_steps=2)
        s, _ = zclip_step(s, 1.0)
        s, _ = zclip_step(s, 3.0)
        s2, tau = zclip_step(s, INF)
        assert tau == 2.0 and math.isfinite(s2.mean)

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"alpha": 1.0}, "alpha"),
            ({"z_thresh": 0.0}, "z_thresh"),
            ({"warmup_steps": 0}, "warmup_steps"),
            ({"mode": "median"}, "mode"),
            ({"clip_option": "max"}, "clip_option"),
            ({"clip_factor": -1.0}, "clip_factor"),
            ({"eps": -1e-6}, "eps"),
        ],
    )
    def test_bad_settings(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            ZClip(**kwargs)

    @pytest.mark.parametrize("norm, match", [(NAN, "norm is nan"), (-1.0, ">= 0"), ([[1.0]], "shape")])
    def test_bad_norms(self, norm, match):
        with pytest.raises(ValueError, match=match):
            zclip_step(ZClip(), norm)

    def test_shape_must_stay_the_same_across_steps(self):
        s, _ = zclip_step(ZClip(), np.ones(3))
        with pytest.raises(ValueError, match="tracks shape"):
            zclip_step(s, np.ones(2))


# --------------------------------------------------------------------------- suggestions


@pytest.fixture(scope="module")
def norms():
    return spiky_norms(np.random.default_rng(8), 300)


class TestSuggestThresholds:
    def test_one_suggestion_per_percentile_then_autoclip_and_zclip(self, norms):
        out = suggest_thresholds(norms)
        assert [s.rule for s in out] == ["p50", "p90", "p95", "p99", "autoclip", "zclip"]
        assert all(isinstance(s, Suggestion) and s.explanation for s in out)

    def test_percentile_thresholds_and_their_clip_counts(self, norms):
        for s in suggest_thresholds(norms, percentiles=(50, 90, 99)):
            if s.rule.startswith("p"):
                p = float(s.rule[1:])
                assert s.tau == np.percentile(norms, p)
                assert s.steps_clipped == int((norms > s.tau).sum())
                assert s.fraction_clipped == pytest.approx(s.steps_clipped / len(norms))

    def test_higher_percentiles_clip_fewer_steps(self, norms):
        fixed = [s for s in suggest_thresholds(norms, percentiles=(10, 50, 90, 99)) if s.rule.startswith("p")]
        counts = [s.steps_clipped for s in fixed]
        assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]

    def test_adaptive_rules_report_what_replaying_the_log_gives(self, norms):
        by_rule = {s.rule: s for s in suggest_thresholds(norms)}
        auto = autoclip_series(norms, 10.0)
        assert by_rule["autoclip"].steps_clipped == int((norms > auto).sum())
        assert by_rule["autoclip"].tau == auto[-1]
        z = zclip_series(norms)
        assert by_rule["zclip"].steps_clipped == int(z.clipped.sum()) > 0
        # ZClip only reacts to spikes; AutoClip at the 10th percentile trims most steps.
        assert by_rule["zclip"].steps_clipped < by_rule["autoclip"].steps_clipped

    def test_a_log_shorter_than_the_warm_up_gives_zclip_no_threshold(self):
        z = suggest_thresholds([1.0, 2.0, 3.0])[-1]
        assert z.rule == "zclip" and z.tau == INF and z.steps_clipped == 0
        assert "warm-up" in z.explanation

    @pytest.mark.parametrize(
        "norms, percentiles, match",
        [
            ([], (50,), "empty"),
            ([1.0, NAN], (50,), "nan"),
            ([1.0, -1.0], (50,), "-1"),
            ([[1.0, 2.0]], (50,), "shape"),
            ([1.0], (150,), "percentiles"),
            ([1.0], 50, "percentiles"),
        ],
    )
    def test_bad_input(self, norms, percentiles, match):
        with pytest.raises(ValueError, match=match):
            suggest_thresholds(norms, percentiles)


@pytest.mark.parametrize("bad, kind", [("50", TypeError), ("…", TypeError), (50, ValueError),
                                       ([50, "a"], TypeError), ([True], TypeError), ([101], ValueError)])
def test_suggest_thresholds_refuses_percentiles_that_are_not_a_list_of_numbers(bad, kind):
    with pytest.raises(kind, match="percentiles"):
        suggest_thresholds([1.0, 2.0, 3.0], percentiles=bad)

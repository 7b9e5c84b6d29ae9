"""Invariants of clipping, checked on many generated gradients (hypothesis).

Whatever the gradient: clipping never lengthens it, norm clipping keeps its direction,
a gradient already inside the limit comes back unchanged, clipping twice is the same as
clipping once, value clipping stays inside its bounds, and no input is ever modified.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradclip import (
    adaptive_grad_clip,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_norm_per_tensor,
    clip_by_value,
    clip_grad_norm,
    clip_grad_value,
)



def finite(dtype):
    """Finite values over many orders of magnitude (1e-20 .. 1e6, either sign) and exact zeros.

    Bounded above so that the framework rules (which, like the frameworks, do not rescale
    before squaring) cannot overflow, and below so that even a strongly clipped entry stays
    a normal number: subnormals keep too few bits for relative comparisons to mean anything.
    """
    width = 32 if dtype == np.float32 else 64
    magnitude = st.floats(min_value=float(dtype(1e-20)), max_value=1e6, width=width)
    return st.one_of(st.just(0.0), magnitude, magnitude.map(lambda v: -v))


dtypes = st.sampled_from([np.float32, np.float64])
thresholds = st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def arrays(draw, min_dims=1, max_dims=3, dtype=None):
    dt = draw(dtypes) if dtype is None else dtype
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=5))
    return draw(hnp.arrays(dt, shape, elements=finite(dt)))


@st.composite
def grad_lists(draw):
    dt = draw(dtypes)
    return draw(st.lists(arrays(dtype=dt), min_size=1, max_size=4))


def norm(g):
    return float(np.sqrt(np.sum(np.asarray(g, dtype=np.float64) ** 2)))


def total(gs):
    return float(np.sqrt(sum(norm(g) ** 2 for g in gs)))


def slack(dtype):
    """Relative room for rounding in one rescale-and-round of each entry."""
    return 8 * float(np.finfo(dtype).eps)


SETTINGS = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------- clip_by_norm


@SETTINGS
@given(arrays(), thresholds)
def test_norm_clipping_never_increases_the_norm(g, tau):
    out = clip_by_norm(g, tau)
    # Entrywise: each magnitude can only shrink (the scale is <= 1 and rounding is monotone).
    assert np.all(np.abs(out) <= np.abs(g))
    assert norm(out) <= min(norm(g), tau) * (1 + slack(g.dtype)) + 1e-300


@SETTINGS
@given(arrays(), thresholds)
def test_norm_clipping_preserves_direction(g, tau):
    out = clip_by_norm(g, tau)
    n_out = norm(out)
    if n_out > 0:
        cos = float(np.sum(out.astype(np.float64) * g.astype(np.float64))) / (n_out * norm(g))
        assert cos > 1 - 1e-5
    assert np.all(np.sign(out)[out != 0] == np.sign(g)[out != 0])


@SETTINGS
@given(arrays(), st.floats(min_value=1.0 + 1e-6, max_value=1e3))
def test_norm_clipping_is_the_identity_below_the_threshold(g, room):
    tau = norm(g) * room or 1.0
    np.testing.assert_array_equal(clip_by_norm(g, tau), g)
    # optax keeps g itself below the threshold; PyTorch multiplies by a coefficient clamped to 1.
    np.testing.assert_array_equal(clip_by_global_norm([g], tau)[0], g)
    np.testing.assert_array_equal(clip_grad_norm([g], tau * (1 + 1e-5) + 1e-5)[0][0], g)
    # Keras computes g * tau / tau (clipnorm) or g * (tau * (1/tau)) (global_clipnorm): g up to
    # one rounding. (With a tiny tau, g * tau also underflows in float32, as in Keras; keep
    # the threshold in a realistic range for these two.)
    tau = max(tau, 1e-3)
    for out in (clip_by_norm_per_tensor([g], tau), clip_by_global_norm([g], tau, convention="keras")):
        np.testing.assert_allclose(out[0], g, rtol=2 * float(np.finfo(g.dtype).eps), atol=0)


@SETTINGS
@given(arrays(), thresholds)
def test_norm_clipping_is_idempotent(g, tau):
    once = clip_by_norm(g, tau)
    twice = clip_by_norm(once, tau)
    np.testing.assert_allclose(twice, once, rtol=slack(g.dtype), atol=0)


@SETTINGS
@given(arrays(min_dims=2, max_dims=2), st.data())
def test_per_run_clipping_equals_clipping_each_run_alone(g, data):
    taus = np.array(data.draw(st.lists(thresholds, min_size=g.shape[0], max_size=g.shape[0])))
    out = clip_by_norm(g, taus, axis=-1)
    for r in range(g.shape[0]):
        np.testing.assert_array_equal(out[r], clip_by_norm(g[r], taus[r]))


@SETTINGS
@given(arrays(), thresholds)
def test_norm_clipping_keeps_dtype_shape_and_input(g, tau):
    before = g.copy()
    out = clip_by_norm(g, tau)
    assert out.dtype == g.dtype and out.shape == g.shape
    np.testing.assert_array_equal(g, before)


# --------------------------------------------------------------------------- clip_by_value


@SETTINGS
@given(arrays(), st.floats(min_value=0.0, max_value=1e3))
def test_value_clipping_stays_in_bounds_and_is_idempotent(g, c):
    before = g.copy()
    out = clip_by_value(g, c)
    cc = g.dtype.type(c)
    assert np.all(out <= cc) and np.all(out >= -cc)
    np.testing.assert_array_equal(clip_by_value(out, c), out)
    # Entries already inside are untouched.
    inside = np.abs(g) <= cc
    np.testing.assert_array_equal(out[inside], g[inside])
    np.testing.assert_array_equal(g, before)


@SETTINGS
@given(arrays(), st.floats(-1e3, 1e3), st.floats(0, 1e3))
def test_value_clipping_with_explicit_bounds(g, lo, width):
    hi = lo + width
    out = clip_by_value(g, min_value=lo, max_value=hi)
    assert np.all(out >= g.dtype.type(lo)) and np.all(out <= g.dtype.type(hi))


# --------------------------------------------------------------------------- list-based rules


@SETTINGS
@given(grad_lists(), thresholds)
def test_global_rules_never_increase_the_total_norm_and_keep_the_inputs(gs, tau):
    before = [g.copy() for g in gs]
    outs = {
        "pytorch": clip_grad_norm(gs, tau)[0],
        "optax": clip_by_global_norm(gs, tau, convention="optax"),
        "keras": clip_by_global_norm(gs, tau, convention="keras"),
        "per_tensor": clip_by_norm_per_tensor(gs, tau),
    }
    eps = slack(gs[0].dtype)
    for name, out in outs.items():
        assert total(out) <= total(gs) * (1 + eps) + 1e-300, name
        assert total(out) <= tau * (1 + eps) * (len(gs) ** 0.5 if name == "per_tensor" else 1), name
        assert [o.dtype for o in out] == [g.dtype for g in gs], name
    for g, b in zip(gs, before):
        np.testing.assert_array_equal(g, b)


@SETTINGS
@given(grad_lists(), thresholds)
def test_global_rules_scale_all_tensors_by_one_factor(gs, tau):
    flat = np.concatenate([g.ravel() for g in gs]).astype(np.float64)
    nz = flat != 0
    for out in (clip_grad_norm(gs, tau)[0], clip_by_global_norm(gs, tau), clip_by_global_norm(gs, tau, "keras")):
        o = np.concatenate([x.ravel() for x in out]).astype(np.float64)
        if nz.any():
            ratios = o[nz] / flat[nz]
            np.testing.assert_allclose(ratios, ratios[0], rtol=4 * slack(gs[0].dtype))


@SETTINGS
@given(grad_lists(), thresholds)
def test_pytorch_clipping_is_idempotent_up_to_its_epsilon(gs, tau):
    once, _ = clip_grad_norm(gs, tau)
    twice, _ = clip_grad_norm(once, tau)
    for a, b in zip(once, twice):
        # A second pass may shrink by tau/(tau + 1e-6) once more, nothing else.
        np.testing.assert_allclose(b, a, rtol=1e-6 / tau + slack(a.dtype), atol=0)


@SETTINGS
@given(grad_lists(), st.floats(min_value=0.0, max_value=1e3))
def test_grad_value_clipping_stays_in_bounds(gs, c):
    for g, o in zip(gs, clip_grad_value(gs, c)):
        cc = g.dtype.type(c)
        assert np.all(np.abs(o) <= cc)
        np.testing.assert_array_equal(o[np.abs(g) <= cc], g[np.abs(g) <= cc])


@SETTINGS
@given(grad_lists(), st.floats(min_value=1e-3, max_value=1.0))
def test_agc_never_lets_a_unit_exceed_its_share_of_the_weights(gs, lam):
    params = [np.ones_like(g) * 2 for g in gs]
    before = [g.copy() for g in gs]
    out = adaptive_grad_clip(gs, params, clipping=lam)
    for g, p, o, b in zip(gs, params, out, before):
        np.testing.assert_array_equal(g, b)
        assert np.all(np.abs(o) <= np.abs(g))
        assert o.dtype == g.dtype

"""The framework-difference table against real Keras and real optax (as test_torch_parity.py is
against real PyTorch).

Every edge case of :func:`gradclip.frameworks._edge_cases` goes through Keras 3 (JAX backend:
an ``SGD(learning_rate=1.0, clipnorm=τ)`` or ``global_clipnorm=τ`` step on zero-initialised
variables, so the variables end at minus the clipped gradient) and through
``optax.clip_by_global_norm(τ).update``, in float32 and in float64 (JAX's x64 mode, switched
on only inside the float64 runs). Each outcome must equal gradclip's (from which the table's
cell is written) to two units in the last place, with NaN and inf in exactly the same places.
Bit-for-bit equality is not expected: XLA on the CPU divides an array by a scalar as a
multiplication by the scalar's reciprocal, so ``(g / n) * τ`` may land one unit away from
NumPy's; the table's note on the first case quotes that, and a test here holds it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gradclip.clipping import clip_by_global_norm, clip_by_norm_per_tensor
from gradclip.frameworks import _describe, _edge_cases, framework_differences
from support import need

CASES = _edge_cases()
DTYPES = ["float32", "float64"]
KERAS_KNOBS = {"keras_clipnorm": "clipnorm", "keras_global_clipnorm": "global_clipnorm"}


@pytest.fixture(scope="module")
def libs():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    jax = need("jax")
    keras = need("keras")
    optax = need("optax")
    if keras.backend.backend() != "jax":
        pytest.skip(f"Keras runs on {keras.backend.backend()} here; this test checks the JAX backend")
    return jax, keras, optax


def keras_step(keras, grads, tau, knob, dtype):
    """Minus the variables after one SGD(learning_rate=1) step from zero: the clipped gradient."""
    variables = [keras.Variable(np.zeros(g.shape, dtype), dtype=dtype) for g in grads]
    assert all(str(v.dtype) == dtype for v in variables)
    keras.optimizers.SGD(learning_rate=1.0, **{knob: tau}).apply([g.astype(dtype) for g in grads], variables)
    return [-np.asarray(v.value) + 0.0 for v in variables]     # + 0.0: -(0 - 0) is -0, the step's 0 is +0


def optax_clip(jax, optax, grads, tau, dtype):
    transform = optax.clip_by_global_norm(tau)
    tree = [jax.numpy.asarray(g.astype(dtype)) for g in grads]
    updates, _ = transform.update(tree, transform.init(tree))
    out = [np.asarray(u) for u in updates]
    assert all(u.dtype == np.dtype(dtype) for u in out)
    return out


def real_outcome(libs, key, grads, tau, dtype):
    jax, keras, optax = libs
    with jax.enable_x64(dtype == "float64"):
        if key in KERAS_KNOBS:
            return keras_step(keras, grads, tau, KERAS_KNOBS[key], dtype)
        return optax_clip(jax, optax, grads, tau, dtype)


def gradclip_outcome(key, grads, tau):
    if key == "keras_clipnorm":
        return clip_by_norm_per_tensor(grads, tau)
    return clip_by_global_norm(grads, tau, convention="keras" if key == "keras_global_clipnorm" else "optax")


def assert_same(real, ours, where):
    for r, o in zip(real, ours, strict=True):
        assert r.dtype == o.dtype, where
        assert np.array_equal(np.isnan(r), np.isnan(o)), (where, r, o)
        assert np.array_equal(np.where(np.isinf(r), np.sign(r), 0), np.where(np.isinf(o), np.sign(o), 0)), (where, r, o)
        fin = np.isfinite(o)
        ulp = np.spacing(np.maximum(np.abs(r[fin]), np.abs(o[fin])))
        assert np.all(np.abs(r[fin] - o[fin]) <= 2 * ulp), (where, r, o)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", ["keras_clipnorm", "keras_global_clipnorm", "optax"])
def test_each_edge_case_matches_the_real_library(libs, key, dtype):
    table = {row["case"]: row for row in framework_differences()}
    for case, grads, tau, _ in CASES:
        ours = gradclip_outcome(key, [g.astype(dtype) for g in grads], tau)
        real = real_outcome(libs, key, grads, tau, dtype)
        assert_same(real, ours, (case, key, dtype))
        if dtype == "float64":
            assert _describe(grads, ours) == table[case][key], (case, key)


def test_the_note_on_optax_at_the_threshold_is_what_optax_does(libs):
    """The first case's note quotes real optax's float64 result (one unit above the 3 it was given)."""
    case, grads, tau, note = CASES[0]
    real = real_outcome(libs, "optax", grads, tau, "float64")[0]
    assert real[0] == np.nextafter(3.0, 4.0) and real[1] == 4.0 and grads[0].tolist() == [3.0, 4.0]
    assert repr(float(real[0])) in note


def test_the_cases_tell_the_conventions_apart(libs):
    """Not a vacuous table: on the real libraries, some case separates each pair of columns."""
    keys = ["keras_clipnorm", "keras_global_clipnorm", "optax"]
    cells = {k: [_describe(g, real_outcome(libs, k, g, t, "float64")) for _, g, t, _ in CASES] for k in keys}
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert cells[a] != cells[b], (a, b)

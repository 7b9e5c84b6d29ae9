"""Parity with real PyTorch: gradclip's clip_grad_norm / clip_grad_value against torch 2.13.

Every case runs both implementations on the same numbers. Where PyTorch's arithmetic can
be reproduced exactly, results must be bit-for-bit equal: the scaling step (coefficient
``(total + 1e-6).reciprocal() * max_norm``, clamped, multiplied in), the inf norm (a max),
value clipping, and every total norm whose sums are exact (small integers). Elsewhere the
total norm is a sum whose order PyTorch chooses per CPU (vectorised lanes, fused
multiply-add), which NumPy's pairwise summation cannot follow; there the comparison allows
a few units in the last place (see RTOL), and the clipped values inherit that tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gradclip import NonFiniteNormError, clip_grad_norm, clip_grad_value  # noqa: E402
from gradclip.clipping import _scale_by_total_norm  # noqa: E402

pytestmark = pytest.mark.torch

INF, NAN = math.inf, math.nan
NORM_TYPES = [1.0, 2.0, 3.0, INF]
DTYPES = [np.float32, np.float64]
# Relative tolerance for totals whose summation order differs from PyTorch's: a handful of
# ulps of a sum of up to a few hundred terms (observed: < 6e-7 for float32, < 4e-16 for
# float64 on these sizes).
RTOL = {np.float32: 5e-6, np.float64: 1e-13}


def torch_clip_grad_norm(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Run torch.nn.utils.clip_grad_norm_ on copies of ``grads``; return (clipped, total)."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype))
        p.grad = torch.from_numpy(np.array(g, copy=True))
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite)
    return [p.grad.numpy() for p in params], total.item()


def torch_clip_grad_value(grads, clip_value):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype))
        p.grad = torch.from_numpy(np.array(g, copy=True))
        params.append(p)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    return [p.grad.numpy() for p in params]


def assert_same(ours, theirs, rtol=0.0):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        if rtol == 0.0:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0, equal_nan=True)


def same_total(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


# --------------------------------------------------------------------------- fixed edge cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name, grads, max_norm",
    [
        ("norm exactly at threshold", [[3.0, 4.0]], 5.0),
        ("just above", [[3.0, 4.0]], 4.999),
        ("just below", [[3.0, 4.0]], 5.001),
        ("two tensors", [[3.0], [4.0]], 1.0),
        ("non-representable threshold", [[3.0, 4.0]], 0.1),
        ("zero gradient", [[0.0, 0.0]], 1.0),
        ("zero threshold", [[1.0, 2.0]], 0.0),
        ("inf entry", [[INF, 1.0], [2.0]], 1.0),
        ("-inf entry", [[-INF, 1.0]], 1.0),
        ("nan entry", [[NAN, 1.0], [2.0]], 1.0),
        ("scalar gradient", [3.0], 1.0),
        ("matrix", [[[1.0, 2.0], [2.0, 4.0]]], 2.0),
        ("empty tensor next to a full one", [[], [3.0, 4.0]], 1.0),
        ("huge values overflow like torch", [["huge", 1.0]], 1.0),
    ],
)
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_edge_cases_match_bit_for_bit(dtype, name, grads, max_norm, norm_type):
    huge = float(np.finfo(dtype).max) / 4  # its square overflows in this dtype
    arrays = [np.array([huge if v == "huge" else v for v in g] if isinstance(g, list) else g, dtype=dtype)
              for g in grads]
    if norm_type == INF and any(a.size == 0 for a in arrays):
        # PyTorch refuses the inf norm of an empty tensor; so do we (with a ValueError).
        with pytest.raises(RuntimeError, match="empty tensor"):
            torch_clip_grad_norm(arrays, max_norm, norm_type)
        with pytest.raises(ValueError, match="empty"):
            clip_grad_norm(arrays, max_norm, norm_type)
        return
    theirs, their_total = torch_clip_grad_norm(arrays, max_norm, norm_type)
    ours, our_total = clip_grad_norm(arrays, max_norm, norm_type)
    if norm_type == 3.0 and name not in ("zero gradient", "scalar gradient"):
        # x ** (1/3) goes through pow(), whose last bit PyTorch's vectorised kernel and libm
        # may round differently.
        assert our_total == pytest.approx(their_total, rel=RTOL[dtype], nan_ok=True)
        assert_same(ours, theirs, rtol=RTOL[dtype])
    else:
        assert same_total(our_total, their_total), (our_total, their_total)
        assert_same(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [INF, NAN])
def test_error_if_nonfinite_raises_where_torch_raises(dtype, bad):
    arrays = [np.array([bad, 1.0], dtype=dtype)]
    with pytest.raises(RuntimeError, match="non-finite"):
        torch_clip_grad_norm(arrays, 1.0, error_if_nonfinite=True)
    with pytest.raises(NonFiniteNormError):
        clip_grad_norm(arrays, 1.0, error_if_nonfinite=True)
    # ...and both stay quiet for a finite norm.
    ok = [np.array([3.0, 4.0], dtype=dtype)]
    assert clip_grad_norm(ok, 1.0, error_if_nonfinite=True)[1] == torch_clip_grad_norm(
        ok, 1.0, error_if_nonfinite=True)[1]


def test_empty_list_matches():
    theirs, their_total = torch_clip_grad_norm([], 1.0)
    ours, our_total = clip_grad_norm([], 1.0)
    assert ours == theirs == [] and our_total == their_total == 0.0


def test_mixed_dtypes_match():
    arrays = [np.array([3.0, 1.5], np.float32), np.array([4.0, 0.25]), np.array([12.0], np.float32)]
    theirs, their_total = torch_clip_grad_norm(arrays, 1.3)
    ours, our_total = clip_grad_norm(arrays, 1.3)
    assert our_total == their_total
    assert_same(ours, theirs)


# --------------------------------------------------------------------------- random cases


def random_case(rng, dtype):
    """Several tensors of random shapes (some empty) with values over many magnitudes."""
    k = int(rng.integers(1, 6))
    grads = []
    for _ in range(k):
        shape = tuple(int(n) for n in rng.integers(0, 6, size=int(rng.integers(0, 4))))
        scale = 10.0 ** rng.uniform(-4, 4)
        grads.append(np.asarray(rng.standard_normal(shape) * scale).astype(dtype))
    max_norm = float(10.0 ** rng.uniform(-3, 3))
    return grads, max_norm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_random_cases_match(dtype, norm_type):
    rng = np.random.default_rng(20130 + int(np.dtype(dtype).itemsize) + int(min(norm_type, 9)))
    for _ in range(60):  # 8 parametrisations x 60 = 480 cases
        grads, max_norm = random_case(rng, dtype)
        if norm_type == INF:
            grads = [g for g in grads if g.size] or [np.ones(1, dtype)]
        theirs, their_total = torch_clip_grad_norm(grads, max_norm, norm_type)
        ours, our_total = clip_grad_norm(grads, max_norm, norm_type)
        if norm_type == INF or our_total == their_total:
            # Same total: the scaling step is PyTorch's, operation for operation.
            assert our_total == their_total
            assert_same(ours, theirs)
        else:
            assert our_total == pytest.approx(their_total, rel=RTOL[dtype])
            assert_same(ours, theirs, rtol=2 * RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_scaling_step_is_bit_exact_given_torchs_total(dtype):
    # Isolates what the summation-order caveat leaves: with PyTorch's own total norm, the
    # coefficient and the multiplication must reproduce torch.nn.utils.clip_grads_with_norm_.
    rng = np.random.default_rng(7 + np.dtype(dtype).itemsize)
    for _ in range(150):
        grads, max_norm = random_case(rng, dtype)
        tensors = [torch.from_numpy(g.copy()) for g in grads]
        total = torch.nn.utils.get_total_norm(tensors, 2.0)
        params = []
        for t in tensors:
            p = torch.nn.Parameter(torch.zeros_like(t))
            p.grad = t
            params.append(p)
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, total)
        ours = _scale_by_total_norm(grads, max_norm, np.asarray(total.numpy()).dtype.type(total.item()))
        assert_same(ours, [p.grad.numpy() for p in params])


# --------------------------------------------------------------------------- clip_grad_value


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_value_matches(dtype):
    rng = np.random.default_rng(99 + np.dtype(dtype).itemsize)
    special = np.array([NAN, INF, -INF, 0.0, -0.0], dtype=dtype)
    for i in range(100):
        grads, _ = random_case(rng, dtype)
        grads.append(special)
        clip_value = [0.1, 1.0, 0.0, float(10.0 ** rng.uniform(-3, 3))][i % 4]
        assert_same(clip_grad_value(grads, clip_value), torch_clip_grad_value(grads, clip_value))


# --------------------------------------------------------------------------- half precision
#
# Mixed-precision training clips float16 gradients. PyTorch computes a float16 tensor's norm
# in float32 (its CPU "opmath" type) and rounds the norm to float16, so [300, 400] has norm
# 500 although 300² overflows float16; the coefficient is computed in float16 operation by
# operation, each rounded. gradclip does the same, bit for bit.
#
# bfloat16: NumPy has no such dtype, so gradclip cannot take bfloat16 arrays. PyTorch
# accumulates bfloat16 in float32 too, so a float32 copy of bfloat16 gradients gives the
# total PyTorch computes before it rounds to bfloat16 (the test below holds that); the
# clipped values then differ from PyTorch's by bfloat16's rounding.

HALF_CASES = [
    ("[300, 400]: squares overflow float16", [[300.0, 400.0]], 1.0),
    ("[3e4, 4e4]: the norm is near float16's largest", [[3e4, 4e4]], 1.0),
    ("norm overflows float16", [[65504.0, 65504.0]], 1.0),
    ("subnormal entries", [[6e-8, 6e-8, 1.2e-7]], 1e-8),
    ("small normal entries", [[1e-5, 2e-5, 3e-3]], 1e-3),
    ("below the threshold", [[0.1, 0.2]], 1.0),
    ("two tensors", [[300.0], [400.0, 0.5]], 2.0),
    ("zeros", [[0.0, 0.0]], 1.0),
    ("inf entry", [[INF, 1.0]], 1.0),
    ("nan entry", [[NAN, 1.0]], 1.0),
]


def torch_clip_half(grads, max_norm, norm_type, error_if_nonfinite, foreach):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float16))
        p.grad = torch.from_numpy(np.array(g, copy=True))
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite, foreach=foreach)
    return [p.grad.numpy() for p in params], total


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("error_if_nonfinite", [False, True])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("name, grads, max_norm", HALF_CASES, ids=[c[0] for c in HALF_CASES])
def test_float16_matches_bit_for_bit(name, grads, max_norm, norm_type, error_if_nonfinite, foreach):
    arrays = [np.array(g, dtype=np.float16) for g in grads]
    try:
        theirs, total = torch_clip_half(arrays, max_norm, norm_type, error_if_nonfinite, foreach)
    except RuntimeError:
        with pytest.raises(NonFiniteNormError):
            clip_grad_norm(arrays, max_norm, norm_type, error_if_nonfinite)
        return
    assert total.dtype == torch.float16                     # the total stays in float16
    ours, ours_total = clip_grad_norm(arrays, max_norm, norm_type, error_if_nonfinite)
    assert same_total(ours_total, total.item())
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float16
        np.testing.assert_array_equal(a, b)


def test_the_issue_case_float16_300_400():
    ours, total = clip_grad_norm([np.array([300.0, 400.0], dtype=np.float16)], max_norm=1.0)
    assert total == 500.0
    np.testing.assert_allclose(ours[0].astype(float), [0.6, 0.8], rtol=1e-3)


def test_mixed_float16_and_float32_match():
    grads = [np.array([300.0, 1e-4], dtype=np.float16), np.array([400.0, 3.0], dtype=np.float32)]
    ours, total = clip_grad_norm(grads, 1.0)
    theirs, their_total = torch_clip_grad_norm(grads, 1.0)
    assert total == their_total
    assert_same(ours, theirs)


@pytest.mark.parametrize("values", [[300.0, 400.0], [3e4, 4e4], [1.5, -2.25, 1e-3]])
def test_bfloat16_total_is_our_float32_total_rounded(values):
    """A float32 copy of bfloat16 gradients: our total, rounded to bfloat16, is PyTorch's."""
    g = torch.tensor(values, dtype=torch.bfloat16)
    p = torch.nn.Parameter(torch.zeros_like(g))
    p.grad = g.clone()
    their_total = torch.nn.utils.clip_grad_norm_([p], 1.0)
    _, ours = clip_grad_norm([g.float().numpy()], 1.0)
    assert torch.tensor(ours).to(torch.bfloat16).item() == their_total.item()


@pytest.mark.parametrize("clip_value", [1.0, 0.1, 1e-7, 0.0, 65504.0, INF])
def test_clip_grad_value_float16_matches(clip_value):
    g = np.array([0.5, -3.0, INF, -INF, NAN, 1e-7, 0.09998, 0.10004, 65504.0], dtype=np.float16)
    ours = clip_grad_value([g], clip_value)
    assert_same(ours, torch_clip_grad_value([g], clip_value))


def test_clip_grad_value_refuses_a_bound_float16_cannot_hold_as_torch_does():
    g = np.array([1.0], dtype=np.float16)
    with pytest.raises(RuntimeError):
        torch_clip_grad_value([g], 7e4)
    with pytest.raises(ValueError, match=r"clip_value must be <= 65504 \(or inf\) for grads\[0\] of dtype float16"):
        clip_grad_value([g], 7e4)

"""What the Practice pages say about PyTorch, run against PyTorch itself (torch 2.13, CPU).

The recipes page tells readers to leave ``error_if_nonfinite`` off under a ``GradScaler``
(an overflow step is skipped, not fatal), and the norm-log analyser page tells them to measure
with ``get_total_norm`` rather than ``clip_grad_norm_(params, inf)`` (which turns every gradient
into NaN when one entry is inf). Both are behaviours of PyTorch, so they are checked on it.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def _amp_step(error_if_nonfinite: bool, overflow: bool = True):
    """One step of the recipes page's loop; with ``overflow``, an inf injected into one gradient
    as an fp16 overflow would produce it. Returns (raised, weights unchanged, scale before, scale after)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
    before = model.weight.detach().clone()
    scaler.scale(model(torch.ones(2, 3)).sum()).backward()
    if overflow:
        model.weight.grad[0, 0] = math.inf
    scaler.unscale_(opt)
    scale = scaler.get_scale()
    try:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=error_if_nonfinite)
    except RuntimeError:
        return True, torch.equal(before, model.weight.detach()), scale, None
    scaler.step(opt)
    scaler.update()
    return False, torch.equal(before, model.weight.detach()), scale, scaler.get_scale()


def test_gradscaler_skips_an_overflow_step_when_clipping_does_not_raise():
    raised, unchanged, scale, after = _amp_step(error_if_nonfinite=False)
    assert not raised and unchanged            # the NaN written by clipping is never applied
    assert after == scale / 2                  # update() backs the scale off (factor 0.5)


def test_error_if_nonfinite_turns_the_same_step_into_an_error():
    raised, _, _, _ = _amp_step(error_if_nonfinite=True)
    assert raised


def test_a_finite_step_under_the_scaler_is_taken():
    raised, unchanged, _, _ = _amp_step(error_if_nonfinite=True, overflow=False)
    assert not raised and not unchanged


def _params_with_an_inf():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([1.0, math.inf, 2.0])
    b.grad = torch.tensor([3.0, 4.0])
    return [a, b]


def test_clip_grad_norm_with_an_infinite_max_norm_turns_every_gradient_into_nan():
    params = _params_with_an_inf()
    total = torch.nn.utils.clip_grad_norm_(params, float("inf"))
    assert math.isinf(total.item())
    assert all(torch.isnan(p.grad).all() for p in params)     # inf / inf = NaN, everywhere


def test_get_total_norm_measures_without_touching_the_gradients():
    params = _params_with_an_inf()
    grads = [p.grad for p in params if p.grad is not None]
    copies = [g.clone() for g in grads]
    total = torch.nn.utils.get_total_norm(grads)
    assert math.isinf(total.item())
    assert all(torch.equal(g, c) for g, c in zip(grads, copies))
    finite = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]
    assert torch.nn.utils.get_total_norm(finite).item() == pytest.approx(13.0)


def test_clip_grad_norm_returns_the_norm_before_clipping():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([3.0, 4.0])
    assert torch.nn.utils.clip_grad_norm_([p], 1.0).item() == pytest.approx(5.0)
    assert torch.linalg.vector_norm(p.grad).item() == pytest.approx(1.0, rel=1e-5)

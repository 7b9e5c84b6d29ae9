"""One kernel per adaptive rule, held to its readable reference bit for bit: ZClipKernel to
zclip_step (one run on floats, many runs on arrays), RunningPercentile to autoclip_threshold."""

from __future__ import annotations

import numpy as np
import pytest

from gradclip.autoclip import RunningPercentile, autoclip_threshold
from gradclip.zclip import ZClip, ZClipKernel, zclip_step


def spiky(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.lognormal(0.0, 0.5, shape)
    x[rng.random(shape) < 0.05] *= 50.0
    return x


@pytest.mark.parametrize("settings", [{}, {"alpha": 0.5, "z_thresh": 1.0}, {"mode": "percentile"},
                                      {"clip_option": "mean", "skip_update_on_spike": True}])
def test_zclip_kernel_on_floats_is_zclip_step_on_numbers(settings):
    norms = spiky(np.random.default_rng(5), (400,)).tolist()
    start = ZClip(warmup_steps=10, **settings)
    kernel, state = ZClipKernel(start), start
    for n in norms:
        state, want = zclip_step(state, n)
        got = kernel.update(n)
        assert (np.inf if got is None else got) == want or np.isnan(want)
        assert (kernel.mean, kernel.var, kernel.step) == (state.mean, state.var, state.step)


def test_zclip_kernel_on_arrays_is_zclip_step_on_arrays():
    norms = spiky(np.random.default_rng(6), (300, 4))
    start = ZClip(warmup_steps=10, mode="percentile")
    kernel, state = ZClipKernel(start, square_by_multiply=True), start
    for n in norms:
        state, want = zclip_step(state, n)
        got = kernel.update(n)
        assert np.array(np.inf if got is None else got).tobytes() == np.broadcast_to(want, (4,)).tobytes() \
            or got is None
        assert kernel.mean.tobytes() == state.mean.tobytes() and kernel.var.tobytes() == state.var.tobytes()


@pytest.mark.parametrize("percentile", [0.5, 10.0, 33.3, 90.0, 100.0])
def test_running_percentile_is_autoclip_threshold_of_the_history(percentile):
    norms = spiky(np.random.default_rng(7), (300,))
    norms[::17] = norms[3]                         # ties
    add = RunningPercentile(percentile / 100).add
    for t, n in enumerate(norms.tolist()):
        assert add(n) == autoclip_threshold(norms[: t + 1], percentile)

"""The shared presentation layer of the demos (gradclip/figures/helpers.py, numbers.py, landscape.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradclip.figures import helpers, numbers
from gradclip.figures.landscape import SIMULATOR_SURFACE, TEACHING_SURFACE, SurfaceStyle, landscape_layers


@pytest.mark.parametrize("values", [[0.02, 30.0], [1e-7, 1e5], [3.0], [1e-300, 1.0]])
def test_log_range_is_whole_decades_holding_every_value(values):
    lo, hi = helpers.log_range(values)
    assert math.log10(lo) == round(math.log10(lo)) and math.log10(hi) == round(math.log10(hi))
    assert hi > lo
    assert max(values) <= hi
    assert lo <= max(min(values), max(values) * 1e-12)


def test_log_range_ignores_non_positive_and_non_finite_values_and_uses_empty():
    assert helpers.log_range([0.0, -1.0, float("nan"), float("inf")], empty=(1e-3, 1.0)) == (1e-3, 1.0)
    assert helpers.log_range([5.0], extra=(float("inf"), 50.0)) == (1.0, 100.0)


def test_capped_log_range_keeps_a_threshold_line_in_view():
    lo, hi = helpers.capped_log_range([np.array([1.0, 1e40])], extra=(1e9,))
    assert hi >= 1e9 and hi < 1e40


def test_padded_log_range_spans_at_least_two_decades():
    lo, hi = helpers.padded_log_range([5.0, 6.0])
    assert hi / lo == pytest.approx(100.0)


def test_each_number_format_has_its_job_for_the_same_value():
    x = 0.00005
    assert (numbers.fmt_number(x), numbers.prose_number(x), numbers.exact_text(x)) == ("5.00e-05", "5 × 10⁻⁵", "5e-05")
    assert numbers.percent_text(1, 1000) == "<1%" and numbers.count_share_text(1, 1000) == "1 of 1000 (0%)"


def test_landscape_styles_give_different_surfaces_for_the_same_landscape():
    a, _ = landscape_layers("cliff", SIMULATOR_SURFACE)
    b, _ = landscape_layers("cliff", TEACHING_SURFACE)
    assert "key" in a and "key" not in b
    assert len(a["values"]) == SIMULATOR_SURFACE.shade_n and len(b["values"]) == TEACHING_SURFACE.contour_n


def test_an_unknown_surface_scale_is_refused():
    with pytest.raises(ValueError, match="style.scale"):
        landscape_layers("cliff", SurfaceStyle(scale="linear"))

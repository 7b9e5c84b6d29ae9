"""The stored contour lines (``gradclip/figures/_contour_data.py``, ``site_hooks/contours.py``)."""

from __future__ import annotations

import pytest

from gradclip.figures import landscape
from gradclip.figures._contour_data import STORED
from gradclip.landscapes import LANDSCAPES
from site_hooks.contours import TARGET, contour_data

pytest.importorskip("contourpy")


def test_the_committed_file_is_what_the_generator_writes_today():
    assert TARGET.read_text(encoding="utf-8") == contour_data(), "stale: run python -m site_hooks.contours"


@pytest.mark.parametrize("style", landscape.STYLES, ids=lambda s: s.scale)
def test_every_landscape_of_every_style_is_stored_and_equal_to_tracing_it_now(style):
    for name in LANDSCAPES:
        key = landscape.stored_contours_key(name, style)
        assert STORED[key] == landscape.traced_contours(name, style), key


def test_a_landscape_without_stored_lines_is_traced(monkeypatch):
    monkeypatch.setattr("gradclip.figures._contour_data.STORED", {})
    landscape.landscape_layers.cache_clear()
    try:
        _, traced = landscape.landscape_layers("ravine", landscape.TEACHING_SURFACE)
    finally:
        landscape.landscape_layers.cache_clear()
    _, stored = landscape.landscape_layers("ravine", landscape.TEACHING_SURFACE)
    assert traced == stored and traced is not stored

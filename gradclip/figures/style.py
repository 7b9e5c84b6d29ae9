"""The constants every renderer of a display list shares: sizes, fonts, colours, colour maps.

The SVG writer (:mod:`gradclip.figures.svg`) and the canvas painter (``docs/javascripts/paint.js``)
must place and colour a figure identically, or the live canvas jumps when it replaces the
static picture. Everything they must agree on lives here, once, as plain data, so the page can
be given the same numbers rather than a hand-kept copy.

Sizes are in figure pixels (the SVG viewBox; the canvas scales it uniformly).

Colours are semantic names. On the site a CSS class per name picks the value of the current
theme (``docs/stylesheets/figures.css``); a standalone SVG (an export) writes the values of
:data:`THEMES` instead.

Examples
--------
>>> PAD, TICK_FONT, CHAR_EM
(8, 11, 0.6)
>>> THEMES["light"]["danger"], THEMES["dark"]["danger"]
('#d1242f', '#ff7b72')
>>> set(COLOR_NAMES) <= set(THEMES["dark"])
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAD", "TICK_FONT", "LABEL_FONT", "TITLE_FONT", "LEGEND_ROW", "LEGEND_SWATCH",
           "LEGEND_GAP", "LEGEND_SPACING", "CHAR_EM", "CLIP_SLACK", "HANDLE_RADIUS",
           "HANDLE_DOT_RADIUS", "TICK_LENGTH", "COLOR_NAMES", "THEMES", "CMAPS"]

PAD = 8                 # margin between the figure's edge and anything drawn
TICK_FONT = 11          # tick labels and legend text
LABEL_FONT = 12         # axis labels
TITLE_FONT = 13
LEGEND_ROW = 16         # height of one row of legend entries
LEGEND_SWATCH = 18      # length of a legend entry's line sample
LEGEND_GAP = 5          # between a swatch and its label
LEGEND_SPACING = 12     # between two legend entries in a row
CHAR_EM = 0.6           # estimated advance of one character, in ems (layout must not need a font)
CLIP_SLACK = 4          # polylines are cut this many px outside the plot, then clipped exactly
HANDLE_RADIUS = 7       # a draggable handle: big enough to grab with a finger
HANDLE_DOT_RADIUS = 2
TICK_LENGTH = 4

COLOR_NAMES = ("fg", "muted", "grid", "accent", "danger", "ok", "warn", "min", "start",
               "s0", "s1", "s2", "s3", "s4", "s5")

# The values behind each name in Material's light ("default") and dark ("slate") schemes, the
# same as the CSS variables of docs/stylesheets/figures.css. Series s0..s5 are the Okabe-Ito
# colour-blind-safe palette, darkened for contrast on white and lightened for slate. "bg" is
# the page background (halos and rings around markers); the opacities are those rasters and
# grid lines are drawn with, so one raster colour map reads on both backgrounds.
THEMES: dict[str, dict[str, Any]] = {
    "light": {
        "bg": "#ffffff", "fg": "#1f2328", "muted": "#5f6670", "grid": "#c3c8d0",
        "accent": "#0072b2", "danger": "#d1242f", "ok": "#008a63", "warn": "#b37a00",
        "min": "#008a63", "start": "#a0407a",
        "s0": "#0072b2", "s1": "#d55e00", "s2": "#008a63", "s3": "#b8568f", "s4": "#b37a00",
        "s5": "#2f8fcb",
        "raster_opacity": 0.42, "gridline_opacity": 0.55,
    },
    "dark": {
        "bg": "#1e2029", "fg": "#e3e5e8", "muted": "#a0a6b0", "grid": "#4a5160",
        "accent": "#5aa9e6", "danger": "#ff7b72", "ok": "#2bc79a", "warn": "#f0b43c",
        "min": "#2bc79a", "start": "#ef9fcf",
        "s0": "#5aa9e6", "s1": "#f08a50", "s2": "#2bc79a", "s3": "#e398c2", "s4": "#f0b43c",
        "s5": "#a8d8f5",
        "raster_opacity": 0.36, "gridline_opacity": 0.6,
    },
}

# Colour maps for rasters, as RGB stops evenly spaced on [0, 1].
# "loss" is viridis (perceptually uniform, colour-blind safe, dark low values, bright high ones).
# "outcome" is categorical: a value v picks class round(v * 3):
# 0 converged (ok), 1/3 slow (warn), 2/3 unstable (reddish purple), 1 diverged (danger).
CMAPS: dict[str, dict[str, Any]] = {
    "loss": {"kind": "continuous", "stops": [
        (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
        (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37)]},
    "outcome": {"kind": "categorical", "stops": [
        (0, 138, 99), (179, 122, 0), (184, 86, 143), (209, 36, 47)]},
}

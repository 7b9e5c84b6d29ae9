"""Kept so that older imports keep working: the SVG writer now lives in the package.

See :mod:`gradclip.figures.svg` (the writer), :mod:`gradclip.figures.axes` (ticks, layout),
:mod:`gradclip.figures.png` (colour maps, PNG) and :mod:`gradclip.figures.style` (constants).
"""

from gradclip.figures.axes import Layout, Ticks, layout, text_width, ticks
from gradclip.figures.png import colormap_rgba, png_rgba
from gradclip.figures.style import CMAPS, COLOR_NAMES
from gradclip.figures.svg import figure_to_svg

__all__ = ["Ticks", "ticks", "Layout", "layout", "figure_to_svg", "colormap_rgba", "png_rgba",
           "CMAPS", "COLOR_NAMES", "text_width"]

"""Figures as plain data, and everything needed to draw them.

A demo builds a :class:`Figure` (a display list: axes plus primitive items in data
coordinates); the site draws it twice, as SVG and on a canvas, with the same rules.

========================  ====================================================================
module                    job
========================  ====================================================================
``display``               :class:`Figure`, the display-list format, and ``finite_or_none``
``style``                 constants both renderers share: sizes, fonts, theme colours, colour maps
``numbers``               numbers written for readers (tick labels)
``axes``                  ticks, layout of a figure, text width estimates
``png``                   colour maps applied to rasters, PNG encoding
``svg``                   the SVG writer
========================  ====================================================================

>>> from gradclip.figures import Figure
>>> Figure(title="t").to_dict()["title"]
't'
"""

from gradclip.figures.display import Figure, finite_or_none

__all__ = ["Figure", "finite_or_none"]

"""Numbers written for readers, one function per job.

Each job wants a different text, on purpose; for 0.00005:

=============================  ==============  ===============================================
function                       writes          job
=============================  ==============  ===============================================
:func:`fmt_number`             ``5.00e-05``    a result read-out: 3 significant digits, short
:func:`prose_number`           ``5 × 10⁻⁵``    a number quoted in a sentence of the page
:func:`exact_text`             ``5e-05``       a table of exact results (9 significant digits)
:func:`power_label`            ``5×10⁻⁵``      an axis tick label (from the exact ``a × 10^e``)
:func:`percent_text`           ``<1%``         a share of steps, as a whole percentage
:func:`count_share_text`       ``1 of 3 (33%)``  a count and its share
:func:`size_text`              ``64 MiB``      a size in bytes, in binary units (KiB = 1024 B)
=============================  ==============  ===============================================

A tick value is held as two integers ``(a, e)`` meaning ``a × 10^e``, so the label is exact
(``0.3``, never ``0.30000000000000004``) and the same in Python and JavaScript: the page's
painter mirrors these functions. Labels use a real minus sign (``−``, U+2212) and
superscript powers of ten (``10⁻⁴``).

Examples
--------
>>> fixed_label(25, -2), power_label(2, 5), power_label(1, -4)
('0.25', '2×10⁵', '10⁻⁴')
>>> decimal_value(3, -1), log10_floor(999.9)
(0.3, 2)
>>> fmt_number(0.00005), prose_number(0.00005), exact_text(0.00005), power_label(5, -5)
('5.00e-05', '5 × 10⁻⁵', '5e-05', '5×10⁻⁵')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["decimal_value", "fixed_label", "power_label", "log10_floor", "fmt_number",
           "prose_number", "exact_text", "percent_text", "count_share_text", "vector_text",
           "size_text"]

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def decimal_value(a: int, e: int) -> float:
    """``a × 10^e`` correctly rounded (a decimal literal parsed: identical in Python and JS)."""
    return float(f"{a}e{e}")


def fixed_label(a: int, e: int) -> str:
    """``a × 10^e`` written out with ``max(0, -e)`` decimals, from integers only (exact)."""
    digits = str(abs(a))
    if e >= 0:
        s = digits + "0" * e if a else "0"
    else:
        digits = digits.rjust(-e + 1, "0")
        s = digits[:e] + "." + digits[e:]
    return ("−" if a < 0 else "") + s


def power_label(a: int, e: int) -> str:
    """``a × 10^e`` as ``m×10ⁿ`` with a short mantissa (``1×`` dropped): ``2×10⁵``, ``10⁻⁴``."""
    if a == 0:
        return "0"
    digits = str(abs(a)).rstrip("0")
    exp = e + len(str(abs(a))) - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "−" if a < 0 else ""
    power = "10" + str(exp).translate(_SUP)
    return sign + power if mant == "1" else f"{sign}{mant}×{power}"


def log10_floor(x: float) -> int:
    """floor(log10(x)) for x > 0, corrected so that 10^e <= x < 10^(e+1) exactly."""
    e = math.floor(math.log10(x))
    if x < decimal_value(1, e):
        e -= 1
    elif x >= decimal_value(1, e + 1):
        e += 1
    return e


# ---------------------------------------------------------------------------------------
# Read-outs and prose


def fmt_number(x: Any, digits: int = 3) -> str:
    """A number for people: 3 significant digits, no 17-digit floats, '∞' for infinity.

    The read-out of a demo's result fields, legends and notices: plain decimals from 1e-4 to
    1e4, ``e`` notation outside (compact, and what a reader pastes into code).

    >>> fmt_number(0.000123456), fmt_number(12345.678), fmt_number(float("inf")), fmt_number(3)
    ('0.000123', '1.23e+04', '∞', '3')
    """
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return "not a number"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    if 1e-4 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    return f"{x:.{digits - 1}e}"


def prose_number(x: float) -> str:
    """A number for a sentence: :func:`fmt_number`, but powers of ten as ``8.28 × 10⁷``.

    Prose quotes these results (``{gc:…}``), and ``8.28e+07`` reads like program output.

    >>> prose_number(82817974.5), prose_number(6.6e-7), prose_number(304.48)
    ('8.28 × 10⁷', '6.6 × 10⁻⁷', '304')
    """
    if not math.isfinite(x) or x == 0 or 1e-4 <= abs(x) < 1e4:
        return fmt_number(x)
    mantissa, exponent = f"{x:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUP)}"


def exact_text(x: float, digits: int = 9) -> str:
    """A float to ``digits`` significant digits, ``inf``/``NaN`` in ASCII, as code would print
    it: for tables that compare exact results (where two frameworks differ in the 4th digit,
    3 would hide it) and for tensors written as code.

    >>> exact_text(1 / 3), exact_text(1 / 3, 4), exact_text(float("-inf")), exact_text(float("nan"))
    ('0.333333333', '0.3333', '-inf', 'NaN')
    """
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def percent_text(count: int, total: int) -> str:
    """``count`` of ``total`` as a whole percentage; ``<1%`` and ``>99%`` rather than a
    rounding that claims none or all.

    >>> percent_text(1, 1000), percent_text(999, 1000), percent_text(1, 4), percent_text(0, 0)
    ('<1%', '>99%', '25%', '0%')
    """
    if total <= 0 or count == 0:
        return "0%"
    p = 100.0 * count / total
    if p < 1:
        return "<1%"
    if p > 99 and count < total:
        return ">99%"
    return f"{p:.0f}%"


def count_share_text(count: int, total: int) -> str:
    """``count`` and its share of ``total``: ``"3 of 40 (8%)"``; ``"0"`` when there is no total.

    >>> count_share_text(3, 40), count_share_text(0, 0)
    ('3 of 40 (8%)', '0')
    """
    return f"{count} of {total} ({100.0 * count / total:.0f}%)" if total else "0"


def vector_text(v: Any) -> str:
    """A small vector as a read-out: its entries by :func:`fmt_number`, in parentheses.

    >>> vector_text([3.0, -0.25])
    '(3, -0.25)'
    """
    return "(" + ", ".join(fmt_number(float(x)) for x in np.ravel(v)) + ")"


_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def size_text(n_bytes: int) -> str:
    """A size in bytes for people, in binary units: ``64 MiB``, ``1.5 KiB``, ``30 GiB``.

    One format for every size a message quotes, so that a limit reads the same in Python and
    on the page (``docs/javascripts/format.js`` has the twin, ``sizeText``). Binary units
    because limits are powers of two: 2**26 bytes is exactly "64 MiB", where decimal units
    would say "67.1 MB". Three significant digits (four from 1000 up, so no ``e+03``).

    >>> size_text(64 * 1024 * 1024), size_text(1536), size_text(512), size_text(30 * 2**30 + 1)
    ('64 MiB', '1.5 KiB', '512 B', '30 GiB')
    """
    n = int(n_bytes)
    if n < 1024:
        return f"{n} B"
    value, unit = float(n), 0
    # Compare the rounded value, so that 1024**2 - 1 bytes reads "1 MiB", not "1024 KiB".
    while float(f"{value:.4g}") >= 1024 and unit < len(_SIZE_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.{4 if value >= 999.5 else 3}g} {_SIZE_UNITS[unit]}"

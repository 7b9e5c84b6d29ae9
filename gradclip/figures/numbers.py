"""Numbers written for readers: axis tick labels, exact decimals.

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
"""

from __future__ import annotations

import math

__all__ = ["decimal_value", "fixed_label", "power_label", "log10_floor"]

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

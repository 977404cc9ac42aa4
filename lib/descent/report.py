"""Printing a measured claim so that it reads the same on every machine.

A difference that is rounding noise (``7.8e-16`` here, ``9.4e-16`` on another CPU) is not
a result; the result is the bound it satisfies.  :func:`below` checks the bound and
returns the words to print, so the cell that quotes a bound also enforces it::

    print(f"largest difference {report.below(gap, 1e-12)}")   # largest difference < 1e-12

If a rerun ever broke the claim the cell would raise, and nbval (or the reader) would see
it, instead of printing a different number under unchanged prose.
"""

from __future__ import annotations

import numpy as np

__all__ = ["below", "above"]


def _largest(value) -> float:
    """|value|, or the largest |entry| of an array (NaN stays NaN, so no claim holds)."""
    v = np.abs(np.asarray(value, dtype=float))
    return float(v.max()) if v.ndim and v.size else float(v) if not v.ndim else 0.0


def below(value, bound, *, what="value") -> str:
    """``"< bound"`` after checking ``|value| < bound`` (the largest ``|value|`` of an array).

    Raises ``AssertionError`` naming the value when the claim fails, and ``ValueError``
    when ``bound`` is not a positive number.
    """
    if not (isinstance(bound, (int, float)) and bound > 0):
        raise ValueError(f"Invalid bound: {bound!r} (bound must be a positive number)")
    v = _largest(value)
    assert v < bound, f"{what} = {v:.3g} is not below {bound:g}"
    return f"< {bound:g}"


def above(value, bound, *, what="value") -> str:
    """``"> bound"`` after checking ``value > bound`` (the smallest entry of an array)."""
    if not isinstance(bound, (int, float)):
        raise ValueError(f"Invalid bound: {bound!r} (bound must be a number)")
    v = np.asarray(value, dtype=float)
    v = float(np.min(v)) if v.ndim else float(v)
    assert v > bound, f"{what} = {v:.3g} is not above {bound:g}"
    return f"> {bound:g}"

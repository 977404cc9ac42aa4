"""Argument validation shared by every public function.

Each check raises ``ValueError`` whose text names the argument and shows its value,
using torch.optim's exact wording where torch has one (``Invalid learning rate: -1``).
Values may be numbers or arrays (a batch of hyperparameters); an array fails when any
entry fails.  NaN always fails: a NaN hyperparameter would silently poison a run.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _as_array(value):
    # Only a torch tensor needs torch, and then torch is already imported: importing it
    # for every check would cost seconds the first time (descent works without torch).
    if type(value).__module__.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=float)


def _bad(value, test) -> bool:
    try:
        arr = _as_array(value)
    except (TypeError, ValueError):
        return True
    return bool(np.any(np.isnan(arr)) or np.any(test(arr)))


def nonnegative(value, message: str):
    """Reject ``value < 0`` (or NaN) with ``message.format(value)``."""
    if _bad(value, lambda a: a < 0):
        raise ValueError(message.format(value))
    return value


def in_range(value, lo, hi, message: str, *, lo_open=False, hi_open=True):
    """Reject values outside ``[lo, hi)`` (ends chosen by ``lo_open``/``hi_open``)."""

    def out(a):
        below = a <= lo if lo_open else a < lo
        above = a >= hi if hi_open else a > hi
        return below | above

    if _bad(value, out):
        raise ValueError(message.format(value))
    return value


def learning_rate(lr, name: str = "lr"):
    """A learning rate is a non-negative number/array or a schedule ``t -> lr``."""
    if callable(lr):
        return lr
    if isinstance(lr, (str, bytes)) or lr is None:
        raise ValueError(f"Invalid learning rate: {lr!r} ({name} must be a number, an array or a schedule)")
    return nonnegative(lr, "Invalid learning rate: {}")


def betas(value):
    """``betas`` is a pair, each in ``[0, 1)`` (torch's messages)."""
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"Invalid betas: {value!r} (betas must be a pair (beta1, beta2))") from None
    in_range(b1, 0.0, 1.0, "Invalid beta parameter at index 0: {}")
    in_range(b2, 0.0, 1.0, "Invalid beta parameter at index 1: {}")
    return b1, b2


def positive_int(value, name: str, *, allow_zero=False):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"Invalid {name}: {value!r} ({name} must be {kind} integer)")
    return int(value)


def finite_number(value, name: str):
    try:
        ok = math.isfinite(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"Invalid {name}: {value!r} ({name} must be a finite number)")
    return float(value)


def lr_at(lr, t):
    """The learning rate for the update after ``t`` completed updates."""
    return lr(t) if callable(lr) else lr


def is_zero(value) -> bool:
    """True when a hyperparameter (number or array) is identically zero."""
    if isinstance(value, numbers.Number):
        return value == 0
    return not bool(np.any(_as_array(value) != 0))

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

from .rules.base import is_torch


def _as_array(value):
    # Only a torch tensor needs torch, and then torch is already imported.
    if is_torch(value):
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=float)


def _fails(value, ok) -> bool:
    try:
        arr = _as_array(value)
    except (TypeError, ValueError):
        return True
    return bool(np.any(np.isnan(arr)) or not np.all(ok(arr)))


def satisfies(value, ok, message: str):
    """Reject ``value`` with ``message.format(value)`` unless ``ok(a)`` holds for every
    entry ``a`` (NaN never does, nor a value that is not a number or an array of them)."""
    if _fails(value, ok):
        raise ValueError(message.format(value))
    return value


def nonnegative(value, message: str):
    """Reject ``value < 0`` (or NaN) with ``message.format(value)``."""
    return satisfies(value, lambda a: a >= 0, message)


def in_range(value, lo, hi, message: str, *, lo_open=False, hi_open=True):
    """Reject values outside ``[lo, hi)`` (ends chosen by ``lo_open``/``hi_open``)."""

    def inside(a):
        above_lo = a > lo if lo_open else a >= lo
        below_hi = a < hi if hi_open else a <= hi
        return above_lo & below_hi

    return satisfies(value, inside, message)


def learning_rate(lr, message: str = "Invalid learning rate: {}", *, positive=False):
    """A learning rate is a non-negative (``positive``: positive) number/array or a
    schedule ``t -> lr``; ``message`` is the rule's wording (torch's differs by class)."""
    if callable(lr):
        return lr
    if is_torch(lr) and getattr(lr, "numel", lambda: 1)() != 1:
        raise ValueError("Tensor lr must be 1-element")  # torch's check (a NumPy array of rates is a batch)
    if isinstance(lr, (str, bytes)) or lr is None:
        raise ValueError(message.format(repr(lr)) + " (lr must be a number, an array or a schedule)")
    return satisfies(lr, (lambda a: a > 0) if positive else (lambda a: a >= 0), message)


def pair(value, name: str, what: str = "(beta1, beta2)"):
    """``value`` unpacks into two entries (``betas``, ``etas``, ``step_sizes`` …)."""
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {name}: {value!r} ({name} must be a pair {what})") from None
    return first, second


def betas(value):
    """``betas`` is a pair, each in ``[0, 1)`` (torch's messages).  Returns the pair, a
    one-element torch tensor read as a float (torch keeps it as a 0-d tensor, the same
    number)."""
    b1, b2 = pair(value, "betas")
    in_range(b1, 0.0, 1.0, "Invalid beta parameter at index 0: {}")
    in_range(b2, 0.0, 1.0, "Invalid beta parameter at index 1: {}")
    for i, b in enumerate((b1, b2)):
        if is_torch(b) and b.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element")
    return tuple(float(b) if is_torch(b) else b for b in (b1, b2))


def betas_of_one_kind(value):
    """torch.optim.Adam's (and AdamW's) own check: both betas Python floats or both torch
    tensors; ``(0, 0.999)`` or ``(0.9, torch.tensor(0.99))`` fail.  A NumPy array (a batch
    of runs, which torch has no form of) counts as floats."""

    def kind(b):
        if isinstance(b, (float, np.ndarray)):
            return "float"
        return "Tensor" if is_torch(b) else type(b).__name__

    if not kind(value[0]) == kind(value[1]) in ("float", "Tensor"):
        raise ValueError("betas must be either both floats or both Tensors")


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

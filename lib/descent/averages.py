r"""Moving averages of a time series (chapter 03): the bridge from momentum to Adam.

Time runs along axis 0, so a single series has shape ``(n,)`` and ``n`` observations of a
``d``-vector (a weight's history during training, an optimizer's gradients) have shape
``(n, d)``.  All functions are pure and return new float arrays.

* :func:`sma` — simple moving average over a window of ``k`` values;
* :func:`ema` — exponential moving average :math:`V_t = \rho V_{t-1} + (1-\rho) s_t`;
* :func:`ema_weights` — the weight each :math:`s_i` carries inside :math:`V_t`;
* :func:`bias_corrected` — :math:`V_t / (1 - \rho^t)`, Adam's start-up correction;
* :func:`effective_window` — :math:`1/(1-\rho)`, the number of values an EMA "remembers".
"""

from __future__ import annotations

import numpy as np

from . import _checks as chk

__all__ = ["sma", "ema", "ema_weights", "bias_corrected", "effective_window"]


def _series(values):
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid values: {values!r} (values must be an array of numbers)") from None
    if arr.ndim == 0:
        raise ValueError(f"Invalid values: {values!r} (values must be a series, not a single number)")
    return arr


def _powers(rho, n):
    """rho^0, rho^1, ..., rho^(n-1) as repeated products (NumPy's ``**`` on an array of
    exponents calls a SIMD pow whose last bit depends on the CPU; products do not)."""
    return np.cumprod(np.concatenate([[1.0], np.full(n - 1, float(rho))]))


def _rho(rho):
    return chk.in_range(rho, 0.0, 1.0, "Invalid rho value: {}")


def sma(values, k):
    r"""Simple moving average of window ``k``: :math:`\frac1k (s_{t-k+1} + \dots + s_t)`.

    Only full windows are averaged, so ``n`` values give ``n - k + 1`` averages (Dinh's lecture:
    ``sma([3, 8, 6, 5, 1, 7, 9, 0, 8, 4], 2)`` is ``5.5, 7.0, 5.5, 3.0, 4.0, 8.0, 4.5, 4.0, 6.0``).
    Every value in the window weighs the same and older values weigh nothing.
    """
    arr = _series(values)
    k = chk.positive_int(k, "k")
    if k > arr.shape[0]:
        raise ValueError(f"Invalid k: {k!r} (the window is longer than the {arr.shape[0]} values)")
    windows = np.lib.stride_tricks.sliding_window_view(arr, k, axis=0)  # (n-k+1, ..., k)
    return windows.mean(axis=-1)


def ema(values, rho, v0=None):
    r"""Exponential moving average :math:`V_t = \rho V_{t-1} + (1-\rho) s_t`, for t = 1 … n.

    ``v0=None`` starts the way Dinh's lecture does, with :math:`V_1 = s_1`; a number (usually 0,
    as in momentum and Adam) is :math:`V_0` and then every :math:`V_t` follows the rule, which
    pulls the first averages towards :math:`V_0` (see :func:`bias_corrected`).  Returns the
    ``n`` averages :math:`V_1 … V_n`.
    """
    arr = _series(values)
    rho = _rho(rho)
    out = np.empty_like(arr)
    if v0 is None:
        prev = arr[0]
        out[0] = prev
        start = 1
    else:
        prev = np.broadcast_to(np.asarray(chk.finite_number(v0, "v0") if np.ndim(v0) == 0 else v0, dtype=float),
                               arr.shape[1:])
        start = 0
    for t in range(start, arr.shape[0]):
        prev = rho * prev + (1 - rho) * arr[t]
        out[t] = prev
    return out


def ema_weights(rho, t):
    r"""The weights of :math:`s_1, \dots, s_t` inside :math:`V_t` when :math:`V_0 = 0`:
    :math:`(1-\rho)\rho^{t-i}` for i = 1 … t, oldest first.

    ``ema_weights(0.5, 3)`` is ``[0.125, 0.25, 0.5]``: the weights fall geometrically into
    the past and sum to :math:`1 - \rho^t`, not 1 — the missing :math:`\rho^t` is the weight
    left on :math:`V_0 = 0`, the start-up bias.
    """
    rho = _rho(rho)
    t = chk.positive_int(t, "t")
    return (1 - rho) * _powers(rho, t)[::-1]


def bias_corrected(averages, rho):
    r""":math:`\hat V_t = V_t / (1 - \rho^t)` for t = 1 … n, where ``averages`` are
    :math:`V_1 … V_n` of an EMA started at :math:`V_0 = 0` (``ema(values, rho, v0=0)``).

    Dividing by the sum of the weights :math:`1-\rho^t` undoes the pull towards zero: a
    constant series is returned unchanged from the first step on.  This is Adam's
    :math:`\hat m_t` and :math:`\hat v_t`.
    """
    arr = _series(averages)
    rho = _rho(rho)
    powers = _powers(rho, arr.shape[0] + 1)[1:].reshape((-1,) + (1,) * (arr.ndim - 1))  # rho^1 ... rho^n
    return arr / (1 - powers)


def effective_window(rho) -> float:
    r"""About how many recent values an EMA averages: :math:`1/(1-\rho)` (10 for ρ = 0.9)."""
    rho = _rho(rho)
    return 1.0 / (1.0 - float(rho))

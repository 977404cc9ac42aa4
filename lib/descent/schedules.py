r"""Learning-rate schedules: callables ``t -> lr`` with ``t`` counting updates from 0.

Pass one as ``lr=`` to any rule and the rule evaluates it itself.  The torch-named ones
(``step_lr`` … ``one_cycle_lr``) return at ``t`` exactly what torch's scheduler holds in
``group["lr"]`` after ``t`` calls of ``scheduler.step()``, so ``lr=step_lr(...)`` equals
torch with ``scheduler.step()`` after every ``optimizer.step()``.  The others are the forms
the lecture decks write.  Every schedule also accepts an integer array of steps and
returns an array, which is how the book plots them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import _checks as chk


class Schedule:
    """A named schedule: ``s(t)`` for an int (returns a float) or an int array."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], name: str, **params):
        self._fn, self.name, self.params = fn, name, params

    def __call__(self, t):
        scalar = np.ndim(t) == 0
        arr = np.asarray(t)
        integral_floats = arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr))
        if arr.dtype.kind not in "iu" and not integral_floats:
            raise ValueError(f"Invalid t: {t!r} (t must be a non-negative integer step count)")
        if np.any(arr < 0):
            raise ValueError(f"Invalid t: {t!r} (t must be a non-negative integer step count)")
        out = self._fn(arr.astype(np.int64))
        return float(out) if scalar else np.asarray(out, dtype=float)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def _base_lr(lr, name="lr"):
    chk.nonnegative(lr, "Invalid learning rate: {}")
    return float(lr)


def _positive_number(value, name):
    chk.finite_number(value, name)
    if value <= 0:
        raise ValueError(f"Invalid {name}: {value!r} ({name} must be positive)")
    return float(value)


# ---------------------------------------------------------------- torch-named schedules

def constant(lr) -> Schedule:
    """``lr`` at every step."""
    lr = _base_lr(lr)
    return Schedule(lambda t: np.full(t.shape, lr), "constant", lr=lr)


def step_lr(lr, step_size, gamma=0.1) -> Schedule:
    r""":math:`\eta_t = \eta\,\gamma^{\lfloor t / \text{step\_size} \rfloor}` (torch ``StepLR``)."""
    lr = _base_lr(lr)
    step_size = chk.positive_int(step_size, "step_size")
    chk.nonnegative(gamma, "Invalid gamma value: {}")
    return Schedule(lambda t: lr * gamma ** (t // step_size), "step_lr", lr=lr, step_size=step_size, gamma=gamma)


def multi_step_lr(lr, milestones, gamma=0.1) -> Schedule:
    r""":math:`\eta_t = \eta\,\gamma^{\#\{m \le t\}}`, one factor per milestone passed (torch ``MultiStepLR``)."""
    lr = _base_lr(lr)
    try:
        ms = sorted(chk.positive_int(m, "milestones") for m in milestones)
    except TypeError:
        raise ValueError(f"Invalid milestones: {milestones!r} (milestones must be a list of positive integers)") from None
    chk.nonnegative(gamma, "Invalid gamma value: {}")
    edges = np.asarray(ms, dtype=np.int64)
    return Schedule(lambda t: lr * gamma ** np.searchsorted(edges, t, side="right"),
                    "multi_step_lr", lr=lr, milestones=ms, gamma=gamma)


def exponential_lr(lr, gamma) -> Schedule:
    r""":math:`\eta_t = \eta\,\gamma^t` (torch ``ExponentialLR``)."""
    lr = _base_lr(lr)
    chk.nonnegative(gamma, "Invalid gamma value: {}")
    return Schedule(lambda t: lr * gamma ** t.astype(float), "exponential_lr", lr=lr, gamma=gamma)


def cosine_annealing_lr(lr, T_max, eta_min=0.0) -> Schedule:
    r""":math:`\eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})(1 + \cos(\pi t/T_{\max}))`
    (torch ``CosineAnnealingLR``).  Like torch, it is not clamped past ``T_max``: it rises
    back to ``lr`` at ``2 T_max``.
    """
    lr = _base_lr(lr)
    T_max = chk.positive_int(T_max, "T_max")
    eta_min = chk.nonnegative(eta_min, "Invalid eta_min value: {}")
    return Schedule(lambda t: eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t / T_max)) / 2,
                    "cosine_annealing_lr", lr=lr, T_max=T_max, eta_min=eta_min)


def linear_lr(lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5) -> Schedule:
    r""":math:`\eta_t = \eta\,(s + (e - s)\min(t, T)/T)`, from ``start_factor`` s to
    ``end_factor`` e over ``total_iters`` T steps (torch ``LinearLR``): a linear warm-up.
    """
    lr = _base_lr(lr)
    chk.satisfies(start_factor, lambda a: (a > 0) & (a <= 1),
                  "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
    chk.satisfies(end_factor, lambda a: (a >= 0) & (a <= 1), "Ending multiplicative factor expected to be between 0 and 1.")
    total_iters = chk.positive_int(total_iters, "total_iters")
    return Schedule(lambda t: lr * (start_factor + (end_factor - start_factor) * np.minimum(total_iters, t) / total_iters),
                    "linear_lr", lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)


def _one_cycle_phases(total_steps, pct_start, three_phase):
    if three_phase:
        return [float(pct_start * total_steps) - 1, float(2 * pct_start * total_steps) - 2, total_steps - 1.0]
    return [float(pct_start * total_steps) - 1, total_steps - 1.0]


def _one_cycle_validate(total_steps, pct_start, anneal_strategy):
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps <= 0:
        raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
    if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
        raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
    if float(pct_start * total_steps) - 1 == 0.0:  # the first phase would end where it starts, at t = 0
        raise ValueError(f"Invalid pct_start: {pct_start} (pct_start * total_steps = 1 leaves the first phase "
                         f"no length; torch divides by zero at the first step)")


def _anneal(strategy, start, end, pct):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle(values, ends, strategy, total_steps):
    """Piecewise anneal between ``values`` at phase ``ends`` (torch's OneCycleLR.get_lr)."""

    def fn(t):
        if np.any(t > total_steps):
            raise ValueError(f"Tried to step {int(np.max(t))} times. The specified number of total steps is {total_steps}")
        out = np.empty(t.shape)
        flat_t, flat_out = t.reshape(-1), out.reshape(-1)
        for i, s in enumerate(flat_t):
            start = 0.0
            for k, end in enumerate(ends):
                if s <= end or k == len(ends) - 1:
                    if end == start:  # torch raises ZeroDivisionError here
                        raise ValueError(f"Invalid t: {int(s)} (phase {k + 1} of this one-cycle schedule has zero length)")
                    pct = (s - start) / (end - start)
                    flat_out[i] = _anneal(strategy, values[k], values[k + 1], pct)
                    break
                start = end
        return out

    return fn


def one_cycle_lr(max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False) -> Schedule:
    r"""Smith's one-cycle policy (torch ``OneCycleLR``): up from ``max_lr/div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then down to
    ``max_lr/(div_factor*final_div_factor)`` (with ``three_phase``, down to the start first).
    """
    max_lr = _base_lr(max_lr, "max_lr")
    _one_cycle_validate(total_steps, pct_start, anneal_strategy)
    initial = max_lr / div_factor
    minimum = initial / final_div_factor
    values = [initial, max_lr, initial, minimum] if three_phase else [initial, max_lr, minimum]
    fn = _one_cycle(values, _one_cycle_phases(total_steps, pct_start, three_phase), anneal_strategy, total_steps)
    return Schedule(fn, "one_cycle_lr", max_lr=max_lr, total_steps=total_steps, pct_start=pct_start,
                    anneal_strategy=anneal_strategy, div_factor=div_factor,
                    final_div_factor=final_div_factor, three_phase=three_phase)


def one_cycle_momentum(total_steps, pct_start=0.3, anneal_strategy="cos", base_momentum=0.85,
                       max_momentum=0.95, three_phase=False) -> Schedule:
    """The momentum (or beta1) that torch's ``OneCycleLR`` writes alongside ``one_cycle_lr``."""
    _one_cycle_validate(total_steps, pct_start, anneal_strategy)
    values = ([max_momentum, base_momentum, max_momentum, max_momentum] if three_phase
              else [max_momentum, base_momentum, max_momentum])
    fn = _one_cycle(values, _one_cycle_phases(total_steps, pct_start, three_phase), anneal_strategy, total_steps)
    return Schedule(fn, "one_cycle_momentum", total_steps=total_steps, pct_start=pct_start,
                    anneal_strategy=anneal_strategy, base_momentum=base_momentum,
                    max_momentum=max_momentum, three_phase=three_phase)


# ---------------------------------------------------------------- the decks' forms

def step_decay(lr, every, divide_by) -> Schedule:
    r"""Deck 001: every ``every`` (p) updates divide the rate by ``divide_by`` (k):
    :math:`\eta_t = \eta_0 / k^{\lfloor t/p \rfloor}`.  Equals ``step_lr(lr, p, 1/k)``."""
    lr = _base_lr(lr)
    every = chk.positive_int(every, "every")
    divide_by = _positive_number(divide_by, "divide_by")
    return Schedule(lambda t: lr / divide_by ** (t // every), "step_decay", lr=lr, every=every, divide_by=divide_by)


def _ceil_steps(t, k0, s):
    return np.maximum(0, -((k0 - t) // s))  # max(0, ceil((t - k0)/s)) in exact integer arithmetic


def exponential_decay(lr, gamma, k0=0, s=1) -> Schedule:
    r"""Deck 000: :math:`\eta_k = \eta_0\,\gamma^{\max(0, \lceil (k-k_0)/s \rceil)}`: hold
    :math:`\eta_0` until step :math:`k_0`, then multiply by :math:`\gamma` every ``s`` steps."""
    lr = _base_lr(lr)
    chk.nonnegative(gamma, "Invalid gamma value: {}")
    k0 = chk.positive_int(k0, "k0", allow_zero=True)
    s = chk.positive_int(s, "s")
    return Schedule(lambda t: lr * gamma ** _ceil_steps(t, k0, s), "exponential_decay", lr=lr, gamma=gamma, k0=k0, s=s)


def inverse_time_decay(lr, k0=0, s=1) -> Schedule:
    r"""Deck 000: :math:`\eta_k = \eta_0 / (1 + \max(0, \lceil (k-k_0)/s \rceil))`, the 1/t decay
    that satisfies the Robbins–Monro conditions."""
    lr = _base_lr(lr)
    k0 = chk.positive_int(k0, "k0", allow_zero=True)
    s = chk.positive_int(s, "s")
    return Schedule(lambda t: lr / (1 + _ceil_steps(t, k0, s)), "inverse_time_decay", lr=lr, k0=k0, s=s)


def power_decay(lr, decay_rate, decay_steps, staircase=False) -> Schedule:
    r"""Deck 001 (Keras ``ExponentialDecay``): :math:`\eta = \eta_0\,\lambda^{s/k}` with step s,
    ``decay_rate`` λ and ``decay_steps`` k; ``staircase`` floors s/k."""
    lr = _base_lr(lr)
    chk.nonnegative(decay_rate, "Invalid decay_rate value: {}")
    decay_steps = chk.positive_int(decay_steps, "decay_steps")

    def fn(t):
        e = t // decay_steps if staircase else t / decay_steps
        return lr * decay_rate ** e

    return Schedule(fn, "power_decay", lr=lr, decay_rate=decay_rate, decay_steps=decay_steps, staircase=staircase)


def warmup_cosine(lr, warmup_steps, total_steps, eta_min=0.0, start_factor=0.0) -> Schedule:
    r"""Linear warm-up from ``start_factor*lr`` to ``lr`` over ``warmup_steps``, then a
    cosine down to ``eta_min`` at ``total_steps`` (held there afterwards): the schedule most
    transformer recipes use."""
    lr = _base_lr(lr)
    warmup_steps = chk.positive_int(warmup_steps, "warmup_steps", allow_zero=True)
    total_steps = chk.positive_int(total_steps, "total_steps")
    if warmup_steps >= total_steps:
        raise ValueError(f"Invalid warmup_steps: {warmup_steps!r} (must be less than total_steps={total_steps})")
    eta_min = chk.nonnegative(eta_min, "Invalid eta_min value: {}")
    chk.in_range(start_factor, 0.0, 1.0, "Invalid start_factor value: {}", hi_open=False)

    def fn(t):
        warm = lr * (start_factor + (1 - start_factor) * t / max(warmup_steps, 1))
        frac = np.clip((t - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
        cos = eta_min + (lr - eta_min) * (1 + np.cos(np.pi * frac)) / 2
        return np.where(t < warmup_steps, warm, cos)

    return Schedule(fn, "warmup_cosine", lr=lr, warmup_steps=warmup_steps, total_steps=total_steps,
                    eta_min=eta_min, start_factor=start_factor)


def join(schedules: Sequence[Callable], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` restarted from its
    own t = 0, and so on (optax's ``join_schedules``)."""
    schedules = list(schedules)
    for s in schedules:
        if not callable(s):
            raise ValueError(f"Invalid schedules: {s!r} is not callable (a schedule maps t -> lr)")
    bounds = [chk.positive_int(b, "boundaries") for b in boundaries]
    if len(bounds) != len(schedules) - 1:
        raise ValueError(f"Invalid boundaries: {boundaries!r} (need len(schedules) - 1 = {len(schedules) - 1} of them)")
    if bounds != sorted(bounds):
        raise ValueError(f"Invalid boundaries: {boundaries!r} (must be increasing)")

    def fn(t):
        out = np.empty(t.shape)
        starts = [0] + bounds
        idx = np.searchsorted(np.asarray(bounds, dtype=np.int64), t, side="right")
        for k, sched in enumerate(schedules):
            mask = idx == k
            if np.any(mask):
                out[mask] = np.asarray([sched(int(u)) for u in (t[mask] - starts[k])], dtype=float)
        return out

    return Schedule(fn, "join", schedules=schedules, boundaries=bounds)


def robbins_monro(lr, power=1.0, offset=1.0) -> Schedule:
    r""":math:`\eta_t = \eta_0 / (t + c)^p`; with :math:`\tfrac12 < p \le 1` it satisfies the
    Robbins–Monro conditions :math:`\sum \eta_t = \infty`, :math:`\sum \eta_t^2 < \infty`."""
    lr = _base_lr(lr)
    chk.in_range(power, 0.0, np.inf, "Invalid power value: {}")
    offset = _positive_number(offset, "offset")
    return Schedule(lambda t: lr / (t + offset) ** power, "robbins_monro", lr=lr, power=power, offset=offset)


__all__ = [
    "Schedule", "constant", "step_lr", "multi_step_lr", "exponential_lr", "cosine_annealing_lr",
    "linear_lr", "one_cycle_lr", "one_cycle_momentum", "step_decay", "exponential_decay",
    "inverse_time_decay", "power_decay", "warmup_cosine", "join", "robbins_monro",
]

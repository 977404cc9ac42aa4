"""Run an optimizer on an objective: one run or a whole batch of runs at once.

Leading axes of ``x0`` and of array hyperparameters are a batch of independent runs:
``run(adam(lr=np.logspace(-3, 0, 50)[:, None]), rosenbrock(), [-1.5, 2.0], 200)`` is fifty
runs in one call.  A run whose iterate or loss turns non-finite or leaves ``bound`` is
frozen and flagged with its step; the others go on, and no RuntimeWarning escapes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _checks as chk
from .rules.base import is_zero


class Trajectory(NamedTuple):
    """What :func:`run` returns.

    ``xs``: iterates, shape ``(steps + 1, *batch, d)`` (NaN after a run diverged);
    ``losses``: ``f`` at each iterate, ``(steps + 1, *batch)``;
    ``diverged``: ``(*batch)`` bool; ``diverged_at``: the first step whose iterate or loss
    broke the bound, or -1; ``last``: the last finite iterate of each run, ``(*batch, d)``;
    ``state``: the optimizer state after the last step; ``f_min``: the objective's known
    minimum value (``None`` if it has none), which the step counts below measure from.

    With ``run(..., history=True)`` also ``grads``: the gradient each update used,
    ``(steps, *batch, d)`` (``grads[t - 1]`` made ``xs[t]``), and ``states``: every state,
    the initial one first, as one state of the rule's type whose fields are stacked along
    a new leading axis of length ``steps + 1`` (``states.v[t]`` is :math:`v_t`; a field that
    is ``None`` stays ``None``).  Otherwise both are ``None``.
    """

    xs: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    last: np.ndarray
    state: Any
    f_min: float | None = None
    grads: np.ndarray | None = None
    states: Any = None

    @property
    def final_loss(self) -> np.ndarray:
        """The loss at the last step, or at the last finite step of a diverged run."""
        return _last_finite(self.losses)

    def gap(self) -> np.ndarray:
        r""":math:`f(x_t) - f^\star` for every step (the raw losses when ``f_min`` is None)."""
        return self.losses if self.f_min is None else self.losses - self.f_min

    def first_below(self, tol) -> np.ndarray:
        r"""The first step t with :math:`f(x_t) - f^\star < \text{tol}`, per run; -1 if none.

        A crossing: the run may rise above ``tol`` again afterwards (see :meth:`settled_at`)."""
        below = self.gap() < tol  # NaN (after a divergence) is never below
        return np.where(below.any(axis=0), np.argmax(below, axis=0), -1)

    def settled_at(self, tol) -> np.ndarray:
        r"""The first step t from which :math:`f(x_s) - f^\star < \text{tol}` for every
        s ≥ t up to the last step, per run; -1 if the run ends at or above ``tol`` (or
        diverged).  This is "steps to tolerance" for a run that may overshoot and come back."""
        above = ~(self.gap() < tol)
        last_above = above.shape[0] - 1 - np.argmax(above[::-1], axis=0)  # valid where any above
        settled = np.where(above.any(axis=0), last_above + 1, 0)
        return np.where(settled <= above.shape[0] - 1, settled, -1)


def _last_finite(values):
    """Along axis 0, the last non-NaN entry of every column."""
    finite = ~np.isnan(values)
    idx = values.shape[0] - 1 - np.argmax(finite[::-1], axis=0)
    return np.take_along_axis(values, idx[None], axis=0)[0]


def _within(x, loss, bound):
    """True where the loss and every coordinate are finite and within ``bound``."""
    ok = np.abs(loss) <= bound  # False for NaN
    if x.shape[-1] <= 8:  # a reduction over a short last axis is slow: loop instead
        for i in range(x.shape[-1]):
            ok &= np.abs(x[..., i]) <= bound
        return ok
    return ok & (np.abs(x) <= bound).all(-1)


def _hyper_shapes(opt) -> dict:
    """Name -> shape of every array hyperparameter (a pair such as ``betas`` counted by
    entry, a schedule by its value at t = 0); numbers, flags and strings have no shape."""
    shapes = {}
    for k, v in getattr(opt, "hyperparams", {}).items():
        if k == "objective" or hasattr(v, "grad"):  # an objective-first rule's objective: not a hyperparameter array
            continue
        parts = {f"{k}[{i}]": e for i, e in enumerate(v)} if isinstance(v, tuple) else {k: v}
        for name, e in parts.items():
            if callable(e):  # a schedule: the shape of its value (a number, or an array of rates)
                e = e(0)
            if e is None or isinstance(e, (str, bytes, bool)) or np.ndim(e) == 0:
                continue
            shapes[name] = np.shape(e)
    return shapes


def _batch_shape(opt, x0):
    """Broadcast shape of the runs: x0's shape with the shapes of the array hyperparameters,
    which broadcast against ``x`` of shape ``(*batch, d)`` (so a column of rates, shape
    ``(n, 1)``, is a batch of n runs)."""
    shapes = _hyper_shapes(opt)
    try:
        return np.broadcast_shapes(x0.shape, *shapes.values())
    except ValueError:
        raise ValueError(f"Invalid x0: shape {x0.shape} does not broadcast with the hyperparameters' shapes {shapes}") from None


def _stack_states(states):
    """A list of states (NamedTuples) -> one state whose fields are stacked along axis 0.

    A field whose values do not stack (L-BFGS's history of curvature pairs grows, and its
    direction is None before the first step) stays the list of its per-step values."""
    first = states[0]
    fields = {}
    for name in first._fields:
        values = [getattr(st, name) for st in states]
        if all(v is None for v in values):
            fields[name] = None
            continue
        try:
            arrays = [np.asarray(v, dtype=float) for v in values]
            fields[name] = np.stack(arrays) if len({a.shape for a in arrays}) == 1 else values
        except (TypeError, ValueError):
            fields[name] = values
    return type(first)(**fields)


def run(opt, objective, x0, steps, *, grad_noise=0.0, batch_size=None, seed=0, bound=1e8, history=False) -> Trajectory:
    """Run ``steps`` updates of ``opt`` on ``objective`` from ``x0``.

    Args:
        opt: an :class:`~descent.rules.base.Optimizer`.
        objective: anything with ``f`` and ``grad`` over ``(..., d)`` (see
            :mod:`descent.functions`).
        x0: starting point(s), shape ``(*batch, d)``; a scalar counts as d = 1.
        steps: number of updates (0 gives just the start).
        grad_noise: standard deviation of Gaussian noise added to every gradient.
        batch_size: use ``objective.sample_grad(x, rng, batch_size)`` (minibatch SGD).
        seed: seed of the generator behind both kinds of noise.
        bound: a run whose loss or any coordinate exceeds this in magnitude diverged
            (``inf``: only a non-finite value counts).
        history: also keep every gradient and every state (``Trajectory.grads``,
            ``Trajectory.states``), for figures of the optimizer's internals.
    """
    if not (hasattr(opt, "init") and hasattr(opt, "update")):
        raise ValueError(f"Invalid opt: {opt!r} (expected an Optimizer(init, update))")
    if not (callable(getattr(objective, "f", None)) and callable(getattr(objective, "grad", None))):
        raise ValueError(f"Invalid objective: {objective!r} (it needs callable .f and .grad)")
    try:
        x0 = np.array(x0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid x0: {x0!r} (x0 must be an array of numbers)") from None
    if x0.ndim == 0:
        x0 = x0[None]
    if np.isnan(x0).any() or np.isinf(x0).any():
        raise ValueError(f"Invalid x0: {x0.tolist()} (x0 contains NaN or inf)")
    dim = getattr(objective, "dim", x0.shape[-1])
    if x0.shape[-1] != dim:
        raise ValueError(f"Invalid x0: shape {x0.shape} (the last axis must have length {dim} for {objective})")
    steps = chk.positive_int(steps, "steps", allow_zero=True)
    grad_noise = chk.nonnegative(grad_noise, "Invalid grad_noise value: {}")
    if batch_size is not None and not callable(getattr(objective, "sample_grad", None)):
        raise ValueError(f"Invalid batch_size: {batch_size!r} ({objective} has no sample_grad for minibatches)")
    chk.in_range(bound, 0.0, np.inf, "Invalid bound value: {}", lo_open=True, hi_open=False)
    if not isinstance(history, bool):
        raise ValueError(f"Invalid history: {history!r} (history must be True or False)")
    bound = np.minimum(np.asarray(bound, dtype=float), np.finfo(float).max)  # inf: only inf and NaN diverge
    rng = np.random.default_rng(seed)

    with np.errstate(all="ignore"):
        x = np.broadcast_to(x0, _batch_shape(opt, x0)).copy()
        if x[..., 0].size > 1 and not getattr(opt, "batched", True):  # one run of shape (1, d) is fine
            raise ValueError(f"Invalid x0: shape {x.shape} is a batch of runs, but {opt.name} treats the whole x as "
                             f"one parameter (its update couples the runs): run them one at a time")
        batch = x.shape[:-1]
        state = opt.init(x)
        # every row is written below (NaN where a run has stopped): no need to fill first,
        # which for a big batch is a whole extra pass over memory
        xs = np.empty((steps + 1,) + x.shape)
        losses = np.empty((steps + 1,) + batch)
        xs[0] = x
        losses[0] = objective.f(x)
        alive = np.ones(batch, dtype=bool)
        diverged_at = np.full(batch, -1, dtype=np.int64)
        noisy = not is_zero(grad_noise)
        grads, states = ([], [state]) if history else (None, None)
        for k in range(1, steps + 1):
            g = objective.sample_grad(x, rng, batch_size) if batch_size is not None else objective.grad(x)
            if noisy:
                g = g + grad_noise * rng.standard_normal(g.shape)
            step, state = opt.update(g, state, x)
            if history:
                grads.append(g)
                states.append(state)
            x_new = x + step
            if np.shape(x_new) != x.shape:
                raise ValueError(f"Invalid opt: {opt!r} returned a step of shape {np.shape(step)} for x of shape "
                                 f"{x.shape} (record array hyperparameters in its hyperparams)")
            loss = objective.f(x_new)
            ok = _within(x_new, loss, bound)
            if ok.all() and alive.all():
                x = x_new
                xs[k], losses[k] = x_new, loss
                continue
            newly = ~ok & alive
            diverged_at[newly] = k
            alive &= ok
            x = np.where(alive[..., None], x_new, x)
            xs[k] = np.where(alive[..., None], x_new, np.nan)
            losses[k] = np.where(alive, loss, np.nan)
        f_min = getattr(objective, "f_min", None)
        if history:
            grads = np.stack(grads) if grads else np.empty((0,) + x.shape)
            states = _stack_states(states)
        return Trajectory(xs, losses, diverged_at >= 0, diverged_at, x, state,
                          None if f_min is None else float(f_min), grads, states)

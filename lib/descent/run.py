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


class Trajectory(NamedTuple):
    """What :func:`run` returns.

    ``xs``: iterates, shape ``(steps + 1, *batch, d)`` (NaN after a run diverged);
    ``losses``: ``f`` at each iterate, ``(steps + 1, *batch)``;
    ``diverged``: ``(*batch)`` bool; ``diverged_at``: the first step whose iterate or loss
    broke the bound, or -1; ``last``: the last finite iterate of each run, ``(*batch, d)``;
    ``state``: the optimizer state after the last step.
    """

    xs: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    last: np.ndarray
    state: Any

    @property
    def final_loss(self) -> np.ndarray:
        """The loss at the last step, or at the last finite step of a diverged run."""
        return _last_finite(self.losses)


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


def _batch_shape(opt, objective, x0):
    """Broadcast shape of one update: x0's batch with any array hyperparameters."""
    try:
        shape = x0.shape
        probe_x = x0.copy()
        state = opt.init(probe_x)
        with np.errstate(all="ignore"):
            # two updates: some hyperparameters enter only from the second one (SGD's momentum)
            for _ in range(2):
                step, state = opt.update(objective.grad(probe_x), state, probe_x)
                shape = np.broadcast_shapes(shape, np.shape(step))
                probe_x = probe_x + step
        return shape
    except ValueError as exc:
        if "broadcast" not in str(exc) and "shape" not in str(exc):
            raise
        shapes = {}
        for k, v in getattr(opt, "hyperparams", {}).items():
            parts = {f"{k}[{i}]": e for i, e in enumerate(v)} if isinstance(v, tuple) else {k: v}  # betas
            shapes.update({name: np.shape(e) for name, e in parts.items() if not callable(e) and np.ndim(e) > 0})
        raise ValueError(f"Invalid x0: shape {x0.shape} does not broadcast with the hyperparameters' shapes {shapes}") from None


def run(opt, objective, x0, steps, *, grad_noise=0.0, batch_size=None, seed=0, bound=1e8) -> Trajectory:
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
    bound = np.minimum(np.asarray(bound, dtype=float), np.finfo(float).max)  # inf: only inf and NaN diverge
    rng = np.random.default_rng(seed)

    with np.errstate(all="ignore"):
        x = np.broadcast_to(x0, _batch_shape(opt, objective, x0)).copy()
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
        for k in range(1, steps + 1):
            g = objective.sample_grad(x, rng, batch_size) if batch_size is not None else objective.grad(x)
            if grad_noise is not None and not chk.is_zero(grad_noise):
                g = g + grad_noise * rng.standard_normal(g.shape)
            step, state = opt.update(g, state, x)
            x_new = x + step
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
        return Trajectory(xs, losses, diverged_at >= 0, diverged_at, x, state)

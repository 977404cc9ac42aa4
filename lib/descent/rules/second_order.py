r"""Curvature-aware steps: Newton's method and gradient descent with a line search.

Both fit deck 000's template :math:`x_{k+1} = x_k + \eta_k p_k`, :math:`p_k = -B_k^{-1}\nabla f`:
gradient descent has :math:`B_k = I`, Newton :math:`B_k = \nabla^2 f(x_k)`; a line search
chooses :math:`\eta_k`.  These rules need more than the gradient, so their factories take
the objective first (the convention of :mod:`descent.rules`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _checks as chk
from .base import Optimizer, is_torch, is_zero, lr_at, needs


def _solve(H, g):
    """Solve ``H p = g`` over leading batch axes (NumPy or torch).

    A singular ``H`` gives NaN for that run only (NumPy), so that :func:`descent.run`
    flags it as diverged while the other runs of the batch go on.
    """
    if is_torch(g):
        import torch

        return torch.linalg.solve(H, g.unsqueeze(-1)).squeeze(-1)
    g = np.asarray(g)
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:  # some run's Hessian is singular: solve run by run
        batch = np.broadcast_shapes(np.shape(H)[:-2], g.shape[:-1])
        d = g.shape[-1]
        Hs = np.broadcast_to(H, batch + (d, d)).reshape(-1, d, d)
        gs = np.broadcast_to(g, batch + (d,)).reshape(-1, d)
        out = np.full(gs.shape, np.nan)
        for i in range(gs.shape[0]):
            try:
                out[i] = np.linalg.solve(Hs[i], gs[i])
            except np.linalg.LinAlgError:
                pass
        return out.reshape(batch + (d,))


def _eye(d, like):
    if is_torch(like):
        import torch

        return torch.eye(d, dtype=like.dtype, device=like.device)
    return np.eye(d)


def _dot(a, b):
    return (a * b).sum(-1)


class NewtonState(NamedTuple):
    t: int  #: updates done so far


def newton(objective, lr=1.0, damping=0.0) -> Optimizer:
    r"""Damped Newton's method: :math:`x \leftarrow x - \eta\,(H(x) + \delta I)^{-1} \nabla f(x)`.

    ``objective.hessian(x)`` returns the :math:`d\times d` Hessian over the leading axes of
    ``x`` (shape ``(..., d)``).  With ``lr=1`` and ``damping=0`` this is Newton–Raphson for
    :math:`\nabla f = 0`: one step to the minimum of a quadratic, quadratic convergence near
    a strict minimum — and equally fast convergence to a saddle or a maximum, which is
    what ``damping`` (:math:`\delta`, Levenberg) guards against when :math:`\delta` exceeds
    the most negative eigenvalue.
    """
    hessian = needs(objective, "hessian")
    chk.learning_rate(lr)
    chk.nonnegative(damping, "Invalid damping value: {}")

    def init(x):
        return NewtonState(0)

    def update(grad, state, x):
        H = hessian(x)
        if not is_zero(damping):
            # an array of dampings has the shape of a batch of runs, (..., 1) against x (..., d)
            delta = damping if np.ndim(damping) == 0 else damping[..., None]
            H = H + delta * _eye(H.shape[-1], H)
        return -lr_at(lr, state.t) * _solve(H, grad), NewtonState(state.t + 1)

    return Optimizer(init, update, name="newton", elementwise=False,
                     hyperparams=dict(objective=objective, lr=lr, damping=damping))


class LineSearchState(NamedTuple):
    t: int  #: updates done so far
    alpha: Any  #: the step length chosen at the last update


_METHODS = ("exact", "armijo")


def line_search(objective, method="armijo", alpha0=1.0, shrink=0.5, c=1e-4, max_backtracks=50) -> Optimizer:
    r"""Steepest descent :math:`x \leftarrow x - \alpha_k \nabla f(x)` with the step chosen per
    iteration.

    ``method="exact"``: :math:`\alpha_k = \dfrac{g^\top g}{g^\top H g}`, the minimiser of
    :math:`f` along :math:`-g` for a quadratic (uses ``objective.hessian``).  Successive
    steps are then orthogonal — the zig-zag of steps tangent to the level sets.

    ``method="armijo"``: backtracking from ``alpha0``, multiplying by ``shrink`` until
    :math:`f(x - \alpha g) \le f(x) - c\,\alpha\,\|g\|^2` (at most ``max_backtracks`` times).
    Each run of a batch backtracks on its own.
    """
    if method not in _METHODS:
        raise ValueError(f"Invalid method: {method!r} (expected one of {_METHODS})")
    needs(objective, "f", "grad", *(("hessian",) if method == "exact" else ()))
    chk.in_range(alpha0, 0.0, np.inf, "Invalid alpha0 value: {}", lo_open=True)
    chk.in_range(shrink, 0.0, 1.0, "Invalid shrink value: {}", lo_open=True)
    chk.in_range(c, 0.0, 1.0, "Invalid c value: {}", lo_open=True)
    chk.positive_int(max_backtracks, "max_backtracks")

    def init(x):
        return LineSearchState(0, 0.0)

    def update(grad, state, x):
        gg = _dot(grad, grad)
        if method == "exact":
            Hg = (objective.hessian(x) @ grad[..., None])[..., 0]
            curv = _dot(grad, Hg)
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha = np.where(curv > 0, gg / np.where(curv > 0, curv, 1.0), 0.0)
        else:
            fx = objective.f(x)
            alpha = np.full(np.shape(fx), float(alpha0))
            todo = np.ones(np.shape(fx), dtype=bool)
            with np.errstate(all="ignore"):
                for _ in range(max_backtracks):
                    trial = objective.f(x - alpha[..., None] * grad)
                    todo = todo & ~(trial <= fx - c * alpha * gg)
                    if not todo.any():
                        break
                    alpha = np.where(todo, alpha * shrink, alpha)
        return -alpha[..., None] * grad, LineSearchState(state.t + 1, alpha)

    return Optimizer(init, update, name="line_search", elementwise=False, hyperparams=dict(
        objective=objective, method=method, alpha0=alpha0, shrink=shrink, c=c, max_backtracks=max_backtracks))

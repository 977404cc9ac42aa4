r"""Curvature-aware steps: Newton's method, gradient descent with a line search, L-BFGS.

All fit deck 000's template :math:`x_{k+1} = x_k + \eta_k p_k`, :math:`p_k = -B_k^{-1}\nabla f`:
gradient descent has :math:`B_k = I`, Newton :math:`B_k = \nabla^2 f(x_k)`, L-BFGS a
:math:`B_k` built from gradient differences; a line search chooses :math:`\eta_k`.  These
rules need more than the gradient, so their factories take the objective first (the
convention of :mod:`descent.rules`).  ``lbfgs`` is torch.optim.LBFGS exactly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _checks as chk
from .base import Optimizer, is_torch, is_zero, lr_at, namespace, needs, zeros_like


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


# ------------------------------------------------------------------ L-BFGS


def _vdot(a, b):
    """:math:`a^\\top b` over every entry (L-BFGS treats x as one vector)."""
    return (a * b).sum()


def _amax(a):
    return namespace(a).max(abs(a))


def _push(history, item, size):
    """``history`` (a tuple, oldest first) with ``item`` appended, the oldest dropped past ``size``."""
    return (history + (item,))[-size:]


class LBFGSState(NamedTuple):
    t: int  #: updates done so far (torch keeps no such count)
    k: int  #: k, the inner iterations done in all updates so far (torch: ``n_iter``)
    evals: int  #: evaluations of (f, grad) in all updates so far (torch: ``func_evals``)
    p: Any  #: p_k, the last direction -H_k g_k (None before the first; torch: ``d``)
    alpha: Any  #: \alpha_k, the last step length (torch: ``t``)
    s: tuple  #: (s_i), the kept steps x_{i+1} - x_i, oldest first (torch: ``old_stps``)
    y: tuple  #: (y_i), the kept gradient differences g_{i+1} - g_i (torch: ``old_dirs``)
    rho: tuple  #: (\rho_i) = (1 / y_i's_i) (torch: ``ro``)
    gamma: Any  #: \gamma_k = s'y / y'y of the newest pair, the scale of H_0 = \gamma I (torch: ``H_diag``)
    g_prev: Any  #: the gradient where the last inner iteration started (torch: ``prev_flat_grad``)
    f_prev: Any  #: the loss there (torch: ``prev_loss``)


def _two_loop(g, s, y, rho, gamma):
    r""":math:`p = -H g`, with :math:`H` the L-BFGS inverse-Hessian approximation built from the
    pairs :math:`(s_i, y_i)` on :math:`H_0 = \gamma I` (Nocedal & Wright, Algorithm 7.4), in
    :math:`O(mn)` without forming a matrix; it satisfies the secant equations
    :math:`H y_i = s_i` of the newest pairs."""
    q = -g
    a = [None] * len(s)
    for i in reversed(range(len(s))):
        a[i] = _vdot(s[i], q) * rho[i]
        q = q - a[i] * y[i]
    r = q * gamma
    for i in range(len(s)):
        r = r + (a[i] - _vdot(y[i], r) * rho[i]) * s[i]
    return r


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1)``, ``(x2, f2)`` with slopes ``g1``, ``g2``,
    clipped to ``bounds`` (default: between the two points); the midpoint when the cubic has
    no minimum (torch's ``_cubic_interpolate``, from minFunc's ``polyinterp``)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if not d2_square >= 0:
        return (lo + hi) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def _strong_wolfe(phi, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    r"""torch's line search along ``d`` (from minFunc's ``WolfeLineSearch``): a step length t with
    :math:`f(x + td) \le f + c_1 t\, g^\top d` (sufficient decrease) and
    :math:`|\nabla f(x + td)^\top d| \le c_2 |g^\top d|` (the slope has flattened), found by
    bracketing (cubic extrapolation) and then zooming (cubic interpolation) with at most
    ``max_ls`` evaluations of ``phi(t) -> (f, grad)`` at :math:`x + td`.
    Returns ``(f, grad, t, evaluations)`` at the chosen t."""
    d_norm = _amax(d)
    f_new, g_new = phi(t)
    evals = 1
    gtd_new = _vdot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:  # bracket: find an interval that contains an acceptable step
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = _vdot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insufficient = False  # zoom: shrink the bracket onto an acceptable step
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to an end of the bracket: move 10% of its length inside (unless progress was fine)
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = _vdot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:  # t becomes the new high end
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:  # the old low end becomes the high end
                bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = (
                    bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low])
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


_LINE_SEARCHES = (None, "strong_wolfe")


def lbfgs(objective, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100,
          line_search_fn=None) -> Optimizer:
    r"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989) as torch.optim.LBFGS: deck 000's template
    :math:`x_{k+1} = x_k + \alpha_k p_k`, :math:`p_k = -B_k^{-1} \nabla f(x_k)`, with
    :math:`H_k = B_k^{-1}` built from the last ``history_size`` steps and gradient differences

    .. math::
        s_k = x_{k+1} - x_k, \qquad y_k = \nabla f(x_{k+1}) - \nabla f(x_k), \qquad
        H_{k+1} = (I - \rho_k s_k y_k^\top)\, H_k\, (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top,
        \quad \rho_k = \frac{1}{y_k^\top s_k}

    from :math:`H_0 = \gamma_k I`, :math:`\gamma_k = s^\top y / y^\top y` of the newest pair, applied
    to :math:`\nabla f` by the two-loop recursion; a pair is kept only when
    :math:`y^\top s > 10^{-10}` (curvature along the step).  Each update is one call of torch's
    ``step(closure)``: up to ``max_iter`` inner iterations (``max_eval`` evaluations, default
    ``max_iter * 5 // 4``), with :math:`\alpha_k =` ``lr`` (the very first one
    :math:`\min(1, 1/\|g\|_1)\,` ``lr``), or chosen by a strong-Wolfe line search
    (``line_search_fn="strong_wolfe"``).  It stops early when :math:`\max|g| \le`
    ``tolerance_grad``, when :math:`g^\top p > -` ``tolerance_change`` (no descent), or when the
    step or the change of the loss falls below ``tolerance_change``.  With ``max_iter=1`` and
    a line search, give ``max_eval`` too: the default ``1 * 5 // 4 = 1`` leaves the search no
    evaluation, and the iterate never moves (as in torch).

    The objective comes first (the convention of :mod:`descent.rules`): the rule evaluates it
    where torch calls the closure, ``objective.f(x)`` then ``objective.grad(x)`` at the same
    point (an adapter around a closure can answer both from one call); the ``grad`` passed to
    ``update`` is the gradient at ``x``, torch's first closure call.  The state holds the
    pairs :math:`(s_i, y_i)`, not arrays of x's shape.

    Note:
        torch's fixed-step iterations (no line search) do not re-evaluate after the last
        one, and the next update starts from there with a new closure call: this rule does
        the same, so ``evals`` counts torch's ``func_evals``.  When an update ends on "no
        descent", torch keeps the step length it had just set, although no step was taken
        with it; the next pair :math:`s = \alpha p` then uses it (followed here too).

    ``elementwise=False``: x is the whole parameter vector of one run (torch concatenates
    every parameter into one vector); the dot products couple all entries.
    """
    needs(objective, "f", "grad")
    chk.learning_rate(lr)
    chk.positive_int(max_iter, "max_iter")
    if max_eval is not None:
        chk.positive_int(max_eval, "max_eval")
    chk.finite_number(tolerance_grad, "tolerance_grad")
    chk.finite_number(tolerance_change, "tolerance_change")
    chk.positive_int(history_size, "history_size")
    if line_search_fn not in _LINE_SEARCHES:
        raise ValueError(f"Invalid line_search_fn: {line_search_fn!r} (only 'strong_wolfe' is supported)")
    max_evals = max_iter * 5 // 4 if max_eval is None else max_eval

    def loss(x):
        return np.float64(float(objective.f(x)))  # torch: float(closure()); a NumPy float divides by 0 as torch does

    def evaluate(x):
        return loss(x), objective.grad(x)

    def init(x):
        return LBFGSState(0, 0, 0, None, None, (), (), (), None, None, None)

    def update(grad, state, x):
        x0, lr_t = x, lr_at(lr, state.t)
        f, g = loss(x), grad
        evals, k, p, alpha, gamma = 1, state.k, state.p, state.alpha, state.gamma
        s, y, rho, g_prev, f_prev = state.s, state.y, state.rho, state.g_prev, state.f_prev
        if _amax(g) <= tolerance_grad:  # already optimal: torch returns at once
            return zeros_like(x), state._replace(t=state.t + 1, evals=state.evals + 1)
        with np.errstate(divide="ignore", invalid="ignore"):  # as torch: inf or nan, no exception
            for n_iter in range(1, max_iter + 1):
                k += 1
                if k == 1:
                    p, s, y, rho, gamma = -g, (), (), (), 1
                else:
                    y_k, s_k = g - g_prev, alpha * p
                    ys = _vdot(y_k, s_k)
                    if ys > 1e-10:  # curvature along the step: keep the pair, drop the oldest
                        s, y, rho = _push(s, s_k, history_size), _push(y, y_k, history_size), _push(rho, 1.0 / ys, history_size)
                        gamma = ys / _vdot(y_k, y_k)
                    p = _two_loop(g, s, y, rho, gamma)
                g_prev, f_prev = g, f
                alpha = (min(1.0, 1.0 / namespace(g).sum(abs(g))) if k == 1 else 1.0) * lr_t
                gtd = _vdot(g, p)
                if gtd > -tolerance_change:  # not a descent direction
                    break
                n = 0
                if line_search_fn == "strong_wolfe":
                    f, g, alpha, n = _strong_wolfe(lambda a, x=x, p=p: evaluate(x + a * p), alpha, p, f, g, gtd,
                                                   max_ls=max_evals - evals)
                    x = x + alpha * p
                else:
                    x = x + alpha * p
                    if n_iter != max_iter:  # torch evaluates again except after the last iteration
                        (f, g), n = evaluate(x), 1
                evals += n
                if n_iter == max_iter or evals >= max_evals or _amax(g) <= tolerance_grad:
                    break
                if _amax(alpha * p) <= tolerance_change or abs(f - f_prev) < tolerance_change:  # no progress
                    break
        new = LBFGSState(state.t + 1, k, state.evals + evals, p, alpha, s, y, rho, gamma, g_prev, f_prev)
        return x - x0, new

    return Optimizer(init, update, name="lbfgs", elementwise=False, batched=False, hyperparams=dict(
        objective=objective, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn))

"""Gradient descent, its averaged form, and the momentum family (Muon included).

``sgd``, ``asgd`` and ``muon`` are torch.optim.SGD, ASGD and Muon (see ``muon``'s note on
bfloat16).  The other factories are the forms the lecture decks write; each docstring says
when it coincides with ``sgd`` and when it does not.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import _checks as chk
from .base import Optimizer, is_torch, is_zero, lr_at, maximum, needs, torch_prologue, zeros_like


class SGDState(NamedTuple):
    t: int  #: updates done so far
    b: Any  #: b, the momentum buffer; ``None`` when momentum is 0 (torch: ``momentum_buffer``)


_NESTEROV = "Nesterov momentum requires a momentum and zero dampening"


def sgd(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False) -> Optimizer:
    r"""Stochastic gradient descent with momentum, exactly as torch.optim.SGD.

    .. math::
        g &\leftarrow \pm g + \lambda x \\
        b_1 &= g_1, \qquad b_t = \mu b_{t-1} + (1-\tau) g_t \\
        d &= g_t + \mu b_t \ \text{(nesterov)} \quad\text{or}\quad d = b_t \\
        x &\leftarrow x - \eta\, d

    with ``lr`` :math:`=\eta`, ``momentum`` :math:`=\mu`, ``dampening`` :math:`=\tau`,
    ``weight_decay`` :math:`=\lambda`.

    Note:
        torch (and so this rule) starts the buffer at :math:`b_1 = g_1`, so dampening is
        not applied on the first step, and the learning rate multiplies the *whole*
        buffer.  The lecture form :func:`momentum` (:math:`v = \beta v - \eta g`) is the
        same trajectory with :math:`v = -\eta b` while :math:`\eta` is constant; under a
        schedule the two part (see ``tests/test_lecture_forms.py``).
    """
    chk.learning_rate(lr)
    chk.nonnegative(momentum, "Invalid momentum value: {}")
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    if nesterov:
        chk.satisfies(momentum, lambda a: a > 0, _NESTEROV)
        chk.satisfies(dampening, lambda a: a == 0, _NESTEROV)
    use_momentum = not is_zero(momentum)
    prologue = torch_prologue(maximize, weight_decay)

    def init(x):
        return SGDState(t=0, b=zeros_like(x) if use_momentum else None)

    def update(grad, state, x):
        g, _ = prologue(grad, x)
        b = state.b
        if use_momentum:
            b = g if state.t == 0 else momentum * b + (1 - dampening) * g
            d = g + momentum * b if nesterov else b
        else:
            d = g
        return -lr_at(lr, state.t) * d, SGDState(state.t + 1, b)

    return Optimizer(init, update, name="sgd", hyperparams=dict(
        lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
        maximize=maximize))


class ASGDState(NamedTuple):
    t: int  #: updates done so far
    eta: Any  #: \eta_t, the step size of the next update (torch: ``eta``)
    mu: Any  #: \mu_t, the averaging weight of the next update (torch: ``mu``)
    x_bar: Any  #: \bar x_t, the Polyak–Ruppert average of the iterates (torch: ``ax``)


def asgd(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *, maximize=False) -> Optimizer:
    r"""Averaged SGD (Polyak & Juditsky 1992; Bottou 2012's form) as torch.optim.ASGD.

    .. math::
        g &\leftarrow \pm g + \lambda_{wd}\, x, \qquad
        x_t = (1 - \lambda \eta_t)\, x_{t-1} - \eta_t g_t, \qquad
        \bar x_t = \bar x_{t-1} + \mu_t (x_t - \bar x_{t-1}) \\
        \eta_{t+1} &= \frac{\eta}{(1 + \lambda \eta t)^{\alpha}}, \qquad
        \mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}, \qquad \eta_1 = \eta,\ \mu_1 = 1

    with ``lr`` :math:`=\eta`, ``lambd`` :math:`=\lambda`, ``alpha`` :math:`=\alpha`,
    ``t0`` :math:`=t_0`, ``weight_decay`` :math:`=\lambda_{wd}`.  The iterate is SGD with a
    slowly decaying rate; the *answer* is :math:`\bar x`, which equals :math:`x` up to update
    :math:`t_0 + 2` and from then on is the mean of the iterates
    :math:`x_{t_0+2}, \dots, x_t`.  Averaging cancels the noise that keeps constant-rate SGD's iterate on a
    floor around the minimum.

    Note:
        The step (and so torch's parameters) moves :math:`x`; the average is only state,
        ``state.x_bar`` (torch: ``optimizer.state[p]["ax"]``), to be read at the end.  With
        the default ``t0 = 1e6`` no averaging happens in a short run.  :math:`\lambda` both
        decays the rate and shrinks :math:`x` (Bottou's setting: :math:`\lambda` is the
        L2 constant of the problem).  The rate of step :math:`t+1` uses the learning rate
        of step :math:`t` (torch computes it at the end of step :math:`t`), so under a schedule
        it lags by one step.
    """
    chk.learning_rate(lr)
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    prologue = torch_prologue(maximize, weight_decay)

    def init(x):
        return ASGDState(0, lr_at(lr, 0), 1.0, zeros_like(x))

    def update(grad, state, x):
        t = state.t + 1
        g, _ = prologue(grad, x)
        step = -(lambd * state.eta) * x - state.eta * g
        x_new = x + step
        x_bar = state.x_bar + state.mu * (x_new - state.x_bar)  # = x_new while mu = 1
        lr_t = lr_at(lr, state.t)
        eta = lr_t / (1 + lambd * lr_t * t) ** alpha
        mu = 1 / maximum(1.0, t - t0)
        return step, ASGDState(t, eta, mu, x_bar)

    return Optimizer(init, update, name="asgd", hyperparams=dict(
        lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize))


def newton_schulz(G, coefficients=(3.4445, -4.775, 2.0315), steps=5, eps=1e-7):
    r"""About :math:`UV^\top` for :math:`G = USV^\top`: every singular value pushed towards 1 by
    ``steps`` rounds of the odd polynomial :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5`,

    .. math::
        X_0 = G / \max(\|G\|_F, \epsilon), \qquad A = X X^\top, \qquad X \leftarrow a X + (bA + cA^2)\, X

    on the wide orientation (:math:`G^\top` when G has more rows than columns, so that A is the
    smaller Gram matrix).  Dividing by the Frobenius norm puts every singular value in
    :math:`(0, 1]`.  torch's coefficients (Keller Jordan's) maximise the slope at 0, so small
    singular values grow fast, at the price of ending near 1 (roughly within 0.5–1.5) rather
    than at 1; ``(1.5, -0.5, 0)`` is the classical cubic iteration, which converges to 1.
    """
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / maximum((X * X).sum() ** 0.5, eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if tall else X


class MuonState(NamedTuple):
    t: int  #: updates done so far
    b: Any  #: B_t, the momentum buffer, an average of the gradients (torch: ``momentum_buffer``)


_ADJUST_LR = (None, "original", "match_rms_adamw")


def muon(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.775, 2.0315),
         eps=1e-7, ns_steps=5, adjust_lr_fn=None) -> Optimizer:
    r"""Muon (Jordan et al. 2024) as torch.optim.Muon: momentum, then the step's matrix
    orthogonalized by :func:`newton_schulz`, for the 2-D weights of a network.

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu)\, g_t, \qquad
        \tilde B_t = (1-\mu)\, g_t + \mu B_t \ \text{(nesterov)} \ \text{or}\ B_t \\
        O_t &= \operatorname{NS}^{(a,b,c)}_k(\tilde B_t;\ \epsilon), \qquad
        x \leftarrow x - \eta\lambda x - \eta\, r\, O_t

    with ``momentum`` :math:`=\mu`, ``ns_coefficients`` :math:`=(a,b,c)`, ``ns_steps``
    :math:`=k`, ``weight_decay`` :math:`=\lambda` (decoupled), and for an :math:`A\times B`
    matrix :math:`r = \sqrt{\max(1, A/B)}` (``adjust_lr_fn`` None or ``"original"``) or
    :math:`r = 0.2\sqrt{\max(A, B)}` (``"match_rms_adamw"``, Moonshot's, so that the step's RMS
    is AdamW's and AdamW's rates carry over).  The step :math:`O_t` has every singular value near
    1: it moves all directions of the matrix at the same rate, however unequal the gradient's.

    Note:
        torch's buffer is an average, ``buf.lerp_(grad, 1 - momentum)`` (so is its Nesterov
        mix, ``grad.lerp(buf, momentum)``), while torch's docstring writes
        :math:`B_t = \mu B_{t-1} + g_t`; this rule follows the code.  torch runs Newton–Schulz in
        **bfloat16** (``grad.bfloat16()``, 8 significant bits) whatever the parameter's dtype;
        this rule runs it in x's dtype.  So the momentum buffer, the weight decay and the rate
        equal torch's to 1e-12 in float64, and so does the whole step against torch's
        iteration run in float64 (``tests/test_parity_matrix.py``), but against torch as shipped
        the step differs by bfloat16's rounding: typically 1–3% of its size (Frobenius norm),
        up to about 25% for a small matrix with singular values near zero, whose directions
        Newton–Schulz blows up from noise.  A 1e-12 twin of torch's bfloat16 step would have
        to reproduce its CPU kernels' rounding, which differ between machines.

    ``elementwise=False``: ``x`` is one 2-D weight (torch: "Muon only supports 2D parameters").
    """
    chk.learning_rate(lr, "Learning rate should be >= 0 but is: {}")
    chk.nonnegative(momentum, "momentum should be >= 0 but is: {}")
    chk.nonnegative(weight_decay, "weight decay should be >= 0 but is: {}")
    if adjust_lr_fn not in _ADJUST_LR:
        raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
    chk.positive_int(ns_steps, "ns_steps", allow_zero=True)
    if ns_steps >= 100:  # torch checks these two at its first step, with these words
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if not isinstance(ns_coefficients, (tuple, list)) or len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    prologue = torch_prologue(weight_decay=weight_decay, decoupled=True)

    def init(x):
        if len(np.shape(x)) != 2:
            size = x.size() if is_torch(x) else np.shape(x)
            raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: {size}")
        return MuonState(0, zeros_like(x))

    def update(grad, state, x):
        lr_t = lr_at(lr, state.t)
        g, shrink = prologue(grad, x, lr_t)
        b = state.b + (1 - momentum) * (g - state.b)
        B = g + momentum * (b - g) if nesterov else b
        rows, cols = np.shape(x)
        r = 0.2 * math.sqrt(max(rows, cols)) if adjust_lr_fn == "match_rms_adamw" else math.sqrt(max(1, rows / cols))
        return shrink - lr_t * r * newton_schulz(B, ns_coefficients, ns_steps, eps), MuonState(state.t + 1, b)

    return Optimizer(init, update, name="muon", elementwise=False, batched=False, hyperparams=dict(
        lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov, ns_coefficients=ns_coefficients,
        eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))


class VelocityState(NamedTuple):
    t: int  #: updates done so far
    v: Any  #: velocity


def gd(lr=0.1) -> Optimizer:
    r"""Plain gradient descent, :math:`x_t = x_{t-1} - \eta\, \nabla f(x_{t-1})`.

    The rule of chapter 01; identical to ``sgd(lr)``, kept under its own name so
    figures can label it "GD".
    """
    chk.learning_rate(lr)
    inner = sgd(lr=lr)
    return Optimizer(inner.init, inner.update, name="gd", hyperparams=dict(lr=lr))


def momentum(lr=0.1, beta=0.9) -> Optimizer:
    r"""Lecture momentum (decks 001, 003): :math:`v_t = \beta v_{t-1} - \eta g_t`,
    :math:`x_t = x_{t-1} + v_t`, :math:`v_0 = 0`.

    Equals ``sgd(lr, momentum=beta)`` while :math:`\eta` is constant (:math:`v = -\eta b`).
    When :math:`\eta` changes, this form keeps each old gradient scaled by the rate it was
    taken with, while torch rescales the whole buffer by the new rate.
    """
    chk.learning_rate(lr)
    chk.nonnegative(beta, "Invalid beta value: {}")

    def init(x):
        return VelocityState(0, zeros_like(x))

    def update(grad, state, x):
        v = beta * state.v - lr_at(lr, state.t) * grad
        return v, VelocityState(state.t + 1, v)

    return Optimizer(init, update, name="momentum", hyperparams=dict(lr=lr, beta=beta))


def ema_momentum(lr=0.1, rho=0.9) -> Optimizer:
    r"""Momentum as an exponential moving average (deck 001):
    :math:`v_t = \rho v_{t-1} - (1-\rho)\,\alpha g_t`, :math:`x_t = x_{t-1} + v_t`.

    Equals :func:`momentum` with :math:`\eta = (1-\rho)\alpha` (and so ``sgd`` with
    ``lr=(1-rho)*alpha, momentum=rho``).
    """
    chk.learning_rate(lr)
    chk.in_range(rho, 0.0, 1.0, "Invalid rho value: {}")

    def init(x):
        return VelocityState(0, zeros_like(x))

    def update(grad, state, x):
        v = rho * state.v - (1 - rho) * lr_at(lr, state.t) * grad
        return v, VelocityState(state.t + 1, v)

    return Optimizer(init, update, name="ema_momentum", hyperparams=dict(lr=lr, rho=rho))


def heavy_ball(lr=0.1, beta=0.9) -> Optimizer:
    r"""Polyak's heavy ball as deck 004 writes it:
    :math:`v_{t+1} = -\nabla f(x_t) + \beta v_t`, :math:`x_{t+1} = x_t + \eta v_{t+1}`.

    Here :math:`v` is torch's buffer with the sign flipped, so the rule equals
    ``sgd(lr, momentum=beta)`` for any schedule: the rate multiplies the whole
    velocity, as in torch.
    """
    chk.learning_rate(lr)
    chk.nonnegative(beta, "Invalid beta value: {}")

    def init(x):
        return VelocityState(0, zeros_like(x))

    def update(grad, state, x):
        v = -grad + beta * state.v
        return lr_at(lr, state.t) * v, VelocityState(state.t + 1, v)

    return Optimizer(init, update, name="heavy_ball", hyperparams=dict(lr=lr, beta=beta))


def nesterov(objective, lr=0.1, beta=0.9) -> Optimizer:
    r"""Look-ahead Nesterov momentum (deck 003; Sutskever et al. 2013):

    .. math::
        \tilde x = x + \beta v, \qquad v \leftarrow \beta v - \eta \nabla f(\tilde x),
        \qquad x \leftarrow x + v

    The gradient is taken at the look-ahead point, so the rule takes the ``objective`` (see
    :mod:`descent.rules`: a rule that needs more than the gradient at ``x`` takes the
    objective first) and calls ``objective.grad`` itself; the ``grad`` passed to ``update``
    is not used.  torch's ``nesterov=True`` is the same method re-parameterised: its
    iterate is this rule's look-ahead point :math:`x + \beta v` (exactly, for constant
    :math:`\eta`).
    """
    grad_fn = needs(objective, "grad")
    chk.learning_rate(lr)
    chk.nonnegative(beta, "Invalid beta value: {}")

    def init(x):
        return VelocityState(0, zeros_like(x))

    def update(grad, state, x):
        v = beta * state.v - lr_at(lr, state.t) * grad_fn(x + beta * state.v)
        return v, VelocityState(state.t + 1, v)

    return Optimizer(init, update, name="nesterov", elementwise=False, hyperparams=dict(objective=objective, lr=lr, beta=beta))


class HistoryState(NamedTuple):
    t: int  #: updates done so far
    g_prev: Any  #: the previous gradient, G^{t-1}


def sgd_history(lr=0.1, tau=0.05) -> Optimizer:
    r"""SGD + history (deck 002): :math:`w_t = w_{t-1} - (\eta G_t + \tau G_{t-1})`,
    with :math:`G_0 = 0` (the first step is plain GD).

    A two-tap filter of the gradient: the step is never a longer memory than one step
    back, unlike momentum's geometric average of all past gradients.
    """
    chk.learning_rate(lr)
    chk.nonnegative(tau, "Invalid tau value: {}")

    def init(x):
        return HistoryState(0, zeros_like(x))

    def update(grad, state, x):
        step = -(lr_at(lr, state.t) * grad + tau * state.g_prev)
        return step, HistoryState(state.t + 1, grad)

    return Optimizer(init, update, name="sgd_history", hyperparams=dict(lr=lr, tau=tau))

"""Per-coordinate learning rates: Adagrad, RMSProp, AdaDelta.

``adagrad``, ``rmsprop`` and ``adadelta`` are torch.optim's classes exactly.  The
``*_lecture`` forms put epsilon inside the square root and start the accumulator at
``s0``, as deck 001 does its worked examples.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import _checks as chk
from .base import Optimizer, is_zero, lr_at, torch_prologue, zeros_like


class AdagradState(NamedTuple):
    t: int  #: updates done so far
    s: Any  #: s, the running sum of squared gradients (torch: ``sum``)


def adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
            maximize=False) -> Optimizer:
    r"""Adagrad (Duchi et al. 2011) as torch.optim.Adagrad.

    .. math::
        g &\leftarrow \pm g + \lambda x, \qquad s_t = s_{t-1} + g_t^2, \quad
        s_0 = \text{initial\_accumulator\_value} \\
        x &\leftarrow x - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}
              \frac{g_t}{\sqrt{s_t} + \epsilon}

    Note:
        torch adds :math:`\epsilon` *outside* the root; deck 001 writes
        :math:`g/\sqrt{s+\epsilon}` (:func:`adagrad_lecture`).  ``lr_decay`` is torch's
        own inverse-time decay on the step count, not part of the paper.
    """
    chk.learning_rate(lr)
    chk.nonnegative(lr_decay, "Invalid lr_decay value: {}")
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    chk.nonnegative(initial_accumulator_value, "Invalid initial_accumulator_value value: {}")
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    prologue = torch_prologue(maximize, weight_decay)

    def init(x):
        return AdagradState(0, zeros_like(x) + initial_accumulator_value)

    def update(grad, state, x):
        g, _ = prologue(grad, x)
        clr = lr_at(lr, state.t) / (1 + state.t * lr_decay)
        s = state.s + g * g
        return -clr * (g / (s ** 0.5 + eps)), AdagradState(state.t + 1, s)

    return Optimizer(init, update, name="adagrad", hyperparams=dict(
        lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))


def adagrad_lecture(lr=0.5, eps=1e-7, s0=0.0) -> Optimizer:
    r"""Adagrad as deck 001 computes it: :math:`s_t = s_{t-1} + g_t^2`,
    :math:`x_t = x_{t-1} - \eta\, g_t / \sqrt{s_t + \epsilon}`, starting from :math:`s_0`.

    Equals ``adagrad(lr, initial_accumulator_value=s0, eps=0)`` when ``eps=0``; with
    ``eps > 0`` the two differ by about :math:`\epsilon/(2 s^{3/2})` relative.
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    chk.nonnegative(s0, "Invalid s0 value: {}")

    def init(x):
        return AdagradState(0, zeros_like(x) + s0)

    def update(grad, state, x):
        s = state.s + grad * grad
        return -lr_at(lr, state.t) * grad / (s + eps) ** 0.5, AdagradState(state.t + 1, s)

    return Optimizer(init, update, name="adagrad_lecture", hyperparams=dict(lr=lr, eps=eps, s0=s0))


class RMSpropState(NamedTuple):
    t: int  #: updates done so far
    v: Any  #: v, the moving average of g^2 (torch: ``square_avg``)
    g_bar: Any  #: \bar g, the moving average of g (``centered`` only, else None; torch: ``grad_avg``)
    b: Any  #: b, the momentum buffer (``momentum > 0`` only, else None; torch: ``momentum_buffer``)


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
            maximize=False) -> Optimizer:
    r"""RMSProp (Tieleman & Hinton 2012) as torch.optim.RMSprop.

    .. math::
        g &\leftarrow \pm g + \lambda x, \qquad v_t = \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t \ \text{(centered)}, \qquad
        a_t = \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{or}\ \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / a_t,\ x \leftarrow x - \eta b_t
        \quad\text{or, with } \mu = 0,\quad x \leftarrow x - \eta\, g_t / a_t

    Note:
        :math:`\epsilon` is added after the root (TensorFlow adds it inside), there is no
        bias correction, so the first step is about :math:`\eta/\sqrt{1-\alpha}` = 10η
        with the default :math:`\alpha = 0.99`; the momentum buffer starts at zero.
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    chk.nonnegative(momentum, "Invalid momentum value: {}")
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    chk.nonnegative(alpha, "Invalid alpha value: {}")
    prologue = torch_prologue(maximize, weight_decay)
    use_momentum = not is_zero(momentum)

    def init(x):
        return RMSpropState(0, zeros_like(x), zeros_like(x) if centered else None,
                            zeros_like(x) if use_momentum else None)

    def update(grad, state, x):
        g, _ = prologue(grad, x)
        v = alpha * state.v + (1 - alpha) * (g * g)
        g_bar = state.g_bar
        if centered:
            g_bar = g_bar + (1 - alpha) * (g - g_bar)
            a = (v - g_bar * g_bar) ** 0.5 + eps
        else:
            a = v ** 0.5 + eps
        lr_t = lr_at(lr, state.t)
        b = state.b
        if use_momentum:
            b = momentum * b + g / a
            step = -lr_t * b
        else:
            step = -lr_t * (g / a)
        return step, RMSpropState(state.t + 1, v, g_bar, b)

    return Optimizer(init, update, name="rmsprop", hyperparams=dict(
        lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
        centered=centered, maximize=maximize))


class LectureRMSpropState(NamedTuple):
    t: int  #: updates done so far
    s: Any  #: moving average of g^2


def rmsprop_lecture(lr=0.1, rho=0.9, eps=1e-7, s0=0.0) -> Optimizer:
    r"""RMSProp as deck 001 computes it: :math:`s_t = \rho s_{t-1} + (1-\rho) g_t^2`,
    :math:`x_t = x_{t-1} - \eta\, g_t/\sqrt{s_t + \epsilon}`, from :math:`s_0`.

    Equals ``rmsprop(lr, alpha=rho, eps=0)`` when ``eps=0`` and ``s0=0``.
    """
    chk.learning_rate(lr)
    chk.in_range(rho, 0.0, 1.0, "Invalid rho value: {}", hi_open=False)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    chk.nonnegative(s0, "Invalid s0 value: {}")

    def init(x):
        return LectureRMSpropState(0, zeros_like(x) + s0)

    def update(grad, state, x):
        s = rho * state.s + (1 - rho) * (grad * grad)
        return -lr_at(lr, state.t) * grad / (s + eps) ** 0.5, LectureRMSpropState(state.t + 1, s)

    return Optimizer(init, update, name="rmsprop_lecture", hyperparams=dict(lr=lr, rho=rho, eps=eps, s0=s0))


class AdadeltaState(NamedTuple):
    t: int  #: updates done so far
    v: Any  #: v, the moving average of g^2 (torch: ``square_avg``)
    u: Any  #: u, the moving average of the squared updates (torch: ``acc_delta``)


def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False) -> Optimizer:
    r"""AdaDelta (Zeiler 2012) as torch.optim.Adadelta.

    .. math::
        v_t &= \rho v_{t-1} + (1-\rho) g_t^2, \qquad
        \Delta x_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta x_t^2, \qquad x \leftarrow x - \eta\, \Delta x_t

    The ratio of two roots carries the units of :math:`x` (deck 004's units argument);
    :math:`\epsilon` sits inside both roots as in the paper, and ``lr`` is an extra factor
    (1 reproduces the paper).
    """
    chk.learning_rate(lr)
    chk.in_range(rho, 0.0, 1.0, "Invalid rho value: {}", hi_open=False)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    prologue = torch_prologue(maximize, weight_decay)

    def init(x):
        return AdadeltaState(0, zeros_like(x), zeros_like(x))

    def update(grad, state, x):
        g, _ = prologue(grad, x)
        v = rho * state.v + (1 - rho) * (g * g)
        delta = (state.u + eps) ** 0.5 / (v + eps) ** 0.5 * g
        u = rho * state.u + (1 - rho) * (delta * delta)
        return -lr_at(lr, state.t) * delta, AdadeltaState(state.t + 1, v, u)

    return Optimizer(init, update, name="adadelta", hyperparams=dict(
        lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

"""Per-coordinate learning rates: Rprop, Adagrad, RMSProp, AdaDelta.

``rprop``, ``adagrad``, ``rmsprop`` and ``adadelta`` are torch.optim's classes exactly.
The ``*_lecture`` forms put epsilon inside the square root and start the accumulator at
``s0``, as deck 001 does its worked examples.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import _checks as chk
from .base import Optimizer, is_zero, lr_at, namespace, torch_prologue, zeros_like


class RpropState(NamedTuple):
    t: int  #: updates done so far
    g_prev: Any  #: g_{t-1}, the previous gradient, 0 where its sign had flipped (torch: ``prev``)
    eta: Any  #: \eta_t, the step size of every weight (torch: ``step_size``)


def rprop(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False) -> Optimizer:
    r"""Rprop (Riedmiller & Braun 1993) as torch.optim.Rprop: every weight has its own step
    size, which grows while its gradient keeps its sign and shrinks when the sign flips;
    the step uses the gradient's sign only, never its size.

    .. math::
        s &= \operatorname{sign}(g_t\, g_{t-1}), \qquad
        \eta_t = \operatorname{clip}\bigl(\eta_{t-1} \cdot
            \begin{cases} \eta_+ & s > 0 \\ \eta_- & s < 0 \\ 1 & s = 0 \end{cases},
            \ \Gamma_{\min},\ \Gamma_{\max}\bigr) \\
        g_t &\leftarrow 0 \ \text{where}\ s < 0, \qquad
        x \leftarrow x - \eta_t \operatorname{sign}(g_t)

    with ``etas`` :math:`= (\eta_-, \eta_+)`, ``step_sizes`` :math:`= (\Gamma_{\min},
    \Gamma_{\max})`, :math:`\eta_0 =` ``lr`` and :math:`g_0 = 0`.

    Note:
        ``lr`` is only the initial step size :math:`\eta_0`: torch reads ``group["lr"]`` once,
        when it creates the state, so a schedule changes nothing after the first update (this
        rule reads ``lr`` at ``t = 0``).  Where the sign flips torch stores a zero gradient:
        that weight does not move now and the next update sees :math:`s = 0` (step size kept),
        the variant Igel & Hüsken (2000) call Rprop⁻; the paper's Rprop⁺ also undoes the last
        step.  A full-batch method: with minibatch noise the signs flip at random, which is
        what RMSProp was built to fix.
    """
    chk.learning_rate(lr)
    eta_minus, eta_plus = chk.pair(etas, "etas", "(etaminus, etaplus)")
    bad_etas = f"Invalid eta values: {eta_minus}, {eta_plus}".replace("{", "{{").replace("}", "}}")
    chk.satisfies(eta_minus, lambda a: (a > 0) & (a < 1), bad_etas)
    chk.satisfies(eta_plus, lambda a: a > 1, bad_etas)
    eta_min, eta_max = chk.pair(step_sizes, "step_sizes", "(min, max)")
    prologue = torch_prologue(maximize)

    def init(x):
        return RpropState(0, zeros_like(x), zeros_like(x) + lr_at(lr, 0))

    def update(grad, state, x):
        g, _ = prologue(grad, x)
        xp = namespace(g)
        s = xp.sign(g * state.g_prev)
        eta = xp.clip(state.eta * xp.where(s > 0, eta_plus, xp.where(s < 0, eta_minus, 1.0)), eta_min, eta_max)
        g = xp.where(s < 0, 0.0, g)
        return -xp.sign(g) * eta, RpropState(state.t + 1, g, eta)

    return Optimizer(init, update, name="rprop", hyperparams=dict(
        lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))


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

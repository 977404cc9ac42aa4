"""Adam and its relatives: AdamW, NAdam, RAdam, Adamax, Adafactor, SparseAdam, and the
lecture forms of Adam.

``adam``, ``adamw``, ``nadam``, ``radam``, ``adamax``, ``adafactor`` and ``sparse_adam`` are
torch.optim's classes exactly (float64, every step).  ``adam_lecture`` gives the forms the decks print: no bias
correction, the first moment corrected only, and epsilon inside the root.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import _checks as chk
from .base import Optimizer, lr_at, maximum, namespace, torch_prologue, zeros_like


def _moments(g, m, v, beta1, beta2):
    r""":math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t` (as torch's ``lerp``) and
    :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`."""
    return m + (1 - beta1) * (g - m), beta2 * v + (1 - beta2) * (g * g)


class AdamState(NamedTuple):
    t: int  #: updates done so far
    m: Any  #: m, the first moment (torch: ``exp_avg``)
    v: Any  #: v, the second moment (torch: ``exp_avg_sq``)
    v_max: Any  #: v^max, the running max of v (``amsgrad`` only, else None; torch: ``max_exp_avg_sq``)


def _adam(name, hyperparams, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled) -> Optimizer:
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    chk.betas_of_one_kind(betas)  # torch.optim.Adam/AdamW's own check
    prologue = torch_prologue(maximize, weight_decay, decoupled)

    def init(x):
        return AdamState(0, zeros_like(x), zeros_like(x), zeros_like(x) if amsgrad else None)

    def update(grad, state, x):
        t = state.t + 1
        lr_t = lr_at(lr, state.t)
        g, shrink = prologue(grad, x, lr_t)
        m, v = _moments(g, state.m, state.v, beta1, beta2)
        v_max = maximum(state.v_max, v) if amsgrad else None
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        denom = (v_max if amsgrad else v) ** 0.5 / bias_correction2_sqrt + eps
        step = -(lr_t / bias_correction1) * (m / denom)
        return shrink + step, AdamState(t, m, v, v_max)

    return Optimizer(init, update, name=name, hyperparams=hyperparams)


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
         decoupled_weight_decay=False) -> Optimizer:
    r"""Adam (Kingma & Ba 2015) as torch.optim.Adam.

    .. math::
        g &\leftarrow \pm g + \lambda x, \qquad
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        x &\leftarrow x - \frac{\eta}{1-\beta_1^t}\,
             \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}
        \;=\; x - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    With ``amsgrad``, :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)` replaces :math:`v_t`
    in the denominator (still divided by the current :math:`\sqrt{1-\beta_2^t}`).

    Note:
        :math:`\epsilon` is added after the bias-corrected root.  The paper's "efficient"
        ordering (and Keras) adds it to the uncorrected root, which equals this with
        :math:`\epsilon\sqrt{1-\beta_2^t}`; the two differ only when
        :math:`|g| \approx \epsilon`.  ``weight_decay`` here is an L2 term in the gradient
        (it enters m and v); ``decoupled_weight_decay=True`` is :func:`adamw` (as in torch).
    """
    hyperparams = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                       decoupled_weight_decay=decoupled_weight_decay)
    return _adam("adam", hyperparams, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=decoupled_weight_decay)


def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False) -> Optimizer:
    r"""AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW: decoupled weight decay.

    .. math::
        x \leftarrow x - \eta\lambda x - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`\hat m, \hat v` from the raw gradient (the decay never enters the moments).

    Note:
        torch multiplies the decay by the *current* learning rate :math:`\eta_t`; the paper
        multiplies by the schedule factor only, so the paper's :math:`\lambda` equals
        ``lr * weight_decay`` of this rule.  Default ``weight_decay=1e-2`` (Adam's is 0).
    """
    hyperparams = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    return _adam("adamw", hyperparams, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)


class NAdamState(NamedTuple):
    t: int  #: updates done so far
    m: Any  #: m, the first moment (torch: ``exp_avg``)
    v: Any  #: v, the second moment (torch: ``exp_avg_sq``)
    mu_product: Any  #: \Pi_t = prod_i mu_i, the product of the momentum cache (torch: ``mu_product``)


def nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
          decoupled_weight_decay=False, *, maximize=False) -> Optimizer:
    r"""NAdam (Dozat 2016) as torch.optim.NAdam.

    .. math::
        \mu_t &= \beta_1\bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \qquad
        \Pi_t = \textstyle\prod_{i\le t} \mu_i \\
        x &\leftarrow x - \eta\frac{1-\mu_t}{1-\Pi_t}\frac{g_t}{d_t}
                     - \eta\frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}}\frac{m_t}{d_t},
        \qquad d_t = \sqrt{v_t/(1-\beta_2^t)} + \epsilon

    with ``momentum_decay`` :math:`=\psi`.

    Note:
        torch keeps :math:`\Pi_t` as a float32 tensor when the default dtype is float32;
        this rule keeps it in float64 (torch agrees exactly under a float64 default dtype).
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    chk.nonnegative(momentum_decay, "Invalid momentum_decay value: {}")
    prologue = torch_prologue(maximize, weight_decay, decoupled_weight_decay)

    def init(x):
        return NAdamState(0, zeros_like(x), zeros_like(x), 1.0)

    def update(grad, state, x):
        t = state.t + 1
        lr_t = lr_at(lr, state.t)
        g, shrink = prologue(grad, x, lr_t)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = state.mu_product * mu
        m, v = _moments(g, state.m, state.v, beta1, beta2)
        denom = (v / (1 - beta2 ** t)) ** 0.5 + eps
        step = (-lr_t * (1.0 - mu) / (1.0 - mu_product)) * (g / denom) + (
            -lr_t * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
        return shrink + step, NAdamState(t, m, v, mu_product)

    return Optimizer(init, update, name="nadam", hyperparams=dict(
        lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))


class RAdamState(NamedTuple):
    t: int  #: updates done so far
    m: Any  #: m, the first moment (torch: ``exp_avg``)
    v: Any  #: v, the second moment (torch: ``exp_avg_sq``)


def radam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, *,
          maximize=False) -> Optimizer:
    r"""RAdam (Liu et al. 2020) as torch.optim.RAdam.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t}

    If :math:`\rho_t > 5`:
    :math:`x \leftarrow x - \eta\,\hat m_t\, r_t \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)` with
    :math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`;
    otherwise the un-adapted momentum step :math:`x \leftarrow x - \eta \hat m_t`.

    Note:
        torch switches at :math:`\rho_t > 5` (the paper says 4) and adds :math:`\epsilon`
        to the *uncorrected* root.  With :math:`\beta_2 = 0.999` the adaptive step starts
        at t = 6.
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    prologue = torch_prologue(maximize, weight_decay, decoupled_weight_decay)
    rho_inf = 2 / (1 - beta2) - 1

    def init(x):
        return RAdamState(0, zeros_like(x), zeros_like(x))

    def update(grad, state, x):
        t = state.t + 1
        lr_t = lr_at(lr, state.t)
        g, shrink = prologue(grad, x, lr_t)
        m, v = _moments(g, state.m, state.v, beta1, beta2)
        m_hat = m / (1 - beta1 ** t)
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if np.ndim(rho_t) == 0:
            if rho_t > 5.0:
                r = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                step = -(m_hat * lr_t * ((1 - beta2 ** t) ** 0.5 / (v ** 0.5 + eps)) * r)
            else:
                step = -(m_hat * lr_t)
        else:  # an array of beta2: each run of the batch switches on its own
            xp = namespace(rho_t)
            rect = rho_t > 5.0
            r2 = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            r = xp.where(rect, r2, r2 * 0.0 + 1.0) ** 0.5  # no root of a negative where unused
            adaptive = -(m_hat * lr_t * ((1 - beta2 ** t) ** 0.5 / (v ** 0.5 + eps)) * r)
            step = xp.where(rect, adaptive, -(m_hat * lr_t))
        return shrink + step, RAdamState(t, m, v)

    return Optimizer(init, update, name="radam", hyperparams=dict(
        lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))


class AdamaxState(NamedTuple):
    t: int  #: updates done so far
    m: Any  #: m, the first moment (torch: ``exp_avg``)
    u: Any  #: u, the exponentially weighted infinity norm of the gradients (torch: ``exp_inf``)


def adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False) -> Optimizer:
    r"""Adamax (Kingma & Ba 2015, section 7.1) as torch.optim.Adamax: Adam with the
    :math:`L^\infty` norm in place of the :math:`L^2` one.

    .. math::
        g &\leftarrow \pm g + \lambda x, \qquad m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        u_t = \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        x &\leftarrow x - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}

    :math:`u_t` is the limit :math:`p \to \infty` of
    :math:`\bigl((1-\beta_2^p)\sum_i \beta_2^{p(t-i)} |g_i|^p\bigr)^{1/p}`, up to the factor
    :math:`(1-\beta_2^p)^{1/p} \to 1`: a decaying maximum of past gradient sizes, which needs no
    bias correction.

    Note:
        torch adds :math:`\epsilon` inside the maximum (the paper has
        :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)` and no :math:`\epsilon`), so
        :math:`u_t \ge \epsilon` and a zero gradient never divides by zero.
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    chk.nonnegative(weight_decay, "Invalid weight_decay value: {}")
    prologue = torch_prologue(maximize, weight_decay)

    def init(x):
        return AdamaxState(0, zeros_like(x), zeros_like(x))

    def update(grad, state, x):
        t = state.t + 1
        g, _ = prologue(grad, x)
        m = state.m + (1 - beta1) * (g - state.m)
        u = maximum(beta2 * state.u, abs(g) + eps)
        return -(lr_at(lr, state.t) / (1 - beta1 ** t)) * (m / u), AdamaxState(t, m, u)

    return Optimizer(init, update, name="adamax", hyperparams=dict(
        lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize))


def _rms(a) -> float:
    r""":math:`\operatorname{RMS}(a) = \|a\|_2 / \sqrt{\text{number of entries}}`, a Python float (torch's ``.item()``)."""
    return float(namespace(a).sum(a * a)) ** 0.5 / math.prod(np.shape(a)) ** 0.5


class AdafactorState(NamedTuple):
    t: int  #: updates done so far
    r: Any  #: R_t, the row means of g^2, shape (..., n, 1) (x of 2 or more axes, else None; torch: ``row_var``)
    c: Any  #: C_t, the column means of g^2, shape (..., 1, m) (else None; torch: ``col_var``)
    v: Any  #: V_t, the second moment of a vector or a number x (else None; torch: ``variance``)


def adafactor(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *, maximize=False) -> Optimizer:
    r"""Adafactor (Shazeer & Stern 2018) as torch.optim.Adafactor: Adam's second moment of a
    matrix kept as its row and column means only (:math:`n + m` numbers instead of
    :math:`nm`), no first moment, a step relative to the size of :math:`x`, and update
    clipping.

    .. math::
        \hat\beta_t &= 1 - t^{\tau}, \qquad \rho_t = \min(\eta, 1/\sqrt t), \qquad
        \alpha_t = \max(\epsilon_2, \operatorname{RMS}(x))\, \rho_t \\
        \text{matrix: } R_t &= \hat\beta_t R_{t-1} + (1-\hat\beta_t) \operatorname{mean}_j g_{ij}^2, \quad
        C_t = \hat\beta_t C_{t-1} + (1-\hat\beta_t) \operatorname{mean}_i g_{ij}^2, \quad
        \hat V_t = \frac{R_t C_t}{\max(\operatorname{mean}_i R_t,\ \epsilon_1)} \\
        \text{vector: } \hat V_t &= V_t = \hat\beta_t V_{t-1} + (1-\hat\beta_t)\, g_t^2 \\
        U_t &= \frac{g_t}{\sqrt{\max(\hat V_t, \epsilon_1^2)}}, \qquad
        x \leftarrow x - \eta\lambda x - \frac{\alpha_t}{\max(1, \operatorname{RMS}(U_t)/d)}\, U_t

    with ``beta2_decay`` :math:`=\tau`, ``eps`` :math:`=(\epsilon_1, \epsilon_2)` (``None``:
    the machine epsilon of x's dtype), ``d`` the clipping threshold, ``weight_decay``
    :math:`=\lambda`.  :math:`\hat V_t` is the rank-one matrix whose row means are :math:`R_t` and
    whose column means are :math:`C_t` (the outer product over the mean), exact when
    :math:`g^2` has rank one.  A tensor of more than two axes is factored over its last two,
    the others are a batch of matrices.

    Note:
        torch's :math:`\rho_t` caps the relative step with ``lr``, where the paper fixes
        :math:`\min(10^{-2}, 1/\sqrt t)`; it clamps :math:`\hat V` at :math:`\epsilon_1^2` where the
        paper adds :math:`\epsilon_1 = 10^{-30}`; its decay is decoupled (AdamW's
        :math:`-\eta\lambda x`, applied after :math:`\alpha_t` is read from the undecayed
        :math:`x`); and it has no first moment (the paper's :math:`\beta_1 = 0`).
        :math:`\hat\beta_t` is the paper's :math:`\hat\beta_{2t}`; at :math:`t = 1` it is 0, so the
        first statistics are those of :math:`g_1^2` alone.

    ``elementwise=False``: the row and column statistics and both RMS values couple the
    entries of ``x``, so ``x`` is one parameter in its own shape (never a flat buffer or a
    batch of runs).
    """
    chk.learning_rate(lr, "Learning rate should be >= 0 but is: {}")
    chk.satisfies(beta2_decay, lambda a: a <= 0, "beta2_decay should be <= 0 but is: {}")
    eps1, eps2 = chk.pair(eps, "eps", "(eps1 or None, eps2)")
    if eps1 is not None:
        chk.nonnegative(eps1, "epsilon1 should be >= 0 but is: {}")
    chk.nonnegative(eps2, "epsilon2 should be >= 0 but is: {}")
    chk.satisfies(d, lambda a: a >= 1, "Clipping threshold d should be >= 1 but is: {}")
    chk.nonnegative(weight_decay, "weight_decay should be >= 0 but is: {}")
    prologue = torch_prologue(maximize, weight_decay, decoupled=True)

    def init(x):
        if len(getattr(x, "shape", ())) >= 2:
            return AdafactorState(0, zeros_like(x[..., :1]), zeros_like(x[..., :1, :]), None)
        return AdafactorState(0, None, None, zeros_like(x))

    def update(grad, state, x):
        t = state.t + 1
        lr_t = lr_at(lr, state.t)
        xp = namespace(x, grad)
        e1 = xp.finfo(getattr(x, "dtype", float)).eps if eps1 is None else eps1
        alpha = max(eps2, _rms(x)) * min(lr_t, 1 / t ** 0.5)
        g, shrink = prologue(grad, x, lr_t)
        w = t ** beta2_decay  # 1 - beta_hat_t, the weight of the new statistics
        r, c, v = state.r, state.c, state.v
        if v is None:
            r = r + w * (xp.mean(g * g, axis=-1, keepdims=True) - r)
            c = c + w * (xp.mean(g * g, axis=-2, keepdims=True) - c)
            v_hat = (r @ c) / xp.clip(xp.mean(r, axis=-2, keepdims=True), min=e1)
        else:
            v_hat = v = v + w * (g * g - v)
        u = g / xp.clip(v_hat, min=e1 * e1) ** 0.5
        return shrink - alpha / max(1.0, _rms(u) / d) * u, AdafactorState(t, r, c, v)

    return Optimizer(init, update, name="adafactor", elementwise=False, batched=False, hyperparams=dict(
        lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, maximize=maximize))


class SparseGrad(NamedTuple):
    """A gradient that has entries only where ``mask`` is True (torch: a sparse COO gradient,
    such as ``nn.Embedding(sparse=True)`` gives, whose rows are the ones looked up).

    ``values`` is the gradient as a dense array of x's shape, with any finite number (0)
    where there is no entry; an entry that is present may be 0 and still counts.  ``mask``
    is a boolean array that broadcasts against x (an embedding's ``(rows, 1)``).  A
    duplicated index of a torch sparse gradient is one entry with the values summed (its
    ``coalesce()``).
    """

    values: Any
    mask: Any


def sparse_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False) -> Optimizer:
    r"""SparseAdam as torch.optim.SparseAdam: Adam on the entries a sparse gradient has; the
    other entries of x, m and v stay as they are (a "lazy" Adam, for embeddings).

    .. math::
        \text{where present:}\quad m \leftarrow m + (1-\beta_1)(g - m), \quad
        v \leftarrow v + (1-\beta_2)(g^2 - v), \quad
        x \leftarrow x - \eta\, \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\, \frac{m}{\sqrt v + \epsilon}

    The gradient is a :class:`SparseGrad` ``(values, mask)``; a plain array counts as every
    entry present.  :math:`t` counts every update, whether an entry was present or not.

    Note:
        :math:`\epsilon` is added to the uncorrected root (the paper's "efficient" ordering),
        where torch.optim.Adam adds it after the correction; and the bias corrections use the
        update count :math:`t`, not the number of updates an entry was present in, so a row
        seen for the first time at update 1000 gets the corrections of :math:`t = 1000`: its first
        step is :math:`\eta(1-\beta_1)\sqrt{1-\beta_2^{1000}}/\sqrt{1-\beta_2} \approx 2.5\eta` long,
        not :math:`\eta` (with the default betas).
        torch rejects a dense gradient ("SparseAdam does not support dense gradients, please
        consider Adam instead"); this rule takes it as fully present.

    ``elementwise=False``: the gradient is not a plain array, so the torch adapter treats
    such parameters on their own (the update itself is entrywise).
    """
    chk.learning_rate(lr, positive=True)
    chk.satisfies(eps, lambda a: a > 0, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    prologue = torch_prologue(maximize)

    def init(x):
        return AdamState(0, zeros_like(x), zeros_like(x), None)

    def update(grad, state, x):
        values, mask = (grad.values, grad.mask) if isinstance(grad, SparseGrad) else (grad, None)
        t = state.t + 1
        g, _ = prologue(values, x)
        m = state.m + (1 - beta1) * (g - state.m)
        v = state.v + (1 - beta2) * (g * g - state.v)
        step_size = lr_at(lr, state.t) * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
        step = -step_size * (m / (v ** 0.5 + eps))
        if mask is not None:  # absent entries keep m, v and x
            xp = namespace(x)
            m, v, step = xp.where(mask, m, state.m), xp.where(mask, v, state.v), xp.where(mask, step, 0.0)
        return step, AdamState(t, m, v, None)

    return Optimizer(init, update, name="sparse_adam", elementwise=False, batched=False, hyperparams=dict(
        lr=lr, betas=betas, eps=eps, maximize=maximize))


_CORRECTIONS = ("none", "first", "both")


def adam_lecture(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, bias_correction="both", eps_inside=False) -> Optimizer:
    r"""Adam as the decks print it, to compare the variants.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        x \leftarrow x - \eta\, \frac{\tilde m_t}{\sqrt{\tilde v_t} + \epsilon}

    ``bias_correction="none"`` ("simpler Adam", deck 001): :math:`\tilde m = m, \tilde v = v`;
    ``"first"`` (deck 001's second version): :math:`\tilde m = m/(1-\beta_1^t)`, :math:`\tilde v = v`;
    ``"both"`` (Kingma & Ba): both corrected.  ``eps_inside=True`` uses
    :math:`\sqrt{\tilde v + \epsilon}` as deck 001 does; ``eps=0`` gives deck 000's form.

    ``adam_lecture(bias_correction="both")`` equals ``adam`` up to rounding.  Without the
    correction the first step is :math:`\eta(1-\beta_1)/\sqrt{1-\beta_2}` = 3.16η with the
    defaults, not η.
    """
    chk.learning_rate(lr)
    chk.nonnegative(eps, "Invalid epsilon value: {}")
    beta1, beta2 = chk.betas(betas)
    if bias_correction not in _CORRECTIONS:
        raise ValueError(f"Invalid bias_correction: {bias_correction!r} (expected one of {_CORRECTIONS})")

    def init(x):
        return AdamState(0, zeros_like(x), zeros_like(x), None)

    def update(grad, state, x):
        t = state.t + 1
        m = beta1 * state.m + (1 - beta1) * grad
        v = beta2 * state.v + (1 - beta2) * (grad * grad)
        m_hat = m if bias_correction == "none" else m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t) if bias_correction == "both" else v
        denom = (v_hat + eps) ** 0.5 if eps_inside else v_hat ** 0.5 + eps
        return -lr_at(lr, state.t) * m_hat / denom, AdamState(t, m, v, None)

    return Optimizer(init, update, name="adam_lecture", hyperparams=dict(
        lr=lr, betas=betas, eps=eps, bias_correction=bias_correction, eps_inside=eps_inside))

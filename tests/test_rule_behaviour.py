"""What each of the later torch twins is for, checked on its own terms (the parity with torch
is in test_parity.py and its siblings): Rprop's sign steps, Adamax's running maximum,
ASGD's Polyak–Ruppert average and the noise floor it removes."""

from __future__ import annotations

import descent
import numpy as np
import pytest
from descent import functions as F

QUAD = F.Quadratic([[2.0, 0.3], [0.3, 1.0]], b=[0.5, -1.0])


def steps_of(opt, grads, x0, n=None):
    """``n`` updates of ``opt`` from ``x0``, fed ``grads[k]`` (a list) or ``grads(x)`` (a
    function); the iterates and the states, the start included."""
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    xs, states = [x], [state]
    for k in range(len(grads) if n is None else n):
        g = grads(x) if callable(grads) else grads[k]
        step, state = opt.update(np.asarray(g, dtype=float), state, x)
        x = x + step
        xs.append(x)
        states.append(state)
    return np.array(xs), states


# ----------------------------------------------------------------- Rprop


def test_rprop_ignores_the_size_of_the_gradient():
    """Only signs enter: gradients scaled by any positive factors per step give the same run."""
    opt = descent.rprop(lr=0.1)
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3) for _ in range(30)]
    scaled = [g * rng.uniform(1e-3, 1e3, size=3) for g in grads]
    a, _ = steps_of(opt, grads, np.zeros(3))
    b, _ = steps_of(opt, scaled, np.zeros(3))
    np.testing.assert_array_equal(a, b)  # exact: sign(c g) = sign(g) for c > 0, the rest is the same arithmetic


def test_rprop_step_sizes_grow_shrink_and_stay_within_bounds():
    opt = descent.rprop(lr=0.1, etas=(0.5, 1.2), step_sizes=(0.03, 0.13))
    grads = [[1.0], [1.0], [1.0], [-1.0], [-1.0], [1.0], [-1.0], [1.0]]
    xs, states = steps_of(opt, grads, [0.0])
    etas = [float(s.eta[0]) for s in states[1:]]
    # same sign: x 1.2 up to the cap 0.13; a flip: x 0.5 (down to the floor 0.03) and no move;
    # the update after a flip sees a zero previous gradient and keeps the size
    assert etas == pytest.approx([0.1, 0.12, 0.13, 0.065, 0.065, 0.0325, 0.0325, 0.03], rel=1e-14)
    assert np.diff(xs[:, 0]) == pytest.approx([-0.1, -0.12, -0.13, 0.0, 0.065, 0.0, 0.0325, 0.0], rel=1e-14)


# ----------------------------------------------------------------- Adamax


def test_adamax_infinity_norm_is_a_decaying_maximum():
    beta2, eps = 0.9, 1e-8
    opt = descent.adamax(lr=0.01, betas=(0.9, beta2), eps=eps)
    g = [[4.0], [1.0], [-2.0], [0.5], [0.0]]
    _, states = steps_of(opt, g, [0.0])
    u = 0.0
    for k, st in enumerate(states[1:]):
        u = max(beta2 * u, abs(g[k][0]) + eps)
        assert st.u[0] == pytest.approx(u, rel=1e-15)
    # the first step has length lr whatever the gradient's size: m_hat / u = g / (|g| + eps)
    for size in (1e-3, 1.0, 1e3):
        xs, _ = steps_of(descent.adamax(lr=0.01, eps=eps), [[size]], [0.0])
        assert xs[1, 0] == pytest.approx(-0.01 * size / (size + eps), rel=1e-12)


# ----------------------------------------------------------------- ASGD


def test_asgd_average_is_the_mean_of_the_iterates_after_t0():
    t0 = 5
    opt = descent.asgd(lr=0.05, lambd=0.0, t0=t0)
    xs, states = steps_of(opt, QUAD.grad, [3.0, -2.0], 40)
    for k in range(1, len(xs)):
        first = max(1, min(k, t0 + 2))  # x_bar = x up to update t0 + 2, then the mean from x_{t0+2} on
        np.testing.assert_allclose(states[k].x_bar, xs[first:k + 1].mean(axis=0), rtol=1e-12, atol=1e-14)


def test_asgd_iterate_is_sgd_with_its_decaying_rate():
    """The iterate is SGD with eta_t = lr / (1 + lambd lr t)^alpha and a shrink (1 - lambd eta_t)."""
    lr, lambd, alpha = 0.1, 0.5, 0.75
    xs, states = steps_of(descent.asgd(lr=lr, lambd=lambd, alpha=alpha), QUAD.grad, [3.0, -2.0], 30)
    x = np.array([3.0, -2.0])
    for t in range(30):
        eta = lr / (1 + lambd * lr * t) ** alpha
        x = (1 - lambd * eta) * x - eta * QUAD.grad(x)
        np.testing.assert_allclose(xs[t + 1], x, rtol=1e-13)
        assert states[t].eta == pytest.approx(eta, rel=1e-15)


def test_asgd_average_removes_the_noise_floor():
    """Constant-rate SGD with noisy gradients hovers around the minimum at a distance set by
    the rate; the Polyak–Ruppert average of the same iterates is far closer (500 seeded runs
    as one batch, root-mean-square distances)."""
    rng = np.random.default_rng(7)
    opt = descent.asgd(lr=0.1, lambd=0.0, t0=200)
    x = np.tile([3.0, -2.0], (500, 1))
    state = opt.init(x)
    for _ in range(3000):
        step, state = opt.update(QUAD.grad(x) + rng.standard_normal(x.shape), state, x)
        x = x + step
    rms = lambda z: float(np.sqrt(np.mean(np.sum((z - QUAD.minimum) ** 2, axis=-1))))
    err_iterate, err_average = rms(x), rms(state.x_bar)
    print(f"\nnoisy SGD at lr 0.1, 500 runs: rms |x - x*| = {err_iterate:.3f}, rms |x_bar - x*| = {err_average:.4f}")
    assert err_average < err_iterate / 5

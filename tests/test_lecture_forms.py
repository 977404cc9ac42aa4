"""The lecture forms against the torch forms: which pairs are the same method, and by how
much the others differ.  Run with ``-s`` to see the measured gaps."""

from __future__ import annotations

from types import SimpleNamespace

import descent
import numpy as np
import pytest
from descent import functions as F
from descent import schedules as S

# a smooth non-quadratic objective in R^3 (gradient only; the rules never need f)
_A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
_B = np.array([1.0, -2.0, 0.5])
X0 = np.array([2.0, -1.5, 3.0])


def grad(x):
    return x @ _A - _B + 0.3 * np.cos(x)


def trajectory(opt, steps=100, x0=X0, g=grad):
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    xs = [x]
    for _ in range(steps):
        step, state = opt.update(g(x), state, x)
        x = x + step
        xs.append(x)
    return np.array(xs), state


def gap(a, b):
    return float(np.max(np.abs(a - b)))


STEP_SCHEDULE = S.step_lr(0.1, step_size=10, gamma=0.1)


def test_momentum_equals_sgd_momentum_at_constant_lr():
    a, _ = trajectory(descent.momentum(lr=0.1, beta=0.9))
    b, _ = trajectory(descent.sgd(lr=0.1, momentum=0.9))
    assert gap(a, b) <= 1e-12
    assert gap(a[-1], a[0]) > 1  # both moved


def test_momentum_and_sgd_part_under_a_schedule():
    a, _ = trajectory(descent.momentum(lr=STEP_SCHEDULE, beta=0.9), steps=40)
    b, _ = trajectory(descent.sgd(lr=STEP_SCHEDULE, momentum=0.9), steps=40)
    d = gap(a, b)
    print(f"\nlecture momentum vs torch SGD momentum under step_lr(0.1, 10, 0.1): max |dx| = {d:.3f}")
    assert d > 0.05  # a visible difference, not rounding
    # before the first drop of the rate they are still the same
    assert gap(a[:11], b[:11]) <= 1e-12


def test_ema_momentum_is_momentum_with_scaled_rate():
    alpha, rho = 0.8, 0.7
    a, _ = trajectory(descent.ema_momentum(lr=alpha, rho=rho))
    b, _ = trajectory(descent.momentum(lr=(1 - rho) * alpha, beta=rho))
    c, _ = trajectory(descent.sgd(lr=(1 - rho) * alpha, momentum=rho))
    assert gap(a, b) <= 1e-12 and gap(a, c) <= 1e-12


@pytest.mark.parametrize("lr", [0.05, STEP_SCHEDULE, S.cosine_annealing_lr(0.1, 15), S.one_cycle_lr(0.2, 60)],
                         ids=["constant", "step_lr", "cosine", "one_cycle"])
def test_heavy_ball_equals_sgd_momentum_for_any_schedule(lr):
    a, sa = trajectory(descent.heavy_ball(lr=lr, beta=0.85), steps=60)
    b, sb = trajectory(descent.sgd(lr=lr, momentum=0.85), steps=60)
    assert gap(a, b) <= 1e-12
    np.testing.assert_allclose(sa.v, -sb.b, atol=1e-12)  # v is torch's buffer, sign flipped


def test_nesterov_lookahead_point_is_torch_nesterov_iterate(f64):
    torch = f64
    lr, beta, steps = 0.05, 0.9, 80
    opt = descent.nesterov(SimpleNamespace(grad=grad), lr=lr, beta=beta)  # anything with .grad
    x = X0.copy()
    state = opt.init(x)
    lookahead, plain = [x.copy()], [x.copy()]
    for _ in range(steps):
        step, state = opt.update(None, state, x)
        x = x + step
        lookahead.append(x + beta * state.v)
        plain.append(x)
    p = torch.tensor(X0, requires_grad=True)
    topt = torch.optim.SGD([p], lr=lr, momentum=beta, nesterov=True)
    theirs = [X0.copy()]
    for _ in range(steps):
        p.grad = torch.as_tensor(grad(p.detach().numpy()))
        topt.step()
        theirs.append(p.detach().numpy().copy())
    theirs = np.array(theirs)
    assert gap(np.array(lookahead), theirs) <= 1e-12
    ours_torch_form, _ = trajectory(descent.sgd(lr=lr, momentum=beta, nesterov=True), steps=steps)
    assert gap(ours_torch_form, theirs) <= 1e-12
    d = gap(np.array(plain), theirs)
    print(f"\nSutskever iterate x vs torch nesterov iterate: max |dx| = {d:.3f} (x + beta v matches to 1e-12)")
    assert d > 1e-2


def test_adagrad_lecture_equals_adagrad_without_eps():
    for s0 in (0.0, 0.1, 2.0):
        a, sa = trajectory(descent.adagrad_lecture(lr=0.5, eps=0.0, s0=s0))
        b, sb = trajectory(descent.adagrad(lr=0.5, eps=0.0, initial_accumulator_value=s0))
        assert gap(a, b) <= 1e-12
        np.testing.assert_allclose(sa.s, sb.s, rtol=1e-12)


def test_adagrad_eps_inside_vs_outside():
    a, _ = trajectory(descent.adagrad_lecture(lr=0.5, eps=1e-2, s0=0.0), steps=30)
    b, _ = trajectory(descent.adagrad(lr=0.5, eps=1e-2), steps=30)
    d = gap(a, b)
    print(f"\nadagrad eps=1e-2 inside vs outside the root, 30 steps: max |dx| = {d:.2e}")
    assert 1e-4 < d < 0.5
    a, _ = trajectory(descent.adagrad_lecture(lr=0.5, eps=1e-10), steps=30)
    b, _ = trajectory(descent.adagrad(lr=0.5, eps=1e-10), steps=30)
    assert gap(a, b) < 1e-8


def test_rmsprop_lecture_equals_rmsprop_without_eps():
    a, sa = trajectory(descent.rmsprop_lecture(lr=0.01, rho=0.9, eps=0.0))
    b, sb = trajectory(descent.rmsprop(lr=0.01, alpha=0.9, eps=0.0))
    assert gap(a, b) <= 1e-12
    np.testing.assert_allclose(sa.s, sb.v, rtol=1e-12)


def test_adam_lecture_both_equals_adam():
    a, sa = trajectory(descent.adam_lecture(lr=0.05, bias_correction="both"), steps=300)
    b, sb = trajectory(descent.adam(lr=0.05), steps=300)
    assert gap(a, b) <= 1e-12
    np.testing.assert_allclose(sa.m, sb.m, rtol=1e-12, atol=1e-15)


def test_adam_lecture_variants_first_step():
    g = np.array([0.7, -3.0, 20.0])
    lr = 1e-3
    x = np.zeros(3)

    def first(bc, **kw):
        opt = descent.adam_lecture(lr=lr, bias_correction=bc, **kw)
        return opt.update(g, opt.init(x), x)[0]

    # both corrected: a step of lr against the sign of g (up to eps)
    np.testing.assert_allclose(first("both"), -lr * np.sign(g), rtol=1e-6)
    # none: lr (1 - b1) / sqrt(1 - b2) = 3.162 lr
    ratio = np.abs(first("none")) / lr
    np.testing.assert_allclose(ratio, 0.1 / np.sqrt(0.001), rtol=1e-6)
    assert ratio[0] == pytest.approx(3.162, abs=5e-4)
    # first only (deck 001): m corrected, v not: 1/sqrt(1 - b2) = 31.62 lr
    np.testing.assert_allclose(np.abs(first("first")) / lr, 1 / np.sqrt(0.001), rtol=1e-6)
    # eps inside the root, eps = 0: deck 000's form, exactly lr
    np.testing.assert_allclose(first("both", eps=0.0, eps_inside=True), -lr * np.sign(g), rtol=1e-14)


def test_sgd_history_with_tau_zero_is_gd():
    a, _ = trajectory(descent.sgd_history(lr=0.1, tau=0.0))
    b, _ = trajectory(descent.gd(lr=0.1))
    assert gap(a, b) == 0.0
    c, _ = trajectory(descent.sgd_history(lr=0.1, tau=0.05))
    assert gap(a, c) > 1e-3


def test_sgd_history_by_hand():
    """w_t = w_{t-1} - (eta G_t + tau G_{t-1}) on x^2 from 1: G = 2x."""
    opt = descent.sgd_history(lr=0.1, tau=0.05)
    xs, _ = trajectory(opt, steps=2, x0=[1.0], g=lambda x: 2 * x)
    assert xs[1, 0] == pytest.approx(1 - 0.1 * 2)  # 0.8 (G_0 = 0)
    assert xs[2, 0] == pytest.approx(0.8 - (0.1 * 1.6 + 0.05 * 2))  # 0.54


def test_newton_solves_a_quadratic_in_one_step():
    A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.0], [0.5, 0.0, 2.0]])
    q = F.Quadratic(A, b=[1.0, -2.0, 3.0])
    tr = descent.run(descent.newton(q), q, [[5.0, 5.0, 5.0], [-3.0, 0.0, 7.0]], 1)
    np.testing.assert_allclose(tr.xs[1], np.broadcast_to(q.minimum, (2, 3)), atol=1e-12)
    # damped and with lr < 1 it takes more steps
    tr = descent.run(descent.newton(q, lr=0.5), q, [5.0, 5.0, 5.0], 1)
    np.testing.assert_allclose(tr.xs[1], (np.array([5.0, 5.0, 5.0]) + q.minimum) / 2, atol=1e-12)


def test_newton_goes_to_the_saddle():
    tr = descent.run(descent.newton(F.saddle), F.saddle, [1.0, 0.5], 1)
    np.testing.assert_allclose(tr.xs[1], [0.0, 0.0], atol=1e-15)
    gd = descent.run(descent.gd(lr=0.1), F.saddle, [1.0, 0.5], 20)
    assert abs(gd.xs[-1, 1]) > abs(gd.xs[0, 1])  # gradient descent slides off along y


def test_exact_line_search_steps_are_orthogonal():
    q = F.quadratic(condition=20.0, angle=0.4)
    tr = descent.run(descent.line_search(q, method="exact"), q, [1.5, -1.0], 12)
    steps = np.diff(tr.xs, axis=0)
    dots = np.einsum("ki,ki->k", steps[1:], steps[:-1])
    norms = np.linalg.norm(steps[1:], axis=1) * np.linalg.norm(steps[:-1], axis=1)
    assert np.all(np.abs(dots) <= 1e-9 * norms)
    # and each step is the exact minimiser along -g: f'(along the line) = 0 at the new point
    g_new = q.grad(tr.xs[1:])
    np.testing.assert_allclose(np.einsum("ki,ki->k", g_new, steps), 0.0, atol=1e-10)
    assert np.all(np.diff(tr.losses) < 0)


def test_armijo_decreases_rosenbrock_monotonically():
    r = F.rosenbrock()
    tr = descent.run(descent.line_search(r, method="armijo"), r, [[-1.5, 2.0], [0.0, 0.0], [1.5, -0.5]], 300)
    assert np.all(np.diff(tr.losses, axis=0) <= 0)
    assert np.all(tr.losses[-1] < tr.losses[0] * 0.05)  # steepest descent crawls along the valley, but goes down
    c = 1e-4  # the sufficient-decrease condition itself, at every step
    g = r.grad(tr.xs[:-1])
    alpha = np.linalg.norm(tr.xs[1:] - tr.xs[:-1], axis=-1) / np.linalg.norm(g, axis=-1)
    assert np.all(tr.losses[1:] <= tr.losses[:-1] - c * alpha * (g * g).sum(-1) + 1e-12)

"""The syllabus's worked examples for chapters 01-06, to the precision the decks print,
computed with the library the chapters use."""

from __future__ import annotations

import descent
import numpy as np
import pytest
from descent import averages
from descent import functions as F


def steps_of(opt, grad, x0, n):
    """Iterates, gradients and states of ``n`` updates (the quantities the decks tabulate)."""
    x = np.atleast_1d(np.asarray(x0, dtype=float))
    state = opt.init(x)
    xs, gs, states = [x], [], []
    for _ in range(n):
        g = grad(x)
        step, state = opt.update(g, state, x)
        x = x + step
        xs.append(x)
        gs.append(g)
        states.append(state)
    return np.array(xs), np.array(gs), states


# ------------------------------------------------------------------------- 01 SGD insight


def test_x_squared_from_70():
    tr = descent.run(descent.gd(lr=0.1), F.parabola(), [70.0], 40)
    x = tr.xs[:, 0]
    assert x[1:5] == pytest.approx([56, 44.8, 35.84, 28.672], abs=1e-12)
    np.testing.assert_allclose(x, 70 * 0.8 ** np.arange(41), rtol=1e-12)
    assert round(x[11], 3) == 6.013  # the deck prints this as "x_10 = 6.012"
    assert round(x[31], 4) == 0.0693  # the deck's "x_30 = 0.069"
    # the deck's "f'(x_32) = 0.88" is f' at our x_33 and reads 0.088
    assert 2 * x[33] == pytest.approx(0.0887, abs=1e-4)


def test_x2_plus_y2_from_6_9():
    tr = descent.run(descent.gd(lr=0.1), F.sum_of_squares, [6.0, 9.0], 4)
    np.testing.assert_allclose(tr.xs[1:], [[4.8, 7.2], [3.84, 5.76], [3.072, 4.608], [2.4576, 3.6864]], rtol=1e-12)


def test_two_layer_relu_backprop(f64):
    net = F.TwoLayerReLU(x=[1.0], y=[0.0])
    w = np.array([1 / 3, 2.0])
    g = net.grad(w)
    np.testing.assert_allclose(g, [8 / 3, 4 / 9], rtol=1e-14)
    torch = f64
    w1 = torch.tensor(1 / 3, requires_grad=True)
    w2 = torch.tensor(2.0, requires_grad=True)
    loss = (w2 * torch.relu(w1 * 1.0) - 0.0) ** 2
    loss.backward()
    assert w1.grad.item() == pytest.approx(8 / 3, rel=1e-14)
    assert w2.grad.item() == pytest.approx(4 / 9, rel=1e-14)
    assert net.f(w) == pytest.approx(loss.item(), rel=1e-14)
    # the same through the library's objective on torch tensors
    wt = torch.tensor([1 / 3, 2.0], requires_grad=True)
    net.f(wt).backward()
    np.testing.assert_allclose(wt.grad.numpy(), [8 / 3, 4 / 9], rtol=1e-14)
    # one gradient step w <- w - alpha (8/3, 4/9)
    alpha = 0.1
    tr = descent.run(descent.gd(lr=alpha), net, w, 1)
    np.testing.assert_allclose(tr.xs[1], [1 / 3 - alpha * 8 / 3, 2 - alpha * 4 / 9], rtol=1e-14)
    assert tr.losses[1] < tr.losses[0]


def test_minibatches_per_epoch():
    n, m = 2 ** 20, 64
    assert n // m == 16_384 and n % m == 0
    # one epoch of minibatch SGD is n/m updates; on a small problem the run counts them out
    obj = F.synthetic_regression(n=1024, d=2)
    tr = descent.run(descent.sgd(lr=0.1), obj, [0.0, 0.0], obj.n // m, batch_size=m, seed=3)
    assert tr.xs.shape[0] - 1 == 16


# --------------------------------------------------------------- 02 learning-rate pitfalls


def test_x_squared_from_99_four_rates():
    etas = np.array([0.001, 0.1, 0.8, 1.1])
    tr = descent.run(descent.gd(lr=etas[:, None]), F.parabola(), [99.0], 60, bound=1e300)
    x = tr.xs[..., 0]  # (steps + 1, 4)
    np.testing.assert_allclose(x, 99 * (1 - 2 * etas) ** np.arange(61)[:, None], rtol=1e-12)
    slow, smooth, zigzag, diverge = x.T
    assert slow[-1] > 85  # too slow: barely moved
    assert np.all(np.diff(smooth) < 0) and np.all(smooth > 0) and smooth[-1] < 0.01  # smooth
    assert np.all(zigzag[1:] * zigzag[:-1] < 0) and abs(zigzag[-1]) < 0.01  # oscillates, converges
    assert np.all(np.abs(np.diff(np.abs(diverge))) > 0) and abs(diverge[-1]) > 99 * 200  # diverges


@pytest.mark.parametrize("a", [1.0, 9.0, 20.0, 0.3])
def test_stability_condition(a):
    """GD on a x^2 converges exactly when |1 - 2 a eta| < 1, i.e. 0 < eta < 1/a."""
    etas = np.linspace(0.01, 1.5, 60) / a
    etas = etas[np.abs(np.abs(1 - 2 * a * etas) - 1) > 0.05]  # away from the edge, where 400 steps tell
    tr = descent.run(descent.gd(lr=etas[:, None]), F.parabola(a), [5.0], 400, bound=1e6)
    converged = np.abs(tr.final_loss) < 1e-6
    stable = np.abs(1 - 2 * a * etas) < 1
    assert np.array_equal(converged, stable & ~tr.diverged)
    assert np.array_equal(tr.diverged, ~stable)


def test_one_rate_two_curvatures():
    tr9 = descent.run(descent.gd(lr=0.1), F.parabola(9.0), [70.0], 4)
    np.testing.assert_allclose(tr9.xs[1:, 0], [-56, 44.8, -35.84, 28.672], rtol=1e-12)
    tr20 = descent.run(descent.gd(lr=0.1), F.parabola(20.0), [2.0], 4)
    np.testing.assert_allclose(tr20.xs[1:, 0], [-6, 18, -54, 162], rtol=1e-12)


def test_log_bowl_vanishing_gradient():
    xs, gs, _ = steps_of(descent.gd(lr=10.0), F.log_bowl.grad, [9.0], 4)
    np.testing.assert_allclose(gs[:, 0], [0.2222, 0.295, 0.5221, -1.4283], atol=6e-5)
    np.testing.assert_allclose(xs[1:, 0], [6.778, 3.828, -1.393, 12.89], atol=6e-4)
    assert F.log_bowl.f(np.array([0.0])) == pytest.approx(np.log(0.01))


# ----------------------------------------------------------------- 03 moving averages

SERIES = [3, 8, 6, 5, 1, 7, 9, 0, 8, 4]


def test_sma_k2():
    assert averages.sma(SERIES, 2).tolist() == [5.5, 7.0, 5.5, 3.0, 4.0, 8.0, 4.5, 4.0, 6.0]
    np.testing.assert_allclose(averages.sma(SERIES, 3)[0], (3 + 8 + 6) / 3)


def test_ema_rho_half():
    expected = [3.0, 5.5, 5.75, 5.375, 3.1875, 5.09375, 7.046875, 3.5234375, 5.76171875, 4.880859375]
    assert averages.ema(SERIES, 0.5).tolist() == expected  # exact in binary
    # the deck prints them to one decimal
    assert [round(v, 1) for v in averages.ema(SERIES, 0.5)] == [3.0, 5.5, 5.8, 5.4, 3.2, 5.1, 7.0, 3.5, 5.8, 4.9]


@pytest.mark.parametrize(("rho", "weights"), [
    (0.5, [0.125, 0.25, 0.5]), (0.9, [0.081, 0.09, 0.1]), (0.98, [0.019208, 0.0196, 0.02]),
])
def test_unrolled_ema_weights(rho, weights):
    w = averages.ema_weights(rho, 3)
    np.testing.assert_allclose(w, weights, rtol=1e-12)
    # V_3 with V_0 = 0 is exactly this weighted sum of s_1, s_2, s_3
    s = np.array([2.0, -1.0, 4.0])
    assert averages.ema(s, rho, v0=0.0)[-1] == pytest.approx(w @ s, rel=1e-12)
    assert w.sum() == pytest.approx(1 - rho ** 3)
    assert w[0] != pytest.approx(0.0392)  # deck 001's slip for rho = 0.98


def test_effective_window_and_bias_correction():
    assert averages.effective_window(0.9) == pytest.approx(10)
    assert averages.effective_window(0.98) == pytest.approx(50)
    const = np.full(8, 5.0)
    raw = averages.ema(const, 0.9, v0=0.0)
    assert raw[0] == pytest.approx(0.5)  # pulled towards V_0 = 0
    np.testing.assert_allclose(averages.bias_corrected(raw, 0.9), const, rtol=1e-12)


# ----------------------------------------------------------------- 04 Adagrad, RMSProp


def test_rmsprop_worked_example():
    opt = descent.rmsprop_lecture(lr=0.1, rho=0.9, eps=1e-7, s0=0.0)
    xs, gs, states = steps_of(opt, F.parabola().grad, [9.0], 3)
    rows = [(g[0], st.s[0], x[0]) for g, st, x in zip(gs, states, xs[1:], strict=True)]
    expected = [(18, 32.4, 8.6838), (17.3675, 59.323, 8.4583), (16.9166, 82.008, 8.2715)]
    for got, want in zip(rows, expected, strict=True):
        assert got == pytest.approx(want, abs=6e-4)


def test_adagrad_deck_first_step():
    """s0 = 0, eps = 1e-7, eta = 0.5: the first step has length eta (almost) whatever g is."""
    for x0 in (-1.5, 0.3, 9.0):
        xs, _, states = steps_of(descent.adagrad_lecture(lr=0.5, eps=1e-7, s0=0.0), F.parabola().grad, [x0], 1)
        assert xs[1, 0] == pytest.approx(x0 - 0.5 * np.sign(x0), abs=1e-6)
        assert states[0].s[0] == pytest.approx((2 * x0) ** 2)
    xs, _, _ = steps_of(descent.adagrad_lecture(lr=0.5, eps=1e-7, s0=0.1), F.parabola().grad, [1.0], 1)
    assert xs[1, 0] == pytest.approx(1 - 0.5 * 2 / np.sqrt(4.1 + 1e-7))


# ----------------------------------------------------------------- 05 momentum


def test_momentum_worked_example():
    xs, gs, states = steps_of(descent.momentum(lr=0.1, beta=0.9), F.parabola().grad, [90.0], 5)
    rows = [(g[0], st.v[0], x[0]) for g, st, x in zip(gs, states, xs[1:], strict=True)]
    expected = [(180, -18, 72), (144, -30.6, 41.4), (82.8, -35.82, 5.58), (11.16, -33.354, -27.774),
                (-55.548, -24.4638, -52.2378)]
    for got, want in zip(rows, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-9)


def test_momentum_rolls_past_the_local_minimum():
    f = F.two_minima
    gd = descent.run(descent.gd(lr=0.1), f, [-3.2], 300)
    mom = descent.run(descent.momentum(lr=0.1, beta=0.9), f, [-3.2], 300)
    assert gd.xs[-1, 0] == pytest.approx(f.local_minimum, abs=1e-4)
    assert mom.xs[-1, 0] == pytest.approx(f.minimum[0], abs=1e-3)


# ----------------------------------------------------------------- 06 Adam, regularization


def test_adam_variants_first_steps():
    """x^2 from 1 (g = 2), lr = 0.1, default betas: corrected Adam steps lr, the uncorrected
    form lr (1-b1)/sqrt(1-b2) = 0.3162, deck 001's m-only correction lr/sqrt(1-b2) = 3.162."""
    first = {}
    for bc in ("both", "none", "first"):
        xs, _, _ = steps_of(descent.adam_lecture(lr=0.1, bias_correction=bc), F.parabola().grad, [1.0], 1)
        first[bc] = 1.0 - xs[1, 0]
    assert first["both"] == pytest.approx(0.1, rel=1e-7)
    assert first["none"] == pytest.approx(0.3162, abs=1e-4)
    assert first["first"] == pytest.approx(3.162, abs=1e-3)
    tr = descent.run(descent.adam(lr=0.1), F.parabola(), [1.0], 1)
    assert 1.0 - tr.xs[1, 0] == pytest.approx(first["both"], rel=1e-12)


def test_l1_l2_regularization_numbers():
    x = np.array([1.0, 2.0, 1.0])
    th1, th2 = np.array([0.0, 0.75, 0.0]), np.array([0.25, 0.5, 0.25])
    assert x @ th1 == x @ th2 == 1.5
    assert (th1 ** 2).sum() == 0.5625 and (th2 ** 2).sum() == 0.375  # L2 prefers the spread weights
    assert np.abs(th1).sum() == 0.75 and np.abs(th2).sum() == 1.0  # L1 prefers the sparse ones


def test_adam_l2_vs_adamw_decoupled_differ():
    q = F.quadratic(condition=10.0, angle=0.3)
    adam_l2 = descent.run(descent.adam(lr=0.05, weight_decay=0.5), q, [1.5, -1.0], 200)
    adamw = descent.run(descent.adamw(lr=0.05, weight_decay=0.5), q, [1.5, -1.0], 200)
    adam_decoupled = descent.run(descent.adam(lr=0.05, weight_decay=0.5, decoupled_weight_decay=True), q,
                                 [1.5, -1.0], 200)
    assert np.max(np.abs(adam_l2.xs - adamw.xs)) > 1e-2
    np.testing.assert_allclose(adam_decoupled.xs, adamw.xs, rtol=1e-15)

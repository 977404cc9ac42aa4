"""descent.run: batches of runs, divergence, noise, edge cases."""

from __future__ import annotations

import subprocess
import sys
import warnings

import descent
import numpy as np
import pytest
from descent import functions as F
from descent import schedules as S

ROSEN = F.rosenbrock()
COL = lambda *v: np.array(v, dtype=float)[:, None]  # a batch of hyperparameters, shape (n, 1)

#: every rule with an array hyperparameter of shape (3, 1): a batch of three runs
BATCHED = {
    "sgd": (lambda h: descent.sgd(lr=1e-3, momentum=h), COL(0.0, 0.5, 0.9)),
    "sgd_nesterov": (lambda h: descent.sgd(lr=1e-3, momentum=h, nesterov=True), COL(0.3, 0.5, 0.9)),
    "sgd_dampening": (lambda h: descent.sgd(lr=1e-3, momentum=0.9, dampening=h), COL(0.0, 0.5, 0.9)),
    "adagrad": (lambda h: descent.adagrad(lr=0.1, lr_decay=h), COL(0.0, 0.01, 0.1)),
    "rmsprop": (lambda h: descent.rmsprop(lr=1e-3, alpha=h, momentum=0.5, centered=True), COL(0.9, 0.99, 0.999)),
    "adadelta": (lambda h: descent.adadelta(rho=h, weight_decay=0.01), COL(0.5, 0.9, 0.95)),
    "adam": (lambda h: descent.adam(lr=0.01, betas=(h, 0.999), amsgrad=True), COL(0.0, 0.5, 0.9)),
    "adamw": (lambda h: descent.adamw(lr=0.01, weight_decay=h), COL(0.0, 0.1, 1.0)),
    "nadam": (lambda h: descent.nadam(lr=0.01, momentum_decay=h), COL(0.0, 4e-3, 1e-2)),
    "radam": (lambda h: descent.radam(lr=0.01, betas=(0.9, h)), COL(0.5, 0.9, 0.999)),
    "gd": (lambda h: descent.gd(lr=h), COL(1e-4, 1e-3, 2e-3)),
    "momentum": (lambda h: descent.momentum(lr=1e-4, beta=h), COL(0.0, 0.5, 0.9)),
    "ema_momentum": (lambda h: descent.ema_momentum(lr=1e-3, rho=h), COL(0.0, 0.5, 0.9)),
    "heavy_ball": (lambda h: descent.heavy_ball(lr=1e-4, beta=h), COL(0.0, 0.5, 0.9)),
    "nesterov": (lambda h: descent.nesterov(ROSEN, lr=1e-4, beta=h), COL(0.0, 0.5, 0.9)),
    "sgd_history": (lambda h: descent.sgd_history(lr=1e-4, tau=h), COL(0.0, 1e-4, 5e-4)),
    "adagrad_lecture": (lambda h: descent.adagrad_lecture(lr=0.1, s0=h), COL(0.0, 0.1, 10.0)),
    "rmsprop_lecture": (lambda h: descent.rmsprop_lecture(lr=1e-2, rho=h), COL(0.5, 0.9, 0.99)),
    "adam_lecture": (lambda h: descent.adam_lecture(lr=1e-2, betas=(0.9, h), bias_correction="none"), COL(0.9, 0.99, 0.999)),
    "newton": (lambda h: descent.newton(ROSEN, lr=0.5, damping=h), COL(0.0, 1.0, 10.0)),
}


@pytest.mark.parametrize("name", list(BATCHED))
def test_batch_of_hyperparameters_equals_loop(name):
    make, values = BATCHED[name]
    x0 = [-1.2, 1.0]
    batch = descent.run(make(values), ROSEN, x0, 30)
    assert batch.xs.shape == (31, 3, 2) and batch.losses.shape == (31, 3)
    for i, v in enumerate(values[:, 0]):
        one = descent.run(make(v), ROSEN, x0, 30)
        np.testing.assert_allclose(batch.xs[:, i], one.xs, rtol=1e-13, atol=1e-15, err_msg=f"{name} {v}")
    assert not np.allclose(batch.xs[-1, 0], batch.xs[-1, 2])  # the hyperparameter mattered


def test_leading_axes_of_x0_and_hyperparameters_broadcast():
    x0 = np.array([[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5]])  # 3 starts
    lrs = np.array([1e-3, 1e-2])[:, None, None]  # 2 rates: batch (2, 3)
    tr = descent.run(descent.adam(lr=lrs), ROSEN, x0, 20)
    assert tr.xs.shape == (21, 2, 3, 2) and tr.losses.shape == (21, 2, 3)
    assert tr.diverged.shape == (2, 3) and tr.last.shape == (2, 3, 2)
    for i in range(2):
        for j in range(3):
            one = descent.run(descent.adam(lr=float(lrs[i, 0, 0])), ROSEN, x0[j], 20)
            np.testing.assert_allclose(tr.xs[:, i, j], one.xs, rtol=1e-13)
    # a batch of starts with scalar hyperparameters
    tr = descent.run(descent.sgd(lr=1e-3), ROSEN, x0, 5)
    assert tr.xs.shape == (6, 3, 2)


def test_schedule_and_array_lr_together():
    lr = S.cosine_annealing_lr(1.0, 20)
    scale = COL(1e-3, 2e-3)
    tr = descent.run(descent.sgd(lr=lambda t: scale * lr(t), momentum=0.9), ROSEN, [-1.2, 1.0], 20)
    for i, s in enumerate(scale[:, 0]):
        one = descent.run(descent.sgd(lr=lambda t, s=s: s * lr(t), momentum=0.9), ROSEN, [-1.2, 1.0], 20)
        np.testing.assert_allclose(tr.xs[:, i], one.xs, rtol=1e-13)


def test_divergence_is_frozen_and_flagged_while_others_continue():
    lrs = COL(0.1, 2.0, 0.4)  # 1 - 2 lr = 0.8, -3, 0.2: the middle run diverges
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = descent.run(descent.gd(lr=lrs), F.parabola(), [1.0], 40)
    # x_k = (-3)^k; the loss x^2 first exceeds the bound 1e8 at k = 9 (3^9 = 19683)
    k = next(k for k in range(40) if 9.0 ** k > 1e8)
    assert k == 9
    assert tr.diverged.tolist() == [False, True, False]
    assert tr.diverged_at.tolist() == [-1, k, -1]
    assert np.all(np.isnan(tr.xs[k:, 1])) and np.all(np.isfinite(tr.xs[:k, 1]))
    assert np.all(np.isnan(tr.losses[k:, 1]))
    assert tr.last[1, 0] == pytest.approx((-3.0) ** (k - 1))  # the last finite iterate
    assert tr.final_loss[1] == pytest.approx(9.0 ** (k - 1))
    # the others went on to the end
    np.testing.assert_allclose(tr.xs[:, 0, 0], 0.8 ** np.arange(41), rtol=1e-12)
    np.testing.assert_allclose(tr.xs[:, 2, 0], 0.2 ** np.arange(41), rtol=1e-12)


def test_overflow_to_inf_and_nan_is_caught_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = descent.run(descent.sgd(lr=COL(1e-4, 10.0, 1e300)), ROSEN, [2.0, -2.0], 50, bound=np.inf)
    assert tr.diverged.tolist() == [False, True, True]
    assert np.all(tr.diverged_at[1:] >= 1)
    assert np.all(np.isfinite(tr.last))
    assert np.all(np.isfinite(tr.final_loss))


def test_bound_is_respected():
    tr = descent.run(descent.gd(lr=0.6), F.parabola(), [1.0], 10, bound=1.1)  # factor -0.2
    assert not tr.diverged
    tr = descent.run(descent.gd(lr=1.5), F.parabola(), [1.0], 10, bound=1.1)  # factor -2: |x| = 2 at step 1
    assert tr.diverged and tr.diverged_at == 1


def test_seeded_noise_reproducible():
    opt = descent.sgd(lr=1e-3, momentum=0.9)
    a = descent.run(opt, ROSEN, [-1.2, 1.0], 30, grad_noise=0.5, seed=4)
    b = descent.run(opt, ROSEN, [-1.2, 1.0], 30, grad_noise=0.5, seed=4)
    c = descent.run(opt, ROSEN, [-1.2, 1.0], 30, grad_noise=0.5, seed=5)
    clean = descent.run(opt, ROSEN, [-1.2, 1.0], 30)
    assert np.array_equal(a.xs, b.xs)
    assert not np.array_equal(a.xs, c.xs) and not np.array_equal(a.xs, clean.xs)
    # each run of a batch gets its own noise
    batch = descent.run(opt, ROSEN, [[-1.2, 1.0]] * 2, 30, grad_noise=0.5, seed=4)
    assert not np.array_equal(batch.xs[:, 0], batch.xs[:, 1])


def test_seeded_minibatches_reproducible():
    obj = F.synthetic_regression(n=256, d=2, seed=1)
    opt = descent.sgd(lr=0.05)
    a = descent.run(opt, obj, [0.0, 0.0], 100, batch_size=16, seed=9)
    b = descent.run(opt, obj, [0.0, 0.0], 100, batch_size=16, seed=9)
    c = descent.run(opt, obj, [0.0, 0.0], 100, batch_size=16, seed=10)
    assert np.array_equal(a.xs, b.xs) and not np.array_equal(a.xs, c.xs)
    assert a.losses[-1] < 1.5 * obj.f_min + 0.05  # SGD reaches the noise floor near the minimum
    full = descent.run(opt, obj, [0.0, 0.0], 100, batch_size=obj.n, seed=9)
    np.testing.assert_allclose(full.xs, descent.run(opt, obj, [0.0, 0.0], 100).xs, rtol=1e-12)


def test_zero_steps():
    tr = descent.run(descent.adam(lr=COL(0.1, 0.2)), ROSEN, [-1.2, 1.0], 0)
    assert tr.xs.shape == (1, 2, 2) and tr.losses.shape == (1, 2)
    np.testing.assert_array_equal(tr.xs[0], [[-1.2, 1.0]] * 2)
    assert tr.losses[0] == pytest.approx(ROSEN.f(np.array([-1.2, 1.0])))
    assert not tr.diverged.any() and np.all(tr.diverged_at == -1)
    assert tr.state.t == 0
    np.testing.assert_array_equal(tr.last, tr.xs[0])


def test_scalar_x0_is_one_dimensional_and_x0_untouched():
    tr = descent.run(descent.gd(lr=0.1), F.parabola(), 70.0, 3)
    assert tr.xs.shape == (4, 1)
    np.testing.assert_allclose(tr.xs[:, 0], [70, 56, 44.8, 35.84])
    x0 = np.array([-1.2, 1.0])
    descent.run(descent.adam(lr=0.1), ROSEN, x0, 5)
    assert x0.tolist() == [-1.2, 1.0]


def test_trajectory_losses_are_f_of_iterates_and_state_is_final():
    tr = descent.run(descent.adam(lr=0.01), ROSEN, [-1.2, 1.0], 25)
    np.testing.assert_allclose(tr.losses, ROSEN.f(tr.xs), rtol=1e-14)
    assert tr.state.t == 25
    np.testing.assert_array_equal(tr.last, tr.xs[-1])
    assert tr.final_loss == tr.losses[-1]


def test_library_runs_without_importing_torch():
    """Only descent.torch may import torch: the NumPy path must not pay its import time."""
    code = ("import sys, descent; from descent import functions as F, schedules as S; "
            "descent.run(descent.adam(lr=S.step_lr(0.1, 5)), F.rosenbrock(), [0.0, 0.0], 10); "
            "descent.run(descent.newton(F.rosenbrock()), F.rosenbrock(), [0.0, 0.0], 2); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


EXTREME = {
    "sgd": lambda lr: descent.sgd(lr=lr, momentum=0.9, nesterov=True), "adagrad": lambda lr: descent.adagrad(lr=lr),
    "rmsprop": lambda lr: descent.rmsprop(lr=lr, centered=True, momentum=0.9), "adadelta": lambda lr: descent.adadelta(lr=lr),
    "adam": lambda lr: descent.adam(lr=lr, amsgrad=True), "adamw": lambda lr: descent.adamw(lr=lr),
    "nadam": lambda lr: descent.nadam(lr=lr), "radam": lambda lr: descent.radam(lr=lr, betas=(0.9, 0.99)),
    "momentum": lambda lr: descent.momentum(lr=lr), "ema_momentum": lambda lr: descent.ema_momentum(lr=lr),
    "heavy_ball": lambda lr: descent.heavy_ball(lr=lr), "nesterov": lambda lr: descent.nesterov(ROSEN, lr=lr),
    "sgd_history": lambda lr: descent.sgd_history(lr=lr, tau=lr / 4),
    "adagrad_lecture": lambda lr: descent.adagrad_lecture(lr=lr),
    "rmsprop_lecture": lambda lr: descent.rmsprop_lecture(lr=lr), "adam_lecture": lambda lr: descent.adam_lecture(lr=lr),
    "newton": lambda lr: descent.newton(ROSEN, lr=lr),
}


@pytest.mark.parametrize("name", list(EXTREME))
def test_wild_rates_diverge_quietly(name):
    """Rates from sensible to absurd in one batch: the absurd runs are flagged, none warns."""
    lrs = COL(1e-4, 1e2, 1e8, 1e300)[:, None]  # (4, 1, 1) against two starts (2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = descent.run(EXTREME[name](lrs), ROSEN, [[-1.2, 1.0], [2.0, -1.0]], 60)
    assert tr.xs.shape == (61, 4, 2, 2)
    assert not tr.diverged[0].any()  # the sensible rate is untouched by its neighbours
    one = descent.run(EXTREME[name](1e-4), ROSEN, [[-1.2, 1.0], [2.0, -1.0]], 60)
    np.testing.assert_allclose(tr.xs[:, 0], one.xs, rtol=1e-13)
    assert np.all(np.isfinite(tr.last)) and np.all(np.isfinite(tr.final_loss))
    assert np.all(tr.diverged_at[tr.diverged] >= 1) and np.all(tr.diverged_at[~tr.diverged] == -1)


def test_singular_hessian_stops_only_its_own_run():
    """A dead ReLU (w1 < 0) has a zero Hessian: Newton cannot step there, the others can."""
    net = F.TwoLayerReLU(x=[1.0, 2.0], y=[0.5, 1.0])
    starts = np.array([[0.3, 2.0], [-1.0, 1.0], [1.5, -0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = descent.run(descent.newton(net, lr=0.5), net, starts, 5)
    assert tr.diverged.tolist() == [False, True, False] and tr.diverged_at[1] == 1
    for i in (0, 2):
        one = descent.run(descent.newton(net, lr=0.5), net, starts[i], 5)
        np.testing.assert_allclose(tr.xs[:, i], one.xs, rtol=1e-13)
    np.testing.assert_array_equal(tr.last[1], starts[1])


# ------------------------------------------------------------------ history and step counts

class Counting(F.Objective):
    """Rosenbrock that counts its calls: run must not make hidden trial calls."""

    dim = 2
    f_min = 0.0

    def __init__(self):
        self.calls = {"f": 0, "grad": 0}

    def _f(self, x):
        self.calls["f"] += 1
        return ROSEN.f(x)

    def _grad(self, x):
        self.calls["grad"] += 1
        return ROSEN.grad(x)


@pytest.mark.parametrize("history", [False, True])
def test_run_calls_grad_once_per_step_and_f_once_per_iterate(history):
    obj = Counting()
    descent.run(descent.adam(lr=COL(1e-3, 1e-2), betas=(0.9, COL(0.99, 0.999))), obj, [-1.2, 1.0], 7, history=history)
    assert obj.calls == {"f": 8, "grad": 7}


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop", "adadelta", "nesterov"])
def test_history_equals_the_hand_loop(name):
    make, values = BATCHED[name if name != "sgd" else "sgd_nesterov"]
    opt = make(values)
    x0 = np.array([-1.2, 1.0])
    tr = descent.run(opt, ROSEN, x0, 12, history=True)
    x = np.broadcast_to(x0, (3, 2)).copy()
    state = opt.init(x)
    states, grads = [state], []
    for _ in range(12):
        g = ROSEN.grad(x)
        step, state = opt.update(g, state, x)
        x = x + step
        grads.append(g)
        states.append(state)
    np.testing.assert_array_equal(tr.grads, np.stack(grads))  # the same loop, the same bits
    np.testing.assert_array_equal(tr.xs[-1], x)
    assert type(tr.states) is type(state) and tr.states.t.tolist() == list(range(13))
    for field in state._fields:
        ours = getattr(tr.states, field)
        if getattr(state, field) is None:
            assert ours is None
            continue
        hand = np.stack([np.asarray(getattr(s, field), dtype=float) for s in states])
        np.testing.assert_array_equal(ours, hand)


def test_without_history_nothing_is_kept():
    tr = descent.run(descent.gd(lr=1e-3), ROSEN, [-1.2, 1.0], 5)
    assert tr.grads is None and tr.states is None and tr.f_min == 0.0


def test_history_must_be_a_flag():
    with pytest.raises(ValueError, match="Invalid history: 1"):
        descent.run(descent.gd(), ROSEN, [0.0, 0.0], 2, history=1)


def test_first_below_and_settled_at_are_told_apart():
    # x^2 with eta = 0.9: x_t = 5 (-0.8)^t, f = 25 * 0.64^t, crossing 1 at t = 8 and staying
    p = F.parabola(1)
    tr = descent.run(descent.gd(lr=0.9), p, [5.0], 20)
    assert tr.first_below(1.0).item() == 8 == tr.settled_at(1.0).item()
    assert tr.first_below(1e-30).item() == -1 == tr.settled_at(1e-30).item()
    # a run that dips below the tolerance and comes back: the crossing is early, settling never
    class Bump(F.Objective):
        dim, f_min = 1, 0.0

        def _f(self, x):
            return np.abs(x[..., 0])

        def _grad(self, x):
            return np.sign(x)

    tr = descent.run(descent.gd(lr=1.0), Bump(), [0.5], 4)  # x: 0.5, -0.5, 0.5, ...: f stays 0.5
    assert tr.first_below(0.6).item() == 0 and tr.settled_at(0.6).item() == 0
    assert tr.first_below(0.5).item() == -1
    # per run of a batch, and a diverged run never settles
    tr = descent.run(descent.gd(lr=COL(0.1, 2.0, 0.4)), p, [1.0], 40)  # f = 0.64^t, diverges, 0.04^t
    assert tr.diverged.tolist() == [False, True, False]
    assert tr.settled_at(1e-6).tolist() == [31, -1, 5] == tr.first_below(1e-6).tolist()


def test_an_oscillating_run_crosses_before_it_settles():
    # heavy momentum on a ravine: the loss is not monotone, it dips below the tolerance and
    # comes back above it before it stays below
    q = F.quadratic(condition=20)
    tr = descent.run(descent.heavy_ball(lr=0.09, beta=0.9), q, [1.0, 1.0], 200)
    gap = tr.gap()
    assert np.any(np.diff(gap) > 0)  # the loss rises at times: momentum overshoots
    tol = 1e-3
    first, settled = tr.first_below(tol).item(), tr.settled_at(tol).item()
    assert 0 < first < settled
    assert gap[first] < tol <= gap[first - 1] and np.any(gap[first:settled] >= tol) and np.all(gap[settled:] < tol)


def test_rules_that_couple_the_runs_refuse_a_batch():
    for opt in (descent.muon(), descent.adafactor(), descent.lbfgs(ROSEN), descent.sparse_adam()):
        assert not opt.batched
        with pytest.raises(ValueError, match=f"Invalid x0: shape \\(2, 2\\).*{opt.name}"):
            descent.run(opt, ROSEN, [[-1.2, 1.0], [0.0, 0.0]], 3)
    # one run as a (1, d) matrix is not a batch: muon orthogonalizes it as a 1 x d weight
    tr = descent.run(descent.muon(lr=0.02), ROSEN, [[-1.2, 1.0]], 3)
    assert tr.xs.shape == (4, 1, 2) and np.all(np.isfinite(tr.xs))
    assert descent.newton(ROSEN).batched and descent.nesterov(ROSEN).batched and descent.adam().batched


def test_history_of_a_rule_whose_state_grows_keeps_the_steps_as_lists():
    tr = descent.run(descent.lbfgs(ROSEN, max_iter=1, history_size=3), ROSEN, [-1.2, 1.0], 6, history=True)
    assert tr.states.t.tolist() == list(range(7))
    field = next(f for f in tr.states._fields if isinstance(getattr(tr.states, f), list))
    assert len(getattr(tr.states, field)) == 7  # one value per step, as the rule kept it

"""Schedules: the torch-named ones against torch's schedulers, the deck forms against
their formulas at points worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from descent import schedules as S

TOL = dict(atol=1e-12, rtol=1e-12)


def torch_lrs(torch, make, steps, lr=1.0, optimizer="SGD", key="lr"):
    """``group[key]`` after 0, 1, …, steps scheduler steps (an optimizer step before each)."""
    p = torch.zeros(2, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([p], lr=lr)
    sched = make(opt)
    out = []
    for k in range(steps + 1):
        value = opt.param_groups[0][key]
        out.append(value[0] if key == "betas" else value)
        if k < steps:
            opt.step()
            sched.step()
    return np.array(out, dtype=float)


def ours(schedule, steps):
    return np.array([schedule(t) for t in range(steps + 1)])


TORCH_NAMED = [
    ("step_lr", lambda: S.step_lr(0.5, step_size=7, gamma=0.3),
     lambda L, o: L.StepLR(o, step_size=7, gamma=0.3), 0.5),
    ("multi_step_lr", lambda: S.multi_step_lr(0.2, milestones=[25, 5, 12], gamma=0.5),
     lambda L, o: L.MultiStepLR(o, milestones=[25, 5, 12], gamma=0.5), 0.2),
    ("multi_step_lr_duplicates", lambda: S.multi_step_lr(0.2, milestones=[12, 5, 5, 40], gamma=0.5),
     lambda L, o: L.MultiStepLR(o, milestones=[12, 5, 5, 40], gamma=0.5), 0.2),
    ("exponential_lr_growing", lambda: S.exponential_lr(0.01, gamma=1.05),
     lambda L, o: L.ExponentialLR(o, gamma=1.05), 0.01),
    ("exponential_lr", lambda: S.exponential_lr(0.1, gamma=0.93),
     lambda L, o: L.ExponentialLR(o, gamma=0.93), 0.1),
    ("cosine_annealing_lr", lambda: S.cosine_annealing_lr(1.0, T_max=10),
     lambda L, o: L.CosineAnnealingLR(o, T_max=10), 1.0),
    ("cosine_annealing_lr_eta_min", lambda: S.cosine_annealing_lr(0.3, T_max=7, eta_min=0.01),
     lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01), 0.3),
    ("linear_lr", lambda: S.linear_lr(0.4), lambda L, o: L.LinearLR(o), 0.4),
    ("linear_lr_decay", lambda: S.linear_lr(0.4, start_factor=1.0, end_factor=0.05, total_iters=12),
     lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=12), 0.4),
]


@pytest.mark.parametrize(("name", "make_ours", "make_torch", "lr"), TORCH_NAMED, ids=[c[0] for c in TORCH_NAMED])
def test_torch_named_schedule_matches_torch(f64, name, make_ours, make_torch, lr):
    steps = 60  # at least three periods (cosine: three full cycles of 2*T_max) and every milestone
    expected = torch_lrs(f64, lambda o: make_torch(f64.optim.lr_scheduler, o), steps, lr=lr)
    np.testing.assert_allclose(ours(make_ours(), steps), expected, **TOL)


ONE_CYCLE = [
    dict(total_steps=50), dict(total_steps=50, anneal_strategy="linear"),
    dict(total_steps=50, three_phase=True), dict(total_steps=50, three_phase=True, anneal_strategy="linear"),
    dict(total_steps=37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    dict(total_steps=10, pct_start=0.4, final_div_factor=4.0, three_phase=True, anneal_strategy="linear"),
]


@pytest.mark.parametrize("kw", ONE_CYCLE)
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_lr_and_momentum_match_torch(f64, kw, optimizer):
    total = kw["total_steps"]
    L = f64.optim.lr_scheduler
    lr_kw = {k: v for k, v in kw.items() if k != "total_steps"}
    mom_kw = {k: v for k, v in lr_kw.items() if k in ("pct_start", "anneal_strategy", "three_phase")}
    mom_kw.update(base_momentum=0.8, max_momentum=0.9)
    make = lambda o: L.OneCycleLR(o, max_lr=2.0, total_steps=total, **{**lr_kw, **mom_kw})
    steps = total - 1  # torch allows last_epoch up to total_steps; the steps used are 0 … total-1
    expected_lr = torch_lrs(f64, make, steps, optimizer=optimizer)
    np.testing.assert_allclose(ours(S.one_cycle_lr(2.0, total, **lr_kw), steps), expected_lr, **TOL)
    key = "momentum" if optimizer == "SGD" else "betas"
    expected_m = torch_lrs(f64, make, steps, optimizer=optimizer, key=key)
    np.testing.assert_allclose(ours(S.one_cycle_momentum(total, **mom_kw), steps), expected_m, **TOL)


def test_one_cycle_at_total_steps_matches_torch_and_beyond_raises(f64):
    L = f64.optim.lr_scheduler
    expected = torch_lrs(f64, lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=20), 20)
    s = S.one_cycle_lr(1.0, 20)
    assert s(20) == pytest.approx(expected[20], rel=1e-12)
    with pytest.raises(ValueError, match="Tried to step 21 times. The specified number of total steps is 20"):
        s(21)


def test_one_cycle_torch_hand_targets():
    """torch's own test list (test_lrscheduler.py): linear three-phase, max_lr=25."""
    lr = S.one_cycle_lr(25.0, 10, pct_start=0.4, anneal_strategy="linear", final_div_factor=4.0, three_phase=True)
    m = S.one_cycle_momentum(10, pct_start=0.4, anneal_strategy="linear", base_momentum=1.0, max_momentum=22.0,
                             three_phase=True)
    np.testing.assert_allclose(lr(np.arange(10)), [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25], **TOL)
    np.testing.assert_allclose(m(np.arange(10)), [22, 15, 8, 1, 8, 15, 22, 22, 22, 22], **TOL)


def test_one_cycle_cos_two_phase_by_hand():
    """max_lr=1, 11 steps, pct 0.3: up 0.04 -> 1 over steps 0..2.3, then down to 4e-6 at 10."""
    s = S.one_cycle_lr(1.0, 11, pct_start=0.3)
    assert s(0) == pytest.approx(0.04, rel=1e-12)
    end = 0.3 * 11 - 1
    assert s(2) == pytest.approx(1 + (0.04 - 1) / 2 * (math.cos(math.pi * 2 / end) + 1), rel=1e-12)
    assert s(10) == pytest.approx(0.04 / 1e4, rel=1e-9)


def test_cosine_past_t_max_rises_back():
    s = S.cosine_annealing_lr(1.0, T_max=4)
    np.testing.assert_allclose(s(np.arange(13)), [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0,
                                                    0.14644660940672627, 0.5, 0.8535533905932737, 1.0,
                                                    0.8535533905932737, 0.5, 0.14644660940672627, 0.0], atol=1e-15)


def test_torch_named_by_hand():
    np.testing.assert_allclose(S.step_lr(1.0, 3, 0.5)(np.arange(7)), [1, 1, 1, 0.5, 0.5, 0.5, 0.25], rtol=1e-15)
    assert S.multi_step_lr(1.0, [2, 5], 0.1)(np.arange(7)) == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    np.testing.assert_allclose(S.exponential_lr(2.0, 0.5)(np.arange(4)), [2, 1, 0.5, 0.25], rtol=1e-15)
    # LinearLR defaults: base/3 to base over 5 steps, then held
    assert S.linear_lr(3.0)(np.arange(8)) == pytest.approx([1, 1.4, 1.8, 2.2, 2.6, 3, 3, 3])


# ------------------------------------------------------------------ the decks' forms


def test_step_decay_deck_001():
    """eta = 0.2 divided by k = 2 every p = 3 iterations."""
    s = S.step_decay(0.2, every=3, divide_by=2)
    assert s(np.arange(10)) == pytest.approx([0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    np.testing.assert_allclose(s(np.arange(30)), S.step_lr(0.2, 3, 0.5)(np.arange(30)), **TOL)


def test_exponential_decay_deck_000():
    """eta_k = eta0 * gamma^max(0, ceil((k - k0)/s)), k0 = 4, s = 3, gamma = 0.5."""
    s = S.exponential_decay(1.0, gamma=0.5, k0=4, s=3)
    # k: 0..4 -> exponent 0; 5,6,7 -> 1; 8,9,10 -> 2; 11 -> 3
    expected = [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    np.testing.assert_allclose(s(np.arange(12)), expected, rtol=1e-15)  # 0.5**k: a SIMD pow may round
    np.testing.assert_allclose([s(k) for k in range(12)], expected, rtol=1e-15)


def test_inverse_time_decay_deck_000():
    """eta_k = eta0 / (1 + max(0, ceil((k - k0)/s))), k0 = 2, s = 2."""
    s = S.inverse_time_decay(6.0, k0=2, s=2)
    # k: 0,1,2 -> 1 ; 3,4 -> 2 ; 5,6 -> 3 ; 7 -> 4
    assert s(np.arange(8)) == pytest.approx([6, 6, 6, 3, 3, 2, 2, 1.5])
    plain = S.inverse_time_decay(1.0)
    assert plain(np.arange(5)) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])


def test_power_decay_deck_001():
    """eta = eta0 * lambda^(s/k): lambda = 0.5, k = 4 halves the rate every 4 steps, smoothly."""
    s = S.power_decay(0.2, decay_rate=0.5, decay_steps=4)
    assert s(0) == 0.2
    assert s(4) == pytest.approx(0.1)
    assert s(2) == pytest.approx(0.2 / math.sqrt(2))
    assert s(12) == pytest.approx(0.025)
    stairs = S.power_decay(0.2, decay_rate=0.5, decay_steps=4, staircase=True)
    assert stairs(np.arange(9)) == pytest.approx([0.2] * 4 + [0.1] * 4 + [0.05])


def test_warmup_cosine():
    s = S.warmup_cosine(1.0, warmup_steps=4, total_steps=12, eta_min=0.1)
    assert s(np.arange(5)) == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert s(8) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 2)) / 2)  # half way down
    assert s(12) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.1)  # held after total_steps
    assert S.warmup_cosine(2.0, 2, 6, start_factor=0.5)(np.arange(3)) == pytest.approx([1.0, 1.5, 2.0])


def test_join_restarts_each_schedule():
    warm = S.linear_lr(1.0, start_factor=0.25, end_factor=1.0, total_iters=3)
    decay = S.exponential_lr(1.0, 0.5)
    s = S.join([warm, decay, lambda t: 0.01], [4, 7])
    assert s(np.arange(9)) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.25, 0.01, 0.01])
    assert s(5) == pytest.approx(0.5)


def test_robbins_monro():
    s = S.robbins_monro(1.0)
    assert s(np.arange(4)) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    s2 = S.robbins_monro(2.0, power=0.75, offset=3.0)
    assert s2(5) == pytest.approx(2.0 / 8 ** 0.75)
    # sum eta = inf (partial sums grow like log), sum eta^2 < inf (bounded by pi^2/6)
    t = np.arange(200_000)
    etas = s(t)
    assert etas.sum() > 12 and (etas ** 2).sum() < math.pi ** 2 / 6


ALL = [
    S.constant(0.3), S.step_lr(1.0, 5), S.multi_step_lr(1.0, [3, 9]), S.exponential_lr(1.0, 0.9),
    S.cosine_annealing_lr(1.0, 8), S.linear_lr(1.0), S.one_cycle_lr(1.0, 30), S.one_cycle_momentum(30),
    S.step_decay(1.0, 4, 3), S.exponential_decay(1.0, 0.7, 2, 2), S.inverse_time_decay(1.0, 1, 3),
    S.power_decay(1.0, 0.3, 5), S.warmup_cosine(1.0, 3, 20), S.join([S.constant(1.0), S.exponential_lr(1.0, 0.5)], [5]),
    S.robbins_monro(1.0, 0.6),
]


@pytest.mark.parametrize("s", ALL, ids=[s.name for s in ALL])
def test_array_t_equals_scalar_calls(s):
    t = np.arange(30)
    arr = s(t)
    assert isinstance(arr, np.ndarray) and arr.shape == (30,) and arr.dtype == float
    # Equal up to rounding, not bit for bit: NumPy evaluates ``gamma ** k`` with a SIMD
    # kernel for an array and with the scalar libm ``pow`` for one step, and on some CPUs
    # (AVX-512) the two differ in the last bit (0.1**2 = 0.010000000000000002 vs 0.01).
    np.testing.assert_array_max_ulp(arr, np.array([s(int(k)) for k in t]), maxulp=4)
    assert all(isinstance(s(int(k)), float) for k in t[:3])
    grid = s(t.reshape(5, 6))
    # the same array path for a (5, 6) grid as for (30,): elementwise kernels give the same bits
    assert grid.shape == (5, 6) and grid.ravel().tolist() == arr.tolist()
    assert np.all(arr >= 0)
    assert repr(s).startswith(s.name + "(")


def test_float_integral_t_is_accepted_and_fractional_t_rejected():
    s = S.step_lr(1.0, 2)
    np.testing.assert_allclose(s(np.array([0.0, 2.0])), [1.0, 0.1], rtol=1e-15)
    with pytest.raises(ValueError, match=r"Invalid t: 1\.5"):
        s(1.5)
    with pytest.raises(ValueError, match=r"Invalid t: -1"):
        s(-1)
    for bad in (np.inf, np.nan, "3", None):
        with pytest.raises(ValueError, match="Invalid t"):
            s(bad)

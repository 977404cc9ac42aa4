"""Property-based tests (hypothesis) over hyperparameters, starting points and schedules."""

from __future__ import annotations

import descent
import descent.rules
import numpy as np
import pytest
from descent import averages
from descent import functions as F
from descent import schedules as S
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parity import RUN_PAIR_TWINS, run_pair

FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SOME = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def unit(lo=0.0, hi=1.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def twin_configs(draw):
    """A torch twin and a random valid set of its hyperparameters."""
    name = draw(st.sampled_from(RUN_PAIR_TWINS))
    wd = draw(st.sampled_from([0.0, draw(unit(0.0, 0.5))]))
    kw = dict(weight_decay=wd, maximize=draw(st.booleans()))
    if name == "Rprop":
        del kw["weight_decay"]
        lo = draw(unit(1e-6, 1e-2))
        kw.update(lr=draw(unit(1e-4, 0.2)), etas=(draw(unit(0.05, 0.95)), draw(unit(1.01, 2.0))),
                  step_sizes=(lo, draw(unit(lo, 5.0))))
    elif name == "ASGD":
        kw.update(lr=draw(unit(0.0, 0.1)), lambd=draw(unit(0.0, 0.1)), alpha=draw(unit(0.0, 1.0)),
                  t0=draw(st.sampled_from([0.0, 5.0, 12.5, 1e6])))
    elif name == "Adafactor":
        kw.update(lr=draw(unit(0.0, 0.2)), beta2_decay=draw(unit(-1.0, 0.0)), d=draw(unit(1.0, 3.0)),
                  eps=(draw(st.sampled_from([None, draw(unit(0.0, 1e-2))])), draw(unit(0.0, 1e-2))))
    elif name == "Adamax":
        kw.update(lr=draw(unit(0.0, 0.1)), betas=(draw(unit(0.0, 0.99)), draw(unit(0.0, 0.9999))),
                  eps=draw(unit(1e-10, 1e-2)))
    elif name == "SGD":
        nesterov = draw(st.booleans())
        momentum = draw(unit(0.05, 0.99)) if nesterov else draw(st.sampled_from([0.0, draw(unit(0.0, 0.99))]))
        kw.update(lr=draw(unit(0.0, 0.05)), momentum=momentum, nesterov=nesterov,
                  dampening=0.0 if nesterov else draw(unit(0.0, 1.0)))
    elif name == "Adagrad":
        kw.update(lr=draw(unit(0.0, 0.5)), lr_decay=draw(unit(0.0, 1.0)), eps=draw(unit(1e-10, 1e-2)),
                  initial_accumulator_value=draw(unit(0.0, 1.0)))
    elif name == "RMSprop":
        kw.update(lr=draw(unit(0.0, 0.05)), alpha=draw(unit(0.5, 0.999)), eps=draw(unit(1e-8, 1e-2)),
                  momentum=draw(st.sampled_from([0.0, draw(unit(0.0, 0.95))])), centered=draw(st.booleans()))
    elif name == "Adadelta":
        kw.update(lr=draw(unit(0.0, 2.0)), rho=draw(unit(0.0, 1.0)), eps=draw(unit(1e-8, 1e-2)))
    else:
        kw.update(lr=draw(unit(0.0, 0.1)), betas=(draw(unit(0.0, 0.99)), draw(unit(0.0, 0.9999))),
                  eps=draw(unit(1e-10, 1e-2)))
        if name == "Adam":
            kw.update(amsgrad=draw(st.booleans()), decoupled_weight_decay=draw(st.booleans()))
        elif name == "AdamW":
            kw.update(amsgrad=draw(st.booleans()))
        elif name == "NAdam":
            kw.update(momentum_decay=draw(unit(0.0, 0.01)), decoupled_weight_decay=draw(st.booleans()))
        else:
            kw.update(decoupled_weight_decay=draw(st.booleans()))
    return name, kw


@SOME
@given(twin_configs())
def test_parity_with_torch_for_random_hyperparameters(f64, config):
    name, kwargs = config
    tol = None
    if kwargs.get("centered"):
        # sqrt(v - gbar^2) cancels when the gradient hardly changes (tiny lr), and torch's
        # addcmul rounds once (a fused multiply-add) where NumPy rounds twice: ulps in v - gbar^2
        # become ~1e-10 relative in the step.  Not a formula difference; see the fixed configs.
        tol = dict(atol=1e-12, rtol=1e-8)
    run_pair(f64, name, kwargs, steps=25, **({"tol": tol} if tol else {}))


@st.composite
def matrix_twin_configs(draw):
    """Adafactor (factored) or Muon, a parameter shape and random valid hyperparameters."""
    name = draw(st.sampled_from(["Adafactor", "Muon"]))
    if name == "Adafactor":
        shape = draw(st.sampled_from([(3, 4), (4, 3), (2, 2, 3)]))
        kw = dict(lr=draw(unit(0.0, 0.2)), beta2_decay=draw(unit(-1.0, 0.0)), d=draw(unit(1.0, 3.0)),
                  eps=(draw(st.sampled_from([None, draw(unit(0.0, 1e-2))])), draw(unit(0.0, 1e-2))),
                  weight_decay=draw(st.sampled_from([0.0, draw(unit(0.0, 0.5))])), maximize=draw(st.booleans()))
    else:
        shape = draw(st.sampled_from([(3, 4), (4, 3), (4, 4)]))
        kw = dict(lr=draw(unit(0.0, 0.05)), momentum=draw(unit(0.0, 0.99)), nesterov=draw(st.booleans()),
                  weight_decay=draw(st.sampled_from([0.0, draw(unit(0.0, 0.5))])), ns_steps=draw(st.integers(0, 6)),
                  adjust_lr_fn=draw(st.sampled_from([None, "original", "match_rms_adamw"])),
                  eps=draw(unit(1e-9, 1e-3)))
    return name, shape, kw


@FEW
@given(matrix_twin_configs())
def test_matrix_twins_parity_for_random_hyperparameters(f64, monkeypatch, config):
    name, shape, kwargs = config

    def float64_step(topt):  # torch's Muon with its bfloat16 cast a copy (see test_parity_matrix.py)
        with monkeypatch.context() as m:
            m.setattr(f64.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
            topt.step()

    run_pair(f64, name, kwargs, steps=25, shape=shape, torch_step=float64_step if name == "Muon" else None)


@FEW
@given(st.fixed_dictionaries({
    "lr": unit(0.05, 1.0), "max_iter": st.integers(1, 25), "history_size": st.integers(1, 12),
    "line_search_fn": st.sampled_from([None, "strong_wolfe"]), "tolerance_grad": st.sampled_from([1e-7, 1e-5]),
    "tolerance_change": st.sampled_from([1e-9, 1e-6]),
}), st.booleans())
def test_lbfgs_parity_for_random_hyperparameters(f64, kwargs, capped):
    from test_lbfgs import Vector, lbfgs_pair

    if capped:  # max_eval below the default max_iter * 5 // 4
        kwargs = {**kwargs, "max_eval": max(1, kwargs["max_iter"] // 2)}
    lbfgs_pair(f64, kwargs, Vector(), steps=3)


@FEW
@given(st.fixed_dictionaries({
    "lr": unit(1e-4, 0.1), "betas": st.tuples(unit(0.0, 0.99), unit(0.0, 0.9999)), "eps": unit(1e-10, 1e-2),
    "maximize": st.booleans(),
}))
def test_sparse_adam_parity_for_random_hyperparameters(f64, kwargs):
    from test_sparse_adam import sparse_pair

    sparse_pair(f64, kwargs, steps=15)


class Negated(F.Objective):
    """-f: minimising it is maximising f."""

    def __init__(self, obj):
        self.obj, self.dim, self.name = obj, obj.dim, f"-{obj.name}"

    def _f(self, x):
        return -self.obj.f(x)

    def _grad(self, x):
        return -self.obj.grad(x)


@SOME
@given(twin_configs(), st.lists(unit(-2.0, 2.0), min_size=2, max_size=2))
def test_maximize_f_is_minimize_minus_f(config, x0):
    name, kwargs = config
    kwargs = {**kwargs, "maximize": True}
    quad = F.Quadratic([[2.0, 0.3], [0.3, 1.0]], b=[0.5, -1.0])
    up = descent.run(descent.TORCH_TWINS[name](**kwargs), Negated(quad), x0, 30, bound=np.inf)
    down = descent.run(descent.TORCH_TWINS[name](**{**kwargs, "maximize": False}), quad, x0, 30, bound=np.inf)
    # exact, on any machine: maximize flips the sign of the gradient and Negated flips it
    # back, and a sign flip is exact in floating point
    np.testing.assert_array_equal(up.xs, down.xs)


@SOME
@given(st.sampled_from(["sgd", "adagrad", "rmsprop", "adam", "nadam", "radam", "momentum", "adam_lecture",
                        "rprop", "adamax", "asgd"]),
       st.lists(unit(1e-4, 1e-2), min_size=3, max_size=3),
       st.lists(st.tuples(unit(-2.0, 2.0), unit(-1.0, 3.0)), min_size=2, max_size=2))
def test_batch_equals_loop_of_single_runs(rule, lrs, starts):
    make = getattr(descent, rule)
    rosen = F.rosenbrock()
    lr = np.array(lrs)[:, None, None]  # (3, 1, 1) against starts (2, 2): batch (3, 2)
    batch = descent.run(make(lr=lr), rosen, np.array(starts), 20)
    for i, a in enumerate(lrs):
        for j, x0 in enumerate(starts):
            one = descent.run(make(lr=a), rosen, x0, 20)
            np.testing.assert_allclose(batch.xs[:, i, j], one.xs, rtol=1e-13, atol=1e-15)
            assert batch.diverged[i, j] == one.diverged


@SOME
@given(unit(0.0, 0.5), unit(0.0, 0.99), st.lists(unit(-3.0, 3.0), min_size=3, max_size=3))
def test_lecture_momentum_is_sgd_momentum_at_constant_rate(lr, beta, x0):
    quad = F.Quadratic(np.diag([0.5, 1.0, 1.5]), b=[1.0, 0.0, -1.0])
    a = descent.run(descent.momentum(lr=lr, beta=beta), quad, x0, 40, bound=np.inf)
    b = descent.run(descent.sgd(lr=lr, momentum=beta), quad, x0, 40, bound=np.inf)
    np.testing.assert_allclose(a.xs, b.xs, rtol=1e-10, atol=1e-12)


SCHEDULES = st.one_of(
    st.builds(S.step_lr, unit(0.0, 1.0), st.integers(1, 20), unit(0.0, 1.0)),
    st.builds(S.multi_step_lr, unit(0.0, 1.0), st.lists(st.integers(1, 80), max_size=5), unit(0.0, 1.0)),
    st.builds(S.exponential_lr, unit(0.0, 1.0), unit(0.0, 1.0)),
    st.builds(S.step_decay, unit(0.0, 1.0), st.integers(1, 20), unit(1.0, 10.0)),
    st.builds(S.exponential_decay, unit(0.0, 1.0), unit(0.0, 1.0), st.integers(0, 20), st.integers(1, 10)),
    st.builds(S.inverse_time_decay, unit(0.0, 1.0), st.integers(0, 20), st.integers(1, 10)),
    st.builds(S.power_decay, unit(0.0, 1.0), unit(0.0, 1.0), st.integers(1, 30), st.booleans()),
    st.builds(S.robbins_monro, unit(0.0, 1.0), unit(0.0, 2.0), unit(0.1, 10.0)),
)


@SOME
@given(SCHEDULES)
def test_decaying_schedules_are_nonnegative_and_nonincreasing(s):
    v = s(np.arange(100))
    assert np.all(v >= 0)
    assert np.all(np.diff(v) <= 1e-15 * np.abs(v[:-1]))
    assert v[0] == pytest.approx(s(0), rel=1e-15)  # array (SIMD) vs scalar pow: equal up to rounding


@SOME
@given(unit(1e-3, 1.0), st.integers(1, 40), unit(0.0, 0.5))
def test_cosine_decreases_to_eta_min_then_rises(lr, T, frac):
    eta_min = frac * lr
    s = S.cosine_annealing_lr(lr, T, eta_min)
    first, second = s(np.arange(T + 1)), s(np.arange(T, 2 * T + 1))
    assert np.all(np.diff(first) <= 1e-15) and np.all(np.diff(second) >= -1e-15)
    assert abs(first[-1] - eta_min) < 1e-12 and abs(second[-1] - lr) < 1e-12
    assert np.all(first >= eta_min - 1e-15)


@SOME
@given(unit(1e-3, 1.0), st.integers(2, 200), unit(0.05, 0.95), st.sampled_from(["cos", "linear"]), st.booleans())
def test_one_cycle_rises_then_falls(max_lr, total, pct, strategy, three_phase):
    if three_phase:
        pct = min(pct, 0.45)  # the three phases are in order only for 2 pct_start < 1
    if float(pct * total) - 1 == 0.0:  # a first phase of no length: rejected (torch divides by zero)
        with pytest.raises(ValueError, match="Invalid pct_start"):
            S.one_cycle_lr(max_lr, total, pct_start=pct)
        return
    s = S.one_cycle_lr(max_lr, total, pct_start=pct, anneal_strategy=strategy, three_phase=three_phase)
    v = s(np.arange(total))
    assert np.all(v > 0) and np.max(v) <= max_lr * (1 + 1e-12)
    peak = int(np.argmax(v))
    assert np.all(np.diff(v[: peak + 1]) >= -1e-12 * max_lr)
    assert np.all(np.diff(v[peak:]) <= 1e-12 * max_lr)
    assert v[-1] <= v[0] * (1 + 1e-12)


@SOME
@given(unit(1e-3, 1.0), unit(1e-3, 1.0), unit(0.0, 1.0), st.integers(1, 30))
def test_linear_lr_moves_monotonically_between_factors(lr, start, end, total):
    s = S.linear_lr(lr, start_factor=start, end_factor=end, total_iters=total)
    v = s(np.arange(total + 10))
    d = np.diff(v)
    assert np.all(d >= -1e-15) if end >= start else np.all(d <= 1e-15)
    assert abs(v[0] - lr * start) < 1e-15 and np.allclose(v[total:], lr * end, rtol=1e-12)


@SOME
@given(unit(1e-3, 1.0), st.integers(0, 30), st.integers(1, 60), unit(0.0, 1.0))
def test_warmup_cosine_rises_then_falls(lr, warmup, extra, start_factor):
    total = warmup + extra
    s = S.warmup_cosine(lr, warmup, total, start_factor=start_factor)
    v = s(np.arange(total + 5))
    assert np.all(v >= 0) and np.max(v) <= lr * (1 + 1e-12)
    assert np.all(np.diff(v[: warmup + 1]) >= -1e-15) and np.all(np.diff(v[warmup:]) <= 1e-15)


@SOME
@given(st.lists(unit(-10.0, 10.0), min_size=2, max_size=30), unit(0.0, 0.99))
def test_averages_properties(values, rho):
    values = np.array(values)
    n = len(values)
    e = averages.ema(values, rho)
    assert e.shape == values.shape
    assert np.all(e >= values.min() - 1e-9) and np.all(e <= values.max() + 1e-9)  # a convex combination
    raw = averages.ema(values, rho, v0=0.0)
    w = averages.ema_weights(rho, n)
    assert raw[-1] == np.float64(w @ values) or abs(raw[-1] - w @ values) < 1e-9
    np.testing.assert_allclose(averages.bias_corrected(averages.ema(np.full(n, 3.0), rho, v0=0.0), rho), 3.0, rtol=1e-9)
    k = min(3, n)
    np.testing.assert_allclose(averages.sma(values, k), np.convolve(values, np.ones(k) / k, mode="valid"), atol=1e-12)


RULES = sorted(set(descent.rules.__all__) - {"Optimizer", "TORCH_TWINS", "SparseGrad"})


def build(name, **kwargs):
    """The rule ``name`` with ``kwargs``; an objective-first rule gets a quadratic."""
    import inspect

    make = getattr(descent, name)
    if "objective" in inspect.signature(make).parameters:
        kwargs.setdefault("objective", F.Quadratic([[2.0, 0.3], [0.3, 1.0]], b=[0.5, -1.0]))
    return make(**kwargs)


@pytest.mark.parametrize("name", RULES)
def test_hyperparams_record_every_argument(name):
    """``opt.hyperparams`` has every argument of the factory, in the signature's order, with
    the value it was given (the defaults, and a changed learning rate)."""
    import inspect

    sig = inspect.signature(getattr(descent, name))
    opt = build(name)
    assert list(opt.hyperparams) == list(sig.parameters), name
    for k, p in sig.parameters.items():
        if p.default is not p.empty:
            assert opt.hyperparams[k] is p.default or opt.hyperparams[k] == p.default, (name, k)
    if "lr" in sig.parameters:
        assert build(name, lr=0.0123).hyperparams["lr"] == 0.0123
    assert repr(opt).startswith(opt.name + "(")


#: the rules whose update couples the entries of x, or whose gradient is not a plain array
#: (sparse_adam: its SparseGrad; its arithmetic is entrywise)
NOT_ELEMENTWISE = {"adafactor", "muon", "lbfgs", "sparse_adam", "nesterov", "newton", "line_search"}


def test_elementwise_flag():
    assert {n for n in RULES if not build(n).elementwise} == NOT_ELEMENTWISE & set(RULES)


@SOME
@given(st.sampled_from(sorted(set(RULES) - NOT_ELEMENTWISE)), st.integers(0, 2 ** 32 - 1))
def test_elementwise_rule_on_a_flat_buffer_equals_one_call_per_parameter(name, seed):
    """What ``elementwise=True`` promises the torch adapter: one call on the concatenation of
    two parameters (a flat buffer) gives the concatenation of the two separate calls."""
    rng = np.random.default_rng(seed)
    opt = build(name)
    parts = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    flat = np.concatenate([p.reshape(-1) for p in parts])
    states, flat_state = [opt.init(p) for p in parts], opt.init(flat)
    for _ in range(8):
        grads = [rng.standard_normal(p.shape) for p in parts]
        steps = []
        for i, (p, g) in enumerate(zip(parts, grads, strict=True)):
            step, states[i] = opt.update(g, states[i], p)
            steps.append(step)
            parts[i] = p + step
        flat_step, flat_state = opt.update(np.concatenate([g.reshape(-1) for g in grads]), flat_state, flat)
        flat = flat + flat_step
        np.testing.assert_allclose(flat_step, np.concatenate([s.reshape(-1) for s in steps]), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["adafactor", "muon"])
def test_not_elementwise_rule_differs_on_a_flat_buffer(name):
    """The flag is needed: one call on two matrices stacked differs from two calls."""
    rng = np.random.default_rng(0)
    opt = build(name, lr=0.05)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) * 10
    ga, gb = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    sa, _ = opt.update(ga, opt.init(a), a)
    sb, _ = opt.update(gb, opt.init(b), b)
    both = np.vstack([a, b])
    s_both, _ = opt.update(np.vstack([ga, gb]), opt.init(both), both)
    assert np.max(np.abs(s_both - np.vstack([sa, sb]))) > 1e-3

"""The error table: torch's ValueError texts for the twins, word for word, what torch
accepts accepted too, and the library's own checks, each naming the argument and value."""

from __future__ import annotations

import math

import descent
import numpy as np
import pytest
from descent import functions as F
from descent import schedules as S

BAD = {
    "SGD": [dict(lr=-1), dict(lr=-0.1), dict(momentum=-0.5), dict(momentum=-1.0),
            dict(weight_decay=-1), dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.5)],
    "Adagrad": [dict(lr=-1), dict(lr_decay=-0.5), dict(weight_decay=-1), dict(initial_accumulator_value=-1),
                dict(eps=-1e-3)],
    "RMSprop": [dict(lr=-1), dict(eps=-1), dict(momentum=-0.5), dict(weight_decay=-1), dict(alpha=-0.1)],
    "Adadelta": [dict(lr=-1), dict(rho=1.1), dict(rho=-0.1), dict(eps=-1), dict(weight_decay=-1)],
    "Adam": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.999)), dict(betas=(-0.1, 0.999)),
             dict(betas=(0.9, 1.0)), dict(betas=(0.9, 1.5)), dict(weight_decay=-1), dict(betas=(0, 0.999)),
             dict(betas=(2, 0.999))],
    "AdamW": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)), dict(weight_decay=-1),
              dict(betas=(0.9, 0))],
    "NAdam": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)), dict(weight_decay=-1),
              dict(momentum_decay=-0.2)],
    "RAdam": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)), dict(weight_decay=-1)],
    "Rprop": [dict(lr=-1), dict(etas=(1.5, 1.2)), dict(etas=(0.0, 1.2)), dict(etas=(0.5, 1.0)), dict(etas=(0.5, 0.9)),
              dict(etas=(-0.5, 2))],
    "Adamax": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)), dict(betas=(-0.1, 0.9)),
               dict(weight_decay=-1)],
    "ASGD": [dict(lr=-1), dict(lr=-1e-3), dict(weight_decay=-1), dict(weight_decay=-0.5)],
    "Adafactor": [dict(lr=-1), dict(beta2_decay=0.5), dict(eps=(-1e-3, 1e-3)), dict(eps=(None, -1.0)), dict(d=0.5),
                  dict(weight_decay=-0.1)],
    "Muon": [dict(lr=-1), dict(momentum=-0.1), dict(weight_decay=-1), dict(adjust_lr_fn="cosine")],
    "LBFGS": [dict(lr=-1), dict(lr=-0.5)],
    "SparseAdam": [dict(lr=0), dict(lr=-1), dict(eps=0), dict(eps=-1e-3), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)),
                   dict(betas=(-0.5, 0.9))],
}
BAD_CASES = [pytest.param(n, kw, id=f"{n}-{kw}") for n, kws in BAD.items() for kw in kws]


def twin(name, **kwargs):
    """descent's twin of torch.optim.<name>; L-BFGS takes an objective first."""
    return descent.TORCH_TWINS[name](*((F.rosenbrock(),) if name == "LBFGS" else ()), **kwargs)


def torch_message(torch, name, kwargs):
    p = torch.zeros((2, 2), requires_grad=True)  # a matrix: Muon takes nothing else
    with pytest.raises(ValueError) as info:
        getattr(torch.optim, name)([p], **kwargs)
    return str(info.value)


@pytest.mark.parametrize(("name", "kwargs"), BAD_CASES)
def test_same_message_as_torch(f64, name, kwargs):
    expected = torch_message(f64, name, kwargs)
    with pytest.raises(ValueError) as info:
        twin(name, **kwargs)
    assert str(info.value) == expected


#: every numeric argument bad at once: the first message must be torch's, so the checks run in torch's order
ALL_BAD = {
    "SGD": dict(lr=-1, momentum=-1, weight_decay=-1, nesterov=True),
    "Adagrad": dict(lr=-1, lr_decay=-1, weight_decay=-1, initial_accumulator_value=-1, eps=-1),
    "RMSprop": dict(lr=-1, alpha=-1, eps=-1, weight_decay=-1, momentum=-1),
    "Adadelta": dict(lr=-1, rho=-1, eps=-1, weight_decay=-1),
    "Adam": dict(lr=-1, betas=(-1.0, -1.0), eps=-1, weight_decay=-1),
    "AdamW": dict(lr=-1, betas=(-1.0, -1.0), eps=-1, weight_decay=-1),
    "NAdam": dict(lr=-1, betas=(-1.0, -1.0), eps=-1, weight_decay=-1, momentum_decay=-1),
    "RAdam": dict(lr=-1, betas=(-1.0, -1.0), eps=-1, weight_decay=-1),
    "Rprop": dict(lr=-1, etas=(-1.0, 0.5)),
    "Adamax": dict(lr=-1, betas=(-1.0, -1.0), eps=-1, weight_decay=-1),
    "ASGD": dict(lr=-1, weight_decay=-1),
    "Adafactor": dict(lr=-1, beta2_decay=1.0, eps=(-1.0, -1.0), d=0.0, weight_decay=-1),
    "Muon": dict(lr=-1, weight_decay=-1, momentum=-1, adjust_lr_fn="cosine"),
    "LBFGS": dict(lr=-1),
    "SparseAdam": dict(lr=-1, eps=-1, betas=(-1.0, -1.0)),
}

#: the arguments that are pairs, and a good value for each entry
PAIRS = {"betas": (0.9, 0.999), "eps": (None, 1e-3)}


CULPRITS = {
    "Invalid learning rate": "lr", "Invalid momentum value": "momentum", "Invalid weight_decay value": "weight_decay",
    "Nesterov": "nesterov", "Invalid lr_decay value": "lr_decay", "Invalid epsilon value": "eps",
    "Invalid initial_accumulator_value value": "initial_accumulator_value", "Invalid alpha value": "alpha",
    "Invalid rho value": "rho", "Invalid beta parameter at index 0": "betas0", "Invalid beta parameter at index 1": "betas1",
    "Invalid momentum_decay value": "momentum_decay", "Invalid eta values": "etas",
    "Learning rate should be": "lr", "beta2_decay should be": "beta2_decay", "epsilon1 should be": "eps0",
    "epsilon2 should be": "eps1", "Clipping threshold d": "d", "weight_decay should be": "weight_decay",
    "momentum should be": "momentum", "weight decay should be": "weight_decay",
    "Adjust learning rate function": "adjust_lr_fn",
}


@pytest.mark.parametrize("name", list(ALL_BAD))
def test_checks_run_in_torchs_order(f64, name):
    kwargs = dict(ALL_BAD[name])
    seen = 0
    while True:  # peel off the argument torch complains about first, until nothing is left
        try:
            expected = torch_message(f64, name, kwargs)
        except pytest.fail.Exception:
            break
        with pytest.raises(ValueError) as info:
            twin(name, **kwargs)
        assert str(info.value) == expected, kwargs
        seen += 1
        culprit = next(arg for prefix, arg in CULPRITS.items() if expected.startswith(prefix))
        if culprit[-1].isdigit():  # one entry of a pair: mend that entry only
            pair, i = list(kwargs[culprit[:-1]]), int(culprit[-1])
            pair[i] = PAIRS[culprit[:-1]][i]
            kwargs[culprit[:-1]] = tuple(pair)
        else:
            kwargs.pop(culprit)
    twin(name, **kwargs)  # what torch accepts, we accept
    # each bad argument was torch's first complaint once (a pair twice)
    assert seen == len(ALL_BAD[name]) + sum(k in PAIRS and isinstance(v, tuple) for k, v in ALL_BAD[name].items())


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(momentum=-1.0), "Invalid momentum value: -1.0"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires a momentum and zero dampening"),
    ("Adam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("AdamW", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("Adadelta", dict(rho=1.1), "Invalid rho value: 1.1"),
    ("NAdam", dict(momentum_decay=-0.2), "Invalid momentum_decay value: -0.2"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value: -0.5"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value: -1"),
])
def test_messages_by_hand(name, kwargs, message):
    with pytest.raises(ValueError) as info:
        twin(name, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(("name", "kwargs"), [
    ("SGD", dict(momentum=1.5)), ("SGD", dict(momentum=0.9, dampening=-3)), ("SGD", dict(lr=0)),
    ("RMSprop", dict(alpha=1.5)), ("Adadelta", dict(rho=1.0)), ("Adadelta", dict(rho=0.0)),
    ("Adam", dict(betas=(0.0, 0.0))), ("Adagrad", dict(eps=0)), ("NAdam", dict(momentum_decay=0)),
    ("Rprop", dict(step_sizes=(50, 1e-6))), ("Rprop", dict(etas=(0.999, 1.001), lr=0)), ("Adamax", dict(betas=(0.0, 0.0))),
    ("ASGD", dict(lambd=-1.0, alpha=-2.0, t0=-5)), ("ASGD", dict(lr=0)),
    ("Adafactor", dict(eps=(0.0, 0.0), d=1.0, beta2_decay=0.0)), ("Adafactor", dict(lr=0, weight_decay=0.0)),
    ("Muon", dict(momentum=1.5, adjust_lr_fn="original", weight_decay=0)), ("Muon", dict(ns_steps=0, nesterov=False)),
    ("LBFGS", dict(lr=0, tolerance_grad=-1.0, tolerance_change=0.0, history_size=1, max_iter=1)),
    ("SparseAdam", dict(betas=(0.0, 0.0), maximize=True, eps=1e-30)),
])
def test_accepted_by_torch_accepted_by_us(f64, name, kwargs):
    p = f64.zeros((2, 2), requires_grad=True)
    getattr(f64.optim, name)([p], **kwargs)  # torch accepts it ...
    opt = twin(name, **kwargs)  # ... and so do we
    x = np.array([[0.3, 0.2], [-0.1, 0.4]]) if name != "LBFGS" else np.array([0.3, 0.2])  # L-BFGS: Rosenbrock's x
    with np.errstate(invalid="ignore"):  # alpha > 1 makes the square average negative: NaN, as in torch
        step, _ = opt.update(np.ones_like(x) * 0.5, opt.init(x), x)
    assert step.shape == x.shape


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(ns_steps=100), "Number of steps must be less than 100 for computational efficiency"),
    (dict(ns_coefficients=(3.4, -4.7)), "Coefficients must be a tuple of exactly 3 values"),
])
def test_muon_step_time_errors_raised_when_built(f64, kwargs, message):
    """torch.optim.Muon finds these at its first step; descent at once, with torch's words."""
    p = f64.ones((2, 3), requires_grad=True)
    opt = f64.optim.Muon([p], **kwargs)
    p.grad = f64.ones((2, 3))
    with pytest.raises(ValueError) as theirs:
        opt.step()
    with pytest.raises(ValueError) as ours:
        descent.muon(**kwargs)
    assert str(ours.value) == str(theirs.value) == message


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(total_steps=0), "Expected positive integer total_steps, but got 0"),
    (dict(total_steps=10, pct_start=1.5), "Expected float between 0 and 1 pct_start, but got 1.5"),
    (dict(total_steps=10, pct_start=0), "Expected float between 0 and 1 pct_start, but got 0"),
    (dict(total_steps=10, anneal_strategy="exp"), "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
])
def test_one_cycle_messages_equal_torch(f64, kwargs, message):
    p = f64.zeros(2, requires_grad=True)
    opt = f64.optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError) as theirs:
        f64.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, **kwargs)
    with pytest.raises(ValueError) as ours:
        S.one_cycle_lr(1.0, **kwargs)
    assert str(ours.value) == str(theirs.value) == message
    with pytest.raises(ValueError, match=message):
        S.one_cycle_momentum(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(start_factor=0.0), dict(start_factor=1.5), dict(end_factor=-0.1),
                                    dict(end_factor=1.2)])
def test_linear_lr_messages_equal_torch(f64, kwargs):
    p = f64.zeros(2, requires_grad=True)
    opt = f64.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError) as theirs:
        f64.optim.lr_scheduler.LinearLR(opt, **kwargs)
    with pytest.raises(ValueError) as ours:
        S.linear_lr(0.1, **kwargs)
    assert str(ours.value) == str(theirs.value)


# ------------------------------------------------------------- the library's own checks


def raises_naming(call, *words):
    """``call()`` raises ValueError whose message contains each of ``words``."""
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    for w in words:
        assert str(w) in msg, f"{w!r} not in {msg!r}"
    return msg


QUAD = F.quadratic(np.diag([1.0, 3.0]))


@pytest.mark.parametrize(("call", "words"), [
    # hyperparameters
    (lambda: descent.sgd(lr=math.nan), ["learning rate", "nan"]),
    (lambda: descent.adam(lr=np.array([0.1, math.nan])), ["learning rate", "nan"]),
    (lambda: descent.adam(lr=np.array([0.1, -0.2])), ["learning rate", "-0.2"]),
    (lambda: descent.sgd(lr="fast"), ["lr", "'fast'"]),
    (lambda: descent.sgd(lr=None), ["lr", "None"]),
    (lambda: descent.adam(betas=0.9), ["betas", "0.9"]),
    (lambda: descent.adam(betas=(0.9, 0.99, 0.999)), ["betas", "(0.9, 0.99, 0.999)"]),
    (lambda: descent.nadam(betas=(math.nan, 0.9)), ["beta parameter at index 0", "nan"]),
    (lambda: descent.rmsprop(momentum=math.nan), ["momentum", "nan"]),
    (lambda: descent.momentum(beta=-0.5), ["beta", "-0.5"]),
    (lambda: descent.ema_momentum(rho=1.0), ["rho", "1.0"]),
    (lambda: descent.sgd_history(tau=-1), ["tau", "-1"]),
    (lambda: descent.adagrad_lecture(s0=-0.1), ["s0", "-0.1"]),
    (lambda: descent.rmsprop_lecture(rho=2), ["rho", "2"]),
    (lambda: descent.adam_lecture(bias_correction="half"), ["bias_correction", "'half'"]),
    (lambda: descent.nesterov(objective=3.0), ["objective", "3.0", ".grad"]),
    (lambda: descent.newton(objective=None), ["objective", "None", ".hessian"]),
    (lambda: descent.newton(QUAD, damping=-1), ["damping", "-1"]),
    (lambda: descent.line_search(QUAD, method="wolfe"), ["method", "'wolfe'"]),
    (lambda: descent.line_search(QUAD, shrink=1.5), ["shrink", "1.5"]),
    (lambda: descent.line_search(QUAD, c=0), ["c value", "0"]),
    (lambda: descent.line_search(QUAD, max_backtracks=0), ["max_backtracks", "0"]),
    (lambda: descent.line_search(object(), method="armijo"), ["objective", ".f"]),
    (lambda: descent.lbfgs(QUAD, max_iter=0), ["max_iter", "0"]),
    (lambda: descent.lbfgs(QUAD, max_eval=2.5), ["max_eval", "2.5"]),
    (lambda: descent.lbfgs(QUAD, history_size=0), ["history_size", "0"]),
    (lambda: descent.lbfgs(QUAD, tolerance_grad=math.nan), ["tolerance_grad", "nan"]),
    (lambda: descent.lbfgs(QUAD, line_search_fn="armijo"), ["line_search_fn", "'armijo'", "strong_wolfe"]),
    (lambda: descent.lbfgs(object()), ["objective", ".f"]),
    (lambda: descent.rprop(etas=0.5), ["etas", "0.5"]),
    (lambda: descent.rprop(step_sizes=(1e-6, 1.0, 2.0)), ["step_sizes", "(1e-06, 1.0, 2.0)"]),
    (lambda: descent.adafactor(eps=1e-3), ["eps", "0.001"]),
    (lambda: descent.muon(ns_steps=2.5), ["ns_steps", "2.5"]),
    # schedules
    (lambda: S.step_lr(0.1, step_size=0), ["step_size", "0"]),
    (lambda: S.step_lr(0.1, step_size=2.5), ["step_size", "2.5"]),
    (lambda: S.step_lr(-0.1, step_size=2), ["learning rate", "-0.1"]),
    (lambda: S.cosine_annealing_lr(0.1, T_max=0), ["T_max", "0"]),
    (lambda: S.cosine_annealing_lr(0.1, T_max=5, eta_min=-1), ["eta_min", "-1"]),
    (lambda: S.multi_step_lr(0.1, milestones=[3, -2]), ["milestones", "-2"]),
    (lambda: S.multi_step_lr(0.1, milestones=5), ["milestones", "5"]),
    (lambda: S.exponential_lr(0.1, gamma=-0.5), ["gamma", "-0.5"]),
    (lambda: S.linear_lr(0.1, total_iters=0), ["total_iters", "0"]),
    (lambda: S.step_decay(0.1, every=3, divide_by=0), ["divide_by", "0"]),
    (lambda: S.exponential_decay(0.1, 0.5, k0=-1), ["k0", "-1"]),
    (lambda: S.inverse_time_decay(0.1, s=0), ["s", "0"]),
    (lambda: S.power_decay(0.1, 0.5, decay_steps=0), ["decay_steps", "0"]),
    (lambda: S.warmup_cosine(0.1, warmup_steps=10, total_steps=10), ["warmup_steps", "10"]),
    (lambda: S.join([S.constant(0.1), 3], [5]), ["schedules", "3"]),
    (lambda: S.join([S.constant(0.1), S.constant(0.2)], [5, 8]), ["boundaries", "[5, 8]"]),
    (lambda: S.join([S.constant(0.1), S.constant(0.2), S.constant(0.3)], [8, 5]), ["boundaries", "[8, 5]"]),
    (lambda: S.robbins_monro(0.1, offset=0), ["offset", "0"]),
    (lambda: S.robbins_monro(0.1, power=-1), ["power", "-1"]),
    # objectives
    (lambda: F.quadratic(condition=0.5), ["condition", "0.5"]),
    (lambda: F.quadratic(condition=10, scale=-1), ["scale", "-1"]),
    (lambda: F.quadratic(), ["A", "condition"]),
    (lambda: F.Quadratic([[1.0, 2.0], [0.0, 1.0]]), ["A", "symmetric"]),
    (lambda: F.Quadratic(np.ones(3)), ["A", "(3,)"]),
    (lambda: F.Quadratic(np.eye(2), b=[1.0, 2.0, 3.0]), ["b", "(3,)"]),
    (lambda: F.parabola(a=-1), ["a", "-1"]),
    (lambda: F.LogBowl(c=0), ["c", "0"]),
    (lambda: F.rosenbrock().f(np.zeros(3)), ["x", "(3,)", "2"]),
    (lambda: F.LeastSquares(np.ones((4, 2)), np.ones(3)), ["X, y", "(4, 2)", "(3,)"]),
    (lambda: F.synthetic_regression(d=2).sample_grad(np.zeros(2), np.random.default_rng(0), 0),
     ["batch_size", "0"]),
    (lambda: F.TwoLayerReLU(x=[1.0, 2.0], y=[0.0]), ["x, y", "(2,)", "(1,)"]),
    # averages
    (lambda: descent.averages.sma([1.0, 2.0], 3), ["k", "3"]),
    (lambda: descent.averages.sma([1.0, 2.0], 0), ["k", "0"]),
    (lambda: descent.averages.ema([1.0, 2.0], 1.0), ["rho", "1.0"]),
    (lambda: descent.averages.ema(5.0, 0.5), ["values", "5.0"]),
    (lambda: descent.averages.ema_weights(0.5, 0), ["t", "0"]),
])
def test_library_checks_name_argument_and_value(call, words):
    raises_naming(call, *words)


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(x0=[1.0, math.nan]), ["x0", "nan"]),
    (dict(x0=[math.inf, 1.0]), ["x0", "inf"]),
    (dict(x0=[[1.0, 2.0]] * 4, opt=descent.adam(lr=np.ones((3, 1)))), ["x0", "(4, 2)", "lr", "(3, 1)"]),
    (dict(x0=[1.0, 2.0, 3.0]), ["x0", "(3,)", "2"]),
    (dict(x0="start"), ["x0", "'start'"]),
    (dict(steps=-1), ["steps", "-1"]),
    (dict(steps=2.5), ["steps", "2.5"]),
    (dict(grad_noise=-0.1), ["grad_noise", "-0.1"]),
    (dict(bound=0), ["bound", "0"]),
    (dict(batch_size=8), ["batch_size", "8"]),
    (dict(opt="adam"), ["opt", "'adam'"]),
    (dict(objective=lambda x: x), ["objective"]),
])
def test_run_checks_name_argument_and_value(kwargs, words):
    args = dict(opt=descent.sgd(lr=0.1), objective=QUAD, x0=[1.0, 2.0], steps=5)
    args.update(kwargs)
    raises_naming(lambda: descent.run(args["opt"], args["objective"], args["x0"], args["steps"],
                                      **{k: v for k, v in args.items() if k not in ("opt", "objective", "x0", "steps")}),
                  *words)


def test_nan_lr_rejected_though_torch_accepts_it(f64):
    """torch tests ``lr < 0``, which NaN passes; a NaN rate would silently poison a run."""
    p = f64.zeros(2, requires_grad=True)
    f64.optim.SGD([p], lr=math.nan)
    for name, rule in descent.TORCH_TWINS.items():
        args = (F.rosenbrock(),) if name == "LBFGS" else ()
        raises_naming(lambda: rule(*args, lr=math.nan), torch_message(f64, name, dict(lr=-1.0)).replace("-1.0", "nan"))


def test_schedule_t_checks():
    s = S.exponential_lr(0.1, 0.5)
    raises_naming(lambda: s(-3), "t", "-3")
    raises_naming(lambda: s(0.5), "t", "0.5")


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kinds", ["float-tensor", "tensor-float", "int-float", "float32-float"])
def test_betas_of_two_kinds_rejected_as_by_torch(f64, name, kinds):
    """torch.optim.Adam/AdamW take both betas as Python floats or both as tensors."""
    make = {"float": lambda b: b, "tensor": f64.tensor, "int": lambda b: int(b), "float32": np.float32}
    first, second = kinds.split("-")
    betas = (make[first](0.0 if first == "int" else 0.9), make[second](0.99))
    expected = torch_message(f64, name, dict(betas=betas))
    assert expected == "betas must be either both floats or both Tensors"
    with pytest.raises(ValueError) as info:
        descent.TORCH_TWINS[name](betas=betas)
    assert str(info.value) == expected


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam"])
def test_tensor_betas_accepted_as_by_torch(f64, name):
    """Both betas tensors: accepted, read as the same numbers (torch keeps them as 0-d tensors).
    NAdam and RAdam have no type check in torch: there a mixed pair is accepted too."""
    from test_parity import run_pair

    run_pair(f64, name, dict(lr=0.01, betas=(f64.tensor(0.8), f64.tensor(0.99))), steps=20)
    if name in ("NAdam", "RAdam"):
        run_pair(f64, name, dict(lr=0.01, betas=(0.8, f64.tensor(0.99))), steps=20)
    assert descent.TORCH_TWINS[name](betas=(np.array([0.8, 0.9]), 0.99)).hyperparams["betas"][1] == 0.99  # a batch


def test_tensor_lr_of_many_entries_rejected_as_by_torch(f64):
    lr = f64.tensor([0.1, 0.2])
    for name in descent.TORCH_TWINS:
        expected = torch_message(f64, name, dict(lr=lr))
        with pytest.raises(ValueError) as info:
            twin(name, lr=lr)
        assert str(info.value) == expected == "Tensor lr must be 1-element"

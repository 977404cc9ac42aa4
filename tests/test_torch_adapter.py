"""descent.torch.Optimizer against torch.optim itself.

The adapter runs the rules of ``descent.rules`` as a real ``torch.optim.Optimizer``.  In
float64 on CPU it must give the same parameters (and state) as the torch class of the same
name within 1e-12 at every step: on a small MLP with two param groups (their own lr and
weight decay) under a StepLR scheduler, across a ``state_dict`` round trip in the middle,
with parameters whose grad is None, with a closure, and under OneCycleLR, which cycles
``momentum`` / ``betas[0]`` and so makes the adapter rebuild the rule every step.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import descent  # noqa: E402
import descent.torch as dt  # noqa: E402
from _requires import require_c_compiler  # noqa: E402
from descent.torch import _trace  # noqa: E402

TOL = dict(atol=1e-12, rtol=1e-12)
STEPS = 32
CUT = 15  # state_dict round trip after this many steps

#: torch class, rule, hyperparameters shared by both groups, base lr
CASES = [
    ("SGD", descent.sgd, dict(momentum=0.9, nesterov=True), 0.05),
    ("SGD", descent.sgd, dict(momentum=0.8, dampening=0.3), 0.05),
    ("Adagrad", descent.adagrad, dict(lr_decay=0.01, initial_accumulator_value=0.1), 0.05),
    ("RMSprop", descent.rmsprop, dict(momentum=0.5, centered=True), 0.005),
    ("Adadelta", descent.adadelta, dict(rho=0.95), 1.0),
    ("Adam", descent.adam, dict(amsgrad=True), 0.01),
    ("AdamW", descent.adamw, dict(betas=(0.8, 0.99)), 0.01),
    ("NAdam", descent.nadam, dict(momentum_decay=5e-3), 0.01),
    ("RAdam", descent.radam, {}, 0.01),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture
def f64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch keeps NAdam's mu_product in the default dtype
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3),
    ).to(dtype)


def groups(model, lr):
    return [
        {"params": list(model[0].parameters()) + list(model[2].parameters()), "lr": lr, "weight_decay": 0.1},
        {"params": model[4].parameters(), "lr": lr / 2, "weight_decay": 0.0},
    ]


def batch(i, dtype=torch.float64):
    gen = torch.Generator().manual_seed(1000 + i)
    x = torch.randn(32, 5, generator=gen, dtype=dtype)
    return x, torch.sin(x[:, :3]) + 0.1 * torch.randn(32, 3, generator=gen, dtype=dtype)


def train_step(model, opt, i):
    x, y = batch(i, next(model.parameters()).dtype)
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.item()


def assert_params(m_ref, m, tol=TOL):
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        torch.testing.assert_close(b, a, **tol)


def assert_state(o_ref, o, m_ref, m):
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        s_ref, s = o_ref.state[a], o.state[b]
        for key, val in s_ref.items():
            if val is None:
                continue
            assert key in s, f"state key {key!r} missing; adapter has {sorted(s)}"
            torch.testing.assert_close(torch.as_tensor(s[key]).double(), torch.as_tensor(val).double(), **TOL)


@pytest.mark.parametrize(("name", "rule", "kw", "lr"), CASES, ids=IDS)
def test_parity_groups_steplr_state_dict_roundtrip(f64, name, rule, kw, lr):
    m_ref, m = mlp(), mlp()
    o_ref = getattr(torch.optim, name)(groups(m_ref, lr), **kw)
    o = dt.Optimizer(groups(m, lr), rule, **kw)
    s_ref = torch.optim.lr_scheduler.StepLR(o_ref, step_size=10, gamma=0.5)
    s = torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5)
    m2 = o2 = s2 = None
    for i in range(STEPS):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        s_ref.step()
        s.step()
        assert_params(m_ref, m)
        assert_state(o_ref, o, m_ref, m)
        if o2 is not None:
            train_step(m2, o2, i)
            s2.step()
            for a, b in zip(m.parameters(), m2.parameters(), strict=True):
                assert torch.equal(a, b)  # the reloaded copy continues identically
        if i == CUT:
            sd = copy.deepcopy(o.state_dict())
            m2 = mlp(seed=1)
            with torch.no_grad():
                for a, b in zip(m.parameters(), m2.parameters(), strict=True):
                    b.copy_(a)
            o2 = dt.Optimizer(groups(m2, 123.0), rule, **kw)
            o2.load_state_dict(sd)
            s2 = torch.optim.lr_scheduler.StepLR(o2, step_size=10, gamma=0.5)
            s2.load_state_dict(s.state_dict())
            assert [g["lr"] for g in o2.param_groups] == [g["lr"] for g in o.param_groups]
    assert len(o.state) == len(o_ref.state) == 6
    # the design's point: autograd accumulated into the flat gradient buffer, nothing copied
    for bucket in o._buckets:
        assert bucket.flat and all(p.grad is a for p, a in zip(bucket.params, bucket.grads, strict=True))
        assert all(p.data_ptr() == q for p, q in zip(bucket.params, bucket.ptrs, strict=True))


@pytest.mark.parametrize(("name", "rule", "kw"), [
    ("Adam", descent.adam, dict(lr=0.01, weight_decay=0.1)),
    ("SGD", descent.sgd, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("NAdam", descent.nadam, dict(lr=0.01)),
])
def test_load_torch_state_dict_and_back(f64, name, rule, kw):
    """State keys are torch's: a torch state_dict loads into the adapter and vice versa."""
    m_ref, m, m3 = mlp(), mlp(), mlp()
    o_ref = getattr(torch.optim, name)(m_ref.parameters(), **kw)
    for i in range(5):
        train_step(m_ref, o_ref, i)
    with torch.no_grad():
        for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
            b.copy_(a)
    o = dt.Optimizer(m.parameters(), rule, **kw)
    o.load_state_dict(copy.deepcopy(o_ref.state_dict()))
    o3 = getattr(torch.optim, name)(m3.parameters(), **kw)
    for i in range(5, 10):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        assert_params(m_ref, m)
    with torch.no_grad():
        for b, c in zip(m.parameters(), m3.parameters(), strict=True):
            c.copy_(b)
    o3.load_state_dict(copy.deepcopy(o.state_dict()))  # and back into torch
    for i in range(10, 14):
        train_step(m_ref, o_ref, i)
        train_step(m3, o3, i)
        assert_params(m_ref, m3)


def two_heads(seed=0):
    torch.manual_seed(seed)
    return torch.nn.ModuleDict({"body": torch.nn.Linear(4, 8), "a": torch.nn.Linear(8, 2), "b": torch.nn.Linear(8, 2)}).double()


def head_loss(model, i):
    x, _ = batch(i)
    h = torch.tanh(model["body"](x[:, :4]))
    head = model["a"] if i % 3 else model["b"]  # head b gets no gradient two steps in three
    return (head(h) ** 2).mean()


@pytest.mark.parametrize(("name", "rule", "kw"), [
    ("Adam", descent.adam, dict(lr=0.01, weight_decay=0.1)),
    ("SGD", descent.sgd, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", descent.rmsprop, dict(lr=0.01, weight_decay=0.1)),
])
def test_grad_none_params_are_skipped_like_torch(f64, name, rule, kw):
    """zero_grad + a backward that does not reach a parameter, and p.grad = None set by hand:
    no state change, no weight decay, exactly as torch.optim."""
    m_ref, m = two_heads(), two_heads()
    o_ref = getattr(torch.optim, name)(m_ref.parameters(), **kw)
    o = dt.Optimizer(m.parameters(), rule, **kw)
    for i in range(1, 16):  # head b first gets a grad at step 3: lazy state as in torch
        for model, opt in ((m_ref, o_ref), (m, o)):
            opt.zero_grad()
            head_loss(model, i).backward()
            if i % 5 == 0:
                model["body"].bias.grad = None
            opt.step()
        assert_params(m_ref, m)
        assert_state(o_ref, o, m_ref, m)
        assert len(o.state) == len(o_ref.state)
    frozen = [p.detach().clone() for p in m.parameters()]
    o.zero_grad()
    o.step()  # every grad is (emulated) None: nothing moves
    assert all(torch.equal(a, b) for a, b in zip(frozen, m.parameters(), strict=True))


def test_zero_grad_modes_match_torch(f64):
    m_ref, m = mlp(), mlp()
    o_ref = torch.optim.AdamW(m_ref.parameters(), lr=0.01, weight_decay=0.5)
    o = dt.Optimizer(m.parameters(), descent.adamw, lr=0.01, weight_decay=0.5)
    for i in range(3):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
    for set_to_none in (True, False, True):
        o_ref.zero_grad(set_to_none=set_to_none)
        o.zero_grad(set_to_none=set_to_none)
        for p in m.parameters():
            assert p.grad is not None and not p.grad.any()  # flat grads stay, zeroed
        o_ref.step()  # None grads: no-op; zero grads: decoupled decay and moment decay
        o.step()
        assert_params(m_ref, m)
        assert_state(o_ref, o, m_ref, m)
    train_step(m_ref, o_ref, 9)
    train_step(m, o, 9)
    assert_params(m_ref, m)


def test_user_grads_and_model_zero_grad(f64):
    """Grads replaced by the user or re-created by model.zero_grad() + backward are used."""
    m_ref, m = mlp(), mlp()
    o_ref = torch.optim.Adam(m_ref.parameters(), lr=0.01)
    o = dt.Optimizer(m.parameters(), descent.adam, lr=0.01)
    for i in range(6):
        for model, opt in ((m_ref, o_ref), (m, o)):
            model.zero_grad()  # sets None: autograd allocates fresh grads
            x, y = batch(i)
            ((model(x) - y) ** 2).mean().backward()
            if i == 4:
                model[0].weight.grad = torch.ones_like(model[0].weight)
            opt.step()
        assert_params(m_ref, m)


def test_step_with_closure_returns_loss(f64):
    m_ref, m = mlp(), mlp()
    o_ref = torch.optim.RMSprop(m_ref.parameters(), lr=0.01)
    o = dt.Optimizer(m.parameters(), descent.rmsprop, lr=0.01)
    for i in range(5):
        x, y = batch(i)

        def closure(model=m, opt=o, x=x, y=y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        def closure_ref(model=m_ref, opt=o_ref, x=x, y=y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        loss_ref, loss = o_ref.step(closure_ref), o.step(closure)
        assert isinstance(loss, torch.Tensor) and loss.item() == pytest.approx(loss_ref.item(), rel=1e-12)
        assert_params(m_ref, m)
    assert o.step() is None


@pytest.mark.parametrize(("name", "rule", "kw", "max_lr"), [
    ("SGD", descent.sgd, dict(momentum=0.9, weight_decay=0.01), 0.05),
    ("SGD", descent.sgd, {}, 0.05),  # momentum 0: OneCycleLR still writes 0.95 into the group, as torch
    ("RMSprop", descent.rmsprop, dict(momentum=0.9), 0.002),
    ("Adam", descent.adam, dict(weight_decay=0.01), 0.05),
    ("NAdam", descent.nadam, {}, 0.05),
])
def test_one_cycle_cycles_momentum(f64, name, rule, kw, max_lr):
    m_ref, m = mlp(), mlp()
    o_ref = getattr(torch.optim, name)(m_ref.parameters(), **kw)
    o = dt.Optimizer(m.parameters(), rule, **kw)
    mk = dict(max_lr=max_lr, total_steps=20, pct_start=0.3)
    s_ref = torch.optim.lr_scheduler.OneCycleLR(o_ref, **mk)
    s = torch.optim.lr_scheduler.OneCycleLR(o, **mk)
    seen = set()
    for i in range(20):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        s_ref.step()
        s.step()
        g = o.param_groups[0]
        seen.add(g["momentum"] if "momentum" in g else g["betas"][0])
        assert_params(m_ref, m)
    assert len(seen) > 10  # momentum really cycled


def toy(dtype, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)).to(dtype)


SMOKE = [(descent.sgd, dict(lr=0.05, momentum=0.9)), (descent.adagrad, dict(lr=0.05)),
         (descent.rmsprop, dict(lr=0.003)), (descent.adadelta, dict(lr=1.0)), (descent.adam, dict(lr=0.01)),
         (descent.adamw, dict(lr=0.01)), (descent.nadam, dict(lr=0.01)), (descent.radam, dict(lr=0.01)),
         (descent.momentum, dict(lr=0.05, beta=0.9)), (descent.adam_lecture, dict(lr=0.01))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("rule", "kw"), SMOKE, ids=[r.__name__ for r, _ in SMOKE])
def test_low_precision_goes_right_direction(dtype, rule, kw):
    model = toy(dtype)
    o = dt.Optimizer(model.parameters(), rule, **kw)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=gen).to(dtype)
    y = (x[:, :1] - 0.5 * x[:, 1:2]).to(dtype)

    def loss():
        return ((model(x) - y) ** 2).mean()

    first = loss().item()
    for _ in range(30):
        o.zero_grad()
        loss().backward()
        o.step()
    assert all(p.dtype == dtype and torch.isfinite(p).all() for p in model.parameters())
    assert all(v.dtype == dtype for st in o.state.values() for v in st.values() if v.dim() > 0)
    assert loss().item() < 0.9 * first


def test_float32_close_to_torch():
    m_ref, m = mlp(dtype=torch.float32), mlp(dtype=torch.float32)
    o_ref = torch.optim.Adam(m_ref.parameters(), lr=0.01, weight_decay=0.1)
    o = dt.Optimizer(m.parameters(), descent.adam, lr=0.01, weight_decay=0.1)
    for i in range(20):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
    assert_params(m_ref, m, dict(atol=1e-5, rtol=1e-4))


@pytest.mark.parametrize(("rule", "kw"), [
    (descent.sgd, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (descent.adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
    (descent.adamw, dict(lr=0.1)), (descent.nadam, dict(lr=0.1, decoupled_weight_decay=True, weight_decay=0.1)),
    (descent.radam, dict(lr=0.1)), (descent.adagrad, dict(lr=0.1, weight_decay=0.1)),
    (descent.rmsprop, dict(lr=0.1, centered=True, momentum=0.5, maximize=True)), (descent.adadelta, dict(lr=1.0)),
])
def test_traced_step_equals_eager_rule(f64, rule, kw):
    """The fused path's tracer: the generated function, run eagerly (torch.compile only
    fuses it), updates x and the state exactly as the rule does."""
    opt = rule(**kw)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(50, generator=gen)
    x_ref, state = x.clone(), opt.init(x)
    for t in range(8):
        g = torch.randn(50, generator=gen)
        fields = [f for f in state._fields if isinstance(getattr(state, f), torch.Tensor)]
        prog, scalars, new_sym = _trace(opt, state, fields)
        scope = {"torch": torch}
        exec(prog.python(), scope)
        arrays = [getattr(state, f).clone() for f in fields]
        scope["fused"](g, x, *arrays, *scalars)
        step, state = opt.update(g, state, x_ref)
        x_ref = x_ref + step
        torch.testing.assert_close(x, x_ref, atol=1e-15, rtol=1e-15)
        for f, a in zip(fields, arrays, strict=True):
            torch.testing.assert_close(a, getattr(state, f), atol=1e-15, rtol=1e-15)
        assert new_sym.t == state.t == t + 1


@pytest.mark.parametrize(("name", "rule", "kw"), [
    ("Adam", descent.adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("SGD", descent.sgd, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
])
@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "torch.compile"])
def test_fused_path_matches_torch(f64, name, rule, kw, native, tmp_path, monkeypatch):
    """fuse=True: the traced step runs as a C loop (native) or goes through torch.compile
    (backend "eager" here, to keep inductor's compile time out of the test;
    bench/torch_step.py runs inductor) and still equals torch, through a structure change
    (SGD's first step differs from the next) and a StepLR schedule (new scalars, no
    recompile)."""
    if native:
        require_c_compiler()
    monkeypatch.setenv("DESCENT_KERNEL_CACHE", str(tmp_path))
    m_ref, m = mlp(), mlp()
    o_ref = getattr(torch.optim, name)(groups(m_ref, kw["lr"]), **kw)
    o = dt.Optimizer(groups(m, kw["lr"]), rule, fuse=True, **kw)
    o._fusion = dt._FusedSteps(backend="eager", native=native)
    s_ref = torch.optim.lr_scheduler.StepLR(o_ref, step_size=4, gamma=0.5)
    s = torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)
    for i in range(12):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        s_ref.step()
        s.step()
        assert_params(m_ref, m)
    assert {k[1] for k in o._fusion.compiled} == {"c" if native else "packed"}, "the fused path was not taken"
    assert o._fusion.broken is None


def test_relayout_after_model_to_and_add_param_group(f64):
    m_ref, m = mlp(), mlp()
    o_ref = torch.optim.Adam(list(m_ref[0].parameters()), lr=0.01)
    o = dt.Optimizer(list(m[0].parameters()), descent.adam, lr=0.01)
    for i in range(3):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
    o_ref.add_param_group({"params": list(m_ref[2].parameters()) + list(m_ref[4].parameters()), "lr": 0.02})
    o.add_param_group({"params": list(m[2].parameters()) + list(m[4].parameters()), "lr": 0.02})
    for i in range(3, 6):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        assert_params(m_ref, m)
    for p in m.parameters():  # move the data out of the flat buffer, as model.to(...) would
        p.data = p.data.clone()
    for i in range(6, 9):
        train_step(m_ref, o_ref, i)
        train_step(m, o, i)
        assert_params(m_ref, m)
        assert_state(o_ref, o, m_ref, m)


def test_non_contiguous_parameter(f64):
    w_ref = torch.nn.Parameter(torch.randn(6, 4).t())
    w = torch.nn.Parameter(w_ref.detach().clone().t().contiguous().t())
    assert not w.is_contiguous()
    o_ref = torch.optim.Adam([w_ref], lr=0.1)
    o = dt.Optimizer([w], descent.adam, lr=0.1)
    for _ in range(5):
        for p, opt in ((w_ref, o_ref), (w, o)):
            opt.zero_grad()
            (p.sin() ** 2).sum().backward()
            opt.step()
        torch.testing.assert_close(w, w_ref, **TOL)


def test_errors_and_defaults():
    p = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        dt.Optimizer(p, descent.sgd, lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        dt.Optimizer(p, descent.adam, betas=(1.0, 0.9))
    with pytest.raises(TypeError, match="unexpected hyperparameters"):
        dt.Optimizer(p, descent.adam, momentum=0.9)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        dt.Optimizer([{"params": p, "momentum": -0.5}], descent.sgd)
    o = dt.Optimizer(p, descent.adamw)
    assert o.defaults == {**dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                                 maximize=False)}
    assert isinstance(o, torch.optim.Optimizer)


def test_descent_imports_without_torch():
    code = "import sys, descent; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("fuse", [False, "auto"])
def test_cuda_parity(f64, fuse):
    m_ref, m = mlp().cuda(), mlp().cuda()
    o_ref = torch.optim.Adam(groups(m_ref, 0.01), amsgrad=True)
    o = dt.Optimizer(groups(m, 0.01), descent.adam, amsgrad=True, fuse=fuse)
    for i in range(12):
        for model, opt in ((m_ref, o_ref), (m, o)):
            x, y = (t.cuda() for t in batch(i))
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
        assert_params(m_ref, m, dict(atol=1e-10, rtol=1e-10))


def _two_heads(seed=0):
    torch.manual_seed(seed)
    return torch.nn.ModuleDict({"body": torch.nn.Linear(6, 8), "a": torch.nn.Linear(8, 1), "b": torch.nn.Linear(8, 1)})


@pytest.mark.parametrize("set_to_none", [True, False])
def test_grads_behave_as_torchs_under_clipping_unused_and_frozen_parameters(f64, set_to_none):
    """Head b stops receiving gradients after step 5, the body is frozen from step 12, and
    clip_grad_norm_ scales every grad before each step: a parameter autograd did not reach
    is skipped as torch skips a None grad, although clipping touched its (zero) buffer."""
    ms, opts = [], []
    for make in (lambda ps: dt.Optimizer(ps, descent.adam, lr=0.05, weight_decay=0.01),
                 lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=0.01)):
        m = _two_heads()
        ms.append(m)
        opts.append(make(list(m.parameters())))
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randn(16, 6, generator=gen) for _ in range(20)]
    for t, x in enumerate(batches):
        for m, o in zip(ms, opts, strict=True):
            if t == 12:
                m["body"].requires_grad_(False)
            o.zero_grad(set_to_none=set_to_none)
            h = torch.tanh(m["body"](x))
            loss = (m["a"](h) ** 2).mean() + ((m["b"](h) ** 2).mean() if t < 5 else 0.0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in m.parameters() if p.grad is not None], 0.1)
            o.step()
    for (name, p), q in zip(ms[0].named_parameters(), ms[1].parameters(), strict=True):
        assert torch.allclose(p, q, rtol=0, atol=1e-12), (name, float((p - q).abs().max()))
    for p, q in zip(ms[0].parameters(), ms[1].parameters(), strict=True):
        sa, sb = opts[0].state.get(p, {}), opts[1].state.get(q, {})
        assert set(sa) == set(sb) and all(torch.allclose(torch.as_tensor(sa[k]).double(),
                                                         torch.as_tensor(sb[k]).double(), atol=1e-12) for k in sa)


def test_grad_scaler_skips_and_unscales_as_with_torch():
    """torch.amp.GradScaler: unscale_ and the inf check read the adapter's grads as torch's,
    a step with an inf gradient is skipped on both sides, and the scale follows."""
    ms, opts, scalers = [], [], []
    for make in (lambda ps: dt.Optimizer(ps, descent.adamw, lr=0.01), lambda ps: torch.optim.AdamW(ps, lr=0.01)):
        m = _two_heads()
        ms.append(m)
        opts.append(make(list(m.parameters())))
        scalers.append(torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3))
    gen = torch.Generator().manual_seed(2)
    batches = [torch.randn(16, 6, generator=gen) for _ in range(12)]
    scales = ([], [])
    for t, x in enumerate(batches):
        for m, o, sc, seen in zip(ms, opts, scalers, scales, strict=True):
            o.zero_grad()
            loss = (m["a"](torch.tanh(m["body"](x))) ** 2).mean() * (float("inf") if t == 7 else 1.0)
            sc.scale(loss).backward()
            sc.unscale_(o)
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            sc.step(o)
            sc.update()
            seen.append(sc.get_scale())
    assert scales[0] == scales[1] and scales[0][7] == scales[0][6] / 2  # the inf step was skipped on both
    for p, q in zip(ms[0].parameters(), ms[1].parameters(), strict=True):
        assert torch.allclose(p, q, rtol=0, atol=1e-6), float((p - q).abs().max())
    assert all(p not in opts[0].state or "exp_avg" in opts[0].state[p] for p in ms[0]["b"].parameters())
    assert not any(opts[1].state.get(q) for q in ms[1]["b"].parameters())  # torch: head b never stepped
    assert not any(opts[0].state.get(p) for p in ms[0]["b"].parameters())  # nor here


def test_a_compiled_model_steps_as_with_torch(f64):
    """torch.compile'd forward (dynamo, eager backend): gradients still reach the adapter
    through torch's AccumulateGrad, and the head the loss skips is skipped."""
    ms, opts = [], []
    for make in (lambda ps: dt.Optimizer(ps, descent.adam, lr=0.02), lambda ps: torch.optim.Adam(ps, lr=0.02)):
        m = _two_heads(3)
        ms.append(m)
        opts.append(make(list(m.parameters())))
    gen = torch.Generator().manual_seed(4)
    batches = [torch.randn(16, 6, generator=gen) for _ in range(8)]
    for m, o in zip(ms, opts, strict=True):
        f = torch.compile(lambda x, m=m: (m["a"](torch.tanh(m["body"](x))) ** 2).mean(), backend="eager")
        for x in batches:
            o.zero_grad()
            f(x).backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 0.5)
            o.step()
    for p, q in zip(ms[0].parameters(), ms[1].parameters(), strict=True):
        assert torch.allclose(p, q, rtol=0, atol=1e-12), float((p - q).abs().max())
    assert not any(opts[0].state.get(p) for p in ms[0]["b"].parameters())


def test_step_hooks_and_profiler_range_as_torchs():
    """The step skips torch's wrapper only when nothing listens: instance and global pre- and
    post-hooks see what they see with torch's class (a pre-hook's new args included), and the
    profiler records the ``Optimizer.step#<class>.step`` range of every step."""
    from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

    def run(make):
        m = mlp(dtype=torch.float32)
        opt = make(m.parameters())
        calls = []

        def closure():
            opt.zero_grad()
            loss = ((m(batch(0, torch.float32)[0]) - 1) ** 2).mean()
            loss.backward()
            return loss

        handles = [
            opt.register_step_pre_hook(lambda o, args, kw: calls.append(("pre", len(args), sorted(kw)))),
            opt.register_step_post_hook(lambda o, args, kw: calls.append(("post", len(args), sorted(kw)))),
            register_optimizer_step_pre_hook(lambda o, args, kw: calls.append(("global pre", type(o).__name__))),
            register_optimizer_step_post_hook(lambda o, args, kw: calls.append(("global post", type(o).__name__))),
        ]
        opt.step(closure)
        opt.step()
        for h in handles:
            h.remove()
        replaced = opt.register_step_pre_hook(lambda o, args, kw: ((o, closure), kw))  # the step gets a closure
        assert opt.step() is not None
        replaced.remove()
        opt.step(closure)  # no hook left: the plain path
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            opt.step(closure)
            opt.step(closure)
        ranges = [e.name for e in prof.events() if e.name.startswith("Optimizer.step#")]
        return calls, ranges, [p.detach().clone() for p in m.parameters()]

    ours = run(lambda ps: dt.Optimizer(ps, descent.sgd, lr=0.1, momentum=0.9))
    theirs = run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9))
    assert ours[0] == [(c[0], "Optimizer" if c[1] == "SGD" else c[1], *c[2:]) for c in theirs[0]]
    assert len(ours[0]) == 8
    assert ours[1] == ["Optimizer.step#Optimizer.step"] * 2 and theirs[1] == ["Optimizer.step#SGD.step"] * 2
    for p, q in zip(ours[2], theirs[2], strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_flat_buffers_are_staggered_and_grads_write_into_them():
    """A bucket's streams (gradient, parameters, Adam's two moments) start k·STAGGER apart
    modulo ALIAS_SPAN, and the parameters' grads are still aliases of the flat gradient."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(200, 100), torch.nn.Tanh(), torch.nn.Linear(100, 3))  # 80 KB of float32
    ref = copy.deepcopy(m)
    opt, opt_ref = dt.Optimizer(m.parameters(), descent.adam, lr=1e-2), torch.optim.Adam(ref.parameters(), lr=1e-2)
    x = torch.randn(16, 200)
    for model, o in ((m, opt), (ref, opt_ref)):
        for _ in range(3):
            o.zero_grad()
            (model(x) ** 2).mean().backward()
            o.step()
    b, = opt._buckets
    streams = [b.g, b.x, *b.arrays.values()]
    assert len(streams) == 4
    assert [t.data_ptr() % dt.ALIAS_SPAN for t in streams] == [k * dt.STAGGER % dt.ALIAS_SPAN for k in range(4)]
    for p, o in zip(m.parameters(), b.offsets, strict=True):
        assert p.grad.data_ptr() == b.g.data_ptr() + 4 * o and p.data_ptr() == b.x.data_ptr() + 4 * o
    assert_params(ref, m, tol=dict(rtol=1e-5, atol=1e-6))

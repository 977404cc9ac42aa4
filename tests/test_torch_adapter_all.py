"""descent.torch.Optimizer runs the twins whose update is not elementwise, as torch does.

Adafactor and Muon update each parameter in its own shape (row and column statistics; the
Newton–Schulz iteration on the matrix), SparseAdam takes the sparse gradients of an
``nn.Embedding(sparse=True)`` through :class:`descent.SparseGrad`, and L-BFGS runs from
``step(closure)`` over the flattened parameters (the rule's objective is built from the
closure).  For each, in float64, the adapter's parameters and state equal torch's own
optimizer to 1e-12 at every one of ``STEPS`` steps, under a StepLR scheduler, with two
param groups where torch allows them (L-BFGS allows one), and a ``state_dict`` saved in the
middle of the run loads into a fresh adapter that then continues bit for bit.  Then the
errors, with torch's types and words.

Muon: torch runs Newton–Schulz in bfloat16 whatever the parameter's dtype, the rule in x's
dtype (see ``descent.muon``); the 1e-12 comparison runs torch's own step with that one cast
made a copy, as ``tests/test_parity_matrix.py`` does.
"""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

import descent  # noqa: E402
import descent.torch as dt  # noqa: E402

TOL = dict(atol=1e-12, rtol=1e-12)
STEPS = 24
CUT = 10  # state_dict round trip after this many steps
SCHED = dict(step_size=7, gamma=0.5)  # StepLR on both: the lr halves three times in the run


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


class Net(torch.nn.Module):
    """A Linear and matrix weights: a 2-D ``W`` and (``cube``) a batch of two 3x3 matrices."""

    def __init__(self, seed=0, bias=True, cube=True):
        super().__init__()
        torch.manual_seed(seed)
        self.lin = torch.nn.Linear(5, 6, bias=bias)
        self.W = torch.nn.Parameter(0.4 * torch.randn(6, 3))
        self.T = torch.nn.Parameter(0.4 * torch.randn(2, 3, 3)) if cube else None

    def forward(self, x):
        out = torch.tanh(self.lin(x)) @ self.W
        if self.T is not None:
            out = out + torch.einsum("bi,kij->bj", x[:, :3], self.T)
        return out

    def groups(self, lr):
        """Two groups with their own lr and weight decay."""
        rest = [self.W] + ([self.T] if self.T is not None else [])
        return [{"params": list(self.lin.parameters()), "lr": lr, "weight_decay": 0.05},
                {"params": rest, "lr": lr / 2, "weight_decay": 0.0}]


def batch(i):
    gen = torch.Generator().manual_seed(1000 + i)
    x = torch.randn(32, 5, generator=gen)
    return x, torch.sin(x[:, :3]) + 0.1 * torch.randn(32, 3, generator=gen)


def loss_of(model, i):
    x, y = batch(i)
    return ((model(x) - y) ** 2).mean()


def assert_same(m_ref, o_ref, m, o, tol=TOL):
    """Parameters, and every state value torch keeps, under torch's key (L-BFGS's rho and
    gamma through the products they are made of, as in ``tests/test_lbfgs.py``)."""
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        torch.testing.assert_close(b, a, **tol)
        s_ref, s = o_ref.state.get(a, {}), o.state.get(b, {})
        assert bool(s_ref) == bool(s)
        for key, val in s_ref.items():
            if key == "al":  # torch's LBFGS scratch buffer of the two-loop recursion, no quantity
                continue
            assert key in s, f"state key {key!r} missing; adapter has {sorted(s)}"
            mine = s[key]
            if key == "ro":  # rho_i = 1 / y_i's_i of small differences: compared as y_i's_i
                mine, val = [1 / r for r in mine], [1 / r for r in val]
            elif key == "H_diag" and s_ref["old_dirs"]:  # s'y / y'y: compared as s'y
                yy = float(s_ref["old_dirs"][-1] @ s_ref["old_dirs"][-1])
                mine, val = mine * yy, val * yy
            if isinstance(val, (int, float)) and key in ("n_iter", "func_evals"):
                assert mine == val, key
            elif isinstance(val, list):
                assert isinstance(mine, list) and len(mine) == len(val), key
                for u, v in zip(mine, val, strict=True):
                    torch.testing.assert_close(torch.as_tensor(u).double(), torch.as_tensor(v).double(), **tol)
            elif val is None:
                assert mine is None, key
            else:
                torch.testing.assert_close(torch.as_tensor(mine).double(), torch.as_tensor(val).double(), **tol)


def copy_params(src, dst):
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters(), strict=True):
            b.copy_(a)


def run_twins(make_model, torch_opt, our_opt, step_fn, steps=STEPS, torch_step=None):
    """torch's optimizer and the adapter side by side, the adapter saved at CUT and continued
    by a reloaded copy.  Returns the adapter."""
    m_ref, m = make_model(0), make_model(0)
    o_ref, o = torch_opt(m_ref), our_opt(m)
    s_ref = torch.optim.lr_scheduler.StepLR(o_ref, **SCHED)
    s = torch.optim.lr_scheduler.StepLR(o, **SCHED)
    m2 = o2 = s2 = None
    torch_step = torch_step or (lambda opt, closure: opt.step(closure))
    for i in range(steps):
        step_fn(m_ref, o_ref, i, torch_step)
        step_fn(m, o, i, lambda opt, closure: opt.step(closure))
        s_ref.step()
        s.step()
        assert_same(m_ref, o_ref, m, o)
        if o2 is not None:
            step_fn(m2, o2, i, lambda opt, closure: opt.step(closure))
            s2.step()
            for a, b in zip(m.parameters(), m2.parameters(), strict=True):
                assert torch.equal(a, b)  # the reloaded copy continues identically
        if i == CUT:
            sd = copy.deepcopy(o.state_dict())
            m2 = make_model(1)
            copy_params(m, m2)
            o2 = our_opt(m2)
            o2.load_state_dict(sd)
            s2 = torch.optim.lr_scheduler.StepLR(o2, **SCHED)
            s2.load_state_dict(s.state_dict())
    return o


def backward_step(model, opt, i, step):
    """Gradients first, then ``step()`` (the closure is only there to return the loss)."""
    opt.zero_grad()
    loss = loss_of(model, i)
    loss.backward()
    step(opt, None)


# ------------------------------------------------------------------ Adafactor


@pytest.mark.parametrize("kw", [dict(lr=0.05), dict(lr=0.05, beta2_decay=-0.5, d=1.5, maximize=True),
                                dict(lr=0.2, eps=(1e-3, 0.1))])
def test_adafactor_per_parameter_in_its_own_shape(f64, kw):
    o = run_twins(lambda seed: Net(seed),
                  lambda m: torch.optim.Adafactor(m.groups(kw["lr"]), **kw),
                  lambda m: dt.Optimizer(m.groups(kw["lr"]), descent.adafactor, **kw),
                  backward_step)
    net_state = {tuple(v.shape) for st in o.state.values() for v in st.values() if v.dim() > 0}
    assert {(6, 1), (1, 5), (2, 3, 1), (2, 1, 3), (6,)} <= net_state  # factored, as torch: rows, columns
    assert o._buckets is None  # no flat buffer for a rule that is not elementwise


# ------------------------------------------------------------------ Muon


@pytest.fixture
def torch_muon_in_float64(monkeypatch):
    """torch's Muon step with its bfloat16 cast a copy: torch's iteration in float64."""

    def step(opt, closure):
        with monkeypatch.context() as m:
            m.setattr(torch.Tensor, "bfloat16", lambda self, *args, **kwargs: self.clone())
            return opt.step(closure)

    return step


@pytest.mark.parametrize("kw", [dict(lr=0.02), dict(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw"),
                                dict(lr=0.05, momentum=0.5, ns_steps=3)])
def test_muon_per_matrix(f64, torch_muon_in_float64, kw):
    run_twins(lambda seed: Net(seed, bias=False, cube=False),
              lambda m: torch.optim.Muon(m.groups(kw["lr"]), **kw),
              lambda m: dt.Optimizer(m.groups(kw["lr"]), descent.muon, **kw),
              backward_step, torch_step=torch_muon_in_float64)


def test_muon_against_torch_as_shipped_differs_by_bfloat16_only(f64):
    """Without the patch, torch's bfloat16 Newton–Schulz: the same run to bfloat16's rounding."""
    m_ref, m = Net(bias=False, cube=False), Net(bias=False, cube=False)
    o_ref, o = torch.optim.Muon(m_ref.parameters(), lr=0.02), dt.Optimizer(m.parameters(), descent.muon, lr=0.02)
    for i in range(5):
        backward_step(m_ref, o_ref, i, lambda opt, c: opt.step())
        backward_step(m, o, i, lambda opt, c: opt.step())
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        assert 0 < (a - b).abs().max() < 0.05 * 0.02 * 5


# ------------------------------------------------------------------ L-BFGS


class LeastSquares(torch.nn.Module):
    """A Linear fitted to one batch by least squares (the closure's loss)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.lin = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.lin(x)


def closure_step(model, opt, i, step):
    """One ``step(closure)``; the data are the same at every step (a least-squares problem:
    a new batch per step makes L-BFGS amplify rounding differences by 1e3 within 20 steps)."""
    x, y = batch(0)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    loss = step(opt, closure)
    assert isinstance(loss, torch.Tensor)  # step returns the first closure's loss, as torch


#: few inner iterations, so that the run takes many steps to converge
LBFGS = [dict(lr=0.3, max_iter=2), dict(line_search_fn=None, lr=0.5, max_iter=3, history_size=4),
         dict(line_search_fn="strong_wolfe", max_iter=2, history_size=3),
         dict(line_search_fn="strong_wolfe", lr=0.8, max_iter=3, max_eval=4)]


@pytest.mark.parametrize("kw", LBFGS, ids=[str(kw) for kw in LBFGS])
def test_lbfgs_step_closure(f64, kw):
    o = run_twins(LeastSquares, lambda m: torch.optim.LBFGS(m.parameters(), **kw),
                  lambda m: dt.Optimizer(m.parameters(), descent.lbfgs, **kw), closure_step)
    st = o.state[o.param_groups[0]["params"][0]]
    assert st["n_iter"] >= STEPS and len(st["old_dirs"]) > 1  # every step iterated; a history was kept
    assert len(o.state) == 1  # one state, on the first parameter, as torch


def test_lbfgs_loads_torchs_state_dict(f64):
    """The state keys are torch's: torch's LBFGS state continues in the adapter."""
    kw = dict(line_search_fn="strong_wolfe", max_iter=4)
    m_ref, m = LeastSquares(), LeastSquares()
    o_ref = torch.optim.LBFGS(m_ref.parameters(), **kw)
    for i in range(4):
        closure_step(m_ref, o_ref, i, lambda opt, c: opt.step(c))
    copy_params(m_ref, m)
    o = dt.Optimizer(m.parameters(), descent.lbfgs, **kw)
    o.load_state_dict(copy.deepcopy(o_ref.state_dict()))
    for i in range(4, 10):
        closure_step(m_ref, o_ref, i, lambda opt, c: opt.step(c))
        closure_step(m, o, i, lambda opt, c: opt.step(c))
        assert_same(m_ref, o_ref, m, o)


# ------------------------------------------------------------------ SparseAdam


class Embeddings(torch.nn.Module):
    """Two sparse embeddings (two groups), a few rows looked up per step, some twice."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.a = torch.nn.Embedding(12, 3, sparse=True)
        self.b = torch.nn.Embedding(7, 4, sparse=True)

    def groups(self, lr):
        return [{"params": self.a.parameters(), "lr": lr}, {"params": self.b.parameters(), "lr": 2 * lr}]


def lookup_step(model, opt, i, step):
    gen = torch.Generator().manual_seed(77 + i)
    rows_a = torch.randint(0, 11, (int(torch.randint(1, 6, (1,), generator=gen)),), generator=gen)  # row 11 never
    rows_b = torch.tensor([2, 2, 5]) if i % 4 == 0 else torch.randint(0, 7, (3,), generator=gen)
    if i == 5:
        rows_a = torch.tensor([], dtype=torch.int64)  # an empty lookup: a sparse grad with no entries
    opt.zero_grad()
    ea, eb = model.a(rows_a), model.b(rows_b)
    loss = (0.5 * (ea - 0.3) ** 2).sum() + torch.sin(ea).sum() + (eb ** 2).sum() * 0.7
    loss.backward()
    assert model.a.weight.grad.is_sparse
    step(opt, None)


@pytest.mark.parametrize("kw", [dict(lr=0.05), dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6, maximize=True)])
def test_sparse_adam_with_sparse_gradients(f64, kw):
    o = run_twins(Embeddings, lambda m: torch.optim.SparseAdam(m.groups(kw["lr"]), **kw),
                  lambda m: dt.Optimizer(m.groups(kw["lr"]), descent.sparse_adam, **kw), lookup_step)
    assert len(o.state) == 2


# ------------------------------------------------------------------ a schedule as lr


SCHEDULED = [
    ("Adafactor", descent.adafactor, lambda seed: Net(seed), backward_step, 0.05),
    ("Muon", descent.muon, lambda seed: Net(seed, bias=False, cube=False), backward_step, 0.02),
    ("LBFGS", descent.lbfgs, LeastSquares, closure_step, 0.5),
    ("SparseAdam", descent.sparse_adam, Embeddings, lookup_step, 0.05),
]


@pytest.mark.parametrize(("name", "rule", "make", "step_fn", "lr"), SCHEDULED, ids=[c[0] for c in SCHEDULED])
def test_schedule_as_lr_equals_torchs_scheduler(f64, torch_muon_in_float64, name, rule, make, step_fn, lr):
    """``lr=descent.schedules.step_lr(...)`` in the adapter = torch with StepLR stepped after
    every step (the contract of descent.schedules)."""
    m_ref, m = make(0), make(0)
    o_ref = getattr(torch.optim, name)(m_ref.parameters(), lr=lr)
    o = dt.Optimizer(m.parameters(), rule, lr=descent.schedules.step_lr(lr, **SCHED))
    s_ref = torch.optim.lr_scheduler.StepLR(o_ref, **SCHED)
    for i in range(STEPS):
        step_fn(m_ref, o_ref, i, torch_muon_in_float64)
        step_fn(m, o, i, lambda opt, closure: opt.step(closure))
        s_ref.step()
        for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
            torch.testing.assert_close(b, a, **TOL)


# ------------------------------------------------------------------ errors


def message(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


def test_errors_as_torch(f64):
    vec = [torch.nn.Parameter(torch.randn(3))]
    mat = [torch.nn.Parameter(torch.randn(3, 2))]
    # Muon: 2-D parameters only, checked at construction
    assert message(lambda: dt.Optimizer(vec, descent.muon)) == message(lambda: torch.optim.Muon(vec))
    assert message(lambda: dt.Optimizer(mat, descent.muon, lr=-1)) == message(lambda: torch.optim.Muon(mat, lr=-1))
    o = dt.Optimizer(mat, descent.muon)
    assert message(lambda: o.add_param_group({"params": vec})) == (
        ValueError, "Muon only supports 2D parameters whereas we found a parameter with size: torch.Size([3])")
    # L-BFGS: one group, a closure
    two = [{"params": mat}, {"params": vec}]
    assert message(lambda: dt.Optimizer(two, descent.lbfgs)) == message(lambda: torch.optim.LBFGS(two)) == (
        ValueError, "LBFGS doesn't support per-parameter options (parameter groups)")
    o = dt.Optimizer(mat, descent.lbfgs)
    with pytest.raises(ValueError, match=r"LBFGS doesn't support per-parameter options \(parameter groups\)"):
        o.add_param_group({"params": vec})
    with pytest.raises(TypeError, match=r"LBFGS.step\(\) missing 1 required positional argument: 'closure' "
                                        r"\(got closure=None\)"):
        o.step()
    assert message(lambda: dt.Optimizer(mat, descent.lbfgs, lr=-1)) == message(lambda: torch.optim.LBFGS(mat, lr=-1))
    # SparseAdam: a dense gradient is refused at the step
    for make in (lambda p: torch.optim.SparseAdam(p), lambda p: dt.Optimizer(p, descent.sparse_adam)):
        p = [torch.nn.Parameter(torch.randn(4, 2))]
        opt = make(p)
        p[0].sum().backward()
        assert message(opt.step) == (RuntimeError, "SparseAdam does not support dense gradients, please consider "
                                                   "Adam instead")
    # Adafactor and Muon refuse sparse gradients
    for name, rule, rows in (("Adafactor", descent.adafactor, 5), ("Muon", descent.muon, 5)):
        errors = []
        for make in (lambda p, name=name: getattr(torch.optim, name)(p), lambda p, rule=rule: dt.Optimizer(p, rule)):
            emb = torch.nn.Embedding(rows, 2, sparse=True)
            opt = make(emb.parameters())
            emb(torch.tensor([1, 3])).sum().backward()
            errors.append(message(opt.step))
        assert errors[0] == errors[1] == (RuntimeError, f"{name} does not support sparse gradients")


def test_elementwise_rules_keep_the_flat_path(f64):
    m = Net()
    o = dt.Optimizer(m.parameters(), descent.adam, lr=0.01)
    backward_step(m, o, 0, lambda opt, c: opt.step())
    assert o._kind == "flat" and all(b.flat for b in o._buckets)
    assert dt.Optimizer(m.parameters(), descent.adafactor)._kind == "tensor"
    assert dt.Optimizer(m.parameters(), descent.lbfgs)._kind == "closure"

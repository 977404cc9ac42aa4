"""The C loops of the CPU fused path (descent._kernels): IEEE arithmetic bit for bit, the
eager rule and torch.optim to rounding, threads that change no bit, the disk cache, and a
missing compiler that falls back to the eager rule."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import descent  # noqa: E402
import descent.torch as dt  # noqa: E402
from _requires import require_c_compiler  # noqa: E402
from descent import _kernels  # noqa: E402
from descent._trace import _BINARY, _trace  # noqa: E402


@pytest.fixture(autouse=True)
def kernel_cache(tmp_path, monkeypatch):
    """Each test compiles into its own cache, so none reuses another's libraries."""
    require_c_compiler()
    monkeypatch.setenv("DESCENT_KERNEL_CACHE", str(tmp_path / "kernels"))
    return tmp_path / "kernels"


#: every elementwise rule the tracer takes, in the configurations that change its program
RULES = [
    (descent.sgd, dict(lr=0.1)), (descent.sgd, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (descent.sgd, dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    (descent.adam, dict(lr=0.1)), (descent.adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
    (descent.adamw, dict(lr=0.1)), (descent.nadam, dict(lr=0.1, decoupled_weight_decay=True, weight_decay=0.1)),
    (descent.radam, dict(lr=0.1)), (descent.adagrad, dict(lr=0.1, weight_decay=0.1)),
    (descent.rmsprop, dict(lr=0.1, centered=True, momentum=0.5, maximize=True)), (descent.adadelta, dict(lr=1.0)),
    (descent.adamax, dict(lr=0.1, weight_decay=0.1)), (descent.asgd, dict(lr=0.1)),
]
IDS = [f"{r.__name__}-{'-'.join(kw)}" for r, kw in RULES]

#: the ops of a program in NumPy, which rounds every one as IEEE 754 says (sqrt included)
_NP = {"neg": np.negative, "abs": np.abs, "sqrt": np.sqrt, "sign": np.sign, "maximum": np.maximum,
       "minimum": np.minimum, "where": np.where, "exp": np.exp, "log": np.log}
_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
        "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
assert set(_BIN) == set(_BINARY)


def numpy_step(prog, arrays, scalars, dtype):
    """The program evaluated op by op in NumPy; returns the new x and state arrays."""
    env = dict(zip(["g", "x"] + [f"a_{f}" for f in prog.fields], arrays, strict=True))
    env.update({f"s{k}": dtype(v) for k, v in enumerate(scalars)})  # a scalar rounds to the dtype first
    for name, op, operands in prog.ops:
        if op == "**":
            a, e = env[operands[0]], operands[1]
            env[name] = {0.5: np.sqrt(a), 2.0: a * a, 1.0: a}.get(e, None)
            assert env[name] is not None, f"exponent {e}: extend the test"
        elif op in _BIN:
            env[name] = _BIN[op](env[operands[0]], env[operands[1]])
        else:
            env[name] = _NP[op](*(env[o] for o in operands))
    new = {f: env[v] for f, v in prog.writes}
    return env["x"] + env[prog.step], [new.get(f, env[f"a_{f}"]) for f in prog.fields]


def trace_steps(rule, dtype, n=3000, steps=6, seed=3):
    """(program, arrays, scalars) of ``steps`` consecutive steps of ``rule`` on random data."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=gen, dtype=dtype)
    state = rule.init(x)
    for _ in range(steps):
        g = torch.randn(n, generator=gen, dtype=dtype)
        fields = [f for f in state._fields if isinstance(getattr(state, f), torch.Tensor)]
        prog, scalars, _ = _trace(rule, state, fields)
        yield prog, [g, x.clone(), *(getattr(state, f).clone() for f in fields)], scalars
        step, state = rule.update(g, state, x)
        x = x + step


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(("rule", "kw"), RULES, ids=IDS)
def test_c_step_is_ieee_arithmetic_bit_for_bit(rule, kw, dtype):
    """Each op of the loop rounds as IEEE 754 does, as NumPy's do: same bits, every rule."""
    kernels = _kernels.CKernels()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    for prog, arrays, scalars in trace_steps(rule(**kw), dtype):
        want_x, want_state = numpy_step(prog, [a.numpy().copy() for a in arrays], scalars, np_dtype)
        assert kernels.get(prog, str(dtype)[6:])(arrays, scalars, 1)
        np.testing.assert_array_equal(arrays[1].numpy(), want_x)
        for got, want in zip(arrays[2:], want_state, strict=True):
            np.testing.assert_array_equal(got.numpy(), want)


def _exact_in_torch(prog):
    """No op whose torch CPU kernel may round differently from IEEE 754 (square roots,
    exp, log, powers other than x * x)."""
    return not any(op in ("sqrt", "exp", "log", "rpow") or (op == "**" and operands[1] != 2.0)
                   for _, op, operands in prog.ops)


@pytest.mark.parametrize(("rule", "kw"), RULES, ids=IDS)
def test_c_step_equals_torch_eager(rule, kw):
    """Against the same step run as torch eager ops: equal bits without a square root; with
    one, within rounding (torch's CPU sqrt, MKL's vector math, is not always correctly
    rounded: 1 ulp away on a few percent of inputs)."""
    kernels = _kernels.CKernels()
    exact = set()
    for prog, arrays, scalars in trace_steps(rule(**kw), torch.float64):
        ref = _python_step(prog, arrays[0], arrays[1], arrays[2:], scalars)
        assert kernels.get(prog, "float64")(arrays, scalars, 1)
        exact.add(_exact_in_torch(prog))
        for got, want in zip(arrays[1:], ref, strict=True):
            if _exact_in_torch(prog):
                assert torch.equal(got, want)
            else:
                torch.testing.assert_close(got, want, atol=1e-14, rtol=1e-14)
    # both kinds are covered: no square root in SGD, ASGD and Adamax (nor in RAdam's first steps)
    assert exact == {True} if rule in (descent.sgd, descent.asgd, descent.adamax) else False in exact


def _python_step(prog, g, x, state_arrays, scalars):
    """The same program as torch eager ops (what the fused path's Python form runs)."""
    scope = {"torch": torch}
    exec(prog.python(), scope)  # noqa: S102
    x, state_arrays = x.clone(), [a.clone() for a in state_arrays]
    scope["fused"](g, x, *state_arrays, *scalars)
    return [x, *state_arrays]


def test_threads_change_no_bit():
    """An array above PARALLEL_MIN runs on two threads with the one-thread bits."""
    n = 3 * _kernels.PARALLEL_MIN + 7
    (prog, arrays, scalars), = trace_steps(descent.adam(lr=0.1, amsgrad=True), torch.float32, n=n, steps=1)
    two = [a.clone() for a in arrays]
    fn = _kernels.CKernels().get(prog, "float32")
    assert fn(arrays, scalars, 1) and fn(two, scalars, 2)
    for a, b in zip(arrays, two, strict=True):
        assert torch.equal(a, b)


def test_wrong_arrays_are_refused_untouched():
    (prog, arrays, scalars), = trace_steps(descent.adam(lr=0.1), torch.float32, n=100, steps=1)
    fn = _kernels.CKernels().get(prog, "float32")
    for bad in ([arrays[0].double(), *arrays[1:]],  # another dtype
                [arrays[0], arrays[1][:50], *arrays[2:]],  # another size
                [arrays[0], torch.randn(200)[::2], *arrays[2:]]):  # not contiguous
        before = [a.clone() for a in bad]
        assert fn(bad, scalars, 1) is False
        assert all(torch.equal(a, b) for a, b in zip(bad, before, strict=True))


def test_disk_cache_is_shared(kernel_cache):
    """A second optimizer (or process) loads the library the first compiled."""
    (prog, arrays, scalars), = trace_steps(descent.sgd(lr=0.1, momentum=0.9), torch.float64, steps=1)
    _kernels.CKernels().get(prog, "float64")
    files = sorted(p.name for p in kernel_cache.iterdir())
    assert len(files) == 1 and files[0].startswith("step-") and files[0].endswith(".so")
    _kernels.CKernels().get(prog, "float64")
    _kernels.CKernels().get(prog, "float32")  # another dtype: another library
    assert len(list(kernel_cache.iterdir())) == 2


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                               torch.nn.Linear(64, 4)).double()


def _train(model, opt, steps):
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 20, generator=gen, dtype=torch.float64)
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()


@pytest.mark.parametrize(("name", "rule", "kw"), [
    ("Adam", descent.adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("SGD", descent.sgd, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", descent.rmsprop, dict(lr=0.01, centered=True)),
])
def test_adapter_runs_c_loops_and_equals_torch(name, rule, kw):
    """fuse="auto" on a CPU model above FUSE_MIN_NUMEL_CPU: the step is a C loop, and the
    parameters equal torch.optim's to 1e-12 after 25 steps."""
    m_ref, m = _model(), _model()
    assert sum(p.numel() for p in m.parameters()) >= dt.FUSE_MIN_NUMEL_CPU
    o_ref = getattr(torch.optim, name)(m_ref.parameters(), **kw)
    o = dt.Optimizer(m.parameters(), rule, **kw)
    _train(m_ref, o_ref, 25)
    _train(m, o, 25)
    assert {k[1] for k in o._fusion.compiled} == {"c"}, "the C path was not taken"
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        torch.testing.assert_close(b, a, atol=1e-12, rtol=1e-12)


def test_no_compiler_warns_once_and_stays_exact(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    m_ref, m = _model(), _model()
    o_ref = torch.optim.Adam(m_ref.parameters(), lr=0.01)
    o = dt.Optimizer(m.parameters(), descent.adam, lr=0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _train(m_ref, o_ref, 6)
        _train(m, o, 6)
    assert [str(w.message)[:46] for w in caught] == ["descent.torch: compiling the fused step failed"]
    assert "nonexistent" in o._fusion.broken
    for a, b in zip(m_ref.parameters(), m.parameters(), strict=True):
        torch.testing.assert_close(b, a, atol=1e-12, rtol=1e-12)

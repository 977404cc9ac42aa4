"""The twins whose update needs a parameter's shape, against torch, step by step:
Adafactor's factored second moment (row and column statistics of a matrix, a batch of
matrices for more axes) and Muon's orthogonalized momentum.

torch's Muon runs Newton–Schulz in bfloat16 whatever the parameter's dtype; descent's rule
runs it in x's dtype.  The 1e-12 twin test therefore runs torch's own Muon code with that
one cast turned into a copy (``torch.Tensor.bfloat16`` patched for the step); a second test
measures the distance to torch as shipped and bounds it by bfloat16's rounding.
"""

from __future__ import annotations

import descent
import numpy as np
import pytest
from descent.rules.sgd import newton_schulz
from test_parity import SCHEDULED, TOL, Problem, compare_state, run_pair

ADAFACTOR = [
    {}, dict(lr=0.05), dict(lr=0.05, beta2_decay=-0.5), dict(lr=0.05, eps=(1e-3, 1e-3)), dict(lr=0.05, d=1.5),
    dict(lr=0.05, weight_decay=0.1), dict(lr=0.05, maximize=True), dict(lr=0.2, eps=(None, 0.1), beta2_decay=0.0),
]
ADAFACTOR_SHAPES = [(3, 4), (4, 3), (2, 3, 4), ()]

MUON = [
    {}, dict(lr=0.02), dict(lr=0.02, nesterov=False), dict(lr=0.02, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.02, adjust_lr_fn="original", momentum=0.0), dict(lr=0.05, ns_steps=3, ns_coefficients=(1.5, -0.5, 0.0)),
    dict(lr=0.01, momentum=0.5, weight_decay=0.5, eps=1e-3),
]
MUON_SHAPES = [(3, 4), (4, 3), (5, 5)]


@pytest.fixture
def float64_newton_schulz(monkeypatch, f64):
    """torch's Muon step with its bfloat16 cast a copy instead: torch's iteration in float64."""

    def step(topt):
        with monkeypatch.context() as m:
            m.setattr(f64.Tensor, "bfloat16", lambda self, *args, **kwargs: self.clone())
            topt.step()

    return step


#: every configuration on the first shape, the first three on the others
STEPS_MATRIX = 80
ADAFACTOR_CASES = [pytest.param(shape, kw, id=f"{shape}-{kw}") for i, shape in enumerate(ADAFACTOR_SHAPES)
                   for kw in (ADAFACTOR if i == 0 else ADAFACTOR[:3])]
MUON_CASES = [pytest.param(shape, kw, id=f"{shape}-{kw}") for i, shape in enumerate(MUON_SHAPES)
              for kw in (MUON if i == 0 else MUON[:3])]


@pytest.mark.parametrize(("shape", "kwargs"), ADAFACTOR_CASES)
def test_adafactor_matches_torch_every_step(f64, shape, kwargs):
    x, _ = run_pair(f64, "Adafactor", kwargs, shape=shape, steps=STEPS_MATRIX)
    assert np.max(np.abs(x - Problem(shape).x0)) > 1e-3


@pytest.mark.parametrize(("shape", "kwargs"), MUON_CASES)
def test_muon_matches_torch_every_step(f64, float64_newton_schulz, shape, kwargs):
    x, _ = run_pair(f64, "Muon", kwargs, shape=shape, torch_step=float64_newton_schulz, steps=STEPS_MATRIX)
    assert np.max(np.abs(x - Problem(shape).x0)) > 1e-3


@pytest.mark.parametrize(("sched_name", "ours", "theirs"), SCHEDULED, ids=[s[0] for s in SCHEDULED])
def test_schedule_as_lr_matches_torch_scheduler(f64, float64_newton_schulz, sched_name, ours, theirs):
    for name, kwargs, step in [("Adafactor", dict(lr=0.05, weight_decay=0.1), None),
                               ("Muon", dict(lr=0.02), float64_newton_schulz)]:
        run_pair(f64, name, kwargs, lr_schedule=ours(kwargs["lr"]), torch_scheduler=lambda o: theirs(f64, o),
                 shape=(3, 4), torch_step=step, steps=STEPS_MATRIX)


@pytest.mark.parametrize("shape", MUON_SHAPES, ids=str)
def test_muon_against_torch_bfloat16_within_its_rounding(f64, shape):
    """torch as shipped: the buffer to 1e-12 every step, the step within bfloat16's rounding
    after Newton–Schulz's amplification (measured here: median 1-3.5%, worst 4-25%, the worst on
    the 5 x 5 run whose small singular values Newton-Schulz blows up; bounded at 10% and 60%)."""
    torch = f64
    problem = Problem(shape)
    opt = descent.muon(lr=0.02)
    p = torch.tensor(problem.x0, requires_grad=True)
    topt = torch.optim.Muon([p], lr=0.02)
    x, state = problem.x0.copy(), opt.init(problem.x0)
    errors = []
    for k in range(STEPS_MATRIX):
        step, state = opt.update(problem.grad(x), state, x)
        before = p.detach().numpy().copy()
        topt.zero_grad()
        problem.loss(torch, p).backward()
        topt.step()
        theirs = p.detach().numpy() - before
        errors.append(np.linalg.norm(step - theirs) / np.linalg.norm(theirs))
        compare_state(state, topt.state[p], f"Muon step {k}")
        x, state = p.detach().numpy().copy(), state._replace(b=topt.state[p]["momentum_buffer"].numpy().copy())
    print(f"\nMuon {shape} vs torch's bfloat16 Newton-Schulz: step error median {np.median(errors):.3f}, "
          f"max {max(errors):.3f} (relative, Frobenius)")
    assert np.median(errors) < 0.1 and max(errors) < 0.6
    assert min(errors) > 1e-6  # really a bfloat16 difference, not the same arithmetic


def test_muon_runs_on_torch_tensors(f64, float64_newton_schulz):
    """The same rule code on torch tensors (float64) gives torch's float64-iteration trajectory."""
    torch = f64
    problem = Problem((3, 4))
    opt = descent.muon(lr=0.02)
    x = torch.tensor(problem.x0)
    state = opt.init(x)
    p = torch.tensor(problem.x0, requires_grad=True)
    topt = torch.optim.Muon([p], lr=0.02)
    for _ in range(30):
        step, state = opt.update(torch.as_tensor(problem.grad(x.numpy())), state, x)
        x = x + step
        topt.zero_grad()
        problem.loss(torch, p).backward()
        float64_newton_schulz(topt)
    assert isinstance(x, torch.Tensor)
    np.testing.assert_allclose(x.numpy(), p.detach().numpy(), **TOL)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()], ids=str)
def test_muon_takes_matrices_only_as_torch(f64, shape):
    p = f64.zeros(shape, requires_grad=True)
    with pytest.raises(ValueError) as theirs:
        f64.optim.Muon([p])
    with pytest.raises(ValueError) as ours:
        descent.muon().init(f64.zeros(shape))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        descent.muon().init(np.zeros(shape))


def test_newton_schulz_orthogonalizes():
    """The singular values are squeezed towards 1 (torch's quintic: into 0.5-1.5, from a spread
    of 200 to one under 2; the classical cubic (1.5, -0.5, 0) converges to 1), and the
    singular vectors are G's."""
    rng = np.random.default_rng(3)
    G = rng.standard_normal((6, 4)) * np.array([10.0, 1.0, 0.1, 0.05])  # condition number 200
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    O = newton_schulz(G)
    sv = np.linalg.svd(O, compute_uv=False)
    assert s[0] / s[-1] > 100 and np.all((sv > 0.5) & (sv < 1.5)) and sv[0] / sv[-1] < 2, sv
    np.testing.assert_allclose(O, U @ np.diag(np.diag(U.T @ O @ Vt.T)) @ Vt, atol=1e-12)  # same singular vectors
    cubic = newton_schulz(G, (1.5, -0.5, 0.0), steps=60)
    np.testing.assert_allclose(cubic, U @ Vt, atol=1e-9)
    np.testing.assert_allclose(newton_schulz(G.T), O.T, atol=1e-15)  # the tall case is the wide one transposed


def test_adafactor_keeps_row_and_column_statistics_only():
    """A 30 x 20 matrix: Adam keeps 2 x 600 numbers, Adafactor 30 + 20; and with a rank-one
    g^2 the factored estimate is exact: V_hat = g^2 after the first step."""
    x = np.zeros((30, 20))
    st = descent.adafactor().init(x)
    assert st.r.shape == (30, 1) and st.c.shape == (1, 20) and st.v is None
    adam = descent.adam().init(x)
    assert adam.m.size + adam.v.size == 1200 and st.r.size + st.c.size == 50
    rng = np.random.default_rng(0)
    g = np.outer(rng.uniform(0.5, 2, 30), rng.uniform(0.5, 2, 20))  # g^2 rank one too
    step, st = descent.adafactor(lr=1.0, eps=(0.0, 1.0), d=1e9).update(g, st, x)
    # U = g / sqrt(V_hat) = 1 everywhere, alpha = eps2 * min(lr, 1) = 1
    np.testing.assert_allclose(step, -np.ones((30, 20)), rtol=1e-12)
    vec = descent.adafactor().init(np.zeros(7))
    assert vec.r is None and vec.c is None and vec.v.shape == (7,)


def test_adafactor_clips_the_update_rms():
    """max(1, RMS(U)/d): with d = 1 a step never has RMS above alpha."""
    rng = np.random.default_rng(1)
    opt = descent.adafactor(lr=0.1)
    x = rng.standard_normal((4, 5))
    st = opt.init(x)
    for _ in range(20):
        g = rng.standard_normal((4, 5)) * 100.0
        step, st = opt.update(g, st, x)
        alpha = max(1e-3, float(np.sqrt(np.mean(x ** 2)))) * min(0.1, 1 / np.sqrt(st.t))
        assert np.sqrt(np.mean(step ** 2)) <= alpha * (1 + 1e-12)
        x = x + step

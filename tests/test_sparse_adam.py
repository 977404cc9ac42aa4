"""SparseAdam against torch.optim.SparseAdam with real sparse gradients: an
``nn.Embedding(sparse=True)`` in float64 looks up a few rows per step (some twice, some
never, once none at all); descent's rule gets the same gradient as a
:class:`descent.SparseGrad` (dense values and the mask of rows present), computed on its own
from the analytic gradient.  Iterates and state to 1e-12 every step, also under torch's
schedulers; then what "lazy" means: absent rows keep x, m and v, and the step count is global."""

from __future__ import annotations

import descent
import numpy as np
import pytest
from test_parity import SCHEDULED, TOL, compare_state

ROWS, DIM, STEPS = 12, 3, 40
_rng = np.random.default_rng(11)
W0 = _rng.standard_normal((ROWS, DIM))
#: the rows looked up at each step: repeats, rows never seen (ROWS - 1 never), one empty batch
BATCHES = [_rng.integers(0, ROWS - 1, size=_rng.integers(1, 6)) for _ in range(STEPS)]
BATCHES[7] = np.array([], dtype=np.int64)
BATCHES[8] = np.array([3, 3, 3])
TARGETS = [_rng.standard_normal((len(b), DIM)) for b in BATCHES]


def loss_torch(torch, emb, k):
    """sum_b 0.5 |W[i_b] - T_b|^2 + 0.3 sum sin W[i_b]: not quadratic, rows repeat."""
    rows = emb(torch.as_tensor(BATCHES[k]))
    return (0.5 * ((rows - torch.as_tensor(TARGETS[k])) ** 2).sum() + 0.3 * torch.sin(rows).sum())


def sparse_grad(W, k):
    """The same gradient by hand: rows present sum their terms (torch's coalesce)."""
    values = np.zeros_like(W)
    np.add.at(values, BATCHES[k], W[BATCHES[k]] - TARGETS[k] + 0.3 * np.cos(W[BATCHES[k]]))
    mask = np.zeros((ROWS, 1), dtype=bool)
    mask[BATCHES[k]] = True
    return descent.SparseGrad(values, mask)


CONFIGS = [{}, dict(lr=0.01), dict(lr=0.05, betas=(0.5, 0.9)), dict(lr=0.02, eps=1e-3), dict(lr=0.01, maximize=True),
           dict(lr=0.03, betas=(0.0, 0.0)), dict(lr=0.1, betas=(0.95, 0.9999), eps=1e-6)]


def sparse_pair(torch, kwargs, lr_schedule=None, torch_scheduler=None, reset=True, tol=TOL, steps=STEPS):
    opt = descent.sparse_adam(**{**kwargs, **({"lr": lr_schedule} if lr_schedule is not None else {})})
    W, state = W0.copy(), opt.init(W0)
    emb = torch.nn.Embedding(ROWS, DIM, sparse=True, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.as_tensor(W0))
    topt = torch.optim.SparseAdam(emb.parameters(), **kwargs)
    sched = torch_scheduler(topt) if torch_scheduler is not None else None
    for k in range(steps):
        step, state = opt.update(sparse_grad(W, k), state, W)
        W = W + step
        topt.zero_grad()
        loss_torch(torch, emb, k).backward()
        assert emb.weight.grad.is_sparse
        topt.step()
        if sched is not None:
            sched.step()
        where = f"SparseAdam{kwargs} step {k + 1}"
        theirs = emb.weight.detach().numpy()
        np.testing.assert_allclose(W, theirs, **tol, err_msg=where)
        compare_state(state, topt.state[emb.weight], where, tol)
        if reset:
            st = topt.state[emb.weight]
            W, state = theirs.copy(), state._replace(m=st["exp_avg"].numpy().copy(), v=st["exp_avg_sq"].numpy().copy())
    return W


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_matches_torch_every_step(f64, kwargs):
    W = sparse_pair(f64, kwargs)
    assert np.max(np.abs(W - W0)) > 1e-2
    np.testing.assert_array_equal(W[ROWS - 1], W0[ROWS - 1])  # exact: a row never looked up is never written


def test_independent_runs_stay_together(f64):
    for kwargs in CONFIGS[:3]:
        sparse_pair(f64, kwargs, reset=False, tol=dict(atol=1e-10, rtol=1e-10))


@pytest.mark.parametrize(("sched_name", "ours", "theirs"), SCHEDULED, ids=[s[0] for s in SCHEDULED])
def test_schedule_as_lr_matches_torch_scheduler(f64, sched_name, ours, theirs):
    sparse_pair(f64, dict(lr=0.05), lr_schedule=ours(0.05), torch_scheduler=lambda o: theirs(f64, o))


def test_our_sparse_gradient_is_torchs(f64):
    """The representation: torch's coalesced sparse gradient is our (values, mask)."""
    torch = f64
    emb = torch.nn.Embedding(ROWS, DIM, sparse=True, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.as_tensor(W0))
    for k in (0, 7, 8, 20):
        emb.zero_grad()
        loss_torch(torch, emb, k).backward()
        g = emb.weight.grad.coalesce()
        ours = sparse_grad(W0, k)
        mask = np.zeros((ROWS, 1), dtype=bool)
        mask[g.indices()[0].numpy()] = True
        np.testing.assert_array_equal(ours.mask, mask)
        np.testing.assert_allclose(ours.values, g.to_dense().numpy(), rtol=1e-13, atol=1e-15)


def test_absent_rows_keep_x_m_and_v_and_the_step_count_is_global():
    opt = descent.sparse_adam(lr=0.1)
    W, state = W0.copy(), opt.init(W0)
    only = np.zeros((ROWS, 1), dtype=bool)
    only[2] = True
    for _ in range(999):
        step, new = opt.update(descent.SparseGrad(np.ones_like(W), only), state, W)
        untouched = ~only[:, 0]
        # exact: absent entries are selected from the old arrays, no arithmetic touches them
        np.testing.assert_array_equal(step[untouched], 0.0)
        np.testing.assert_array_equal(new.m[untouched], state.m[untouched])
        np.testing.assert_array_equal(new.v[untouched], state.v[untouched])
        W, state = W + step, new
    assert state.t == 999
    # a row seen first at update 1000 gets the corrections of t = 1000, not of its first sighting:
    # m / (sqrt(v) + eps) = (1 - b1) / sqrt(1 - b2), so its first step is 2.5 lr long, not lr
    late = np.zeros((ROWS, 1), dtype=bool)
    late[5] = True
    step, _ = opt.update(descent.SparseGrad(np.ones_like(W), late), state, W)
    b1, b2, t = 0.9, 0.999, 1000
    expected = -0.1 * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * (1 - b1) / (np.sqrt(1 - b2) + 1e-8)
    np.testing.assert_allclose(step[5], expected, rtol=1e-10)
    assert 2.4 < abs(step[5, 0]) / 0.1 < 2.6


def test_a_dense_gradient_counts_as_every_entry_present():
    """torch raises for a dense gradient; this rule takes it as a full mask."""
    opt = descent.sparse_adam(lr=0.01)
    g = np.arange(ROWS * DIM, dtype=float).reshape(ROWS, DIM) / 10 - 1
    dense, _ = opt.update(g, opt.init(W0), W0)
    full, _ = opt.update(descent.SparseGrad(g, np.ones((ROWS, 1), dtype=bool)), opt.init(W0), W0)
    np.testing.assert_array_equal(dense, full)

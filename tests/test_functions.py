"""Objectives: gradients and Hessians against torch autograd and finite differences,
batched shapes, stationary minima, minibatch gradients."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from descent import functions as F

_rng = np.random.default_rng(7)
_M = _rng.standard_normal((4, 4))

OBJECTIVES = {
    "quadratic4": F.Quadratic(_M @ _M.T + np.eye(4), b=_rng.standard_normal(4)),
    "ravine": F.quadratic(condition=50.0, angle=0.7, scale=0.5),
    "indefinite": F.Quadratic([[1.0, 0.0], [0.0, -2.0]]),
    "parabola": F.parabola(3.0),
    "log_bowl": F.log_bowl,
    "two_minima": F.two_minima,
    "rosenbrock": F.rosenbrock(),
    "rosenbrock_a2": F.rosenbrock(a=2.0, b=10.0),
    "beale": F.beale,
    "himmelblau": F.himmelblau,
    "saddle": F.saddle,
    "sum_of_squares": F.sum_of_squares,
    "least_squares": F.synthetic_regression(n=64, d=3, seed=2),
    "relu_net": F.TwoLayerReLU(x=[1.0, -0.5, 2.0, 0.3], y=[0.0, 1.0, -1.0, 0.5]),
}
IDS = list(OBJECTIVES)


def points(obj, shape, seed=0):
    """Random points of shape ``(*shape, d)`` inside the objective's window (or a box)."""
    rng = np.random.default_rng(seed)
    d = obj.dim
    win = obj.window
    if win is None:
        lo, hi = np.full(d, -2.0), np.full(d, 2.0)
    elif d == 1:
        lo, hi = np.array([win[0]]), np.array([win[1]])
    elif d == 2:
        lo, hi = np.array([win[0][0], win[1][0]]), np.array([win[0][1], win[1][1]])
    else:
        lo, hi = np.full(d, -2.0), np.full(d, 2.0)
    return lo + (hi - lo) * rng.random((*shape, d))


@pytest.mark.parametrize("name", IDS)
def test_grad_matches_autograd_batched(f64, name):
    torch = f64
    obj = OBJECTIVES[name]
    x = points(obj, (3, 4))
    xt = torch.tensor(x, requires_grad=True)
    ft = obj.f(xt)
    assert isinstance(ft, torch.Tensor) and ft.shape == (3, 4)
    ft.sum().backward()
    g = obj.grad(x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(obj.f(x), ft.detach().numpy(), rtol=1e-12, atol=1e-12)
    # the torch path of grad gives the same numbers
    np.testing.assert_allclose(obj.grad(torch.tensor(x)).numpy(), g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", IDS)
def test_hessian_matches_autograd(f64, name):
    torch = f64
    obj = OBJECTIVES[name]
    x = points(obj, (2, 3), seed=1)
    H = obj.hessian(x)
    assert H.shape == x.shape + (obj.dim,)
    np.testing.assert_allclose(H, np.swapaxes(H, -1, -2), atol=1e-12)
    for idx in np.ndindex(x.shape[:-1]):
        expected = torch.autograd.functional.hessian(lambda v: obj.f(v), torch.tensor(x[idx]))
        np.testing.assert_allclose(H[idx], expected.numpy(), rtol=1e-9, atol=1e-9)
    Ht = obj.hessian(torch.tensor(x))
    np.testing.assert_allclose(Ht.numpy(), H, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", IDS)
def test_finite_differences(name):
    obj = OBJECTIVES[name]
    x = points(obj, (5,), seed=2)
    h = 1e-6
    g, H = obj.grad(x), obj.hessian(x)
    for i in range(obj.dim):
        e = np.zeros(obj.dim)
        e[i] = h
        fd_g = (obj.f(x + e) - obj.f(x - e)) / (2 * h)
        fd_H = (obj.grad(x + e) - obj.grad(x - e)) / (2 * h)
        scale_g = 1 + np.abs(g[..., i])
        np.testing.assert_array_less(np.abs(fd_g - g[..., i]), 1e-5 * scale_g * (1 + np.abs(obj.f(x))))
        np.testing.assert_allclose(fd_H, H[..., i], rtol=1e-5, atol=1e-5 * (1 + np.abs(H).max()))


@pytest.mark.parametrize("name", IDS)
def test_shapes(name):
    obj = OBJECTIVES[name]
    single = points(obj, ())
    assert np.shape(obj.f(single)) == () and obj.grad(single).shape == (obj.dim,)
    assert obj.hessian(single).shape == (obj.dim, obj.dim)
    batch = points(obj, (2, 1, 3))
    assert obj.f(batch).shape == (2, 1, 3) and obj(batch).shape == (2, 1, 3)
    # each entry of a batch is the objective at that point alone
    for idx in np.ndindex(batch.shape[:-1]):
        assert obj.f(batch)[idx] == pytest.approx(obj.f(batch[idx]), rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(obj.grad(batch)[idx], obj.grad(batch[idx]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", [n for n in IDS if OBJECTIVES[n].minimum is not None])
def test_minimum_is_stationary(name):
    obj = OBJECTIVES[name]
    m = np.asarray(obj.minimum, dtype=float)
    scale = 1 + np.abs(obj.hessian(m)).max() * (1 + np.abs(m).max())
    np.testing.assert_allclose(obj.grad(m), 0.0, atol=1e-9 * scale)
    if obj.f_min is not None:
        assert obj.f(m) == pytest.approx(obj.f_min, abs=1e-12)
    # a minimum, not a saddle: the Hessian there is positive definite
    assert np.all(np.linalg.eigvalsh(obj.hessian(m)) > 0)
    # and nearby points are higher
    rng = np.random.default_rng(0)
    near = m + 1e-3 * rng.standard_normal((20, obj.dim))
    assert np.all(obj.f(near) >= obj.f(m) - 1e-15)


def test_himmelblau_all_four_minima():
    for m in F.himmelblau.minima:
        assert F.himmelblau.f(m) == pytest.approx(0.0, abs=1e-9)
        np.testing.assert_allclose(F.himmelblau.grad(m), 0.0, atol=1e-4)  # minima given to 6 decimals


def test_two_minima_stationary_points():
    f = F.two_minima
    for x in (f.local_minimum, f.hump, f.minimum[0]):
        assert f.grad(np.array([x]))[0] == pytest.approx(0.0, abs=1e-12)
    assert f.hessian(np.array([f.local_minimum]))[0, 0] > 0 > f.hessian(np.array([f.hump]))[0, 0]
    assert f.f(np.array([f.local_minimum])) > f.f_min


def test_saddle_is_stationary_but_not_a_minimum():
    assert np.all(F.saddle.grad(np.zeros(2)) == 0)
    np.testing.assert_allclose(np.linalg.eigvalsh(F.saddle.hessian(np.zeros(2))), [-1.0, 1.0], atol=1e-15)


def test_quadratic_from_condition():
    q = F.quadratic(condition=25.0, angle=0.3, scale=2.0)
    np.testing.assert_allclose(q.eigenvalues, [2.0, 50.0], rtol=1e-12)
    assert q.condition == pytest.approx(25.0)
    np.testing.assert_allclose(q.minimum, 0.0, atol=1e-15)


def test_least_squares_minimum_is_normal_equations():
    obj = OBJECTIVES["least_squares"]
    X, y = obj.X, obj.y
    np.testing.assert_allclose(obj.minimum, np.linalg.solve(X.T @ X, X.T @ y), rtol=1e-10)


def test_sample_grad_unbiased():
    obj = F.synthetic_regression(n=100, d=3, seed=5)
    w = np.array([0.3, -1.0, 2.0])
    draws = 20_000
    g = obj.sample_grad(np.broadcast_to(w, (draws, 3)), np.random.default_rng(11), 10)
    assert g.shape == (draws, 3)
    mean, sem = g.mean(0), g.std(0) / np.sqrt(draws)
    np.testing.assert_array_less(np.abs(mean - obj.grad(w)), 5 * sem)
    assert np.all(g.std(0) > 0.01)  # it is noisy: each row is one minibatch
    # the full batch is the exact gradient
    np.testing.assert_allclose(obj.sample_grad(w, np.random.default_rng(0), obj.n), obj.grad(w), rtol=1e-12)


def test_sample_grad_deterministic_for_a_seed():
    obj = F.synthetic_regression(n=100, d=2, seed=5)
    w = np.zeros((4, 2))
    a = obj.sample_grad(w, np.random.default_rng(3), 8)
    b = obj.sample_grad(w, np.random.default_rng(3), 8)
    c = obj.sample_grad(w, np.random.default_rng(4), 8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # each run of the batch draws its own rows
    assert not np.array_equal(a[0], a[1])


def test_diabetes_loads_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    obj = F.diabetes()
    assert (obj.n, obj.dim) == (442, 11)
    np.testing.assert_allclose(obj.X[:, :10].mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(obj.X[:, :10].std(0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(obj.grad(obj.minimum), 0.0, atol=1e-10)
    assert 0 < obj.f_min < obj.f(np.zeros(11))

r"""Objectives for the book's experiments.

Each objective has ``f(x)``, ``grad(x)`` and ``hessian(x)``, vectorized over leading axes:
``x`` has shape ``(..., d)``, ``f`` returns ``(...)``, ``grad`` ``(..., d)`` and ``hessian``
``(..., d, d)``.  They are written with operators and the array namespace of ``x``, so
they run on NumPy arrays and on torch tensors (the tests check every gradient and
Hessian against torch autograd).  ``minimum`` is a known minimiser (or None), ``f_min``
its value, and ``window`` the region the book plots: ``(lo, hi)`` in 1-D,
``((x_lo, x_hi), (y_lo, y_hi))`` in 2-D.

The objectives of the book's live panels describe themselves: ``obj.describe()`` is a JSON
dict ``{"objective": name, "args": {...}}`` (the constructor's arguments, never a computed
matrix) that :func:`from_description` turns back into an equal objective and the JavaScript
twin (``js/descent/functions.js``) evaluates in the page.  Their arithmetic uses only
``+ - * /`` (no ``**`` with an exponent other than 2), so the twin can repeat it bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from .rules.base import is_torch, namespace


class Objective:
    """Base class: subclasses define ``_f``, ``_grad`` and ``_hessian`` on ``(..., d)``."""

    name = "objective"
    dim = 2
    minimum = None
    f_min = None
    window = ((-2.0, 2.0), (-2.0, 2.0))

    def _check(self, x):
        shape = getattr(x, "shape", None)
        if shape is None:
            x = np.asarray(x, dtype=float)
            shape = x.shape
        if len(shape) == 0 or shape[-1] != self.dim:
            raise ValueError(f"Invalid x: shape {tuple(shape)} (the last axis must have length {self.dim} for {self.name})")
        return x

    def f(self, x):
        return self._f(self._check(x))

    def grad(self, x):
        return self._grad(self._check(x))

    def hessian(self, x):
        return self._hessian(self._check(x))

    __call__ = f

    def describe(self) -> dict:
        """``{"objective": name, "args": {...}}``, JSON-ready: what the JS twin needs to build this
        objective (see :func:`from_description`).  Only the objectives with a twin have one."""
        description = getattr(self, "_description", None)
        if description is None:
            raise ValueError(f"Invalid objective: {self!r} (it has no JSON description; objectives with one: "
                             f"{sorted(DESCRIBED)})")
        return {"objective": description[0], "args": dict(description[1])}

    def __repr__(self) -> str:
        return self.name


def _stack(parts, axis=-1):
    return namespace(*parts).stack(parts, axis=axis)


def _matrix(rows):
    return _stack([_stack(list(r), axis=-1) for r in rows], axis=-2)


def _full(like, value):
    return like * 0.0 + value


def _bisect(fn, lo: float, hi: float) -> float:
    """A root of ``fn`` in ``[lo, hi]`` (signs differ at the ends), to the last bit."""
    flo = fn(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        fm = fn(mid)
        if (fm < 0) == (flo < 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return lo if abs(fn(lo)) <= abs(fn(hi)) else hi


def _ipow(v, n: int):
    """``v ** n`` for a small non-negative integer ``n``, as repeated products: NumPy's ``**``
    goes through a SIMD ``pow`` kernel whose last bit depends on the CPU (only ``** 2`` is an
    exact square), and products are the same everywhere (and in JavaScript)."""
    out = v * 0 + 1 if n == 0 else v
    for _ in range(n - 1):
        out = out * v
    return out


def _matvec(x, A):
    """``x @ A`` over the leading axes of ``x``, summed column by column in a fixed order.

    BLAS would be faster for large ``d``, but its kernels (FMA or not, the OpenBLAS core
    type) change the last bits from one CPU to the next; the book's quadratics are small,
    and this sum is the same on every machine (and easy to mirror in JavaScript)."""
    out = x[..., 0:1] * A[0]
    for j in range(1, A.shape[0]):
        out = out + x[..., j:j + 1] * A[j]
    return out


class Quadratic(Objective):
    r""":math:`f(x) = \tfrac12 x^\top A x - b^\top x` with symmetric ``A`` (d×d)."""

    def __init__(self, A, b=None, name=None, window=None):
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"Invalid A: shape {A.shape} (A must be a square matrix)")
        if not np.all(np.isfinite(A)) or not np.allclose(A, A.T):
            raise ValueError(f"Invalid A: {A.tolist()} (A must be finite and symmetric)")
        given_window = window  # the description keeps the argument, not the computed default
        self.A = A
        self.dim = A.shape[0]
        self.b = np.zeros(self.dim) if b is None else np.asarray(b, dtype=float)
        if self.b.shape != (self.dim,):
            raise ValueError(f"Invalid b: shape {self.b.shape} (expected ({self.dim},))")
        self.eigenvalues = np.linalg.eigvalsh(A)
        if np.all(self.eigenvalues > 0):
            self.minimum = np.linalg.solve(A, self.b)
            self.f_min = float(-0.5 * self.b @ self.minimum)
        lam_min, lam_max = self.eigenvalues[0], self.eigenvalues[-1]
        self.condition = float(lam_max / lam_min) if lam_min > 0 else np.inf
        self.name = name or f"quadratic(κ={self.condition:g})"
        if window is None and self.dim == 2:
            c = self.minimum if self.minimum is not None else np.zeros(2)
            window = ((c[0] - 2.0, c[0] + 2.0), (c[1] - 2.0, c[1] + 2.0))
        self.window = window
        self._description = ("quadratic", _drop_none(A=self.A.tolist(), b=None if b is None else self.b.tolist(),
                                                      name=name, window=_listed(given_window)))

    def _consts(self, x):
        if is_torch(x):
            import torch

            return (torch.as_tensor(self.A, dtype=x.dtype, device=x.device),
                    torch.as_tensor(self.b, dtype=x.dtype, device=x.device))
        return self.A, self.b

    def _f(self, x):
        A, b = self._consts(x)
        return 0.5 * (_matvec(x, A) * x).sum(-1) - (x * b).sum(-1)

    def _grad(self, x):
        A, b = self._consts(x)
        return _matvec(x, A) - b

    def _hessian(self, x):
        A, _ = self._consts(x)
        return x[..., None] * 0.0 + A


def quadratic(A=None, b=None, *, condition=None, angle=0.0, scale=1.0, name=None, window=None) -> Quadratic:
    r"""A quadratic :math:`\tfrac12 x^\top A x - b^\top x`: either the matrix ``A``, or, in 2-D, the
    eigenvalues ``scale`` and ``scale*condition`` with the eigenvectors turned by ``angle``
    radians (a ravine of condition number κ)."""
    if A is None:
        if condition is None:
            raise ValueError("Invalid arguments: give A or condition")
        kappa = float(condition)
        if not np.isfinite(kappa) or kappa < 1:
            raise ValueError(f"Invalid condition: {condition!r} (condition must be a finite number >= 1)")
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"Invalid scale: {scale!r} (scale must be positive)")
        # R diag(l1, l2) R^T with R the rotation by `angle`, written out in Python floats
        # (math.cos/sin and no BLAS), so A has the same bits on every machine; the JS twin
        # (js/descent/functions.js) repeats these operations in this order
        c, s = math.cos(float(angle)), math.sin(float(angle))
        l1, l2 = float(scale), float(scale) * kappa
        off = (l1 - l2) * c * s
        A = np.array([[l1 * c * c + l2 * s * s, off], [off, l1 * s * s + l2 * c * c]])
        obj = Quadratic(A, b, name=name, window=window)
        # described by its arguments, which print the same everywhere (its cos may not)
        obj._description = ("quadratic", _drop_none(condition=condition, angle=angle, scale=scale,
                                                     b=None if b is None else obj.b.tolist(), name=name,
                                                     window=_listed(window)))
        return obj
    return Quadratic(A, b, name=name, window=window)


class Parabola(Objective):
    r"""1-D :math:`f(x) = a x^2` (x has shape ``(..., 1)``): gradient descent with rate η
    multiplies x by :math:`1 - 2a\eta` each step."""

    dim = 1
    f_min = 0.0

    def __init__(self, a=1.0, window=(-10.0, 10.0)):
        if not np.isfinite(a) or a <= 0:
            raise ValueError(f"Invalid a: {a!r} (a must be positive)")
        self.a = float(a)
        self.name = "x²" if self.a == 1 else f"{self.a:g}x²"
        self.minimum = np.zeros(1)
        self.window = window
        self._description = ("parabola", {"a": self.a, "window": _listed(window)})

    def _f(self, x):
        return self.a * x[..., 0] ** 2

    def _grad(self, x):
        return 2 * self.a * x

    def _hessian(self, x):
        return _full(x[..., None], 2 * self.a)


def parabola(a=1.0, window=(-10.0, 10.0)) -> Parabola:
    return Parabola(a, window)


class LogBowl(Objective):
    r"""1-D :math:`f(x) = \ln(x^2 + c)`, c = 0.01: a minimum at 0 whose gradient
    :math:`2x/(x^2+c)` vanishes far away (deck 001)."""

    dim = 1
    name = "ln(x² + 0.01)"
    window = (-10.0, 14.0)

    def __init__(self, c=0.01):
        if not np.isfinite(c) or c <= 0:
            raise ValueError(f"Invalid c: {c!r} (c must be positive)")
        self.c = float(c)
        self.minimum = np.zeros(1)
        self.f_min = float(np.log(self.c))
        self._description = ("log_bowl", {"c": self.c})

    def _f(self, x):
        return namespace(x).log(x[..., 0] ** 2 + self.c)

    def _grad(self, x):
        return 2 * x / (x * x + self.c)

    def _hessian(self, x):
        return (2 * (self.c - x * x) / (x * x + self.c) ** 2)[..., None]


class TwoMinima(Objective):
    r"""1-D :math:`f(x) = 0.05x^4 - 0.5x^2 - 0.3x`: a shallow local minimum near x = −2.07
    and the global one near x = 2.37, with a hump between them near x = −0.30.
    Plain gradient descent from x₀ = −3.2 settles in the local one; momentum can roll past.

    The powers are written as products (``x * x * x``, not ``x ** 3``): NumPy's ``**`` with an
    exponent other than 2 calls ``pow``, whose last bit depends on the CPU's SIMD kernels, and
    gradient descent on this double well with a large η is a chaotic cubic map that would
    amplify that bit; products are exact IEEE operations, the same on every machine and in
    the JS twin."""

    dim = 1
    name = "two minima"
    window = (-4.0, 4.0)
    _description = ("two_minima", {})

    def __init__(self):
        # the three roots of f'(x) = 0.2x^3 - x - 0.3, by bisection in Python floats (the same
        # bits on every machine, unlike an eigenvalue solver)
        self.local_minimum, self.hump, glob = (_bisect(lambda x: 0.2 * x * x * x - x - 0.3, lo, hi)
                                               for lo, hi in ((-3.0, -1.0), (-1.0, 0.5), (2.0, 3.0)))
        self.minimum = np.array([glob])
        self.f_min = float(self._f(self.minimum))

    def _f(self, x):
        x = x[..., 0]
        x2 = x * x
        return 0.05 * (x2 * x2) - 0.5 * x2 - 0.3 * x

    def _grad(self, x):
        return 0.2 * (x * x * x) - x - 0.3

    def _hessian(self, x):
        return (0.6 * (x * x) - 1.0)[..., None]


class Rosenbrock(Objective):
    r""":math:`f(x, y) = (a - x)^2 + b(y - x^2)^2`, minimum at :math:`(a, a^2)`: a curved valley."""

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self._description = ("rosenbrock", {"a": self.a, "b": self.b})
        self.name = "Rosenbrock"
        self.minimum = np.array([self.a, self.a ** 2])
        self.f_min = 0.0
        self.window = ((-2.0, 2.0), (-1.0, 3.0))

    def _f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (self.a - u) ** 2 + self.b * (v - u * u) ** 2

    def _grad(self, x):
        u, v = x[..., 0], x[..., 1]
        r = v - u * u
        return _stack([-2 * (self.a - u) - 4 * self.b * u * r, 2 * self.b * r])

    def _hessian(self, x):
        u, v = x[..., 0], x[..., 1]
        return _matrix([[2 - 4 * self.b * (v - u * u) + 8 * self.b * u * u, -4 * self.b * u],
                        [-4 * self.b * u, _full(u, 2 * self.b)]])


class Beale(Objective):
    r"""Beale: :math:`\sum_i (c_i - x + x y^i)^2` with c = (1.5, 2.25, 2.625); minimum (3, 0.5)."""

    name = "Beale"
    minimum = np.array([3.0, 0.5])
    f_min = 0.0
    window = ((-4.5, 4.5), (-4.5, 4.5))
    _c = (1.5, 2.25, 2.625)

    def _terms(self, x):
        u, v = x[..., 0], x[..., 1]
        return u, v, [(c - u + u * _ipow(v, i), i) for i, c in enumerate(self._c, start=1)]

    def _f(self, x):
        _, _, terms = self._terms(x)
        return sum(r * r for r, _ in terms)

    def _grad(self, x):
        u, v, terms = self._terms(x)
        gu = sum(2 * r * (_ipow(v, i) - 1) for r, i in terms)
        gv = sum(2 * r * i * u * _ipow(v, i - 1) for r, i in terms)
        return _stack([gu, gv])

    def _hessian(self, x):
        u, v, terms = self._terms(x)
        huu = sum(2 * (_ipow(v, i) - 1) ** 2 for _, i in terms)
        hvv = sum(2 * (i * u * _ipow(v, i - 1)) ** 2 + 2 * r * i * (i - 1) * u * _ipow(v, max(i - 2, 0))
                  for r, i in terms)
        huv = sum(2 * i * u * _ipow(v, i - 1) * (_ipow(v, i) - 1) + 2 * r * i * _ipow(v, i - 1) for r, i in terms)
        return _matrix([[huu, huv], [huv, hvv]])


class Himmelblau(Objective):
    r"""Himmelblau: :math:`(x^2 + y - 11)^2 + (x + y^2 - 7)^2`, four minima of value 0."""

    name = "Himmelblau"
    minimum = np.array([3.0, 2.0])
    minima = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])
    f_min = 0.0
    window = ((-5.0, 5.0), (-5.0, 5.0))

    def _f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (u * u + v - 11) ** 2 + (u + v * v - 7) ** 2

    def _grad(self, x):
        u, v = x[..., 0], x[..., 1]
        p, q = u * u + v - 11, u + v * v - 7
        return _stack([4 * u * p + 2 * q, 2 * p + 4 * v * q])

    def _hessian(self, x):
        u, v = x[..., 0], x[..., 1]
        return _matrix([[12 * u * u + 4 * v - 42, 4 * u + 4 * v], [4 * u + 4 * v, 4 * u + 12 * v * v - 26]])


class Saddle(Objective):
    r"""A saddle :math:`f(x, y) = \tfrac12(x^2 - y^2)`: stationary but not a minimum at the
    origin.  Newton's method jumps straight to it; gradient descent slides off along y."""

    name = "saddle"
    f_min = None
    window = ((-2.0, 2.0), (-2.0, 2.0))

    def _f(self, x):
        return 0.5 * (x[..., 0] ** 2 - x[..., 1] ** 2)

    def _grad(self, x):
        return _stack([x[..., 0], -x[..., 1]])

    def _hessian(self, x):
        one = _full(x[..., 0], 1.0)
        return _matrix([[one, one * 0.0], [one * 0.0, -one]])


class LeastSquares(Objective):
    r"""Linear least squares :math:`f(w) = \frac{1}{2n}\|Xw - y\|^2` with minibatch gradients.

    ``sample_grad(w, rng, batch_size)`` draws ``batch_size`` rows without replacement (one
    draw per run of a batch) and returns the gradient of the same loss on them: an
    unbiased estimate of ``grad(w)``.
    """

    def __init__(self, X, y, name="least squares"):
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"Invalid X, y: shapes {X.shape}, {y.shape} (need (n, d) and (n,))")
        self.X, self.y, self.name = X, y, name
        self.n, self.dim = X.shape
        self.minimum = np.linalg.lstsq(X, y, rcond=None)[0]
        self.f_min = float(self._f(self.minimum))
        self.window = None

    def _consts(self, w):
        if is_torch(w):
            import torch

            return (torch.as_tensor(self.X, dtype=w.dtype, device=w.device),
                    torch.as_tensor(self.y, dtype=w.dtype, device=w.device))
        return self.X, self.y

    def _f(self, w):
        X, y = self._consts(w)
        r = w @ X.T - y
        return 0.5 * (r * r).mean(-1)

    def _grad(self, w):
        X, y = self._consts(w)
        return (w @ X.T - y) @ X / self.n

    def _hessian(self, w):
        X, _ = self._consts(w)
        return w[..., None] * 0.0 + X.T @ X / self.n

    def sample_grad(self, w, rng, batch_size):
        """Minibatch gradient at ``w`` (shape ``(..., d)``) from ``batch_size`` random rows."""
        w = np.asarray(self._check(w))
        if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= self.n:
            raise ValueError(f"Invalid batch_size: {batch_size!r} (must be an integer in 1..{self.n})")
        batch = w.shape[:-1]
        count = int(np.prod(batch))
        idx = np.argsort(rng.random((count, self.n)), axis=1)[:, :batch_size] if batch_size < self.n \
            else np.broadcast_to(np.arange(self.n), (count, self.n))
        Xb, yb = self.X[idx], self.y[idx]  # (count, m, d), (count, m)
        wf = w.reshape(count, self.dim)
        r = np.einsum("kmd,kd->km", Xb, wf) - yb
        return (np.einsum("km,kmd->kd", r, Xb) / batch_size).reshape(w.shape)


def diabetes(standardize=True) -> LeastSquares:
    """Least squares on scikit-learn's diabetes data (442 patients × 10 features, shipped
    inside the package; nothing is downloaded), with an intercept column: d = 11."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    if standardize:
        X = (X - X.mean(0)) / X.std(0)
        y = (y - y.mean()) / y.std()
    X = np.hstack([X, np.ones((X.shape[0], 1))])
    return LeastSquares(X, y, name="diabetes least squares")


def synthetic_regression(n=1024, d=2, noise=0.5, seed=0) -> LeastSquares:
    """Least squares on a generated problem y = X w* + noise, fixed seed: d = 2 to plot."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = np.arange(1, d + 1, dtype=float)
    y = X @ w_true + noise * rng.standard_normal(n)
    obj = LeastSquares(X, y, name="synthetic least squares")
    c = obj.minimum
    obj.window = ((c[0] - 3, c[0] + 3), (c[1] - 3, c[1] + 3)) if d == 2 else None
    return obj


class TwoLayerReLU(Objective):
    r"""Deck 003's network: :math:`\hat y = w_2 \max(0, w_1 x)`, loss :math:`(\hat y - y)^2`
    averaged over the data, as a function of :math:`(w_1, w_2)`.

    With the single sample x = 1, y = 0 at (w₁, w₂) = (1/3, 2):
    :math:`\partial L/\partial w_1 = 8/3`, :math:`\partial L/\partial w_2 = 4/9`.
    """

    name = "two-layer ReLU"
    window = ((-2.0, 2.0), (-2.0, 2.0))

    def __init__(self, x=(1.0,), y=(0.0,)):
        self.xs, self.ys = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
        if self.xs.shape != self.ys.shape or self.xs.ndim != 1:
            raise ValueError(f"Invalid x, y: shapes {self.xs.shape}, {self.ys.shape} (need equal 1-D shapes)")
        self.f_min = None

    def _parts(self, w):
        xp = namespace(w)
        xs = xp.asarray(self.xs, dtype=w.dtype) if hasattr(w, "dtype") else self.xs
        ys = xp.asarray(self.ys, dtype=w.dtype) if hasattr(w, "dtype") else self.ys
        w1, w2 = w[..., 0:1], w[..., 1:2]  # (..., 1) against data (n,)
        pre = w1 * xs
        active = pre > 0
        h = xp.where(active, pre, pre * 0.0)
        r = w2 * h - ys
        return xp, xs, ys, w1, w2, active, h, r

    def _f(self, w):
        _, _, _, _, _, _, _, r = self._parts(w)
        return (r * r).mean(-1)

    def _grad(self, w):
        xp, xs, _, _, w2, active, h, r = self._parts(w)
        g1 = xp.where(active, 2 * r * w2 * xs, r * 0.0).mean(-1)
        g2 = (2 * r * h).mean(-1)
        return _stack([g1, g2])

    def _hessian(self, w):
        xp, xs, ys, w1, w2, active, h, r = self._parts(w)
        zero = r * 0.0
        h11 = xp.where(active, 2 * w2 * w2 * xs * xs, zero).mean(-1)
        h22 = (2 * h * h).mean(-1)
        h12 = xp.where(active, 2 * xs * (2 * w2 * h - ys), zero).mean(-1)
        return _matrix([[h11, h12], [h12, h22]])


def rosenbrock(a=1.0, b=100.0) -> Rosenbrock:
    return Rosenbrock(a, b)


def _drop_none(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


def _listed(window):
    """A plotting window as (nested) lists of floats, for JSON; None stays None."""
    if window is None:
        return None
    if np.ndim(window) == 1:
        return [float(v) for v in window]
    return [[float(v) for v in w] for w in window]


#: The objectives that describe themselves (``describe()``), by the name in their description.
DESCRIBED = {"quadratic": quadratic, "parabola": parabola, "log_bowl": LogBowl, "two_minima": TwoMinima,
             "rosenbrock": rosenbrock}


def from_description(description: dict) -> Objective:
    """The objective of ``describe()``'s output: ``from_description(obj.describe())`` equals ``obj``."""
    try:
        name, args = description["objective"], description.get("args", {})
        make = DESCRIBED[name]
    except (KeyError, TypeError):
        raise ValueError(f"Invalid description: {description!r} (expected {{'objective': one of {sorted(DESCRIBED)}, "
                         f"'args': {{...}}}})") from None
    return make(**args)


#: The instances the chapters use, by name.
log_bowl = LogBowl()
two_minima = TwoMinima()
beale = Beale()
himmelblau = Himmelblau()
saddle = Saddle()
sum_of_squares = Quadratic(2 * np.eye(2), name="x² + y²", window=((-10.0, 10.0), (-10.0, 10.0)))

__all__ = [
    "Objective", "Quadratic", "quadratic", "Parabola", "parabola", "LogBowl", "log_bowl", "TwoMinima",
    "two_minima", "Rosenbrock", "rosenbrock", "Beale", "beale", "Himmelblau", "himmelblau", "Saddle",
    "saddle", "sum_of_squares", "LeastSquares", "diabetes", "synthetic_regression", "TwoLayerReLU",
    "DESCRIBED", "from_description",
]

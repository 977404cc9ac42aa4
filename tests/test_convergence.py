"""Every rule of descent.rules converges: to the minimum of a well-conditioned quadratic,
and close to the minimum of Rosenbrock's valley, with settings a reader would pick."""

from __future__ import annotations

import descent
import descent.rules
import numpy as np
import pytest
from descent import functions as F
from descent import schedules as S

QUAD = F.Quadratic([[2.5, 0.8], [0.8, 1.5]], b=[1.0, -0.5])  # eigenvalues 1.06 and 2.94
ROSEN = F.rosenbrock()

FACTORIES = sorted(set(descent.rules.__all__) - {"Optimizer", "TORCH_TWINS", "SparseGrad"})


def quad_rules(steps):
    # AdaDelta's rate tends to lr * sqrt(eps)/sqrt(eps) = lr as the gradients vanish, so near the
    # minimum it needs lr < 2/lambda_max = 0.68; with lr = 1 it converges, then rounding noise in
    # the gradient sets off the unstable direction (a kick like RMSProp's in Chapter 04), and only
    # a machine whose arithmetic hits an exact-zero gradient stays put.
    cos = lambda lr: S.cosine_annealing_lr(lr, steps)
    return {
        "sgd": descent.sgd(lr=0.1, momentum=0.5), "adagrad": descent.adagrad(lr=0.5),
        "rmsprop": descent.rmsprop(lr=cos(0.03)), "adadelta": descent.adadelta(lr=0.5, rho=0.99),
        "adam": descent.adam(lr=cos(0.05)), "adamw": descent.adamw(lr=cos(0.05), weight_decay=0.0),
        "nadam": descent.nadam(lr=cos(0.05)), "radam": descent.radam(lr=cos(0.05), betas=(0.9, 0.99)),
        "gd": descent.gd(lr=0.1), "momentum": descent.momentum(lr=0.05, beta=0.8),
        "ema_momentum": descent.ema_momentum(lr=0.25, rho=0.8), "heavy_ball": descent.heavy_ball(lr=0.05, beta=0.8),
        "nesterov": descent.nesterov(QUAD, lr=0.05, beta=0.8), "sgd_history": descent.sgd_history(lr=0.1, tau=0.02),
        "adagrad_lecture": descent.adagrad_lecture(lr=0.5), "rmsprop_lecture": descent.rmsprop_lecture(lr=cos(0.03)),
        "adam_lecture": descent.adam_lecture(lr=cos(0.05)), "newton": descent.newton(QUAD),
        "line_search": descent.line_search(QUAD, method="exact"),
        "rprop": descent.rprop(lr=0.1, step_sizes=(1e-12, 1.0)), "adamax": descent.adamax(lr=cos(0.1)),
        "asgd": descent.asgd(lr=0.1, lambd=0.0, t0=100), "adafactor": descent.adafactor(lr=cos(0.1)),
        "muon": descent.muon(lr=cos(0.1), momentum=0.5, weight_decay=0.0),
        # torch's tolerance_change 1e-9 stops every step once g'p > -1e-9, at |x - x*| ~ 3e-5 here
        "lbfgs": descent.lbfgs(QUAD, tolerance_change=1e-15), "sparse_adam": descent.sparse_adam(lr=cos(0.05)),
    }


def rosen_rules(steps):
    cos = lambda lr: S.cosine_annealing_lr(lr, steps)
    return {
        "sgd": descent.sgd(lr=2e-3, momentum=0.9), "adagrad": descent.adagrad(lr=1.0),
        "rmsprop": descent.rmsprop(lr=cos(3e-3)), "adadelta": descent.adadelta(lr=cos(0.2)),
        "adam": descent.adam(lr=0.03), "adamw": descent.adamw(lr=0.03, weight_decay=1e-4),
        "nadam": descent.nadam(lr=0.01),
        # RAdam's first steps are plain momentum steps: a small rate, and beta2 = 0.99 to adapt sooner
        "radam": descent.radam(lr=3e-3, betas=(0.9, 0.99)),
        "gd": descent.gd(lr=2e-3), "momentum": descent.momentum(lr=2e-3, beta=0.9),
        "ema_momentum": descent.ema_momentum(lr=0.02, rho=0.9), "heavy_ball": descent.heavy_ball(lr=2e-3, beta=0.9),
        "nesterov": descent.nesterov(ROSEN, lr=1e-3, beta=0.9),
        "sgd_history": descent.sgd_history(lr=2e-3, tau=5e-4), "adagrad_lecture": descent.adagrad_lecture(lr=1.0),
        "rmsprop_lecture": descent.rmsprop_lecture(lr=cos(3e-3)), "adam_lecture": descent.adam_lecture(lr=0.03),
        "newton": descent.newton(ROSEN), "line_search": descent.line_search(ROSEN, method="armijo"),
        "rprop": descent.rprop(lr=1e-3), "adamax": descent.adamax(lr=0.02),
        # lambd = 0: torch's lambd also pulls x towards 0 (an L2 term), away from (1, 1)
        "asgd": descent.asgd(lr=2e-3, lambd=0.0), "adafactor": descent.adafactor(lr=cos(0.02)),
        # on a 1 x 2 matrix Newton-Schulz normalises the step: normalised momentum descent
        "muon": descent.muon(lr=cos(0.02), weight_decay=0.0),
        "lbfgs": descent.lbfgs(ROSEN, line_search_fn="strong_wolfe"), "sparse_adam": descent.sparse_adam(lr=0.03),
    }


def test_every_rule_is_covered():
    assert set(quad_rules(1)) == set(FACTORIES) == set(rosen_rules(1))


def runs(opt, objective, starts, steps):
    """The runs from ``starts`` (shape (n, 2)): one batch, or one by one for a rule whose
    update couples the entries of x (``opt.elementwise`` False); Muon's x is a matrix, the
    1 x 2 one.  Returns the last points (n, 2), diverged flags, final and first losses."""
    if opt.elementwise:
        tr = descent.run(opt, objective, starts, steps)
        return tr.last, tr.diverged, tr.final_loss, tr.losses[0]
    shape = (1, 2) if opt.name == "muon" else (2,)
    trs = [descent.run(opt, objective, x0.reshape(shape), steps) for x0 in starts]
    return (np.array([t.last.reshape(2) for t in trs]), np.array([np.any(t.diverged) for t in trs]),
            np.array([float(np.squeeze(t.final_loss)) for t in trs]), np.array([float(np.squeeze(t.losses[0])) for t in trs]))


@pytest.mark.parametrize("name", FACTORIES)
def test_converges_on_well_conditioned_quadratic(name):
    steps = 3000 if name == "adadelta" else 1000
    opt = quad_rules(steps)[name]
    starts = np.array([[3.0, -2.0], [-2.0, 2.5], [0.5, 0.5]])
    last, diverged, final_loss, _ = runs(opt, QUAD, starts, steps)
    dist = np.linalg.norm(last - QUAD.minimum, axis=-1)
    assert not diverged.any()
    assert np.all(dist < 1e-6), f"{name}: distances {dist}"
    assert np.all(final_loss - QUAD.f_min < 1e-10)


@pytest.mark.parametrize("name", FACTORIES)
def test_reaches_rosenbrock_minimum(name):
    steps = {"newton": 50, "line_search": 3000, "lbfgs": 20}.get(name, 5000)
    opt = rosen_rules(steps)[name]
    last, diverged, final_loss, first_loss = runs(opt, ROSEN, np.array([[-1.2, 1.0]]), steps)
    dist = float(np.linalg.norm(last[0] - ROSEN.minimum))
    print(f"{name}: |x - (1, 1)| = {dist:.1e} after {steps} steps")
    assert not diverged.any()
    assert dist < 0.05, f"{name}: {dist}"
    assert final_loss[0] < 1e-3 * first_loss[0]

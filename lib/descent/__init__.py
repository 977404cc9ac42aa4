"""descent: the optimizers, schedules and test functions of the book *Descent*.

Every rule is a factory returning ``Optimizer(init, update)``; see :mod:`descent.rules`.
The torch.optim twins (:data:`TORCH_TWINS`, one per torch.optim class) match torch 2.13 to
1e-12 in float64, every step, iterate and state.
"""

from . import averages, functions, schedules
from .rules import (
    TORCH_TWINS,
    Optimizer,
    SparseGrad,
    adadelta,
    adafactor,
    adagrad,
    adagrad_lecture,
    adam,
    adam_lecture,
    adamax,
    adamw,
    asgd,
    ema_momentum,
    gd,
    heavy_ball,
    lbfgs,
    line_search,
    momentum,
    muon,
    nadam,
    nesterov,
    newton,
    radam,
    rmsprop,
    rmsprop_lecture,
    rprop,
    sgd,
    sgd_history,
    sparse_adam,
)
from .run import Trajectory, run

__version__ = "0.1.0"

__all__ = [
    "Optimizer", "TORCH_TWINS", "SparseGrad", "Trajectory", "run", "averages", "functions", "schedules",
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam",
    "rprop", "adamax", "asgd", "adafactor", "muon", "lbfgs", "sparse_adam",
    "gd", "momentum", "ema_momentum", "heavy_ball", "nesterov", "sgd_history",
    "adagrad_lecture", "rmsprop_lecture", "adam_lecture", "newton", "line_search",
]

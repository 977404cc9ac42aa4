"""Update rules.  Each factory returns :class:`~descent.rules.base.Optimizer`.

One module per family: :mod:`~descent.rules.sgd` (gradient descent, averaged SGD, momentum,
Muon), :mod:`~descent.rules.adaptive` (per-coordinate rates: Rprop, Adagrad, RMSProp,
AdaDelta), :mod:`~descent.rules.adam` (Adam and its relatives: AdamW, NAdam, RAdam, Adamax,
Adafactor, SparseAdam), :mod:`~descent.rules.second_order` (Newton, line search, L-BFGS).
:mod:`~descent.rules.base` holds the type and the helpers they share.

Conventions, decided once for every rule:

* ``state = opt.init(x)``, ``step, state = opt.update(grad, state, x)``, ``x = x + step``;
  ``grad`` is the gradient at ``x``.
* **Extra inputs: the objective comes first.**  A rule that needs more than the gradient at
  ``x`` (the gradient at another point, the Hessian, the loss) takes the objective as its
  first argument and calls its ``.grad`` / ``.hessian`` / ``.f`` itself:
  ``nesterov(objective, lr, beta)``, ``newton(objective, lr, damping)``,
  ``line_search(objective, …)``, ``lbfgs(objective, lr, max_iter, …)`` (which evaluates it
  where torch's LBFGS calls its closure).  :func:`~descent.rules.base.needs` checks that the
  objective has the methods, with a ValueError naming the argument.
* A torch twin (:data:`TORCH_TWINS`) has torch.optim's argument names, positional order,
  keyword-only arguments, defaults and ValueError texts, and gives torch's iterates and
  state in float64; its state fields carry the math names and
  :func:`~descent.rules.base.torch_state_keys` maps them to torch's keys.
* ``opt.elementwise`` says whether the update may run on a flat buffer of many
  parameters (see :class:`~descent.rules.base.Optimizer`).
* A sparse gradient (SparseAdam's) is a :class:`~descent.rules.adam.SparseGrad`
  ``(values, mask)``: the dense values and the mask of the entries present.
"""

from .adam import SparseGrad, adafactor, adam, adam_lecture, adamax, adamw, nadam, radam, sparse_adam
from .adaptive import adadelta, adagrad, adagrad_lecture, rmsprop, rmsprop_lecture, rprop
from .base import Optimizer
from .second_order import lbfgs, line_search, newton
from .sgd import asgd, ema_momentum, gd, heavy_ball, momentum, muon, nesterov, sgd, sgd_history

#: The rules with a torch.optim twin, by torch class name.
TORCH_TWINS = {
    "SGD": sgd, "Adagrad": adagrad, "RMSprop": rmsprop, "Adadelta": adadelta,
    "Adam": adam, "AdamW": adamw, "NAdam": nadam, "RAdam": radam,
    "Rprop": rprop, "Adamax": adamax, "ASGD": asgd, "Adafactor": adafactor, "Muon": muon,
    "LBFGS": lbfgs, "SparseAdam": sparse_adam,
}

__all__ = [
    "Optimizer", "TORCH_TWINS", "SparseGrad",
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam",
    "rprop", "adamax", "asgd", "adafactor", "muon", "lbfgs", "sparse_adam",
    "gd", "momentum", "ema_momentum", "heavy_ball", "nesterov", "sgd_history",
    "adagrad_lecture", "rmsprop_lecture", "adam_lecture", "newton", "line_search",
]

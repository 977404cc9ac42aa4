"""Update rules.  Each factory returns :class:`~descent.rules.base.Optimizer`."""

from .adam import adam, adam_lecture, adamw, nadam, radam
from .adaptive import adadelta, adagrad, adagrad_lecture, rmsprop, rmsprop_lecture
from .base import Optimizer
from .second_order import line_search, newton
from .sgd import ema_momentum, gd, heavy_ball, momentum, nesterov, sgd, sgd_history

#: The rules with a torch.optim twin, by torch class name.
TORCH_TWINS = {
    "SGD": sgd, "Adagrad": adagrad, "RMSprop": rmsprop, "Adadelta": adadelta,
    "Adam": adam, "AdamW": adamw, "NAdam": nadam, "RAdam": radam,
}

__all__ = [
    "Optimizer", "TORCH_TWINS",
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam",
    "gd", "momentum", "ema_momentum", "heavy_ball", "nesterov", "sgd_history",
    "adagrad_lecture", "rmsprop_lecture", "adam_lecture", "newton", "line_search",
]

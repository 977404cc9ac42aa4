r"""A training run's settings, checked before torch is imported.

:class:`Config` holds exactly the CLI's flags (``--batch-size`` is ``batch_size``).
:func:`check` resolves the names in it (the rule, its hyperparameters, the schedule and
its arguments, the data files, the checkpoint) and raises :class:`ConfigError`, a
``ValueError`` that names the flag, for anything wrong, so that a bad command line ends
in one line and in well under a second.  Nothing here imports torch.

Rules.  ``--optimizer`` is any rule of :mod:`descent.rules` that
:class:`descent.torch.Optimizer` can run: a factory with an ``lr`` that needs nothing but
the gradient (not ``nesterov``, ``newton`` or ``line_search``, which take the objective).
``--impl torch`` runs torch.optim's class of the same rule instead, found through
:data:`descent.TORCH_TWINS`.

Schedules.  ``--schedule`` is a function of :mod:`descent.schedules` (torch-named ones such
as ``cosine_annealing_lr``, or the book's, such as ``warmup_cosine``) or torch's class
name of one (``CosineAnnealingLR``).  Its first argument is ``--lr``; arguments measured in
steps that the command line leaves out are taken from the run (:data:`RUN_DEFAULTS`: the
whole run for ``total_steps`` and ``T_max``, one epoch for ``step_size``, a tenth of the
run for ``warmup_steps``); others come from ``--sched KEY=VALUE``.  The schedule counts
optimizer steps from 0, as every schedule of the book does.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import rules as _rules
from .. import schedules as _schedules
from . import data as _data

MODELS = ("cnn", "mlp")
IMPLS = ("descent", "torch")
DTYPES = ("float32", "float64")
LOADERS = ("auto", "device", "workers")
#: The widths ``--arch`` may set, per model (see descent.train.models).
ARCH = {"cnn": ("channels", "hidden"), "mlp": ("hidden",)}

#: torch's scheduler class names for the torch-named schedules of descent.schedules.
TORCH_SCHEDULES = {
    "StepLR": "step_lr", "MultiStepLR": "multi_step_lr", "ExponentialLR": "exponential_lr",
    "CosineAnnealingLR": "cosine_annealing_lr", "LinearLR": "linear_lr", "OneCycleLR": "one_cycle_lr",
}

#: Schedule arguments the run supplies when ``--sched`` does not: f(total steps, steps per epoch).
RUN_DEFAULTS = {
    "total_steps": lambda total, per_epoch: total,
    "T_max": lambda total, per_epoch: total,
    "step_size": lambda total, per_epoch: per_epoch,
    "every": lambda total, per_epoch: per_epoch,
    "decay_steps": lambda total, per_epoch: per_epoch,
    "warmup_steps": lambda total, per_epoch: max(1, total // 10) if total > 1 else 0,
    "milestones": lambda total, per_epoch: sorted({max(1, total // 2), max(1, (3 * total) // 4)}),
}


class ConfigError(ValueError):
    """A bad setting; ``str()`` names the flag: ``argument --lr: Invalid learning rate: -1.0``."""

    def __init__(self, arg: str, message: str):
        self.arg, self.message = arg, message
        super().__init__(f"argument {arg}: {message}")


@dataclass
class Config:
    """The settings of one run; field names are the CLI's flags without ``--``."""

    model: str = "cnn"
    optimizer: str = "adam"
    lr: float = 1e-3
    opt: dict = field(default_factory=dict)  # the rule's hyperparameters (--opt KEY=VALUE)
    schedule: str = "constant"
    sched: dict = field(default_factory=dict)  # the schedule's arguments (--sched KEY=VALUE)
    epochs: int = 2
    batch_size: int = 128  # the global batch: split over the processes under torchrun
    subset: int = 0  # the first N training images (0: all)
    val: int = 0  # the next N training images form a validation set (0: none)
    test_subset: int = 0  # the first N test images (0: all 10,000)
    device: str = "auto"
    dtype: str = "float32"
    seed: int = 0
    out: str | None = None  # folder for metrics.jsonl, last.pt (and best.pt); None: write nothing
    impl: str = "descent"
    resume: str | None = None
    amp: str | None = None  # "bf16"
    compile: str | None = None  # a torch.compile backend ("inductor" for --compile)
    arch: dict = field(default_factory=dict)  # model widths (--arch channels=4,8 hidden=32)
    dropout: float = 0.0
    max_norm: float | None = None
    patience: int = 0  # early stopping: epochs without a better validation loss (0: off)
    tol: float | None = None  # stop when |theta_t - theta_{t-1}|_2 < tol
    stop_after: int | None = None  # end this process after that epoch, as if interrupted
    data: str | None = None
    loader: str = "auto"
    threads: int | None = None
    progress: bool | None = None  # None: a bar when stderr is a terminal and $CI is unset
    verbose: bool = False  # one line per epoch on stdout

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


#: Settings that must be the same when a run is resumed: they decide the trajectory.
TRAJECTORY = ("model", "optimizer", "lr", "opt", "schedule", "sched", "epochs", "batch_size", "subset", "val",
              "dtype", "seed", "impl", "arch", "dropout", "max_norm", "amp")


# ------------------------------------------------------------------ values

def normal_arch(arch: dict) -> dict:
    """``--arch`` widths as tuples (``hidden=32`` is ``hidden=(32,)``)."""
    return {k: tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in (arch or {}).items()}


def parse_value(text: str):
    """A ``--opt``/``--sched``/``--arch`` value: a Python literal (``0.9``, ``(0.9, 0.99)``,
    ``0.9,0.99``, ``True``), ``true``/``false``/``none``, or else the text itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return list(value) if isinstance(value, list) else value


def parse_pairs(pairs, arg: str) -> dict:
    """``["KEY=VALUE", ...]`` -> ``{KEY: value}``; ConfigError naming ``arg`` otherwise."""
    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(arg, f"expected KEY=VALUE, got {pair!r}")
        out[key] = parse_value(text)
    return out


# ------------------------------------------------------------------ rules

def _params(fn) -> dict:
    return dict(inspect.signature(fn).parameters)


def _runnable(fn) -> bool:
    """Can descent.torch.Optimizer run this factory (an lr, nothing but the gradient)?"""
    if not callable(fn) or isinstance(fn, type):
        return False
    try:
        params = _params(fn)
    except (TypeError, ValueError):
        return False
    return "lr" in params and "objective" not in params


def rule_names() -> list[str]:
    """Every rule name ``--optimizer`` accepts, sorted."""
    return sorted(n for n in _rules.__all__ if _runnable(getattr(_rules, n, None)))


def torch_twin(name: str) -> str | None:
    """torch.optim's class name for the rule ``name``, or None (``descent.TORCH_TWINS``)."""
    for cls, factory in _rules.TORCH_TWINS.items():
        if factory.__name__ == name:
            return cls
    return None


def resolve_rule(name: str):
    """The factory called ``name``; ConfigError("--optimizer") otherwise."""
    names = rule_names()
    if name not in names:
        if name in _rules.__all__:
            raise ConfigError("--optimizer", f"{name!r} needs the objective, not just the gradient: the training loop "
                                             f"calls step() without a closure (descent.torch.Optimizer runs it with "
                                             f"step(closure)); choose from {', '.join(names)}")
        raise ConfigError("--optimizer", f"unknown rule {name!r} (choose from {', '.join(names)})")
    return getattr(_rules, name)


def check_rule(cfg: Config):
    """The factory, after checking ``--lr`` and ``--opt`` with the rule's own messages."""
    factory = resolve_rule(cfg.optimizer)
    if cfg.optimizer == "sparse_adam":
        raise ConfigError("--optimizer", "'sparse_adam' needs sparse gradients (an nn.Embedding(sparse=True)), and "
                                         "the networks of descent.train have none: use adam")
    try:
        lr = float(cfg.lr)
    except (TypeError, ValueError):
        raise ConfigError("--lr", f"Invalid learning rate: {cfg.lr!r}") from None
    if not math.isfinite(lr) or lr < 0:
        raise ConfigError("--lr", f"Invalid learning rate: {cfg.lr}")
    if "lr" in cfg.opt:
        raise ConfigError("--opt", "the learning rate is --lr, not --opt lr=...")
    if cfg.impl == "torch":
        if torch_twin(cfg.optimizer) is None:
            twins = sorted(f.__name__ for f in _rules.TORCH_TWINS.values())
            raise ConfigError("--impl", f"torch.optim has no class for rule {cfg.optimizer!r} (torch twins: {', '.join(twins)})")
        return factory  # torch's class checks its own keywords when it is built (loop.make_optimizer)
    takes = [n for n in _params(factory) if n != "lr"]
    unknown = sorted(set(cfg.opt) - set(takes))
    if unknown:
        raise ConfigError("--opt", f"{cfg.optimizer} takes no hyperparameter {unknown[0]!r} "
                                   f"(it takes {', '.join(takes) if takes else 'only lr'})")
    try:
        factory(lr=lr)
    except ValueError as e:
        raise ConfigError("--lr", str(e)) from None
    try:
        factory(lr=lr, **cfg.opt)
    except (ValueError, TypeError) as e:
        raise ConfigError("--opt", str(e)) from None
    return factory


# ------------------------------------------------------------------ schedules

def schedule_names() -> list[str]:
    """Every name ``--schedule`` accepts (descent's functions, then torch's class names)."""
    own = [n for n in _schedules.__all__ if n not in ("Schedule", "join", "one_cycle_momentum")]
    return sorted(own) + sorted(TORCH_SCHEDULES)


def make_schedule(name: str, lr: float, total_steps: int, steps_per_epoch: int, args: dict | None = None):
    """The descent schedule ``name`` with first argument ``lr``, the run's step counts where
    ``args`` leaves them out; ConfigError("--schedule"/"--sched") otherwise."""
    args = dict(args or {})
    key = TORCH_SCHEDULES.get(name, name)
    if key not in schedule_names():
        raise ConfigError("--schedule", f"unknown schedule {name!r} (choose from {', '.join(schedule_names())})")
    factory = getattr(_schedules, key)
    params = list(_params(factory).items())
    first = params[0][0]  # lr, or max_lr for one_cycle_lr
    if first in args:
        raise ConfigError("--sched", f"{key}'s {first} is --lr, not --sched {first}=...")
    names = [n for n, _ in params[1:]]
    unknown = sorted(set(args) - set(names))
    if unknown:
        raise ConfigError("--sched", f"{key} takes no argument {unknown[0]!r} (it takes {', '.join(names) or 'only lr'})")
    for n, prm in params[1:]:
        if n not in args and prm.default is prm.empty:
            if n not in RUN_DEFAULTS:
                raise ConfigError("--sched", f"{key} needs {n} (give --sched {n}=VALUE)")
            args[n] = RUN_DEFAULTS[n](total_steps, steps_per_epoch)
    try:
        return factory(lr, **args)
    except (ValueError, TypeError) as e:
        raise ConfigError("--sched", f"{key}: {e}") from None


# ------------------------------------------------------------------ sizes

def world_size() -> int:
    """Processes of this run: torchrun's ``WORLD_SIZE``, else 1."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def split_sizes(cfg: Config) -> tuple[int, int]:
    """(training images, validation images)."""
    total = _data.SIZES["train"]
    train = cfg.subset or total - cfg.val
    return train, cfg.val


def steps_per_epoch(cfg: Config, world: int | None = None) -> int:
    """Optimizer steps in one epoch: each process gets ``ceil(n / world)`` images (the
    DistributedSampler pads by repeating) in batches of ``batch_size / world``."""
    world = world or world_size()
    n_train, _ = split_sizes(cfg)
    per_rank = -(-n_train // world)
    local = cfg.batch_size // world
    return -(-per_rank // local)


# ------------------------------------------------------------------ the whole check

def _int(cfg, name, lo, allow_none=False):
    v = getattr(cfg, name)
    if v is None and allow_none:
        return
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise ConfigError("--" + name.replace("_", "-"), f"{v!r} (must be an integer >= {lo})")


def _choice(cfg, name, choices):
    v = getattr(cfg, name)
    if v not in choices:
        raise ConfigError("--" + name.replace("_", "-"), f"invalid choice {v!r} (choose from {', '.join(map(str, choices))})")


def check(cfg: Config) -> dict:
    """Check every setting; return what was resolved (``rule``, ``schedule``,
    ``steps_per_epoch``, ``total_steps``, ``world``).  Raises ConfigError."""
    _choice(cfg, "model", MODELS)
    _choice(cfg, "impl", IMPLS)
    _choice(cfg, "dtype", DTYPES)
    _choice(cfg, "loader", LOADERS)
    if cfg.amp not in (None, "bf16"):
        raise ConfigError("--amp", f"invalid choice {cfg.amp!r} (choose from bf16)")
    if cfg.amp and cfg.dtype != "float32":
        raise ConfigError("--amp", f"bf16 autocast runs a float32 model, not --dtype {cfg.dtype}")
    if cfg.device != "auto" and not (cfg.device == "cpu" or cfg.device.startswith("cuda")):
        raise ConfigError("--device", f"invalid device {cfg.device!r} (auto, cpu, cuda or cuda:N)")
    for name, lo in (("epochs", 1), ("batch_size", 1), ("subset", 0), ("val", 0), ("test_subset", 0),
                     ("seed", 0), ("patience", 0)):
        _int(cfg, name, lo)
    _int(cfg, "stop_after", 1, allow_none=True)
    _int(cfg, "threads", 1, allow_none=True)
    if not (0.0 <= float(cfg.dropout) < 1.0):
        raise ConfigError("--dropout", f"{cfg.dropout!r} (must be in [0, 1))")
    for name in ("max_norm", "tol"):
        v = getattr(cfg, name)
        if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
            raise ConfigError("--" + name.replace("_", "-"), f"{v!r} (must be a positive number)")
    n_train, n_val = split_sizes(cfg)
    if n_train < 1 or n_train + n_val > _data.SIZES["train"]:
        raise ConfigError("--subset" if cfg.subset else "--val",
                          f"{n_train} training + {n_val} validation images exceed the {_data.SIZES['train']} available")
    if cfg.test_subset > _data.SIZES["test"]:
        raise ConfigError("--test-subset", f"{cfg.test_subset} (there are {_data.SIZES['test']} test images)")
    allowed = ARCH[cfg.model]
    for key, value in cfg.arch.items():
        if key not in allowed:
            raise ConfigError("--arch", f"{cfg.model} has no width {key!r} (it has {', '.join(allowed)})")
        widths = value if isinstance(value, (list, tuple)) else (value,)
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
            raise ConfigError("--arch", f"{key}={value!r} (widths are positive integers, e.g. {key}=64,32)")
        if key == "channels" and len(widths) != 2:
            raise ConfigError("--arch", f"channels={value!r} (the CNN has two convolutions: channels=C1,C2)")
    if cfg.patience and not cfg.val:
        raise ConfigError("--patience", "early stopping watches the validation loss: give --val N too")
    world = world_size()
    if cfg.batch_size % world:
        raise ConfigError("--batch-size", f"{cfg.batch_size} is not divisible by the {world} processes (it is the global batch)")
    rule = check_rule(cfg)
    per_epoch = steps_per_epoch(cfg, world)
    total = per_epoch * cfg.epochs
    schedule = make_schedule(cfg.schedule, float(cfg.lr), total, per_epoch, cfg.sched)
    try:
        _data.files("train", cfg.data)
        _data.files("test", cfg.data)
    except _data.DataMissing as e:
        raise ConfigError("--data", str(e)) from None
    if cfg.resume is not None and not Path(cfg.resume).is_file():
        raise ConfigError("--resume", f"no checkpoint at {cfg.resume}")
    return {"rule": rule, "schedule": schedule, "steps_per_epoch": per_epoch, "total_steps": total, "world": world}


__all__ = ["Config", "ConfigError", "RUN_DEFAULTS", "TORCH_SCHEDULES", "TRAJECTORY", "check", "make_schedule",
           "normal_arch", "parse_pairs", "parse_value", "resolve_rule", "rule_names", "schedule_names",
           "steps_per_epoch", "torch_twin"]

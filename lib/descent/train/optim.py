r"""The optimizer and the learning-rate schedule of a run.

:func:`make_optimizer` builds either :class:`descent.torch.Optimizer` running one of the
book's rules, or torch.optim's own class of the same rule (``impl="torch"``), with the
same hyperparameters: the comparison the last chapter makes.

:class:`ScheduleLR` is a torch LR scheduler that writes a descent schedule into
``group["lr"]``: after ``t`` calls of ``step()`` the group holds exactly ``schedule(t)``
(the value itself, not ``base_lr * factor`` as ``LambdaLR`` would store, which can differ in
the last bit).  Both optimizers read ``group["lr"]`` at every step, so a descent schedule
drives torch's classes and the adapter alike, and ``state_dict()`` round trips like any
torch scheduler's (the schedule itself is rebuilt from the run's settings).
"""

from __future__ import annotations

import inspect

import torch

from .config import ConfigError, torch_twin


class ScheduleLR(torch.optim.lr_scheduler.LRScheduler):
    """``group["lr"] = schedule(t)`` after ``t`` scheduler steps, for every param group."""

    def __init__(self, optimizer, schedule, last_epoch=-1):
        if not callable(schedule):
            raise ValueError(f"Invalid schedule: {schedule!r} (a schedule is a callable t -> lr)")
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lr = float(self.schedule(int(self.last_epoch)))
        return [lr for _ in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule")}


def make_optimizer(params, cfg, rule):
    """The run's optimizer: ``descent.torch.Optimizer(params, rule, lr=cfg.lr, **cfg.opt)``
    or, for ``cfg.impl == "torch"``, ``torch.optim.<Twin>(params, lr=cfg.lr, **cfg.opt)``.
    A keyword the class does not take or a value it rejects is a ConfigError("--opt")."""
    params = list(params)
    if cfg.impl == "torch":
        cls = getattr(torch.optim, torch_twin(cfg.optimizer))
        takes = [n for n in inspect.signature(cls.__init__).parameters if n not in ("self", "params", "lr")]
        unknown = sorted(set(cfg.opt) - set(takes))
        if unknown:
            raise ConfigError("--opt", f"torch.optim.{cls.__name__} takes no hyperparameter {unknown[0]!r} "
                                       f"(it takes {', '.join(takes)})")
        try:
            return cls(params, lr=float(cfg.lr), **cfg.opt)
        except (ValueError, TypeError, RuntimeError) as e:
            raise ConfigError("--opt", f"torch.optim.{cls.__name__}: {e}") from None
    from .. import torch as descent_torch

    try:
        return descent_torch.Optimizer(params, rule, lr=float(cfg.lr), **cfg.opt)
    except (ValueError, TypeError) as e:
        raise ConfigError("--opt", str(e)) from None


__all__ = ["ScheduleLR", "make_optimizer"]

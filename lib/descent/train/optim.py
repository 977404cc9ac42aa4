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

:class:`MatrixSplit` is how ``--optimizer muon`` trains a whole network: Muon
orthogonalizes the update of a 2-D weight matrix and is defined for nothing else, so, as
torch's documentation recommends, the 2-D weights get Muon and every other parameter
(biases, convolution kernels) gets AdamW, at the same learning rate, in one optimizer.
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
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


class MatrixSplit(torch.optim.Optimizer):
    """Several optimizers stepped as one: ``param_groups`` are their groups (the same
    dicts, so a scheduler that writes ``group["lr"]`` drives every part), ``state`` reads
    through to theirs, ``state_dict`` holds one per part.  Built by :func:`make_optimizer`
    for Muon: ``parts = [Muon(2-D weights), AdamW(the rest)]``."""

    def __init__(self, parts):
        self.parts = [o for o in parts if o is not None]
        if not self.parts:
            raise ValueError("Invalid parts: [] (at least one optimizer)")
        super().__init__([g for o in self.parts for g in o.param_groups], {})
        self.state = _PartStates(self.parts)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self.parts:
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True):
        for o in self.parts:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self):
        return {"parts": [o.state_dict() for o in self.parts]}

    def load_state_dict(self, state_dict):
        parts = state_dict.get("parts") if isinstance(state_dict, dict) else None
        if not isinstance(parts, list) or len(parts) != len(self.parts):
            raise ValueError(f"Invalid state_dict: expected {len(self.parts)} parts, got "
                             f"{None if parts is None else len(parts)}")
        for o, sd in zip(self.parts, parts, strict=True):
            o.load_state_dict(sd)
        # torch's load_state_dict gives each part new group dicts: share them again, so that a
        # scheduler writing self.param_groups[i]["lr"] still drives the parts
        self.param_groups = [g for o in self.parts for g in o.param_groups]


class _PartStates(collections.abc.Mapping):
    """``state[p]``: the state of ``p`` in the part that owns it (a read-through view)."""

    def __init__(self, parts):
        self._parts = parts

    def __getitem__(self, p):
        for o in self._parts:
            if p in o.state:
                return o.state[p]
        raise KeyError(p)

    def __iter__(self):
        return (p for o in self._parts for p in o.state)

    def __len__(self):
        return sum(len(o.state) for o in self._parts)


def _split_for_muon(params, make, make_rest):
    """Muon on the 2-D parameters, ``make_rest`` (AdamW) on the others."""
    matrices = [p for p in params if p.ndim == 2]
    rest = [p for p in params if p.ndim != 2]
    if not matrices:
        raise ConfigError("--optimizer", "muon: the model has no 2-D weight for Muon to orthogonalize")
    return MatrixSplit([make(matrices), make_rest(rest) if rest else None])


def make_optimizer(params, cfg, rule):
    """The run's optimizer: ``descent.torch.Optimizer(params, rule, lr=cfg.lr, **cfg.opt)``
    or, for ``cfg.impl == "torch"``, ``torch.optim.<Twin>(params, lr=cfg.lr, **cfg.opt)``.
    A keyword the class does not take or a value it rejects is a ConfigError("--opt").
    ``muon`` is a :class:`MatrixSplit`: Muon (with ``cfg.opt``) on the 2-D weights, AdamW
    with its defaults on the rest, both at ``cfg.lr``."""
    params = list(params)
    if cfg.optimizer == "muon":
        from .. import rules

        rest = dataclasses.replace(cfg, optimizer="adamw", opt={})
        return _split_for_muon(params, lambda ps: _make_one(ps, cfg, rule, "muon"),
                               lambda ps: _make_one(ps, rest, rules.adamw, "adamw"))
    return _make_one(params, cfg, rule, cfg.optimizer)


def _make_one(params, cfg, rule, name):
    if cfg.impl == "torch":
        cls = getattr(torch.optim, torch_twin(name))
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


__all__ = ["MatrixSplit", "ScheduleLR", "make_optimizer"]

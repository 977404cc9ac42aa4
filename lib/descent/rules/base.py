"""The one type every rule returns, and the few helpers every rule shares.

A rule is a factory of hyperparameters that returns ``Optimizer(init, update)``:

    state = opt.init(x)
    step, state = opt.update(grad, state, x)
    x = x + step

Both functions are pure: nothing is mutated, the state is a small immutable NamedTuple
whose fields carry the math names of the rule's docstring (``m``, ``v``, ``t``; each field's
comment gives its symbol).  The update is written with plain operators (``+ - * /``,
``** 0.5``) so the same code runs on Python floats, NumPy arrays and torch tensors.
Hyperparameters may be arrays that broadcast against ``x``: a batch of runs with different
settings is one call.

Shared here, written once: :func:`lr_at` (a number or a schedule ``t -> lr``),
:func:`torch_prologue` (torch.optim's ``maximize`` sign flip and weight decay),
:func:`torch_state_keys` (the one table from state fields to torch.optim's state keys),
:func:`needs` (the objective-first convention of :mod:`descent.rules`), and the array
helpers :func:`is_torch`, :func:`namespace`, :func:`maximum`, :func:`zeros_like`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class _Pair(NamedTuple):
    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class Optimizer(_Pair):
    """``(init, update)`` plus three descriptive attributes that are not part of the tuple.

    ``name`` is the rule's name (``"adam"``), used by :mod:`descent.plot` for one colour
    and one label per optimizer across the book; ``hyperparams`` records every argument
    the factory was called with (``repr`` shows them).

    ``elementwise`` says how the rule may be applied to a model's parameters (the torch
    adapter reads it).  ``True`` (most rules): the update treats every entry of ``x`` on its
    own, given a few scalars (the step count, the learning rate), so one call on a flat
    buffer that concatenates many parameters (or on any slice of it) equals one call per
    parameter, and a batch of runs along leading axes is one call.  ``False``: the update
    couples the entries of ``x`` or its gradient is not a plain array, so the rule must be
    called once per parameter tensor, ``x`` in its own shape: Adafactor (row and column
    statistics, RMS of x and of the update), Muon (Newton–Schulz on the matrix), L-BFGS
    (dot products and a line search over the whole vector; one run), SparseAdam (its
    gradient is an :class:`~descent.rules.adam.SparseGrad`), and the objective-first rules
    ``nesterov``, ``newton``, ``line_search``, which call the objective on the whole ``x``
    (these three still take a batch of runs along leading axes, ``x`` of shape ``(..., d)``;
    the others take one parameter, never a batch).

    ``batched`` says whether the leading axes of ``x`` may be a batch of independent runs
    (:func:`descent.run`): ``True`` for every elementwise rule and for ``nesterov``,
    ``newton``, ``line_search``; ``False`` for the rules that treat the whole ``x`` as one
    parameter (Adafactor, Muon, L-BFGS, SparseAdam), which ``run`` then refuses to batch.
    """

    def __new__(cls, init, update, *, name: str = "", hyperparams: dict | None = None, elementwise: bool = True,
                batched: bool = True):
        self = super().__new__(cls, init, update)
        self.name = name
        self.hyperparams = dict(hyperparams or {})
        self.elementwise = bool(elementwise)
        self.batched = bool(batched)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{self.name or 'Optimizer'}({args})"


# ------------------------------------------------------------------ arrays


def is_torch(x) -> bool:
    """True for a torch tensor (or any torch object), without importing torch: descent
    works without torch, and importing it costs seconds the first time."""
    return type(x).__module__.startswith("torch")


def zeros_like(x):
    """``0 * x`` keeps type, dtype, device and shape for floats, arrays and tensors."""
    return x * 0.0


def namespace(*arrays):
    """The array namespace (NumPy or torch) of the first array argument."""
    import array_api_compat

    arrs = [a for a in arrays if not isinstance(a, (int, float))]
    if not arrs:
        return array_api_compat.array_namespace(np.asarray(0.0))
    return array_api_compat.array_namespace(*arrs)


def maximum(a, b):
    """Elementwise maximum for floats, NumPy arrays and torch tensors."""
    if isinstance(a, float) and isinstance(b, float):
        return max(a, b)
    return namespace(a, b).maximum(a, b)


# ------------------------------------------------------------------ hyperparameters


def is_zero(value) -> bool:
    """True when a hyperparameter (number, array or tensor) is identically zero; a rule
    then leaves that term out altogether, decided once when it is built."""
    if isinstance(value, numbers.Number):
        return value == 0
    arr = value if is_torch(value) else np.asarray(value)
    return not bool((arr != 0).any())


def lr_at(lr, t):
    """The learning rate for the update after ``t`` completed updates: ``lr`` itself, or
    ``lr(t)`` when it is a schedule (see :mod:`descent.schedules`)."""
    return lr(t) if callable(lr) else lr


def torch_prologue(maximize=False, weight_decay=0, decoupled=False):
    r"""torch.optim's common first lines, for every torch twin: flip the sign of the
    gradient for ``maximize`` (:math:`g \leftarrow -g`), then weight decay :math:`\lambda`,
    either as an L2 term in the gradient (:math:`g \leftarrow g + \lambda x`, torch's
    ``weight_decay``) or decoupled as a shrink of the iterate by :math:`-\eta_t\lambda x`
    (AdamW's and Muon's, torch's ``param.mul_(1 - lr * weight_decay)``).

    Returns ``prologue(grad, x, lr_t) -> (g, shrink)``; the rule adds ``shrink`` to its
    step.  A zero ``weight_decay`` leaves the term out (``shrink`` is ``0.0``)."""
    wd = None if is_zero(weight_decay) else weight_decay

    def prologue(grad, x, lr_t=None):
        g = -grad if maximize else grad
        if wd is None:
            return g, 0.0
        if decoupled:
            return g, -lr_t * wd * x
        return g + wd * x, 0.0

    return prologue


# ------------------------------------------------------------------ conventions


def needs(objective, *names):
    """The rule convention for extra inputs (see :mod:`descent.rules`): a rule that needs
    more than the gradient at ``x`` takes the ``objective`` as its first argument and
    calls these methods itself.  Returns the first one asked for; raises ValueError naming
    the argument when one is missing."""
    for name in names:
        if not callable(getattr(objective, name, None)):
            raise ValueError(f"Invalid objective: {objective!r} (it needs a callable .{name})")
    return getattr(objective, names[0])


#: The one table from a rule's state fields to torch.optim's state keys, per state class,
#: where the two names differ.  ``t`` (updates done) is torch's ``step`` in every class;
#: a field not listed keeps its name (NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``).
_TORCH_KEYS = {
    "SGDState": {"b": "momentum_buffer"},
    "AdagradState": {"s": "sum"},
    "RMSpropState": {"v": "square_avg", "g_bar": "grad_avg", "b": "momentum_buffer"},
    "AdadeltaState": {"v": "square_avg", "u": "acc_delta"},
    "AdamState": {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"},
    "NAdamState": {"m": "exp_avg", "v": "exp_avg_sq"},
    "RAdamState": {"m": "exp_avg", "v": "exp_avg_sq"},
    "AdamaxState": {"m": "exp_avg", "u": "exp_inf"},
    "RpropState": {"g_prev": "prev", "eta": "step_size"},
    "ASGDState": {"x_bar": "ax"},
    "AdafactorState": {"r": "row_var", "c": "col_var", "v": "variance"},
    "MuonState": {"b": "momentum_buffer"},
    "LBFGSState": {"k": "n_iter", "evals": "func_evals", "p": "d", "alpha": "t", "s": "old_stps", "y": "old_dirs",
                   "rho": "ro", "gamma": "H_diag", "g_prev": "prev_flat_grad", "f_prev": "prev_loss"},
}


def torch_state_keys(state) -> dict:
    """Field of a rule's state NamedTuple (an instance or its class) -> the key torch.optim
    keeps the same quantity under (``t`` -> ``step``, Adam's ``m`` -> ``exp_avg`` …).  The
    one mapping table between the two namings; :mod:`descent.torch` and the tests use it.
    A state class from outside :mod:`descent.rules` keeps its field names (``t`` aside)."""
    cls = state if isinstance(state, type) else type(state)
    own = _TORCH_KEYS.get(cls.__name__, {}) if cls.__module__.startswith(__package__ + ".") else {}
    return {f: "step" if f == "t" else own.get(f, f) for f in cls._fields}

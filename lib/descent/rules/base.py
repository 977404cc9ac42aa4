"""The one type every rule returns.

A rule is a factory of hyperparameters that returns ``Optimizer(init, update)``:

    state = opt.init(x)
    step, state = opt.update(grad, state, x)
    x = x + step

Both functions are pure: nothing is mutated, the state is a small immutable NamedTuple
whose fields carry the math names (``m``, ``v``, ``t``).  The update is written with plain
operators (``+ - * /``, ``** 0.5``) so the same code runs on Python floats, NumPy arrays
and torch tensors.  Hyperparameters may be arrays that broadcast against ``x``: a batch
of runs with different settings is one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class _Pair(NamedTuple):
    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class Optimizer(_Pair):
    """``(init, update)`` plus two descriptive attributes that are not part of the tuple.

    ``name`` is the rule's name (``"adam"``), used by :mod:`descent.plot` for one colour
    and one label per optimizer across the book; ``hyperparams`` records the arguments
    the factory was called with.
    """

    def __new__(cls, init, update, *, name: str = "", hyperparams: dict | None = None):
        self = super().__new__(cls, init, update)
        self.name = name
        self.hyperparams = dict(hyperparams or {})
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{self.name or 'Optimizer'}({args})"


def zeros_like(x):
    """``0 * x`` keeps type, dtype, device and shape for floats, arrays and tensors."""
    return x * 0.0


def namespace(*arrays):
    """The array namespace (NumPy or torch) of the first array argument."""
    import array_api_compat
    import numpy as np

    arrs = [a for a in arrays if not isinstance(a, (int, float))]
    if not arrs:
        return array_api_compat.array_namespace(np.asarray(0.0))
    return array_api_compat.array_namespace(*arrs)


def maximum(a, b):
    """Elementwise maximum for floats, NumPy arrays and torch tensors."""
    if isinstance(a, float) and isinstance(b, float):
        return max(a, b)
    return namespace(a, b).maximum(a, b)


def needs(objective, *names):
    """The rule convention for extra inputs: a rule that needs more than the gradient at
    ``x`` (the gradient elsewhere, the Hessian, the loss) takes the ``objective`` as its
    first argument and calls these methods itself.  Returns the first one asked for;
    raises ValueError naming the argument when one is missing."""
    for name in names:
        if not callable(getattr(objective, name, None)):
            raise ValueError(f"Invalid objective: {objective!r} (it needs a callable .{name})")
    return getattr(objective, names[0])


_ADAM_KEYS = {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"}


def torch_state_keys(state) -> dict:
    """Field of a rule's state NamedTuple (an instance or its class) -> the key torch.optim
    keeps the same quantity under (``t`` -> ``step``, Adam's ``m`` -> ``exp_avg`` …).  The
    one mapping table between the two namings; :mod:`descent.torch` and the tests use it."""
    fields = state._fields
    adam_like = "m" in fields and "v" in fields
    return {f: "step" if f == "t" else _ADAM_KEYS[f] if adam_like and f in _ADAM_KEYS else f for f in fields}

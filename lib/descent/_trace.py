"""Symbolic tracing of a rule's update, for the fused path of :mod:`descent.torch`.

``trace(rule, state, array_fields)`` runs ``rule.update`` once on symbols instead of
arrays.  Array operations are recorded as lines of Python (``v3 = v1 * s2``); numbers the
rule computes from hyperparameters and the step count (``lr / (1 - beta1 ** t)``) are
evaluated in Python as usual and become scalar arguments ``s0, s1, ...``.  The result is
the source of one function that updates ``x`` and the state in place, which
:mod:`descent.torch` hands to ``torch.compile``: one fused loop per step, and changing
``lr`` or ``betas`` changes arguments, not the code.  Nothing here imports torch.
"""

from __future__ import annotations

import numbers


class _Untraceable(Exception):
    pass


class _Sym:
    """A symbolic array: records the rule's array expression; numbers stay numbers."""

    __slots__ = ("tr", "name")
    __array_priority__ = 1000

    def __init__(self, tr, name):
        self.tr, self.name = tr, name

    def __bool__(self):
        raise _Untraceable("the rule branches on array values")

    def __array_namespace__(self, api_version=None):
        return self.tr.ns

    def _bin(self, op, other, swap=False):
        a, b = (other, self) if swap else (self, other)
        return self.tr.binary(op, a, b)

    def __add__(self, o):
        return self._bin("+", o)

    def __radd__(self, o):
        return self._bin("+", o, True)

    def __sub__(self, o):
        return self._bin("-", o)

    def __rsub__(self, o):
        return self._bin("-", o, True)

    def __mul__(self, o):
        return self._bin("*", o)

    def __rmul__(self, o):
        return self._bin("*", o, True)

    def __truediv__(self, o):
        return self._bin("/", o)

    def __rtruediv__(self, o):
        return self._bin("/", o, True)

    def __pow__(self, o):
        if isinstance(o, numbers.Real) and not isinstance(o, bool):
            return self.tr.emit(f"{self.name} ** {float(o)!r}")  # exponent baked: x**0.5 is sqrt
        raise _Untraceable("array exponent")

    def __rpow__(self, o):
        return self.tr.emit(f"torch.pow({self.tr.scalar(o)}, {self.name})")

    def __neg__(self):
        return self.tr.emit(f"-{self.name}")

    def __pos__(self):
        return self

    def __abs__(self):
        return self.tr.emit(f"{self.name}.abs()")

    def _cmp(self, op, o):
        return self.tr.binary(op, self, o)

    def __lt__(self, o):
        return self._cmp("<", o)

    def __le__(self, o):
        return self._cmp("<=", o)

    def __gt__(self, o):
        return self._cmp(">", o)

    def __ge__(self, o):
        return self._cmp(">=", o)

    __hash__ = object.__hash__


class _SymNamespace:
    """The few array functions rules take from their namespace (``maximum``, ``where`` …)."""

    __name__ = "descent.torch.symbolic"

    def __init__(self, tr):
        self.tr = tr

    def _fn(self, fn, *args):
        if not all(isinstance(a, _Sym) for a in args):
            raise _Untraceable(f"{fn} on numbers")
        return self.tr.emit(f"torch.{fn}({', '.join(a.name for a in args)})")

    def maximum(self, a, b):
        return self._fn("maximum", a, b)

    def minimum(self, a, b):
        return self._fn("minimum", a, b)

    def where(self, c, a, b):
        return self._fn("where", c, a, b)

    def sqrt(self, a):
        return self._fn("sqrt", a)

    def abs(self, a):
        return self._fn("abs", a)

    def sign(self, a):
        return self._fn("sign", a)

    def exp(self, a):
        return self._fn("exp", a)

    def log(self, a):
        return self._fn("log", a)


class _Tracer:
    def __init__(self):
        self.lines, self.scalars, self.ns = [], [], _SymNamespace(self)

    def scalar(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _Untraceable(f"operand {type(value).__name__}")
        self.scalars.append(float(value))
        return f"s{len(self.scalars) - 1}"

    def operand(self, v):
        if isinstance(v, _Sym):
            if v.tr is not self:
                raise _Untraceable("foreign symbol")
            return v.name
        return self.scalar(v)

    def binary(self, op, a, b):
        return self.emit(f"{self.operand(a)} {op} {self.operand(b)}")

    def emit(self, expr):
        name = f"v{len(self.lines)}"
        self.lines.append(f"{name} = {expr}")
        return _Sym(self, name)


def _trace(rule, state, array_fields):
    """Run ``rule.update`` on symbols.  Returns ``(key, scalars, step, new_state)``."""
    tr = _Tracer()
    g, x = _Sym(tr, "g"), _Sym(tr, "x")
    sym_state = state._replace(**{f: _Sym(tr, f"a_{f}") for f in array_fields})
    step, new = rule.update(g, sym_state, x)
    if not isinstance(step, _Sym):
        raise _Untraceable("the step is not an array")
    out = ["x.add_(" + step.name + ")"]
    for f in array_fields:
        v = getattr(new, f)
        if not isinstance(v, _Sym):
            raise _Untraceable(f"state field {f} is not an array")
        if v.name != f"a_{f}":
            out.append(f"a_{f}.copy_({v.name})")
    for f in new._fields:
        if f not in array_fields and isinstance(getattr(new, f), _Sym):
            raise _Untraceable(f"state field {f} became an array")
    args = ["g", "x"] + [f"a_{f}" for f in array_fields] + [f"s{i}" for i in range(len(tr.scalars))]
    src = f"def fused({', '.join(args)}):\n" + "".join(f"    {ln}\n" for ln in tr.lines + out)
    return src, tr.scalars, new

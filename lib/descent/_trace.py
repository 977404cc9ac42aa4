"""Symbolic tracing of a rule's update, for the fused path of :mod:`descent.torch`.

``_trace(rule, state, array_fields)`` runs ``rule.update`` once on symbols instead of
arrays.  Array operations are recorded as lines of Python (``v3 = v1 * s2``); numbers the
rule computes from hyperparameters and the step count (``lr / (1 - beta1 ** t)``) are
evaluated in Python as usual and become scalar arguments ``s0, s1, ...``.  The result is
the source of one function that updates ``x`` and the state in place, which
:mod:`descent.torch` hands to ``torch.compile``: one fused loop per step, and changing
``lr`` or ``betas`` changes arguments, not the code.  Nothing here imports torch.

A symbol (:class:`_Sym`) gets its operators from the tables :data:`_BINARY` and
:data:`_UNARY`, its namespace (:class:`_SymNamespace`, what ``xp.maximum`` … resolve to)
its functions from :data:`_FUNCTIONS`.  Anything else a rule does with an array (branch on
its values, call another function, raise it to an array power) raises
:class:`_Untraceable`, and the adapter runs that rule eagerly.
"""

from __future__ import annotations

import numbers


class _Untraceable(Exception):
    pass


class _Sym:
    """A symbolic array: records the rule's array expression; numbers stay numbers.

    Its operators are generated below from two tables, :data:`_BINARY` (``a + b`` …, each
    with its reflected form ``b + a``) and :data:`_UNARY`; only the cases that need a
    decision are written out (``**``, ``bool``)."""

    __slots__ = ("tr", "name")
    __array_priority__ = 1000

    def __init__(self, tr, name):
        self.tr, self.name = tr, name

    def __bool__(self):
        raise _Untraceable("the rule branches on array values")

    def __array_namespace__(self, api_version=None):
        return self.tr.ns

    def __pow__(self, o):
        if isinstance(o, numbers.Real) and not isinstance(o, bool):
            return self.tr.emit(f"{self.name} ** {float(o)!r}")  # exponent baked: x**0.5 is sqrt
        raise _Untraceable("array exponent")

    def __rpow__(self, o):
        return self.tr.emit(f"torch.pow({self.tr.scalar(o)}, {self.name})")

    def __pos__(self):
        return self

    __hash__ = object.__hash__


#: Python operator -> its method on ``a`` for ``a OP b`` and the reflected method on ``b``
#: (None: Python reflects a comparison by calling the mirrored one, ``1 < a`` is ``a > 1``).
_BINARY = {
    "+": ("__add__", "__radd__"), "-": ("__sub__", "__rsub__"), "*": ("__mul__", "__rmul__"),
    "/": ("__truediv__", "__rtruediv__"),
    "<": ("__lt__", None), "<=": ("__le__", None), ">": ("__gt__", None), ">=": ("__ge__", None),
}
#: unary method -> the expression it records ({} is the operand)
_UNARY = {"__neg__": "-{}", "__abs__": "{}.abs()"}


def _binary_method(op, reflected):
    def method(self, other):
        return self.tr.binary(op, other, self) if reflected else self.tr.binary(op, self, other)

    return method


def _unary_method(template):
    def method(self):
        return self.tr.emit(template.format(self.name))

    return method


def _function(fn):
    def call(self, *args):
        if not all(isinstance(a, _Sym) for a in args):
            raise _Untraceable(f"{fn} on numbers")
        return self.tr.emit(f"torch.{fn}({', '.join(a.name for a in args)})")

    return call


class _SymNamespace:
    """The namespace ``array_api_compat`` finds on a symbol: the functions of
    :data:`_FUNCTIONS`; any other function makes the rule untraceable (it runs eagerly)."""

    __name__ = "descent.torch.symbolic"

    def __init__(self, tr):
        self.tr = tr

    def __getattr__(self, fn):  # only called for names not installed from _FUNCTIONS
        if fn.startswith("__"):
            raise AttributeError(fn)
        raise _Untraceable(f"array function {fn}")


#: the functions rules take from their array namespace (``maximum``, ``where`` …); each
#: records ``torch.<name>(<its array arguments>)``
_FUNCTIONS = ("maximum", "minimum", "where", "sqrt", "abs", "sign", "exp", "log")


def _install_methods():
    """Give :class:`_Sym` its operators and :class:`_SymNamespace` its functions, from the tables."""
    for op, names in _BINARY.items():
        for name, reflected in zip(names, (False, True), strict=True):
            if name is not None:
                setattr(_Sym, name, _binary_method(op, reflected))
    for name, template in _UNARY.items():
        setattr(_Sym, name, _unary_method(template))
    for fn in _FUNCTIONS:
        setattr(_SymNamespace, fn, _function(fn))


_install_methods()


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
    """Run ``rule.update`` on symbols.  Returns ``(src, scalars, new_state)``: the source of
    ``fused(g, x, a_<field>..., s0, s1, ...)`` (it also keys the compiled-function cache), the
    scalar arguments of this step, and the new state (its numbers, e.g. ``t``, are real)."""
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

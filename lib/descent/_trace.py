"""Symbolic tracing of a rule's update, for the fused path of :mod:`descent.torch`.

``_trace(rule, state, array_fields)`` runs ``rule.update`` once on symbols instead of
arrays.  Array operations are recorded as a straight-line program (:class:`_Program`: ops
such as ``("v3", "*", ("v1", "s2"))``); numbers the rule computes from hyperparameters and
the step count (``lr / (1 - beta1 ** t)``) are evaluated in Python as usual and become
scalar arguments ``s0, s1, ...``.  The program updates ``x`` and the state in place; it
is written out as Python for ``torch.compile`` (:meth:`_Program.python`) or as a C loop
(:mod:`descent._kernels`): one fused loop per step, and changing ``lr`` or ``betas``
changes arguments, not the code.  Nothing here imports torch.

A symbol (:class:`_Sym`) gets its operators from the tables :data:`_BINARY` and
:data:`_UNARY`, its namespace (:class:`_SymNamespace`, what ``xp.maximum`` … resolve to)
its functions from :data:`_FUNCTIONS`.  Anything else a rule does with an array (branch on
its values, call another function, raise it to an array power) raises
:class:`_Untraceable`, and the adapter runs that rule eagerly.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple


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
            return self.tr.emit("**", self.name, float(o))  # exponent baked: x**0.5 is sqrt
        raise _Untraceable("array exponent")

    def __rpow__(self, o):
        return self.tr.emit("rpow", self.tr.scalar(o), self.name)

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
#: unary method -> the op it records
_UNARY = {"__neg__": "neg", "__abs__": "abs"}


def _binary_method(op, reflected):
    # Tracer.binary written out: this runs for every operator of every traced step
    def method(self, other):
        tr = self.tr
        if type(other) is _Sym:
            if other.tr is not tr:
                raise _Untraceable("foreign symbol")
            o = other.name
        else:
            o = tr.scalar(other)
        ops = tr.ops
        k = len(ops)
        name = _V[k] if k < len(_V) else f"v{k}"
        ops.append((name, op, (o, self.name) if reflected else (self.name, o)))
        return _Sym(tr, name)

    return method


def _unary_method(op):
    def method(self):
        return self.tr.emit(op, self.name)

    return method


def _function(fn):
    def call(self, *args):
        if not all(isinstance(a, _Sym) for a in args):
            raise _Untraceable(f"{fn} on numbers")
        return self.tr.emit(fn, *(a.name for a in args))

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
#: records the op ``<name>`` on its array arguments (``torch.<name>`` in Python)
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


class _Program(NamedTuple):
    """A traced step: ``fused(g, x, a_<field>..., s0, s1, ...)`` as a straight-line program.

    ``ops`` are ``(name, op, operands)``: ``op`` is a binary operator of :data:`_BINARY`,
    ``"neg"``, ``"abs"``, ``"**"`` (operands: a name and the exponent, a float),
    ``"rpow"`` (a scalar to an array power) or a function of :data:`_FUNCTIONS`; operands
    are names (``g``, ``x``, ``a_<field>``, ``v<k>``, ``s<k>``).  Then ``x += step`` and
    each ``(field, name)`` of ``writes`` stores ``name`` into ``a_<field>``.  Hashable: it
    keys the caches of compiled steps."""

    ops: tuple
    fields: tuple
    step: str
    writes: tuple
    n_scalars: int

    def args(self):
        return ["g", "x"] + [f"a_{f}" for f in self.fields] + [f"s{i}" for i in range(self.n_scalars)]

    def python(self):
        """The program as the source of a Python function ``fused`` on torch tensors."""
        lines = []
        for name, op, operands in self.ops:
            if op in _BINARY:
                expr = f"{operands[0]} {op} {operands[1]}"
            elif op == "neg":
                expr = f"-{operands[0]}"
            elif op == "**":
                expr = f"{operands[0]} ** {operands[1]!r}"
            elif op == "rpow":
                expr = f"torch.pow({operands[0]}, {operands[1]})"
            else:
                expr = f"torch.{op}({', '.join(operands)})"
            lines.append(f"{name} = {expr}")
        lines.append(f"x.add_({self.step})")
        lines += [f"a_{f}.copy_({v})" for f, v in self.writes]
        return f"def fused({', '.join(self.args())}):\n" + "".join(f"    {ln}\n" for ln in lines)


#: the names of values and scalars, made once (a trace is on the hot path of every step)
_V = tuple(f"v{i}" for i in range(512))
_S = tuple(f"s{i}" for i in range(512))


class _Tracer:
    def __init__(self):
        self.ops, self.scalars, self.ns = [], [], _SymNamespace(self)

    def scalar(self, value):
        if type(value) is not float:  # the common case skips the slow ABC check
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _Untraceable(f"operand {type(value).__name__}")
            value = float(value)
        k = len(self.scalars)
        self.scalars.append(value)
        return _S[k] if k < len(_S) else f"s{k}"

    def operand(self, v):
        if type(v) is _Sym:
            if v.tr is not self:
                raise _Untraceable("foreign symbol")
            return v.name
        return self.scalar(v)

    def binary(self, op, a, b):
        return self.emit(op, self.operand(a), self.operand(b))

    def emit(self, op, *operands):
        k = len(self.ops)
        name = _V[k] if k < len(_V) else f"v{k}"
        self.ops.append((name, op, operands))
        return _Sym(self, name)


def _trace(rule, state, array_fields):
    """Run ``rule.update`` on symbols.  Returns ``(program, scalars, new_state)``: the
    :class:`_Program` (it also keys the caches of compiled steps), the scalar arguments of
    this step, and the new state (its numbers, e.g. ``t``, are real)."""
    tr = _Tracer()
    g, x = _Sym(tr, "g"), _Sym(tr, "x")
    arrays = set(array_fields)  # the state with symbols for its arrays (NamedTuple._replace is slow)
    sym_state = tuple.__new__(type(state), [_Sym(tr, f"a_{f}") if f in arrays else v
                                            for f, v in zip(state._fields, state, strict=True)])
    step, new = rule.update(g, sym_state, x)
    if not isinstance(step, _Sym):
        raise _Untraceable("the step is not an array")
    writes = []
    for f in array_fields:
        v = getattr(new, f)
        if not isinstance(v, _Sym):
            raise _Untraceable(f"state field {f} is not an array")
        if v.name != f"a_{f}":
            writes.append((f, v.name))
    for f in new._fields:
        if f not in array_fields and isinstance(getattr(new, f), _Sym):
            raise _Untraceable(f"state field {f} became an array")
    prog = _Program(tuple(tr.ops), tuple(array_fields), step.name, tuple(writes), len(tr.scalars))
    return prog, tr.scalars, new

r"""What a panel is made of, as data: controls, expressions of controls, and calls of
``descent``'s rules, schedules and objectives.

A live panel is described once and evaluated twice: in Python with :mod:`descent` (the
ipywidgets panel of a kernel) and in the page with the JavaScript twin under ``js/descent``
(the static book).  This module is the description and its Python evaluation:

* controls — :func:`slider` and :func:`dropdown`.  A slider takes the values of a fixed
  table (anchored at its default, stepped linearly or in :math:`\log_{10}`, with both ends),
  the same table in the kernel's widget, in the page and in the parity test;
* expressions — a control in arithmetic (``1 - beta2``, ``scaled / kappa``, :func:`sqrt`)
  is an :class:`Expr` tree, evaluated in the same operation order on both sides;
* calls — :func:`rule`, :func:`schedule`, :func:`objective`: a factory of ``descent`` by name
  with arguments that may be literals, controls, expressions or other calls; an objective
  instance stands for its own ``describe()``;
* :func:`switch` — a description chosen by a dropdown's value.

``to_json`` gives the JSON the page evaluates; :func:`evaluate` the Python objects.
Nothing here draws.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import functions as F
from .. import rules as R
from .. import schedules as S

__all__ = [
    "Control", "Slider", "Dropdown", "Expr", "Call", "Switch", "slider", "dropdown", "rule", "schedule",
    "objective", "switch", "sqrt", "to_json", "evaluate", "controls_of", "rule_names",
]


# ------------------------------------------------------------------ expressions

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


class _Arithmetic:
    """``+ - * /`` and unary minus on controls and expressions build an :class:`Expr`."""

    def __add__(self, other):
        return Expr("+", self, other)

    def __radd__(self, other):
        return Expr("+", other, self)

    def __sub__(self, other):
        return Expr("-", self, other)

    def __rsub__(self, other):
        return Expr("-", other, self)

    def __mul__(self, other):
        return Expr("*", self, other)

    def __rmul__(self, other):
        return Expr("*", other, self)

    def __truediv__(self, other):
        return Expr("/", self, other)

    def __rtruediv__(self, other):
        return Expr("/", other, self)

    def __neg__(self):
        return Expr("neg", self)


class Expr(_Arithmetic):
    """``op`` applied to ``args``: one of ``+ - * /`` (two arguments), ``neg`` or ``sqrt`` (one).

    Both evaluators apply exactly these IEEE operations in this order (``sqrt`` is
    ``math.sqrt`` / ``Math.sqrt``, correctly rounded on both sides)."""

    def __init__(self, op: str, *args):
        if op not in _OPS and op not in ("neg", "sqrt"):
            raise ValueError(f"Invalid op: {op!r} (expected one of {sorted(_OPS) + ['neg', 'sqrt']})")
        for a in args:
            _check_description(a)
        self.op, self.args = op, args

    def __repr__(self) -> str:
        if self.op in _OPS:
            return f"({self.args[0]!r} {self.op} {self.args[1]!r})"
        return f"{self.op}({self.args[0]!r})"


def sqrt(x) -> Expr:
    """:math:`\\sqrt{x}` of a control or expression (the twin uses ``Math.sqrt``)."""
    return Expr("sqrt", x)


# ------------------------------------------------------------------ controls

def _significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (a correctly rounded decimal
    conversion, so the same number in Python and in JavaScript's ``toPrecision``)."""
    return float(f"{value:.{digits}g}")


class Control(_Arithmetic):
    """A named control; ``values`` are all the values it can take, in order."""

    kind = "control"

    def __init__(self, name: str, label: str | None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Invalid name: {name!r} (a control's name must be a Python identifier)")
        self.name, self.label = name, label if label is not None else name

    def grid(self, interior: int = 3) -> list:
        """The values the parity and widget tests visit: both ends, the default and
        ``interior`` values spread between (every option of a dropdown)."""
        vals = self.values
        if len(vals) <= interior + 3:
            return list(vals)
        picks = {0, len(vals) - 1, vals.index(self.value)}
        picks |= {round(k * (len(vals) - 1) / (interior + 1)) for k in range(1, interior + 1)}
        return [vals[i] for i in sorted(picks)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Slider(Control):
    """A slider over a fixed table of values (see :func:`slider`)."""

    kind = "slider"

    def __init__(self, name, value, lo, hi, step=None, *, log=False, label=None, format=None):
        super().__init__(name, label)
        integer = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (value, lo, hi)) \
            and (step is None or isinstance(step, numbers.Integral)) and not log
        for what, v in (("value", value), ("min", lo), ("max", hi)):
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"Invalid {what}: {v!r} (slider {name!r} needs finite numbers)")
        if not lo < hi:
            raise ValueError(f"Invalid min, max: {lo!r}, {hi!r} (slider {name!r} needs min < max)")
        if not lo <= value <= hi:
            raise ValueError(f"Invalid value: {value!r} (slider {name!r} runs from {lo!r} to {hi!r})")
        if log and lo <= 0:
            raise ValueError(f"Invalid min: {lo!r} (log slider {name!r} needs min > 0)")
        self.log, self.integer = bool(log), integer
        limit = 2000  # values in one slider's table (the page holds them all)
        if integer:
            step = int(step or 1)
            if step <= 0:
                raise ValueError(f"Invalid step: {step!r} (slider {name!r} needs step > 0)")
            if (hi - lo) // step > limit:
                raise ValueError(f"Invalid step: {step!r} (slider {name!r} would take more than {limit} values)")
            table = sorted({lo, hi, *range(value, lo - 1, -step), *range(value, hi + 1, step)})
            self.format = format or "d"
        else:
            step = float(step or (0.05 if log else (hi - lo) / 100))  # log: in decades, as ipywidgets
            if not (step > 0 and math.isfinite(step)):
                raise ValueError(f"Invalid step: {step!r} (slider {name!r} needs step > 0)")
            if log:
                anchor, lo_e, hi_e = math.log10(value), math.log10(lo), math.log10(hi)
                digits = 3 if step >= 0.02 else 4
                make = lambda k: _significant(10.0 ** (anchor + k * step), digits)
                k_lo, k_hi = math.ceil((lo_e - anchor) / step - 1e-9), math.floor((hi_e - anchor) / step + 1e-9)
            else:
                digits = 12
                make = lambda k: _significant(value + k * step, digits)
                k_lo, k_hi = math.ceil((lo - value) / step - 1e-9), math.floor((hi - value) / step + 1e-9)
            if k_hi - k_lo > limit:
                raise ValueError(f"Invalid step: {step!r} (slider {name!r} would take more than {limit} values)")
            inner = [make(k) if k else float(value) for k in range(k_lo, k_hi + 1)]
            inner = [v for v in inner if lo < v < hi or v == value]
            table = sorted(set([float(lo)] + inner + [float(hi)]))
            if format is None:
                decimals = max(0, -math.floor(math.log10(step) + 1e-9))
                format = ".3g" if log else f".{decimals}f"
            self.format = format
        self.values, self.value, self.step = table, table[table.index(value)], step

    def json(self) -> dict:
        return {"name": self.name, "type": "slider", "label": self.label, "values": self.values,
                "index": self.values.index(self.value), "format": self.format, "log": self.log}


class Dropdown(Control):
    """A choice among ``options`` (see :func:`dropdown`)."""

    kind = "dropdown"

    def __init__(self, name, options, value=None, *, label=None):
        super().__init__(name, label)
        pairs = list(options.items()) if isinstance(options, dict) else [(str(o), o) for o in options]
        if not pairs:
            raise ValueError(f"Invalid options: {options!r} (dropdown {name!r} needs at least one)")
        for lab, v in pairs:
            if not isinstance(v, (str, bool, int, float)) or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"Invalid option: {lab!r}: {v!r} (an option's value must be a string, a bool or a "
                                 f"finite number, so that the page can hold it)")
        self.options = [(str(lab), v) for lab, v in pairs]
        self.values = [v for _, v in self.options]
        if len(set(map(repr, self.values))) != len(self.values):
            raise ValueError(f"Invalid options: {options!r} (dropdown {name!r} has repeated values)")
        if value is None:
            value = self.values[0]
        if value not in self.values:
            raise ValueError(f"Invalid value: {value!r} (dropdown {name!r} has the values {self.values})")
        self.value = value

    def grid(self, interior: int = 3) -> list:
        return list(self.values)

    def label_of(self, value) -> str:
        return self.options[self.values.index(value)][0]

    def json(self) -> dict:
        return {"name": self.name, "type": "dropdown", "label": self.label,
                "options": [list(o) for o in self.options], "index": self.values.index(self.value)}


def slider(name: str, value, min, max, step=None, *, log=False, label=None, format=None) -> Slider:
    r"""A slider named ``name`` (the keyword its value is known by), starting at ``value``.

    Its values are a fixed table: ``value`` plus or minus whole ``step``\ s (in decades, default
    0.05, when ``log=True``) inside ``[min, max]``, and both ends; log values are rounded to
    3 significant digits, linear ones to 12 (so 0.37, not 0.37000000000000005).  Integers
    everywhere give an integer slider.  ``label`` is shown beside it (default: the name),
    ``format`` formats its readout (Python's format spec, e.g. ``".3g"``)."""
    return Slider(name, value, min, max, step, log=log, label=label, format=format)


def dropdown(name: str, options, value=None, *, label=None) -> Dropdown:
    """A dropdown named ``name`` over ``options``: a list (each shown as ``str``) or a dict
    ``{label: value}``; values are strings, bools or numbers.  Starts at ``value`` (default:
    the first)."""
    return Dropdown(name, options, value, label=label)


# ------------------------------------------------------------------ calls and switches

_REGISTRY = {
    "rule": {n: getattr(R, n) for n in R.__all__ if n not in ("Optimizer", "TORCH_TWINS")},
    "schedule": {n: getattr(S, n) for n in S.__all__ if n not in ("Schedule", "join")},
    "objective": dict(F.DESCRIBED),
}


def _takes_objective(make) -> bool:
    """The convention of :mod:`descent.rules`: a rule that needs more than the gradient
    takes the objective as its first argument."""
    import inspect

    params = list(inspect.signature(make).parameters)
    return bool(params) and params[0] == "objective"


def _name_of(kind, fn):
    table = _REGISTRY[kind]
    if isinstance(fn, str):
        if fn not in table:
            raise ValueError(f"Invalid {kind}: {fn!r} (known: {sorted(table)})")
        return fn
    for name, f in table.items():
        if f is fn:
            return name
    raise ValueError(f"Invalid {kind}: {fn!r} (pass one of descent's {kind}s or its name: {sorted(table)})")


class Call:
    """``kind`` (``"rule"``, ``"schedule"``, ``"objective"``) ``name`` called with ``args``."""

    def __init__(self, kind: str, fn, args: dict):
        self.kind, self.name = kind, _name_of(kind, fn)
        for a in args.values():
            _check_description(a)
        self.args = dict(args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.kind}({self.name}, {args})"


class Switch:
    """The description ``cases[value]`` for the current value of the dropdown ``control``."""

    def __init__(self, control: Dropdown, cases: dict):
        if not isinstance(control, Dropdown):
            raise ValueError(f"Invalid control: {control!r} (a switch is driven by a dropdown)")
        missing = [v for v in control.values if v not in cases]
        extra = [v for v in cases if v not in control.values]
        if missing or extra:
            raise ValueError(f"Invalid cases: {sorted(map(repr, cases))} (dropdown {control.name!r} has the values "
                             f"{control.values}; missing {missing}, unknown {extra})")
        for c in cases.values():
            _check_description(c)
        self.control, self.cases = control, [(v, cases[v]) for v in control.values]

    def case(self, value):
        for v, desc in self.cases:
            if v == value:
                return desc
        raise ValueError(f"Invalid value: {value!r} (dropdown {self.control.name!r} has the values {self.control.values})")

    def __repr__(self) -> str:
        return f"switch({self.control.name}, {dict(self.cases)!r})"


def rule(fn, **args) -> Call:
    """``fn`` (a rule of :mod:`descent`, or its name) with ``args``; a rule that takes the
    objective first (``nesterov``, ``newton``, ``line_search``) gets the panel's."""
    return Call("rule", fn, args)


def schedule(fn, **args) -> Call:
    """A schedule of :mod:`descent.schedules` (or its name) with ``args``, to pass as ``lr=``."""
    return Call("schedule", fn, args)


def objective(fn, **args) -> Call:
    """An objective built from ``args`` that may hold controls (``objective("quadratic",
    A=[[1.0, 0.0], [0.0, kappa]])``).  A fixed objective needs no wrapper: pass the instance."""
    return Call("objective", fn, args)


def switch(control: Dropdown, cases: dict) -> Switch:
    """``cases[v]`` where ``v`` is the dropdown's current value (``cases`` maps every value)."""
    return Switch(control, cases)


def _check_description(d):
    if isinstance(d, (Control, Expr, Call, Switch, F.Objective)) or d is None:
        return
    if isinstance(d, bool) or isinstance(d, str):
        return
    if isinstance(d, numbers.Real):
        if not math.isfinite(d):
            raise ValueError(f"Invalid value: {d!r} (a panel's numbers must be finite)")
        return
    if isinstance(d, (tuple, list)):
        for e in d:
            _check_description(e)
        return
    if isinstance(d, np.ndarray) and d.ndim <= 2 and d.dtype.kind in "if":
        return
    raise ValueError(f"Invalid description: {d!r} (expected a number, string, control, expression, "
                     f"rule/schedule/objective call, switch, or a list of them)")


# ------------------------------------------------------------------ JSON and evaluation

def to_json(d):
    """The JSON tree of a description (what the JS twin evaluates)."""
    if isinstance(d, Control):
        return {"c": d.name}
    if isinstance(d, Expr):
        return {"op": d.op, "args": [to_json(a) for a in d.args]}
    if isinstance(d, Call):
        return {d.kind: d.name, "args": {k: to_json(v) for k, v in d.args.items()}}
    if isinstance(d, Switch):
        return {"switch": d.control.name, "cases": [[v, to_json(c)] for v, c in d.cases]}
    if isinstance(d, F.Objective):
        desc = d.describe()
        return {"objective": desc["objective"], "args": desc["args"]}
    if isinstance(d, np.ndarray):
        return d.tolist()
    if isinstance(d, (tuple, list)):
        return [to_json(e) for e in d]
    if isinstance(d, numbers.Integral) and not isinstance(d, bool):
        return int(d)
    if isinstance(d, numbers.Real) and not isinstance(d, bool):
        return float(d)
    return d


def controls_of(*descriptions) -> list[Control]:
    """Every control the descriptions refer to, in order of first appearance."""
    found: dict[str, Control] = {}

    def walk(d):
        if isinstance(d, Control):
            if d.name in found and found[d.name] is not d:
                raise ValueError(f"Invalid controls: two different controls are named {d.name!r}")
            found.setdefault(d.name, d)
        elif isinstance(d, Expr):
            for a in d.args:
                walk(a)
        elif isinstance(d, Call):
            for a in d.args.values():
                walk(a)
        elif isinstance(d, Switch):  # the controls of the cases first, then the switching dropdown
            for _, c in d.cases:
                walk(c)
            walk(d.control)
        elif isinstance(d, (tuple, list)):
            for e in d:
                walk(e)
        elif isinstance(d, dict):
            for e in d.values():
                walk(e)

    for d in descriptions:
        walk(d)
    return list(found.values())


def rule_names(d) -> list[str]:
    """The names of every rule a description can produce (all cases of its switches)."""
    out: list[str] = []

    def walk(x):
        if isinstance(x, Call):
            if x.kind == "rule" and x.name not in out:
                out.append(x.name)
            for a in x.args.values():
                walk(a)
        elif isinstance(x, Switch):
            for _, c in x.cases:
                walk(c)
        elif isinstance(x, (tuple, list)):
            for e in x:
                walk(e)

    walk(d)
    return out


def evaluate(d, values: dict, objective=None) -> Any:
    """The Python value of a description for the controls' ``values`` ({name: value}).

    Controls give their value, expressions compute, calls call :mod:`descent`
    (``objective`` is handed to the rules that take one first), switches pick their case,
    lists become tuples.  This is what the kernel's panel computes with; the page
    evaluates the same JSON with ``js/descent/spec.js``."""
    if isinstance(d, Control):
        try:
            return values[d.name]
        except KeyError:
            raise ValueError(f"Invalid values: no value for control {d.name!r} (got {sorted(values)})") from None
    if isinstance(d, Expr):
        args = [evaluate(a, values, objective) for a in d.args]
        if d.op == "neg":
            return -args[0]
        if d.op == "sqrt":
            return math.sqrt(args[0])
        return _OPS[d.op](*args)
    if isinstance(d, Switch):
        return evaluate(d.case(evaluate(d.control, values)), values, objective)
    if isinstance(d, Call):
        kwargs = {k: evaluate(v, values, objective) for k, v in d.args.items()}
        make = _REGISTRY[d.kind][d.name]
        if d.kind == "rule" and _takes_objective(make):
            if objective is None:
                raise ValueError(f"Invalid objective: None (rule {d.name!r} takes the panel's objective first)")
            return make(objective, **kwargs)
        if d.kind == "objective":
            kwargs = {k: np.asarray(v, dtype=float) if k in ("A", "b") and v is not None else v for k, v in kwargs.items()}
        return make(**kwargs)
    if isinstance(d, (tuple, list)):
        return tuple(evaluate(e, values, objective) for e in d)
    return d

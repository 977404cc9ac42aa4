r"""The panels of the book, each a *kind*: an experiment and the figure that shows it.

A kind knows

* its ``controls`` (the :class:`~descent.widgets.spec.Control`\ s its descriptions use);
* ``compute(values)``: the experiment with :mod:`descent` (no drawing);
* the figure's fixed parts: ``setup(fig, axes)`` once, ``restyle(axes, key)`` for each
  *static key* (the values of the controls that change the fixed parts, e.g. the function
  of a 1-D panel), ``limits(key)`` (the axes' limits, rounded so the page gets the same);
* the moving parts: ``artists()`` (name -> style; the page draws with the same table) and
  ``scene(values, result, limits)`` (name -> data).

``js/descent/kinds.js`` holds each kind's JavaScript twin: the same ``compute`` with the
twin of :mod:`descent`, the same ``scene``.  ``tests/test_js_parity.py`` checks that both
computes agree over every live panel's control grid; ``tests/test_live_panels.py`` that the
page draws the scene where Python says.  A kind with ``twin = False`` (minibatch SGD, which
needs NumPy's seeded generator) is shown in the page as a still figure with its controls
visibly inactive.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import plot
from ..run import run
from . import spec as S

CROSS = "crimson"
SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def _r(v, digits=10) -> float:
    """A computed limit rounded to ``digits`` significant digits: the same number on every
    machine (and in the page), whatever the last bits of the arithmetic behind it."""
    return float(f"{float(v):.{digits}g}")


def _lim(lo, hi):
    return [_r(lo), _r(hi)]


def _last_finite(x) -> int:
    ok = np.flatnonzero(np.isfinite(x))
    return int(ok[-1]) if ok.size else 0


def _positive(y):
    y = np.asarray(y, dtype=float)
    return np.where(y > 0, y, np.nan)


def _status_artists(prefix, axes, loc):
    return {
        f"{prefix}_cross": {"type": "line", "axes": axes, "marker": "x", "ms": 10, "mew": 2.5, "color": CROSS,
                            "ls": "none", "zorder": 6},
        f"{prefix}_text": {"type": "text", "axes": axes, "xy": list(loc), "va": "top", "color": CROSS, "weight": "bold",
                           "size": 9, "zorder": 7, "box": {"fc": "white", "ec": CROSS, "alpha": 0.85}},
    }


def _status_scene(prefix, at, x, y, label=""):
    """A cross at (x, y) and "label diverged at step k", or nothing if ``at < 0``."""
    if at < 0:
        return {f"{prefix}_cross": {"x": [], "y": []}, f"{prefix}_text": {"text": ""}}
    return {f"{prefix}_cross": {"x": [float(x)], "y": [float(y)]},
            f"{prefix}_text": {"text": f"{label} diverged at step {at}".strip()}}


def _f_min(obj) -> float:
    return obj.f_min if obj.f_min is not None else 0.0


def _gap(f, f_min):
    r""":math:`f - f^\star` to draw on a log axis: where :math:`f^\star \ne 0` a gap within 64
    ulps of it is rounding (its last bits, and those of :math:`f^\star`, differ between
    machines and between Python and the page): it is drawn on that floor, "reached"."""
    gap = np.asarray(f, dtype=float) - f_min
    noise = 64 * 2.220446049250313e-16 * abs(f_min)
    if noise == 0:
        return gap, np.where(gap > 0, gap, np.nan)
    return gap, np.where(gap > noise, gap, np.where(np.isnan(gap), np.nan, noise))


def _fixed(d, what):
    if S.controls_of(d):
        raise ValueError(f"Invalid {what}: {d!r} (it draws the panel's fixed background, so it may not depend on "
                         f"a control)")
    return d


class Kind:
    """The base of every panel kind (see the module docstring)."""

    ncols, nrows, size = 2, 1, (4.6, 3.4)
    twin = True
    static_controls: tuple = ()

    def static_key(self, values) -> tuple:
        return tuple(values[n] for n in self.static_controls)

    def static_keys(self) -> list[tuple]:
        by_name = {c.name: c for c in self.controls}
        return list(itertools.product(*(by_name[n].values for n in self.static_controls)))

    def background(self, axes, on: bool):
        """Hide (``on``) what the page draws itself on a background (a data-driven axis)."""

    def ticks(self, axes) -> dict:
        """Tick tables of the axes whose limits follow the data: {axes: {top: [[pos, label]]}}."""
        return {}

    def json(self) -> dict:
        raise NotImplementedError

    def rules(self) -> list:
        """Every rule description of the panel (for its colours and labels)."""
        return []


# ------------------------------------------------------------------ one run in 1-D

class Run1D(Kind):
    """A 1-D run: the function with its iterates (left), :math:`f(x_t) - f^\\star` on a log
    axis (right).  A dict of objectives adds a ``function`` dropdown."""

    def __init__(self, objectives, rule, *, x0, steps=30):
        objs = objectives if isinstance(objectives, dict) else {objectives.name: objectives}
        for o in objs.values():
            if getattr(o, "dim", None) != 1:
                raise ValueError(f"Invalid objective: {o!r} (a 1-D panel needs objectives of dimension 1)")
        self.objs = {str(k): _fixed(v, "objective") for k, v in objs.items()}
        if len(self.objs) > 1:
            self.function = S.dropdown("function", list(self.objs), label="function")
            self.objective = S.switch(self.function, self.objs)
            self.static_controls = ("function",)
        else:
            self.function, self.objective = None, next(iter(self.objs.values()))
        self.rule, self.x0, self.steps = rule, x0, steps
        self.max_steps = steps.values[-1] if isinstance(steps, S.Control) else int(steps)
        self.controls = S.controls_of(*([self.function] if self.function else []), rule, x0, steps)
        self._limits = {}

    def _obj(self, key):
        return self.objs[key[0]] if self.function else self.objective

    def rules(self):
        return [self.rule]

    def limits(self, key):
        if key not in self._limits:
            obj = self._obj(key)
            lo, hi = obj.window
            fx = obj.f(np.linspace(lo, hi, 400)[:, None])
            pad = 0.08 * (fx.max() - fx.min())
            top = 1e3 * max(float(np.nanmax(fx)) - _f_min(obj), 1e-12)  # 21 decades: slider moves only blit
            self._limits[key] = [[_lim(lo, hi), _lim(fx.min() - pad, fx.max() + pad)],
                                 [_lim(-0.5, self.max_steps + 0.5), _lim(top * 1e-21, top)]]
        return self._limits[key]

    def setup(self, fig, axes):
        ax, ax2 = axes
        (self._curve,) = ax.plot([], [], color="0.35", lw=1.5)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f(x)$")
        ax2.set_yscale("log")
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")

    def restyle(self, axes, key):
        obj = self._obj(key)
        lo, hi = obj.window
        xs = np.linspace(lo, hi, 400)
        self._curve.set_data(xs, obj.f(xs[:, None]))
        axes[0].set_title(f"$f(x)$ = {obj.name}")
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def artists(self):
        return {
            "path": {"type": "line", "axes": 0, "lw": 1.0, "marker": "o", "ms": 4, "alpha": 0.8, "zorder": 4},
            "start": {"type": "line", "axes": 0, "marker": "o", "ms": 8, "mec": "k", "ls": "none", "zorder": 5},
            "loss": {"type": "line", "axes": 1, "lw": 1.5, "marker": "o", "ms": 3, "zorder": 3},
            "title": {"type": "text", "axes": 1, "xy": [0.98, 0.96], "ha": "right", "va": "top", "size": 9,
                      "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.85}},
            **_status_artists("status", 0, (0.02, 0.96)),
            **_status_artists("status2", 1, (0.02, 0.1)),
        }

    def compute(self, values):
        obj = S.evaluate(self.objective, values)
        opt = S.evaluate(self.rule, values, obj)
        x0 = S.evaluate(self.x0, values)
        return {"objective": obj, "opt": opt, "traj": run(opt, obj, [x0], S.evaluate(self.steps, values))}

    def scene(self, values, result, limits):
        obj, opt, traj = result["objective"], result["opt"], result["traj"]
        (xlim, ylim), _ = limits
        color = plot.style(opt)["color"]
        x, f = traj.xs[:, 0], traj.losses
        gap, shown = _gap(f, _f_min(obj))
        t = np.arange(len(gap))
        at, j = int(traj.diverged_at), _last_finite(x)
        return {
            "path": {"x": x, "y": f, "color": color},
            "start": {"x": x[:1], "y": f[:1], "color": color},
            "loss": {"x": t, "y": shown, "color": color},
            "title": {"text": f"x{str(j).translate(SUB)} = {x[j]:.4g}" + ("" if at < 0 else " (last finite)")},
            **_status_scene("status", at, np.clip(x[j], *xlim), np.clip(f[j], *ylim)),
            **_status_scene("status2", at, t[j], shown[j]),
        }

    def json(self):
        return {"objective": S.to_json(self.objective), "rule": S.to_json(self.rule), "x0": S.to_json(self.x0),
                "steps": S.to_json(self.steps)}

    def alt(self, key):
        return (f"Interactive figure: the iterates of {plot.style(S.rule_names(self.rule)[0])['label']} on "
                f"f(x) = {self._obj(key).name} (left) and the gap f(x_t) − f* on a log axis (right).")


# ------------------------------------------------------------------ a race in 2-D

class Race2D(Kind):
    """Several rules from one start on a 2-D objective: contours with the trajectories
    (left), :math:`f(x_t) - f^\\star` on a log axis (right)."""

    def __init__(self, objective, rules: dict, *, x0, steps=100, window=None, levels=30):
        if getattr(objective, "dim", None) != 2:
            raise ValueError(f"Invalid objective: {objective!r} (a 2-D race needs an objective of dimension 2)")
        if not rules:
            raise ValueError("Invalid rules: {} (a race needs at least one rule)")
        if len(x0) != 2:
            raise ValueError(f"Invalid x0: {x0!r} (a 2-D race starts from a pair)")
        self.objective = _fixed(objective, "objective")
        self.race = [(str(k), v) for k, v in rules.items()]
        self.x0, self.steps, self.levels = tuple(x0), steps, levels
        self.window = window if window is not None else objective.window
        self.max_steps = steps.values[-1] if isinstance(steps, S.Control) else int(steps)
        self.controls = S.controls_of([d for _, d in self.race], self.x0, steps)
        self._limits = None
        self._needs = [[c.name for c in S.controls_of(d)] for _, d in self.race]
        self._last: dict = {}  # per rule: the last run and the values it was made from

    def rules(self):
        return [d for _, d in self.race]

    def limits(self, key=()):
        if self._limits is None:
            (x0, x1), (y0, y1) = self.window
            _, _, Z = plot._grid(self.objective, self.window, 60)
            top = 10.0 ** (math.ceil(math.log10(max(float(np.nanmax(Z)) - _f_min(self.objective), 1e-12))) + 1)
            self._limits = [[_lim(x0, x1), _lim(y0, y1)], [_lim(-0.5, self.max_steps + 0.5), _lim(top * 1e-16, top)]]
        return self._limits

    def setup(self, fig, axes):
        ax, ax2 = axes
        plot.contour(ax, self.objective, levels=self.levels, window=self.window)
        ax2.set_yscale("log")
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")
        ax2.set_title(self.objective.name)

    def restyle(self, axes, key):
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def artists(self):
        out = {}
        for i in range(len(self.race)):
            out[f"path{i}"] = {"type": "line", "axes": 0, "lw": 1.6, "marker": "o", "ms": 2.5, "zorder": 4}
            out[f"start{i}"] = {"type": "line", "axes": 0, "marker": "o", "ms": 6, "mec": "k", "ls": "none", "zorder": 5}
            out[f"loss{i}"] = {"type": "line", "axes": 1, "lw": 1.6, "zorder": 3}
        out["legend"] = {"type": "legend", "axes": 1, "loc": "upper right"}
        out.update(_status_artists("status", 0, (0.02, 0.96)))
        out.update(_status_artists("status2", 1, (0.02, 0.1)))
        return out

    def compute(self, values):
        x0 = [S.evaluate(v, values) for v in self.x0]
        steps = S.evaluate(self.steps, values)
        out = []
        for i, (label, d) in enumerate(self.race):  # a rule whose controls did not move keeps its run
            key = (tuple(x0), steps, tuple(values[n] for n in self._needs[i]))
            if self._last.get(i, (None,))[0] != key:
                opt = S.evaluate(d, values, self.objective)
                self._last[i] = (key, (label, opt, run(opt, self.objective, x0, steps)))
            out.append(self._last[i][1])
        return out

    def scene(self, values, result, limits):
        (xlim, ylim), _ = limits
        f_min = _f_min(self.objective)
        scene, entries, first = {}, [], None
        for i, (label, opt, traj) in enumerate(result):
            st = plot.style(opt, label or None)
            xs, (gap, shown) = traj.xs, _gap(traj.losses, f_min)
            t = np.arange(len(gap))
            scene[f"path{i}"] = {"x": xs[:, 0], "y": xs[:, 1], "color": st["color"]}
            scene[f"start{i}"] = {"x": xs[:1, 0], "y": xs[:1, 1], "color": st["color"]}
            scene[f"loss{i}"] = {"x": t, "y": shown, "color": st["color"]}
            entries.append([st["label"], st["color"], "-"])
            at = int(traj.diverged_at)
            if at >= 0 and first is None:
                j = _last_finite(xs[:, 0])
                first = (xs[j], t[j], shown[j], at, st["label"])
        scene["legend"] = {"entries": entries}
        if first is None:
            scene.update(_status_scene("status", -1, 0, 0))
            scene.update(_status_scene("status2", -1, 0, 0))
        else:
            (px, py), tj, gj, at, lab = first
            scene.update(_status_scene("status", at, np.clip(px, *xlim), np.clip(py, *ylim), lab))
            scene.update(_status_scene("status2", at, tj, gj, lab))
        return scene

    def json(self):
        return {"objective": S.to_json(self.objective), "rules": [[label, S.to_json(d)] for label, d in self.race],
                "x0": [S.to_json(v) for v in self.x0], "steps": S.to_json(self.steps)}

    def alt(self, key):
        names = ", ".join(label for label, _ in self.race)
        return (f"Interactive figure: the trajectories of {names} on the contours of {self.objective.name} (left) "
                f"and their gaps f(x_t) − f* on a log axis (right).")


# ------------------------------------------------------------------ a schedule explorer in 1-D

class Schedule1D(Kind):
    """A schedule and its rule on a 1-D objective: :math:`\\eta_t` (left), the iterates
    (middle), :math:`f(x_t) - f^\\star` (right), beside the rule at a constant rate."""

    ncols, size = 3, (3.7, 3.1)
    COLOR = "#1b9e77"

    def __init__(self, objective, schedules: dict, *, rule=None, x0, steps=100, constant=None, eta_limits=(1e-4, 10.0)):
        if getattr(objective, "dim", None) != 1:
            raise ValueError(f"Invalid objective: {objective!r} (the schedule panel needs a 1-D objective)")
        base = rule if rule is not None else S.rule("gd")
        if not isinstance(base, S.Call) or base.kind != "rule" or "lr" in base.args:
            raise ValueError(f"Invalid rule: {base!r} (a rule description without lr: the panel passes the schedule)")
        self.objective = _fixed(objective, "objective")
        self.schedule = S.dropdown("schedule", [str(k) for k in schedules], label="schedule")
        self.eta = S.switch(self.schedule, {str(k): v for k, v in schedules.items()})
        self.rule = S.Call("rule", base.name, {**base.args, "lr": self.eta})
        self.const_rule = None if constant is None else S.Call("rule", base.name, {**base.args, "lr": constant})
        self.x0, self.steps, self.eta_limits = x0, int(steps), eta_limits
        self.controls = S.controls_of(self.schedule, self.rule, self.const_rule, x0)
        lo, hi = objective.window
        fx = objective.f(np.linspace(lo, hi, 400)[:, None])
        self.f_min = objective.f_min if objective.f_min is not None else float(np.nanmin(fx))
        pad = 0.08 * (np.nanmax(fx) - np.nanmin(fx))
        top = 1e3 * max(float(np.nanmax(fx)) - self.f_min, 1e-12)
        # a gap at or below it (f* reached to rounding: 64 ulps of f*, see _gap) is drawn on it
        self.floor = _r(max(top * 1e-19, 64 * 2.220446049250313e-16 * abs(self.f_min)))
        self._limits = [[_lim(-0.5, steps - 0.5), _lim(*eta_limits)],
                        [_lim(lo, hi), _lim(np.nanmin(fx) - pad, np.nanmax(fx) + pad)],
                        [_lim(-0.5, steps + 0.5), _lim(self.floor / 3, top)]]

    def rules(self):
        return [self.rule]

    def limits(self, key=()):
        return self._limits

    def setup(self, fig, axes):
        from matplotlib.lines import Line2D

        ax0, ax, ax2 = axes
        ax0.set_yscale("log")
        ax0.set_xlabel("step $t$")
        ax0.set_ylabel(r"learning rate $\eta_t$")
        plot.curve(ax, self.objective)
        ax.set_title(f"$f(x)$ = {self.objective.name}")
        ax2.set_yscale("log")
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")
        handles, labels = [Line2D([], [], color=self.COLOR, lw=2)], ["schedule"]
        if self.const_rule is not None:
            handles.append(Line2D([], [], color="0.6", lw=1.2, ls="--"))
            labels.append(r"constant $\eta_0$")
        ax2.legend(handles, labels, loc="upper right")

    def restyle(self, axes, key):
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def artists(self):
        c = self.COLOR
        return {
            "eta": {"type": "line", "axes": 0, "color": c, "lw": 2, "zorder": 3},
            "cpath": {"type": "line", "axes": 1, "color": "#999999", "lw": 1, "ls": "--", "marker": "o", "ms": 2.5,
                      "zorder": 3},
            "path": {"type": "line", "axes": 1, "color": c, "lw": 1, "marker": "o", "ms": 4, "alpha": 0.85, "zorder": 4},
            "start": {"type": "line", "axes": 1, "color": c, "marker": "o", "ms": 8, "mec": "k", "ls": "none", "zorder": 5},
            "closs": {"type": "line", "axes": 2, "color": "#999999", "lw": 1.2, "ls": "--", "zorder": 3},
            "loss": {"type": "line", "axes": 2, "color": c, "lw": 1.8, "zorder": 4},
            "title": {"type": "text", "axes": 2, "xy": [0.02, 0.04], "va": "bottom", "size": 9,
                      "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.85}},
            **_status_artists("status", 1, (0.02, 0.96)),
            **_status_artists("status2", 2, (0.02, 0.2)),
        }

    def compute(self, values):
        sched = S.evaluate(self.eta, values)
        x0 = [S.evaluate(self.x0, values)]
        out = {"eta": np.asarray(sched(np.arange(self.steps)), dtype=float),
               "traj": run(S.evaluate(self.rule, values, self.objective), self.objective, x0, self.steps)}
        out["const"] = None if self.const_rule is None else \
            run(S.evaluate(self.const_rule, values, self.objective), self.objective, x0, self.steps)
        return out

    def scene(self, values, result, limits):
        _, (xlim, ylim), _ = limits
        traj, const, eta = result["traj"], result["const"], result["eta"]
        x, f = traj.xs[:, 0], traj.losses
        gap = f - self.f_min
        t = np.arange(len(gap))
        at, j = int(traj.diverged_at), _last_finite(x)
        scene = {
            "eta": {"x": np.arange(len(eta)), "y": _positive(eta)},
            "path": {"x": x, "y": f}, "start": {"x": x[:1], "y": f[:1]},
            "loss": {"x": t, "y": np.maximum(gap, self.floor)},
            "cpath": {"x": [], "y": []}, "closs": {"x": [], "y": []},
            "title": {"text": f"schedule: x{str(j).translate(SUB)} = {x[j]:.3g}" + ("" if at < 0 else " (last finite)")},
            **_status_scene("status", at, np.clip(x[j], *xlim), np.clip(f[j], *ylim)),
            **_status_scene("status2", at, t[j], max(gap[j], self.floor)),
        }
        if const is not None:
            scene["cpath"] = {"x": const.xs[:, 0], "y": const.losses}
            scene["closs"] = {"x": t, "y": np.maximum(const.losses - self.f_min, self.floor)}
        return scene

    def json(self):
        return {"objective": S.to_json(self.objective), "eta": S.to_json(self.eta), "rule": S.to_json(self.rule),
                "constant": S.to_json(self.const_rule), "x0": S.to_json(self.x0), "steps": self.steps,
                "f_min": _r(self.f_min, 15), "floor": self.floor}

    def alt(self, key):
        return (f"Interactive figure: the learning rate of the chosen schedule (left), its iterates on "
                f"f(x) = {self.objective.name} (middle) and the gap to the minimum on a log axis (right).")


# ------------------------------------------------------------------ the first iterates, as a table

class FirstSteps(Kind):
    """A 1-D run on the curve and its first iterates as a table beside it: the step, the
    gradient, one field of the rule's state and the iterate."""

    ncols, size = 1, (4.4, 3.2)

    def __init__(self, objective, rule, *, x0, rows=5, steps=40, state="s", state_label="s_t",
                 title=None, table_title="the first iterates"):
        if getattr(objective, "dim", None) != 1:
            raise ValueError(f"Invalid objective: {objective!r} (the table panel needs a 1-D objective)")
        self.objective = _fixed(objective, "objective")
        self.rule, self.x0, self.rows, self.steps, self.state = rule, x0, int(rows), int(steps), state
        if not 1 <= self.rows <= self.steps:
            raise ValueError(f"Invalid rows: {rows!r} (between 1 and steps = {steps})")
        self.state_label, self.title, self.table_title = state_label, title, table_title
        self.controls = S.controls_of(rule, x0, state)
        lo, hi = objective.window
        fx = objective.f(np.linspace(lo, hi, 400)[:, None])
        pad = 0.05 * (fx.max() - fx.min())
        self._limits = [[_lim(lo, hi), _lim(fx.min() - pad, fx.max() + pad)]]

    def rules(self):
        return [self.rule]

    def limits(self, key=()):
        return self._limits

    def setup(self, fig, axes):
        plot.curve(axes[0], self.objective)
        if self.title:
            axes[0].set_title(self.title)

    def restyle(self, axes, key):
        (xlim, ylim), = self.limits(key)
        axes[0].set_xlim(*xlim)
        axes[0].set_ylim(*ylim)

    def artists(self):
        return {
            "path": {"type": "line", "axes": 0, "lw": 1.0, "marker": "o", "ms": 4, "alpha": 0.8, "zorder": 4},
            "start": {"type": "line", "axes": 0, "marker": "o", "ms": 8, "mec": "k", "ls": "none", "zorder": 5},
            "table": {"type": "pre", "title": self.table_title},
            **_status_artists("status", 0, (0.02, 0.96)),
        }

    def compute(self, values):
        opt = S.evaluate(self.rule, values, self.objective)
        x0 = S.evaluate(self.x0, values)
        field = S.evaluate(self.state, values)
        x = np.array([x0], dtype=float)
        state = opt.init(x)
        rows = []
        for _ in range(self.rows):  # the first steps by hand, keeping the gradient and the state
            g = self.objective.grad(x)
            step, state = opt.update(g, state, x)
            x = x + step
            rows.append((float(g[0]), float(np.asarray(getattr(state, field))[0]), float(x[0])))
        return {"opt": opt, "rows": rows, "traj": run(opt, self.objective, [x0], self.steps)}

    def scene(self, values, result, limits):
        (xlim, ylim), = limits
        opt, traj = result["opt"], result["traj"]
        color = plot.style(opt)["color"]
        x, f = traj.xs[:, 0], traj.losses
        at, j = int(traj.diverged_at), _last_finite(x)
        lines = [f"  t       g_t  {self.state_label:>10s}        x_t"]
        lines += [f"{t:3d} {g:9.4f} {s:11.4f} {xt:10.4f}" for t, (g, s, xt) in enumerate(result["rows"], start=1)]
        lines += ["", f" x_{self.steps} = {x[j]:.4g}", f" form: {opt.name}"]
        return {
            "path": {"x": x, "y": f, "color": color}, "start": {"x": x[:1], "y": f[:1], "color": color},
            "table": {"text": "\n".join(lines)},
            **_status_scene("status", at, np.clip(x[j], *xlim), np.clip(f[j], *ylim)),
        }

    def json(self):
        return {"objective": S.to_json(self.objective), "rule": S.to_json(self.rule), "x0": S.to_json(self.x0),
                "rows": self.rows, "steps": self.steps, "state": S.to_json(self.state), "state_label": self.state_label}

    def alt(self, key):
        return f"Interactive figure: a run on f(x) = {self.objective.name}, with a table of its first {self.rows} iterates."


# ------------------------------------------------------------------ step lengths under a constant gradient

class StepLengths(Kind):
    """What each rule does with the same constant gradient :math:`g`: the step length over
    the steps, log-log, and a table of the first and the largest step beside it."""

    ncols, size = 1, (4.4, 3.2)

    def __init__(self, rules: dict, *, grad, steps=2000, labels=None, colors=None, dashed=(), notes=(), footer=(),
                 title=None, table_title=None, ylim=(1e-4, 1e3)):
        self.race = [(str(k), v) for k, v in rules.items()]
        self.grad, self.steps = grad, int(steps)
        self.labels = {k: (labels or {}).get(k, k) for k, _ in self.race}
        self.colors = {k: (colors or {}).get(k) or plot.style(S.rule_names(d)[0])["color"] for k, d in self.race}
        self.dashed = set(dashed)
        self.notes, self.footer = [tuple(n) for n in notes], [tuple(n) for n in footer]
        self.title, self.table_title = title, table_title
        self.controls = S.controls_of([d for _, d in self.race], grad, [n[1] for n in self.notes + self.footer])
        self._limits = [[_lim(1, self.steps), _lim(*ylim)]]
        # the curves are drawn through log-spaced steps (every step up to 100): the same shape, fewer points
        self.index = sorted({int(round(v)) for v in np.geomspace(1, self.steps, 300)} | set(range(1, min(self.steps, 100) + 1)))

    def rules(self):
        return [d for _, d in self.race]

    def limits(self, key=()):
        return self._limits

    def setup(self, fig, axes):
        ax = axes[0]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(1.0, color="0.5", lw=1, ls=":")
        ax.set_xlabel("step $t$")
        ax.set_ylabel(r"step length / $\eta$")
        if self.title:
            ax.set_title(self.title)
        from matplotlib.lines import Line2D

        ax.legend([Line2D([], [], color=self.colors[k], lw=2, ls="--" if k in self.dashed else "-") for k, _ in self.race],
                  [self.labels[k] for k, _ in self.race], loc="lower left", fontsize=8)

    def restyle(self, axes, key):
        (xlim, ylim), = self.limits(key)
        axes[0].set_xlim(*xlim)
        axes[0].set_ylim(*ylim)

    def artists(self):
        out = {f"line{i}": {"type": "line", "axes": 0, "color": self.colors[k], "lw": 2,
                            "ls": "--" if k in self.dashed else "-", "zorder": 3}
               for i, (k, _) in enumerate(self.race)}
        out["table"] = {"type": "pre", "title": self.table_title}
        return out

    def compute(self, values):
        g = float(S.evaluate(self.grad, values))
        out = []
        for _, d in self.race:
            opt = S.evaluate(d, values)
            x, state, steps = 0.0, opt.init(0.0), []
            for _ in range(self.steps):  # plain floats: the rules run on Python numbers too, and fast
                step, state = opt.update(g, state, x)
                steps.append(float(step))
            out.append(-np.array(steps))
        return out

    def scene(self, values, result, limits):
        t = np.array(self.index)
        rows = [f"{label} = {format(float(S.evaluate(e, values)), fmt)}" for label, e, fmt in self.notes]
        rows += ["", f"{'form':12s}{'t = 1':>10s}{'max':>10s}{'at t':>7s}"]
        scene = {}
        for i, ((key, _), steps) in enumerate(zip(self.race, result, strict=True)):
            scene[f"line{i}"] = {"x": t, "y": np.clip(steps[t - 1], 1e-5, 1e4)}
            k = int(np.argmax(steps))
            at = f"{k + 1:7d}" if steps[k] > steps[0] * (1 + 1e-9) else f"{'-':>7s}"  # '-': the first is the largest
            rows.append(f"{key:12s}{steps[0]:10.3f}{steps[k]:10.3f}{at}")
        if self.footer:
            rows.append("")
            rows += [f"{label} = {format(float(S.evaluate(e, values)), fmt)}" for label, e, fmt in self.footer]
        scene["table"] = {"text": "\n".join(rows)}
        return scene

    def json(self):
        return {"rules": [[k, S.to_json(d)] for k, d in self.race], "grad": S.to_json(self.grad), "steps": self.steps,
                "index": self.index,
                "notes": [[lab, S.to_json(e), fmt] for lab, e, fmt in self.notes],
                "footer": [[lab, S.to_json(e), fmt] for lab, e, fmt in self.footer]}

    def alt(self, key):
        return ("Interactive figure: the step length of each form under a constant gradient, on log-log axes, "
                "with a table of the first and the largest step.")


# ------------------------------------------------------------------ measured rate against the theory

def linear_rate(opt, objective):
    r"""The rate :math:`\rho` at which ``opt`` contracts on the quadratic ``objective``, when the
    rule is linear there with a constant rate: gradient descent :math:`\max_i|1-\eta\lambda_i|`;
    heavy ball and lecture momentum the largest root modulus of
    :math:`z^2 - (1+\beta-\eta\lambda_i)z + \beta`.  None for any other rule."""
    lams = getattr(objective, "eigenvalues", None)
    h = getattr(opt, "hyperparams", {})
    lr = h.get("lr")
    if lams is None or lr is None or callable(lr):
        return None
    name = opt.name
    if name == "sgd" and h.get("momentum", 0) == 0 and not h.get("weight_decay", 0):
        name = "gd"
    if name == "gd":
        return max(abs(1 - lr * lam) for lam in lams)
    if name in ("heavy_ball", "momentum"):
        beta = h["beta"]
        radius = 0.0
        for lam in lams:
            p = 1 + beta - lr * lam
            disc = p * p - 4 * beta
            r = math.sqrt(beta) if disc < 0 else max(abs(p + math.sqrt(disc)), abs(p - math.sqrt(disc))) / 2
            radius = max(radius, r)
        return radius
    return None


class RateRace(Kind):
    """:math:`\\|x_t\\|` of each rule on a quadratic (solid) against :math:`\\rho^t\\|x_0\\|`
    (dashed), with :math:`\\rho` from :func:`linear_rate`; log axis."""

    ncols, size = 1, (6.6, 3.4)

    def __init__(self, objective, rules: dict, *, x0, steps=300, ylim=(1e-16, 1e9)):
        self.objective = objective
        self.race = [(str(k), v) for k, v in rules.items()]
        self.x0, self.steps = tuple(float(v) for v in x0), int(steps)
        self.controls = S.controls_of(objective, [d for _, d in self.race])
        self._limits = [[_lim(0, self.steps), _lim(*ylim)]]
        self._styles = [plot.style(S.rule_names(d)[0], label) for label, d in self.race]

    def rules(self):
        return [d for _, d in self.race]

    def limits(self, key=()):
        return self._limits

    def setup(self, fig, axes):
        ax = axes[0]
        ax.set_yscale("log")
        ax.set_xlabel("step $t$")
        ax.set_ylabel(r"$\|x_t\|$")
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=st["color"], lw=1.8) for st in self._styles]
        handles.append(Line2D([], [], color="0.3", lw=1.2, ls="--"))
        ax.legend(handles, [st["label"] for st in self._styles] + [r"$\rho^t\|x_0\|$"], loc="lower left", fontsize=8)

    def restyle(self, axes, key):
        (xlim, ylim), = self.limits(key)
        axes[0].set_xlim(*xlim)
        axes[0].set_ylim(*ylim)

    def artists(self):
        out = {}
        for i, st in enumerate(self._styles):
            out[f"meas{i}"] = {"type": "line", "axes": 0, "color": st["color"], "lw": 1.8, "zorder": 3}
            out[f"theo{i}"] = {"type": "line", "axes": 0, "color": st["color"], "lw": 1.2, "ls": "--", "zorder": 3}
            out.update(_status_artists(f"status{i}", 0, (0.02, 0.96 - 0.1 * i)))
        out["rates"] = {"type": "text", "axes": 0, "xy": [0.98, 0.96], "ha": "right", "va": "top", "size": 9}
        return out

    def compute(self, values):
        obj = S.evaluate(self.objective, values)
        out = []
        for _, d in self.race:
            opt = S.evaluate(d, values, obj)
            out.append((opt, run(opt, obj, list(self.x0), self.steps), linear_rate(opt, obj)))
        return out

    def scene(self, values, result, limits):
        t = np.arange(self.steps + 1)
        norm0 = math.sqrt(sum(v * v for v in self.x0))
        scene, words = {}, []
        for i, ((_, traj, rho), st) in enumerate(zip(result, self._styles, strict=True)):
            norm = np.sqrt(traj.xs[:, 0] * traj.xs[:, 0] + traj.xs[:, 1] * traj.xs[:, 1])
            scene[f"meas{i}"] = {"x": t, "y": norm}
            scene[f"theo{i}"] = {"x": t, "y": np.minimum(rho ** t * norm0, 1e12)} if rho is not None else {"x": [], "y": []}
            at = int(traj.diverged_at)
            last = at - 1 if at > 0 else 0
            scene.update(_status_scene(f"status{i}", at, last, norm[last], st["label"]))
            if rho is not None:
                words.append(f"{st['label']} ρ = {rho:.4f}")
        scene["rates"] = {"text": ",  ".join(words)}
        return scene

    def json(self):
        return {"objective": S.to_json(self.objective), "rules": [[k, S.to_json(d)] for k, d in self.race],
                "x0": list(self.x0), "steps": self.steps}

    def alt(self, key):
        return ("Interactive figure: the distance to the minimum of each run on a log axis against the step, "
                "next to its predicted rate (dashed).")


# ------------------------------------------------------------------ the EMA explorer

def _six(values):
    """A series rounded to 6 decimals: the page holds exactly these numbers, on every machine."""
    return np.array([float(f"{v:.6f}") for v in np.asarray(values, dtype=float).ravel()])


class EMAExplorer(Kind):
    """An exponential moving average over ``signal + σ·noise`` (left) and the weight of every
    value inside :math:`V_t` (right, bars); optional bias correction."""

    size = (4.6, 3.3)
    COLOR, BARS = "#d95f02", "#7570b3"
    LADDER = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.2)

    def __init__(self, signal, noise, *, rho, t, sigma, bias, ylim=None):
        self.signal, self.noise = _six(signal), _six(noise)
        if self.signal.shape != self.noise.shape or self.signal.size < 2:
            raise ValueError(f"Invalid signal, noise: shapes {self.signal.shape}, {self.noise.shape} (need equal lengths)")
        if not isinstance(bias, S.Dropdown) or sorted(map(str, bias.values)) != ["off", "on"]:
            raise ValueError(f"Invalid bias: {bias!r} (a dropdown with the values 'off' and 'on')")
        self.rho, self.t, self.sigma, self.bias = rho, t, sigma, bias
        self.controls = S.controls_of(rho, t, sigma, bias)
        n = self.signal.size
        if ylim is None:
            spread = float(np.max(np.abs(self.noise))) * max(getattr(sigma, "values", [sigma])[-1], 0.0)
            ylim = (math.floor(2 * (self.signal.min() - spread)) / 2, math.ceil(2 * (self.signal.max() + spread)) / 2)
        self._limits = [[_lim(0, n + 1), _lim(*ylim)], [_lim(0, n + 1), [0.0, 1.0]]]

    def limits(self, key=()):
        return self._limits

    def setup(self, fig, axes):
        ax, ax2 = axes
        n = self.signal.size
        ax.plot(np.arange(1, n + 1), self.signal, "--", color="0.3", lw=1, label="signal")
        ax.set_xlabel("$t$")
        ax.set_ylabel("value")
        ax.set_title("series and its EMA")
        ax2.set_xlabel("$i$ (which value)")
        ax2.set_ylabel("weight of $s_i$ in $V_t$")
        ax2.yaxis.set_label_coords(-0.2, 0.5)  # clear of the widest tick labels of every y-limit
        ax2.set_title(r"weights $(1-\rho)\,\rho^{t-i}$")

    def restyle(self, axes, key):
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def background(self, axes, on):
        """The weight axis follows the bars: the page draws its ticks, grid and labels (here
        they turn transparent, so that the axis label keeps its place)."""
        import matplotlib

        ax2 = axes[1]
        ax2.tick_params(axis="y", colors="none" if on else matplotlib.rcParams["ytick.color"])
        ax2.yaxis.grid(False if on else matplotlib.rcParams["axes.grid"])

    def ticks(self, axes):
        ax2 = axes[1]
        saved = ax2.get_ylim()
        table = {}
        for top in self.LADDER:
            ax2.set_ylim(0, top)
            locs = [v for v in ax2.yaxis.get_major_locator()() if -1e-12 <= v <= top * (1 + 1e-12)]
            labels = ax2.yaxis.get_major_formatter().format_ticks(locs)
            table[repr(top)] = [[_r(v), lab] for v, lab in zip(locs, labels, strict=True)]
        ax2.set_ylim(*saved)
        return {"1": table}

    def artists(self):
        n = self.signal.size
        return {
            "dots": {"type": "line", "axes": 0, "ls": "none", "marker": ".", "ms": 3, "color": "#a6a6a6", "zorder": 2},
            "ema": {"type": "line", "axes": 0, "color": self.COLOR, "lw": 2, "zorder": 3},
            "now": {"type": "line", "axes": 0, "ls": "none", "marker": "o", "color": self.COLOR, "mec": "k", "ms": 8,
                    "zorder": 5},
            "band": {"type": "span", "axes": 0, "color": self.COLOR, "alpha": 0.12, "zorder": 1},
            "text": {"type": "text", "axes": 0, "xy": [0.02, 0.97], "va": "top", "size": 9,
                     "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.9}},
            "bars": {"type": "stairs", "axes": 1, "edges": [0.5, n + 0.5, n], "color": self.BARS, "zorder": 2},
            "wtext": {"type": "text", "axes": 1, "xy": [0.02, 0.97], "va": "top", "size": 9,
                      "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.9}},
        }

    def compute(self, values):
        from .. import averages as A

        rho, t = S.evaluate(self.rho, values), int(S.evaluate(self.t, values))
        sigma, bias = S.evaluate(self.sigma, values), S.evaluate(self.bias, values)
        n = self.signal.size
        series = self.signal + sigma * self.noise
        V = A.ema(series, rho, v0=0)
        w = np.zeros(n)
        w[:t] = A.ema_weights(rho, t)
        if bias == "on":
            V = A.bias_corrected(V, rho)
            w = w / (1 - rho ** t)
        return {"series": series, "V": V, "w": w, "window": A.effective_window(rho)}

    def scene(self, values, result, limits):
        t = int(S.evaluate(self.t, values))
        corrected = S.evaluate(self.bias, values) == "on"
        series, V, w, window = result["series"], result["V"], result["w"], result["window"]
        ts = np.arange(1, series.size + 1)
        lo = max(t - window, 0.5)
        tallest = float(w.max())
        top = next((c for c in self.LADDER if c >= 1.1 * tallest), self.LADDER[-1])
        return {
            "dots": {"x": ts, "y": series}, "ema": {"x": ts, "y": V}, "now": {"x": [t], "y": [V[t - 1]]},
            "band": {"x0": lo, "x1": float(t)},
            "text": {"text": f"V{str(t).translate(SUB)} = {V[t - 1]:.3f}" + ("  (corrected)" if corrected else "")},
            "bars": {"values": w},
            "wtext": {"text": f"window 1/(1-ρ) = {window:.4g}\nweights sum to {w.sum():.4f}"},
            "_ylim": {1: (0.0, top)},
        }

    def json(self):
        return {"signal": self.signal.tolist(), "noise": self.noise.tolist(), "rho": S.to_json(self.rho),
                "t": S.to_json(self.t), "sigma": S.to_json(self.sigma), "bias": S.to_json(self.bias),
                "ladder": list(self.LADDER)}

    def alt(self, key):
        return ("Interactive figure: a noisy series with its exponential moving average (left) and the weight of "
                "every value inside the average (right).")


# ------------------------------------------------------------------ minibatch SGD (no twin)

class MinibatchRace(Kind):
    """Minibatch SGD against full-batch GD on a 2-D least-squares problem: paths on the
    contours (left), :math:`L(w_t) - L^\\star` (right).  The minibatches come from NumPy's
    seeded generator, which the page has no twin of: in the static book this panel is a
    still figure with inactive controls."""

    twin = False

    def __init__(self, objective, *, start, batch, lr, seed, steps=60):
        if not callable(getattr(objective, "sample_grad", None)) or objective.dim != 2:
            raise ValueError(f"Invalid objective: {objective!r} (a 2-D least-squares problem with sample_grad)")
        self.objective, self.start = objective, np.asarray(start, dtype=float)
        self.batch, self.lr, self.seed, self.steps = batch, lr, seed, int(steps)
        self.controls = S.controls_of(batch, lr, seed)

    def limits(self, key=()):
        (x0, x1), (y0, y1) = self.objective.window
        return [[[x0, x1], [y0, y1]], [[-0.5, self.steps + 0.5], [1e-6, 1e2]]]  # fixed: a change only blits

    def setup(self, fig, axes):
        ax, ax2 = axes
        plot.contour(ax, self.objective, levels=20, log=False, filled=False)
        ax.plot(*self.start, "o", color="k", ms=6, zorder=5)
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax2.set_yscale("log")
        ax2.set_xlim(-0.5, self.steps + 0.5)
        ax2.set_xlabel("iteration $t$")
        ax2.set_ylabel(r"$L(w_t) - L^\star$")
        from matplotlib.lines import Line2D

        ax2.legend([Line2D([], [], color=plot.style(n)["color"], lw=1.4) for n in ("sgd", "gd")],
                   ["minibatch SGD", "full-batch GD"], loc="upper right")

    def restyle(self, axes, key):
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def artists(self):
        return {
            "sgd": {"type": "line", "axes": 0, "color": plot.style("sgd")["color"], "lw": 1.2, "marker": "o", "ms": 2.5,
                    "zorder": 4},
            "gd": {"type": "line", "axes": 0, "color": plot.style("gd")["color"], "lw": 1.6, "zorder": 4},
            "sgd_loss": {"type": "line", "axes": 1, "color": plot.style("sgd")["color"], "lw": 1.4, "zorder": 3},
            "gd_loss": {"type": "line", "axes": 1, "color": plot.style("gd")["color"], "lw": 1.4, "zorder": 3},
            **_status_artists("status", 0, (0.02, 0.96)),
            **_status_artists("status2", 1, (0.02, 0.1)),
        }

    def compute(self, values):
        from ..rules import gd, sgd

        lr, m, seed = S.evaluate(self.lr, values), S.evaluate(self.batch, values), S.evaluate(self.seed, values)
        return {"sgd": run(sgd(lr=lr), self.objective, self.start, self.steps, batch_size=m, seed=seed),
                "gd": run(gd(lr=lr), self.objective, self.start, self.steps)}

    def scene(self, values, result, limits):
        (xlim, ylim), _ = limits
        scene = {}
        for key in ("sgd", "gd"):
            tr = result[key]
            gap = tr.losses - self.objective.f_min
            scene[key] = {"x": tr.xs[:, 0], "y": tr.xs[:, 1]}
            scene[key + "_loss"] = {"x": np.arange(len(gap)), "y": _positive(gap)}
        label, tr = ("SGD", result["sgd"]) if result["sgd"].diverged else ("GD", result["gd"])
        at, j = int(tr.diverged_at), _last_finite(tr.xs[:, 0])
        scene.update(_status_scene("status", at, np.clip(tr.xs[j, 0], *xlim), np.clip(tr.xs[j, 1], *ylim), label))
        scene.update(_status_scene("status2", at, j, tr.losses[j] - self.objective.f_min, label))
        return scene

    def alt(self, key):
        return ("Minibatch SGD (blue) and full-batch GD (grey) from the black dot on the contours of a least-squares "
                "problem (left) and their losses on a log axis (right), at the settings shown above.")

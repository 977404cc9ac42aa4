"""Runs on 1-D and 2-D objectives: a 1-D run, a 2-D race, a schedule explorer, a table of first
iterates."""

from __future__ import annotations

import math

import numpy as np

from ... import plot
from .. import spec as S
from . import base
from .base import SUB, Kind, _f_min, _fixed, _gap, _last_finite, _lim, _positive, _r, _status_artists, _status_scene


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
        return {"objective": obj, "opt": opt, "traj": base.run(opt, obj, [x0], S.evaluate(self.steps, values))}

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
        n = len(self.race)
        for i in range(n):
            # the first rule widest and beneath: a path that another covers still shows as its rim
            lw = 1.4 + 0.9 * (n - 1 - i)
            out[f"path{i}"] = {"type": "line", "axes": 0, "lw": lw, "marker": "o", "ms": 2.5, "zorder": 4}
            out[f"start{i}"] = {"type": "line", "axes": 0, "marker": "o", "ms": 6, "mec": "k", "ls": "none", "zorder": 5}
            out[f"loss{i}"] = {"type": "line", "axes": 1, "lw": lw, "zorder": 3}
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
                self._last[i] = (key, (label, opt, base.run(opt, self.objective, x0, steps)))
            out.append(self._last[i][1])
        return out

    def scene(self, values, result, limits):
        (xlim, ylim), _ = limits
        f_min = _f_min(self.objective)
        scene, entries, first = {}, [], None
        for i, (label, opt, traj) in enumerate(result):
            st = plot.style(opt, label or None)
            ls = plot.look(opt).linestyle  # the rule's family style: two forms of one rule share a colour
            xs, (gap, shown) = traj.xs, _gap(traj.losses, f_min)
            t = np.arange(len(gap))
            scene[f"path{i}"] = {"x": xs[:, 0], "y": xs[:, 1], "color": st["color"], "ls": ls}
            scene[f"start{i}"] = {"x": xs[:1, 0], "y": xs[:1, 1], "color": st["color"]}
            scene[f"loss{i}"] = {"x": t, "y": shown, "color": st["color"], "ls": ls}
            entries.append([st["label"], st["color"], ls])
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
               "traj": base.run(S.evaluate(self.rule, values, self.objective), self.objective, x0, self.steps)}
        out["const"] = None if self.const_rule is None else \
            base.run(S.evaluate(self.const_rule, values, self.objective), self.objective, x0, self.steps)
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


def _state_field(state, name):
    """The field ``name`` of a rule's state, or the field that torch keeps under the key ``name``
    (``descent.rules.base.torch_state_keys``): ``"square_avg"`` finds RMSProp's ``v``."""
    if hasattr(state, name):
        return getattr(state, name)
    from ...rules.base import torch_state_keys

    for field, key in torch_state_keys(state).items():
        if key == name:
            return getattr(state, field)
    raise ValueError(f"Invalid state: {name!r} (the state {type(state).__name__} has the fields {state._fields})")


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
            rows.append((float(g[0]), float(np.asarray(_state_field(state, field))[0]), float(x[0])))
        return {"opt": opt, "rows": rows, "traj": base.run(opt, self.objective, [x0], self.steps)}

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



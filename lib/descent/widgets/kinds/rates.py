"""Step lengths under a constant gradient, and a measured rate against its theory."""

from __future__ import annotations

import math

import numpy as np

from ... import plot
from .. import spec as S
from . import base
from .base import Kind, _lim, _status_artists, _status_scene


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
            out.append((opt, base.run(opt, obj, list(self.x0), self.steps), linear_rate(opt, obj)))
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



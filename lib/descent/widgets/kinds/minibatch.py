"""Minibatch SGD against GD: a kernel-only panel (no twin; inactive in the page)."""

from __future__ import annotations

import numpy as np

from ... import plot
from .. import spec as S
from . import base
from .base import Kind, _last_finite, _positive, _status_artists, _status_scene


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
        from ...rules import gd, sgd

        lr, m, seed = S.evaluate(self.lr, values), S.evaluate(self.batch, values), S.evaluate(self.seed, values)
        return {"sgd": base.run(sgd(lr=lr), self.objective, self.start, self.steps, batch_size=m, seed=seed),
                "gd": base.run(gd(lr=lr), self.objective, self.start, self.steps)}

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

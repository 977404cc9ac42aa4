"""The hand-built panels of the chapters as they were before the live panels: kept only
until every chapter's panel cell uses the factories of :mod:`descent.widgets`
(``PANELS_HANDOFF.md``), then deleted.  Nothing new should use this module.

A :class:`Panel` draws its figure once, then on every control change recomputes the
experiment, updates the existing artists and shows the PNG in an ``ipywidgets.Image``.
It has no static twin: the book shows its saved widget state.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import ipywidgets as W
import numpy as np
from PIL import Image as PILImage

from .. import plot
from ..run import run


def slider(value, lo, hi, step=None, description="", log=False, readout_format=None):
    """A float slider (``log=True``: log-spaced, ``lo``/``hi`` are the values, not exponents)."""
    style = {"description_width": "initial"}
    layout = W.Layout(width="320px")
    if log:
        return W.FloatLogSlider(value=value, min=np.log10(lo), max=np.log10(hi), step=step or 0.05,
                                description=description, style=style, layout=layout,
                                readout_format=readout_format or ".3g", continuous_update=False)
    if isinstance(value, int) and (step is None or isinstance(step, int)):
        return W.IntSlider(value=value, min=lo, max=hi, step=step or 1, description=description,
                           style=style, layout=layout, continuous_update=False)
    return W.FloatSlider(value=value, min=lo, max=hi, step=step or (hi - lo) / 100, description=description,
                         style=style, layout=layout, readout_format=readout_format or ".3g",
                         continuous_update=False)


def dropdown(options, value=None, description=""):
    """A dropdown over ``options`` (a list, or a dict label -> value)."""
    opts = list(options.keys()) if isinstance(options, dict) else list(options)
    return W.Dropdown(options=opts, value=value if value is not None else opts[0], description=description,
                      style={"description_width": "initial"})


class Panel:
    """Controls plus one reused figure.

    Args:
        controls: ``{name: widget}``; their values are passed by name to ``compute``.
        compute: ``compute(**values) -> result`` — the experiment (no drawing).
        setup: ``setup(fig, axes) -> handles`` — draws what never changes (contours,
            curves, axes) and creates the artists that ``render`` updates.  Artists made
            with ``animated=True`` are blitted: only they are redrawn on a change.
        render: ``render(handles, result, **values)`` — updates artists in place; returns
            True when it changed something static (limits, a curve, a legend), which
            costs one full redraw.
        ncols, nrows, size: the figure's layout (``size`` is per axes, inches).
        caption: a line of text under the controls.
    """

    def __init__(self, controls: dict, compute: Callable, setup: Callable, render: Callable, *,
                 ncols=2, nrows=1, size=(4.6, 3.4), caption: str | None = None):
        self.controls = dict(controls)
        self._compute, self._render = compute, render
        self.fig, self.axes = plot.figure(ncols=ncols, nrows=nrows, size=size, pyplot=False)
        with plot.book_style():
            self.handles = setup(self.fig, self.axes)
        self._background = None
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.timings: dict = {}
        self._quiet = False
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        rows = [W.HBox(list(self.controls.values())[i:i + 3]) for i in range(0, len(self.controls), 3)]
        if caption:
            rows.append(W.HTML(f"<small>{caption}</small>"))
        self.widget = W.VBox(rows + [self.image])
        self.redraw()

    @property
    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def _on_change(self, change):
        if not self._quiet:
            self.redraw()

    def _animated(self):
        return [a for ax in self.fig.axes for a in ax.get_children() if a.get_animated() and a.get_visible()]

    def _draw(self, full: bool):
        canvas = self.fig.canvas
        if full or self._background is None:
            canvas.draw()  # everything but the animated artists
            if self.fig.get_layout_engine() is not None:  # lay out once, then freeze:
                self.fig.set_layout_engine("none")  # constrained layout costs ~50 ms a draw
                canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._animated():
            self.fig.draw_artist(artist)

    def redraw(self):
        """Recompute, update the artists, re-encode the PNG; record the three timings."""
        values = self.values
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            result = self._compute(**values)
        t1 = time.perf_counter()
        with plot.book_style(), np.errstate(all="ignore"):
            full = self._render(self.handles, result, **values)
            self._draw(bool(full))
        t2 = time.perf_counter()
        rgba = np.asarray(self.fig.canvas.buffer_rgba())
        buf = io.BytesIO()
        PILImage.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
        self.image.value = buf.getvalue()
        t3 = time.perf_counter()
        self.timings = {"compute": t1 - t0, "draw": t2 - t1, "encode": t3 - t2, "total": t3 - t0}
        return self

    def set(self, **values):
        """Set several controls at once and redraw once (used by tests and benchmarks)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"Invalid control names: {sorted(unknown)} (this panel has {sorted(self.controls)})")
        self._quiet = True
        try:
            for k, v in values.items():
                self.controls[k].value = v
        finally:
            self._quiet = False
        return self.redraw()

    def extremes(self):
        """Every (name, value) at the ends of each control: slider min/max, every option."""
        for name, w in self.controls.items():
            if isinstance(w, W.FloatLogSlider):
                yield name, 10.0 ** w.min
                yield name, 10.0 ** w.max
            elif hasattr(w, "min") and hasattr(w, "max"):
                yield name, w.min
                yield name, w.max
            elif hasattr(w, "options"):
                for opt in w.options:
                    yield name, opt[1] if isinstance(opt, tuple) else opt

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# ------------------------------------------------------------------ ready-made panels

_RESERVED = ("function", "x0", "start_x", "start_y", "steps")


def _hyper(values):
    return {k: v for k, v in values.items() if k not in _RESERVED}


class Status:
    """A divergence cross and a "diverged at step k" label on an axes (blitted artists),
    shown or hidden as a run requires."""

    def __init__(self, ax, loc=(0.02, 0.96)):
        (self.cross,) = ax.plot([], [], marker="x", ms=10, mew=2.5, color="crimson", ls="none", zorder=6,
                                animated=True)
        self.text = ax.text(*loc, "", transform=ax.transAxes, va="top", color="crimson", animated=True,
                            fontweight="bold", fontsize=9, zorder=7,
                            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="crimson", alpha=0.85))

    def update(self, x, y, at, label=""):
        if at >= 0:
            self.cross.set_data([x], [y])
            self.text.set_text(f"{label} diverged at step {at}".strip())
            self.text.set_visible(True)
        else:
            self.cross.set_data([], [])
            self.text.set_visible(False)


def log_limits(ax, arrays, shrink=True) -> bool:
    """Fit a log y-axis to the positive finite data, in whole decades, with hysteresis:
    the limits change only when the data leave them or (``shrink=True``) use less than a
    thousandth of them.  Returns True when they changed (a full redraw is needed)."""
    vals = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.array([1.0])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        vals = np.array([1e-3, 1.0])
    lo = 10.0 ** np.floor(np.log10(max(vals.min(), 1e-300)))
    hi = 10.0 ** np.ceil(np.log10(vals.max()) + 1e-9)
    hi = max(hi, lo * 10)
    cur_lo, cur_hi = ax.get_ylim()
    inside = cur_lo <= lo and hi <= cur_hi and cur_lo > 0
    if inside and (not shrink or (cur_hi / cur_lo) <= 1e3 * (hi / lo)):
        return False
    if not shrink and cur_lo > 0:
        lo, hi = min(lo, cur_lo), max(hi, cur_hi)
    ax.set_ylim(lo, hi)
    return True


def run_panel_1d(objectives, make_opt: Callable, controls: dict, *, x0=None, steps=30, caption=None) -> Panel:
    r"""A 1-D experiment in one line: the function with the iterates (left) and
    :math:`f(x_t) - f^\star` against t on a log axis (right).

    ``objectives``: one Objective or ``{name: Objective}`` (then a ``function`` dropdown is
    added).  ``make_opt(**hyper)`` builds the rule from the controls that are not reserved
    (``function``, ``x0``, ``steps``).  Give an ``x0`` slider in ``controls`` or a fixed ``x0``.
    """
    objs = objectives if isinstance(objectives, dict) else {objectives.name: objectives}
    controls = dict(controls)
    if len(objs) > 1 and "function" not in controls:
        controls = {"function": dropdown(objs, description="function"), **controls}
    max_steps = getattr(controls.get("steps"), "max", None)

    def compute(**values):
        obj = objs[values["function"]] if "function" in values else next(iter(objs.values()))
        start = values.get("x0", x0)
        opt = make_opt(**_hyper(values))
        return obj, opt, run(opt, obj, [start], values.get("steps", steps))

    def setup(fig, axes):
        ax, ax2 = axes
        h = {"ax": ax, "ax2": ax2, "obj": None, "steps": None}
        (h["curve"],) = ax.plot([], [], color="0.35", lw=1.5)
        (h["path"],) = ax.plot([], [], marker="o", ms=4, lw=1, alpha=0.8, zorder=4, animated=True)
        (h["start"],) = ax.plot([], [], marker="o", ms=8, mec="k", ls="none", zorder=5, animated=True)
        (h["loss"],) = ax2.plot([], [], marker="o", ms=3, animated=True)
        h["title"] = ax2.text(0.98, 0.96, "", transform=ax2.transAxes, ha="right", va="top", animated=True,
                              fontsize=9, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.7", alpha=0.85))
        h["status"], h["status2"] = Status(ax), Status(ax2, loc=(0.02, 0.1))
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f(x)$")
        ax2.set_yscale("log")
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")
        return h

    def render(h, result, **values):
        obj, opt, traj = result
        ax, ax2 = h["ax"], h["ax2"]
        full = False
        if h["obj"] is not obj:
            lo, hi = obj.window
            xs = np.linspace(lo, hi, 400)
            fx = obj.f(xs[:, None])
            h["curve"].set_data(xs, fx)
            ax.set_xlim(lo, hi)
            pad = 0.08 * (fx.max() - fx.min())
            ax.set_ylim(fx.min() - pad, fx.max() + pad)
            ax.set_title(f"$f(x)$ = {obj.name}")
            # fixed log limits per function (21 decades), so slider moves only blit
            top = 1e3 * max(float(np.nanmax(fx)) - (obj.f_min if obj.f_min is not None else 0.0), 1e-12)
            ax2.set_ylim(top * 1e-21, top)
            h["obj"], full = obj, True
        color = plot.style(opt)["color"]
        for key in ("path", "start", "loss"):
            h[key].set_color(color)
        x, f = traj.xs[:, 0], traj.losses
        h["path"].set_data(x, f)
        h["start"].set_data(x[:1], f[:1])
        at = int(traj.diverged_at)
        j = int(np.flatnonzero(np.isfinite(x))[-1])
        h["status"].update(np.clip(x[j], *ax.get_xlim()), np.clip(f[j], *ax.get_ylim()), at)
        gap = f - (obj.f_min if obj.f_min is not None else 0.0)
        t = np.arange(len(gap))
        h["loss"].set_data(t, np.where(gap > 0, gap, np.nan))
        span = max_steps + 1 if max_steps is not None else len(gap)  # a steps slider: fixed axis
        if h["steps"] != span:
            ax2.set_xlim(-0.5, span - 0.5)
            h["steps"], full = span, True
        h["status2"].update(t[j], gap[j] if gap[j] > 0 else np.nan, at)
        h["title"].set_text(f"$x_{{{j}}}$ = {x[j]:.4g}" + ("" if at < 0 else " (last finite)"))
        return full

    return Panel(controls, compute, setup, render, caption=caption)


def run_panel_2d(objective, make_opts, controls: dict, *, x0=(-1.5, 2.0), steps=100, window=None,
                 levels=30, caption=None) -> Panel:
    """A 2-D race in one line: contours with one trajectory per rule (left) and their
    losses against t on a log axis (right).

    ``make_opts``: ``{label: make_opt}`` with ``make_opt(**hyper) -> Optimizer`` (or a single
    callable).  ``start_x``/``start_y`` sliders in ``controls`` move the start; otherwise
    ``x0`` is fixed.
    """
    makers = make_opts if isinstance(make_opts, dict) else {"": make_opts}

    def compute(**values):
        start = [values.get("start_x", x0[0]), values.get("start_y", x0[1])]
        hyper = _hyper(values)
        out = {}
        for label, make in makers.items():
            opt = make(**hyper)
            out[label] = (opt, run(opt, objective, start, values.get("steps", steps)))
        return out

    def setup(fig, axes):
        ax, ax2 = axes
        plot.contour(ax, objective, levels=levels, window=window)
        h = {"ax": ax, "ax2": ax2, "lines": {}, "labels": None, "steps": None}
        for label in makers:
            (line,) = ax.plot([], [], lw=1.6, marker="o", ms=2.5, zorder=4, animated=True)
            (start,) = ax.plot([], [], marker="o", ms=6, mec="k", ls="none", zorder=5, animated=True)
            (lc,) = ax2.plot([], [], lw=1.6, animated=True)
            h["lines"][label] = (line, start, lc)
        h["status"], h["status2"] = Status(ax), Status(ax2, loc=(0.02, 0.1))
        ax2.set_yscale("log")
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")
        ax2.set_title(objective.name)
        # Start the loss axis wide (16 decades below the worst value in the window) and
        # only ever widen it: a full redraw re-renders the contours, a blit does not.
        _, _, Z = plot._grid(objective, window, 60)
        top = 10.0 ** np.ceil(np.log10(max(np.nanmax(Z) - (objective.f_min or 0.0), 1e-12)) + 1)
        ax2.set_ylim(top * 1e-16, top)
        return h

    def render(h, result, **values):
        ax, ax2 = h["ax"], h["ax2"]
        gaps, first_div, labels, full = [], None, [], False
        f_min = objective.f_min if objective.f_min is not None else 0.0
        for label, (opt, traj) in result.items():
            line, start, lc = h["lines"][label]
            st = plot.style(opt, label or None)
            labels.append((st["label"], st["color"]))
            for a in (line, start, lc):
                a.set_color(st["color"])
            xs = traj.xs
            line.set_data(xs[:, 0], xs[:, 1])
            start.set_data(xs[:1, 0], xs[:1, 1])
            gap = traj.losses - f_min
            t = np.arange(len(gap))
            lc.set_data(t, np.where(gap > 0, gap, np.nan))
            gaps.append(gap)
            at = int(traj.diverged_at)
            if at >= 0 and first_div is None:
                j = int(np.flatnonzero(np.isfinite(xs[:, 0]))[-1])
                first_div = (xs[j], t[j], gap[j], at, st["label"])
        if first_div is None:
            h["status"].update(0, 0, -1)
            h["status2"].update(0, 0, -1)
        else:
            (px, py), tj, gj, at, lab = first_div
            h["status"].update(np.clip(px, *ax.get_xlim()), np.clip(py, *ax.get_ylim()), at, lab)
            h["status2"].update(tj, gj if gj > 0 else np.nan, at, lab)
        if h["steps"] != len(gaps[0]):
            ax2.set_xlim(-0.5, len(gaps[0]) - 0.5)
            h["steps"], full = len(gaps[0]), True
        full |= log_limits(ax2, gaps, shrink=False)
        if h["labels"] is None:  # a legend of proxies (the blitted lines are not in it),
            from matplotlib.lines import Line2D  # itself blitted, so relabelling is cheap

            h["legend"] = ax2.legend([Line2D([], [], color=c, lw=2) for _, c in labels],
                                     [lab for lab, _ in labels], loc="upper right")
            h["legend"].set_animated(True)
        if labels != h["labels"]:
            for (lab, color), handle, text in zip(labels, h["legend"].legend_handles, h["legend"].get_texts(), strict=True):
                handle.set_color(color)
                text.set_text(lab)
            h["labels"] = labels
        return full

    return Panel(controls, compute, setup, render, caption=caption)


# ------------------------------------------------------------------ schedule explorer (chapter 02)

def schedule_panel_1d(objective, schedules: dict, controls: dict, *, rule=None, x0=-1.5, steps=100,
                      caption=None) -> Panel:
    r"""Pick a learning-rate schedule and its parameters; see :math:`\eta_t` (left), the
    iterates of ``rule(lr=schedule)`` on a 1-D objective (middle) and
    :math:`f(x_t) - f^\star` on a log axis (right), beside the same rule with the rate
    held at ``lr`` (grey, dashed) when an ``lr`` control is given.

    ``schedules``: ``{name: make(**values) -> schedule}``; a ``schedule`` dropdown is added and
    every maker receives all the other controls by name (take ``**_`` for the unused ones).
    An ``x0`` slider in ``controls`` moves the start; ``rule`` defaults to :func:`descent.gd`.
    """
    from ..rules import gd

    rule = rule or gd
    controls = {"schedule": dropdown(schedules, description="schedule"), **dict(controls)}
    t_axis = np.arange(steps)

    def compute(**values):
        start = values.get("x0", x0)
        hyper = {k: v for k, v in values.items() if k not in ("schedule", "x0")}
        sched = schedules[values["schedule"]](**hyper)
        out = {"eta": np.asarray(sched(t_axis), dtype=float), "traj": run(rule(lr=sched), objective, [start], steps)}
        out["const"] = run(rule(lr=float(values["lr"])), objective, [start], steps) if "lr" in values else None
        return out

    def setup(fig, axes):
        ax0, ax, ax2 = axes
        h = {"axes": axes}
        (h["eta"],) = ax0.plot([], [], color="#1b9e77", lw=2, animated=True)
        ax0.set_yscale("log")
        ax0.set_xlim(-0.5, steps - 0.5)
        ax0.set_ylim(1e-4, 10.0)
        ax0.set_xlabel("step $t$")
        ax0.set_ylabel(r"learning rate $\eta_t$")
        plot.curve(ax, objective)
        lo, hi = objective.window
        fx = objective.f(np.linspace(lo, hi, 400)[:, None])
        f_min = objective.f_min if objective.f_min is not None else float(np.nanmin(fx))
        pad = 0.08 * (np.nanmax(fx) - np.nanmin(fx))
        ax.set_ylim(np.nanmin(fx) - pad, np.nanmax(fx) + pad)
        ax.set_title(f"$f(x)$ = {objective.name}")
        (h["cpath"],) = ax.plot([], [], color="0.6", lw=1, ls="--", marker="o", ms=2.5, zorder=3, animated=True)
        (h["path"],) = ax.plot([], [], color="#1b9e77", lw=1, marker="o", ms=4, alpha=0.85, zorder=4, animated=True)
        (h["start"],) = ax.plot([], [], color="#1b9e77", marker="o", ms=8, mec="k", ls="none", zorder=5,
                                animated=True)
        (h["closs"],) = ax2.plot([], [], color="0.6", lw=1.2, ls="--", animated=True, label="constant $\\eta_0$")
        (h["loss"],) = ax2.plot([], [], color="#1b9e77", lw=1.8, animated=True, label="schedule")
        top = 1e3 * max(float(np.nanmax(fx)) - f_min, 1e-12)
        h["floor"] = top * 1e-19  # a gap at or below it (f* reached to rounding) is drawn on it
        ax2.set_yscale("log")
        ax2.set_ylim(h["floor"] / 3, top)
        ax2.set_xlim(-0.5, steps + 0.5)
        ax2.set_xlabel("step $t$")
        ax2.set_ylabel(r"$f(x_t) - f^\star$")
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="#1b9e77", lw=2)]
        labels = ["schedule"]
        if "lr" in controls:
            handles.append(Line2D([], [], color="0.6", lw=1.2, ls="--"))
            labels.append(r"constant $\eta_0$")
        ax2.legend(handles, labels, loc="upper right")
        h["title"] = ax2.text(0.02, 0.04, "", transform=ax2.transAxes, va="bottom", fontsize=9, animated=True,
                              bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.7", alpha=0.85))
        h["status"], h["status2"] = Status(ax), Status(ax2, loc=(0.02, 0.2))
        h["f_min"] = f_min
        return h

    def render(h, result, **values):
        ax0, ax, ax2 = h["axes"]
        eta = result["eta"]
        h["eta"].set_data(t_axis, np.where(eta > 0, eta, np.nan))
        full = log_limits(ax0, [eta])
        traj = result["traj"]
        x, f = traj.xs[:, 0], traj.losses
        h["path"].set_data(x, f)
        h["start"].set_data(x[:1], f[:1])
        gap = f - h["f_min"]
        t = np.arange(len(gap))
        h["loss"].set_data(t, np.maximum(gap, h["floor"]))
        const = result["const"]
        if const is not None:
            h["cpath"].set_data(const.xs[:, 0], const.losses)
            h["closs"].set_data(t, np.maximum(const.losses - h["f_min"], h["floor"]))
        at = int(traj.diverged_at)
        j = int(np.flatnonzero(np.isfinite(x))[-1])
        h["status"].update(np.clip(x[j], *ax.get_xlim()), np.clip(f[j], *ax.get_ylim()), at)
        h["status2"].update(t[j], max(gap[j], h["floor"]), at)
        h["title"].set_text(f"schedule: $x_{{{j}}}$ = {x[j]:.3g}" + ("" if at < 0 else " (last finite)"))
        return full

    return Panel(controls, compute, setup, render, ncols=3, size=(3.7, 3.1), caption=caption)


__all__ = ["Panel", "Status", "log_limits", "slider", "dropdown", "run_panel_1d", "run_panel_2d", "schedule_panel_1d"]

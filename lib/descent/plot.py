"""Figures for the book: contours, trajectories, loss curves, schedules, flip-books.

No math lives here.  The same optimizer always has the same colour and label
(:func:`style`), and a run that diverged is drawn up to its last finite point, marked with
a cross and the words "diverged at step k" — never a traceback.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager

import matplotlib
import numpy as np
from matplotlib import pyplot as plt
from matplotlib.colors import LogNorm

# One colour and one label per rule, across the whole book.
_PALETTE = {
    "gd": ("#8a8a8a", "GD"),  # mid grey: distinct from Newton's black
    "sgd": ("#1f77b4", "SGD"),
    "momentum": ("#ff7f0e", "momentum"),
    "ema_momentum": ("#e8a33d", "momentum (EMA form)"),
    "heavy_ball": ("#d62728", "heavy ball"),
    "nesterov": ("#9467bd", "Nesterov"),
    "sgd_history": ("#8c564b", "SGD + history"),
    "adagrad": ("#2ca02c", "Adagrad"),
    "adagrad_lecture": ("#7fbf3f", "Adagrad (ε inside √)"),
    "rmsprop": ("#17becf", "RMSProp"),
    "rmsprop_lecture": ("#5fd3de", "RMSProp (ε inside √)"),
    "adadelta": ("#bcbd22", "AdaDelta"),
    "adam": ("#e377c2", "Adam"),
    "adam_lecture": ("#f4a6d7", "Adam (lecture form)"),
    "adamw": ("#a52a7a", "AdamW"),
    "nadam": ("#7f3fbf", "NAdam"),
    "radam": ("#3f3fbf", "RAdam"),
    "newton": ("#000000", "Newton"),
    "line_search": ("#6b8e23", "line search"),
}
_FALLBACK = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]

RC = {
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "animation.embed_limit": 40.0,
    "svg.hashsalt": "descent",
}


def style(opt=None, label=None) -> dict:
    """``dict(color=..., label=...)`` for an Optimizer, a rule factory or a rule name."""
    name = getattr(opt, "name", None) or getattr(opt, "__name__", None) or (opt if isinstance(opt, str) else "")
    if name in _PALETTE:
        color, default = _PALETTE[name]
    else:
        digest = int(hashlib.md5(str(name).encode()).hexdigest(), 16)
        color, default = _FALLBACK[digest % len(_FALLBACK)], str(name)
    return {"color": color, "label": label if label is not None else default}


@contextmanager
def book_style():
    """The book's matplotlib settings, as a context."""
    with matplotlib.rc_context(RC):
        yield


def figure(ncols=1, nrows=1, size=(5.0, 3.6), pyplot=True, **kwargs):
    """A figure with ``nrows x ncols`` axes of ``size`` inches each, in the book's style.

    Returns ``(fig, axes)`` with ``axes`` flattened to a list.  ``pyplot=False`` makes a
    figure pyplot never sees (an Agg canvas of its own), for widgets that redraw it.
    """
    figsize = (size[0] * ncols, size[1] * nrows)
    with book_style():
        if pyplot:
            fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained", **kwargs)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=figsize, layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, list(np.ravel(axes))


# ------------------------------------------------------------------ objectives

def _grid(objective, window, n):
    (x0, x1), (y0, y1) = window if window is not None else objective.window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    with np.errstate(all="ignore"):
        Z = objective.f(np.stack([X, Y], axis=-1))
    return X, Y, Z


def contour(ax, objective, levels=30, window=None, n=160, log=None, filled=True, cmap="Blues_r"):
    """Level sets of a 2-D objective over its window (log-spaced levels by default when
    the objective's range spans decades).  Marks the known minimum with a star."""
    X, Y, Z = _grid(objective, window, n)
    zmin = np.nanmin(Z)
    shift = 0.0 if zmin > 0 else -zmin + 1e-3 * (np.nanmax(Z) - zmin + 1e-12)
    Zs = Z + shift
    if log is None:
        log = np.nanmax(Zs) / max(np.nanmin(Zs), 1e-300) > 100
    if log:
        lv = np.geomspace(max(np.nanmin(Zs), 1e-12), np.nanmax(Zs), levels)
        norm = LogNorm(lv[0], lv[-1])
    else:
        lv = np.linspace(np.nanmin(Zs), np.nanmax(Zs), levels)
        norm = None
    if filled:
        ax.contourf(X, Y, Zs, levels=lv, norm=norm, cmap=cmap, alpha=0.85)
    ax.contour(X, Y, Zs, levels=lv, norm=norm, colors="white" if filled else "0.6", linewidths=0.4, alpha=0.6)
    if getattr(objective, "minimum", None) is not None and np.size(objective.minimum) == 2:
        ax.plot(*objective.minimum, marker="*", ms=12, color="gold", mec="k", mew=0.6, zorder=5, ls="none")
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    return ax


def curve(ax, objective, window=None, n=400, **kwargs):
    """A 1-D objective on its window."""
    lo, hi = window if window is not None else objective.window
    xs = np.linspace(lo, hi, n)
    with np.errstate(all="ignore"):
        ax.plot(xs, objective.f(xs[:, None]), color="0.35", lw=1.5, **kwargs)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    return ax


# ------------------------------------------------------------------ runs

def mark_divergence(ax, x, y, step, color="crimson"):
    """A cross at the last finite point and the words "diverged at step k"."""
    ax.plot([x], [y], marker="x", ms=10, mew=2.5, color=color, zorder=6, ls="none")
    ax.annotate(f"diverged at step {step}", (x, y), xytext=(6, 6), textcoords="offset points",
                color=color, fontsize=9, fontweight="bold", zorder=7,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=color, alpha=0.85))


def _runs(traj):
    """Iterate over the runs of a Trajectory: (xs (T+1, d), losses (T+1,), diverged_at)."""
    batch = traj.diverged.shape
    xs = traj.xs.reshape(traj.xs.shape[0], -1, traj.xs.shape[-1])
    ls = traj.losses.reshape(traj.losses.shape[0], -1)
    at = traj.diverged_at.reshape(-1)
    for i in range(int(np.prod(batch, dtype=int))):
        yield xs[:, i], ls[:, i], int(at[i])


def _last_finite_index(values):
    ok = np.where(np.isfinite(values))[0]
    return int(ok[-1]) if ok.size else 0


def path(ax, traj, opt=None, label=None, color=None, markers=True, upto=None, lw=1.6, **kwargs):
    """Trajectories of a run (or a batch) on 2-D axes, with start and end markers."""
    st = style(opt, label)
    color = color or st["color"]
    lines = []
    for k, (xs, _, at) in enumerate(_runs(traj)):
        pts = xs[: None if upto is None else upto + 1]
        (line,) = ax.plot(pts[:, 0], pts[:, 1], color=color, lw=lw, marker="o" if markers else None, ms=2.5,
                          label=st["label"] if k == 0 else None, zorder=4, **kwargs)
        lines.append(line)
        ax.plot(*pts[0], marker="o", ms=6, color=color, mec="k", mew=0.6, zorder=5)
        if at >= 0 and (upto is None or upto >= at):
            j = _last_finite_index(pts[:, 0])
            mark_divergence(ax, pts[j, 0], pts[j, 1], at, color="crimson")
    return lines


def iterates_1d(ax, objective, traj, opt=None, label=None, color=None, upto=None, arrows=True):
    """The iterates of a 1-D run on the curve of the objective, joined in order."""
    st = style(opt, label)
    color = color or st["color"]
    for k, (xs, ls, at) in enumerate(_runs(traj)):
        x, f = xs[: None if upto is None else upto + 1, 0], ls[: None if upto is None else upto + 1]
        ax.plot(x, f, color=color, lw=1.0, alpha=0.7, marker="o", ms=4, zorder=4,
                label=st["label"] if k == 0 else None)
        ax.plot(x[:1], f[:1], marker="o", ms=7, color=color, mec="k", zorder=5)
        if at >= 0 and (upto is None or upto >= at):
            j = _last_finite_index(x)
            mark_divergence(ax, x[j], f[j], at)
    return ax


def loss(ax, traj, opt=None, label=None, color=None, log=True, f_min=None, upto=None, **kwargs):
    """Loss against step t (minus ``f_min`` when given) on a log axis; marks divergence."""
    st = style(opt, label)
    color = color or st["color"]
    for k, (_, ls, at) in enumerate(_runs(traj)):
        y = ls if f_min is None else ls - f_min
        if upto is not None:
            y = y[: upto + 1]
        t = np.arange(len(y))
        if log:
            y = np.where(y > 0, y, np.nan) if f_min is None else np.maximum(y, 1e-300)
        ax.plot(t, y, color=color, label=st["label"] if k == 0 else None, **kwargs)
        if at >= 0 and (upto is None or upto >= at):
            j = _last_finite_index(y)
            mark_divergence(ax, t[j], y[j], at)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel("$f(x_t)$" if f_min is None else r"$f(x_t) - f^\star$")
    return ax


def schedules(ax, named, steps=100, log=False):
    """Each schedule ``t -> lr`` of ``{label: schedule}`` over ``range(steps)``."""
    t = np.arange(steps)
    for k, (label, s) in enumerate(named.items()):
        ax.plot(t, s(t), label=label, color=_FALLBACK[k % len(_FALLBACK)], lw=1.8)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"learning rate $\eta_t$")
    ax.legend()
    return ax


# ------------------------------------------------------------------ flip-books

_UUID = re.compile(r"[0-9a-f]{32}")


def flipbook(fig, draw_frame, frames, interval=250, name="flipbook", default_mode="once"):
    """A flip-book of ``frames`` (an int or a sequence) drawn by ``draw_frame(frame)``.

    Returns ``IPython.display.HTML`` with matplotlib's self-contained JavaScript player
    (frames as embedded PNG, a play button and a frame slider): it plays in the static
    HTML page without a kernel.  The element id is derived from ``name`` instead of a
    random uuid, so re-executing the notebook changes no byte.  Closes ``fig``.
    """
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    canvas = fig.canvas
    with book_style():
        if fig.get_layout_engine() is not None:  # lay out on the first frame, then freeze:
            first = frames if isinstance(frames, int) else None  # savefig with a layout
            draw_frame(0 if first is not None else list(frames)[0])  # engine renders twice
            canvas.draw()
            fig.set_layout_engine("none")
            fig._layout_engine = None  # "none" leaves a placeholder that savefig still lays out
        anim = FuncAnimation(fig, draw_frame, frames=frames, interval=interval, blit=False)
        # Each frame is rendered once by savefig; the animation's own draw_idle after
        # every frame would render it a second time for nothing.
        canvas.draw_idle = lambda *args, **kwargs: None
        try:
            html = anim.to_jshtml(default_mode=default_mode)
        finally:
            del canvas.draw_idle
    plt.close(fig)
    uid = hashlib.md5(name.encode()).hexdigest()
    html = _UUID.sub(uid, html)
    return HTML(_offline_icons(html))


# The player's buttons use Font Awesome from a CDN; plain glyphs work with no network, in
# JupyterLab and in the built book alike.
_CDN_LINK = re.compile(r'<link\b[^>]*font-awesome[^>]*>\s*')
_GLYPHS = {
    "fa fa-play fa-flip-horizontal": "&#9664;",  # play backwards
    "fa fa-fast-backward": "&#8676;", "fa fa-step-backward": "&#9665;", "fa fa-pause": "&#10074;&#10074;",
    "fa fa-play": "&#9654;", "fa fa-step-forward": "&#9655;", "fa fa-fast-forward": "&#8677;",
    "fa fa-minus": "&minus;", "fa fa-plus": "+",
}


def _offline_icons(html: str) -> str:
    html = _CDN_LINK.sub("", html)
    for cls, glyph in _GLYPHS.items():
        html = html.replace(f'<i class="{cls}"></i>', glyph)
    return html


def show(fig):
    """Display ``fig`` as a PNG image and close it (no stray ``<Figure ...>`` text)."""
    import io

    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    display(Image(buf.getvalue()))


__all__ = [
    "style", "book_style", "figure", "contour", "curve", "mark_divergence", "path", "iterates_1d",
    "loss", "schedules", "flipbook", "show",
]

"""Figures for the book: contours, trajectories, loss curves, schedules, flip-books, tables.

No math lives here.  The same optimizer always has the same look (:func:`style` for its
colour and label, :func:`line` for its colour, line style and marker), and a run that
diverged is drawn up to its last finite point, marked with a cross and the words
"diverged at step k" — never a traceback.

Figures are made for the screens the book is read on (the numbers below were measured in
the built book, sphinx-book-theme 1.3, Chromium):

* the text column is 688 CSS px wide in a 1280-px window and 368 px in a 400-px one; the
  body text is 16 px;
* a figure is drawn at 192 dpi and shown at half its pixel width, so one inch of figure
  is one CSS inch (96 px) and every image has 2 device pixels per CSS pixel;
* a figure wider than the narrow column (3.83 in) is scaled down on a phone, so its text
  must be drawn larger: :func:`readable` raises every text of a figure to
  ``12 pt x max(1, width / 3.83 in)``, which is 16 px on a 400-px screen (and at least
  16 px at 1280 px).  A 4.6-in figure gets 14.4-pt labels; a 9-in one would need 28 pt,
  which is why several panels are stacked (``nrows``), not put side by side.

:func:`figure` returns a :class:`Figure` that IPython displays as such a PNG, with the alt
text given to it (``plot.figure(alt=...)`` or ``plot.show(fig, alt=...)``); the book's
Sphinx extension (``scripts/book_offline.py``) moves that alt text onto the page's
``<img>``.  :func:`flipbook` does the same for its player and owns the layout freeze that
keeps every frame in one place.  :func:`legend` puts a legend outside the data, and
:func:`table` prints a real table (HTML in the book, aligned text in nbval and a terminal).
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import io
import re
import struct
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib
import matplotlib.font_manager
import matplotlib.text
import numpy as np
from cycler import cycler
from matplotlib import pyplot as plt
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure as _MplFigure

# ------------------------------------------------------------------ the screen

#: Width of the text column, CSS px, in a 1280-px and a 400-px wide window (measured).
COLUMN_PX = {"wide": 688, "narrow": 368}
#: Size of the body text, CSS px.
BODY_PX = 16
#: CSS px per inch of figure (the CSS inch), and PNG pixels per CSS px.
CSS_PX_PER_INCH = 96
DENSITY = 2
DPI = CSS_PX_PER_INCH * DENSITY  # 192
#: Smallest text (pt) of a figure at most as wide as the narrow column: 16 px.
MIN_PT = BODY_PX * 72 / CSS_PX_PER_INCH  # 12.0
#: Width (in) of a one-panel figure; its labels are 14.4 pt (see :func:`min_font_pt`).
WIDTH = 4.6


def min_font_pt(width_in: float) -> float:
    """Smallest font size (pt) that reads as the body text (16 px) on a 400-px screen
    for a figure ``width_in`` inches wide (shown at ``min(width, column)``)."""
    return MIN_PT * max(1.0, width_in * CSS_PX_PER_INCH / COLUMN_PX["narrow"])


_TEXT_PT = round(min_font_pt(WIDTH), 1)  # 14.4

# Okabe & Ito's colour-blind-safe set (and black and grey), then Paul Tol's, for series
# that are not optimizers (four learning rates, three schedules ...).
SERIES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#332288", "#999933", "#000000"]

RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (WIDTH, 3.3),
    "font.size": _TEXT_PT,
    "axes.titlesize": _TEXT_PT + 1,
    "axes.labelsize": _TEXT_PT,
    "xtick.labelsize": _TEXT_PT,
    "ytick.labelsize": _TEXT_PT,
    "legend.fontsize": _TEXT_PT,
    "legend.title_fontsize": _TEXT_PT,
    "figure.titlesize": _TEXT_PT + 2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "axes.prop_cycle": cycler(color=SERIES),
    "lines.linewidth": 2.0,
    "legend.frameon": False,
    "animation.embed_limit": 60.0,
    "svg.hashsalt": "descent",
}


@contextmanager
def book_style():
    """The book's matplotlib settings, as a context."""
    with matplotlib.rc_context(RC):
        yield


# ------------------------------------------------------------------ one look per optimizer

class Look(NamedTuple):
    color: str
    linestyle: str
    marker: str
    label: str


# One look per rule, across the whole book.  Families share a line style (gradient and
# momentum rules, Adam, AdamW and Newton solid; per-coordinate rates and line search
# dashed; NAdam and RAdam dash-dotted); a lecture form is its torch form's colour and
# marker, dotted.  Within one line style the colours stay apart for every kind of colour
# vision (tests/test_book.py simulates protanopia, deuteranopia and tritanopia and checks
# every pair) and every rule has a marker of its own, so two paths that overlap (Adagrad
# under RMSProp) still show both.
_LOOKS = {
    "gd": Look("#6e6e6e", "-", "o", "GD"),
    "sgd": Look("#0072B2", "-", "s", "SGD"),
    "momentum": Look("#E69F00", "-", "^", "momentum"),
    "ema_momentum": Look("#E69F00", ":", "^", "momentum (EMA form)"),
    "heavy_ball": Look("#B2182B", "-", "D", "heavy ball"),
    "nesterov": Look("#CC79A7", "-", "v", "Nesterov"),
    "sgd_history": Look("#0072B2", ":", "s", "SGD + history"),
    "adagrad": Look("#009E73", "--", "P", "Adagrad"),
    "adagrad_lecture": Look("#009E73", ":", "P", "Adagrad (ε inside √)"),
    "rmsprop": Look("#56B4E9", "--", "X", "RMSProp"),
    "rmsprop_lecture": Look("#56B4E9", ":", "X", "RMSProp (ε inside √)"),
    "adadelta": Look("#999933", "--", "*", "AdaDelta"),
    "adam": Look("#D55E00", "-", "h", "Adam"),
    "adam_lecture": Look("#D55E00", ":", "h", "Adam (lecture form)"),
    "adamw": Look("#332288", "-", "p", "AdamW"),
    "nadam": Look("#AA4499", "-.", "<", "NAdam"),
    "radam": Look("#44AA99", "-.", ">", "RAdam"),
    "newton": Look("#000000", "-", "d", "Newton"),
    "line_search": Look("#AA4499", "--", "8", "line search"),
    "lbfgs": Look("#117733", "--", "D", "L-BFGS"),
    "rprop": Look("#882255", "--", "H", "Rprop"),
    "asgd": Look("#6F4070", "-", "*", "ASGD"),
    "adamax": Look("#CC3311", "-.", "^", "AdaMax"),
    "adafactor": Look("#0F8554", "-.", "s", "Adafactor"),
    "muon": Look("#DDCC77", "-.", "o", "Muon"),
    "sparse_adam": Look("#AA3377", ":", "v", "SparseAdam"),
}
# Kept for callers of the first version: name -> (colour, label).
_PALETTE = {name: (look.color, look.label) for name, look in _LOOKS.items()}
_FALLBACK = SERIES


def _name(opt) -> str:
    return getattr(opt, "name", None) or getattr(opt, "__name__", None) or (opt if isinstance(opt, str) else "")


def look(opt=None, label=None) -> Look:
    """The :class:`Look` of an Optimizer, a rule factory or a rule name (unknown names
    get a fixed colour from :data:`SERIES`, chosen by the name)."""
    name = _name(opt)
    if name in _LOOKS:
        found = _LOOKS[name]
    else:
        digest = int(hashlib.md5(str(name).encode()).hexdigest(), 16)
        found = Look(SERIES[digest % len(SERIES)], "-", "o", str(name))
    return found._replace(label=label) if label is not None else found


def style(opt=None, label=None) -> dict:
    """``dict(color=..., label=...)`` for an Optimizer, a rule factory or a rule name."""
    lk = look(opt, label)
    return {"color": lk.color, "label": lk.label}


def line(opt=None, label=None, markers=False) -> dict:
    """Keyword arguments for ``ax.plot``: the rule's colour, line style and label, and
    with ``markers=True`` its marker (``markers="sparse"``: about ten along the line)."""
    lk = look(opt, label)
    kw = {"color": lk.color, "linestyle": lk.linestyle, "label": lk.label}
    if markers:
        kw["marker"] = lk.marker
        if markers == "sparse":
            kw["markevery"] = 0.1
    return kw


# ------------------------------------------------------------------ figures

class Figure(_MplFigure):
    """A matplotlib figure that IPython shows as the book's PNG (2x density, the width
    it has in CSS inches, its alt text): ``plt.show()``, ``display(fig)`` or a figure
    left at the end of a cell all give the same output as :func:`show`."""

    alt: str | None = None

    def _ipython_display_(self):
        _display_png(self, self.alt)


def figure(ncols=1, nrows=1, size=(WIDTH, 3.3), pyplot=True, alt=None, dpi=None, **kwargs):
    """A figure with ``nrows x ncols`` axes of ``size`` inches each, in the book's style.

    Returns ``(fig, axes)`` with ``axes`` flattened to a list.  ``alt`` is the figure's
    alt text (a sentence saying what it shows).  ``pyplot=False`` makes a figure pyplot
    never sees (an Agg canvas of its own), for widgets that redraw it; ``dpi`` overrides
    the book's 192.  Panels read best stacked (``nrows``): see the module notes.
    """
    figsize = (size[0] * ncols, size[1] * nrows)
    dpi = DPI if dpi is None else dpi
    with book_style():
        if pyplot:
            fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained",
                                     FigureClass=Figure, dpi=dpi, **kwargs)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            fig = Figure(figsize=figsize, layout="constrained", dpi=dpi)
            FigureCanvasAgg(fig)
            axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    fig.alt = alt
    return fig, list(np.ravel(axes))


def _text_sizes(fig):
    """The size of every text of ``fig`` and the tick-label size of every axis now."""
    texts = {t: t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)}
    ticks = {}
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which in ("major", "minor"):
                labels = axis.get_ticklabels(which=which)
                ticks[ax, axis.axis_name, which] = min((t.get_fontsize() for t in labels), default=None)
    return texts, ticks


def _raise_texts(fig, sizes, pt, scale=1.0):
    """Every text at least ``pt`` points (each first scaled by ``scale``)."""
    texts, ticks = sizes
    for text, size in texts.items():
        text.set_fontsize(max(size * scale, pt))
    for (ax, name, which), size in ticks.items():
        if size is not None:  # tick labels are made at draw time from the axis' settings
            ax.tick_params(axis=name, which=which, labelsize=max(size * scale, pt))


def _layout_holds(fig) -> bool:
    """Whether the figure's layout engine can place everything (constrained layout
    warns and gives up when an axes would shrink to nothing)."""
    import warnings

    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    if engine is None or isinstance(engine, PlaceHolderLayoutEngine):
        return True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.execute(fig)
    return not any("not applied" in str(w.message) for w in caught)


def smallest_text_pt(fig) -> float:
    """The size (pt) of the smallest visible text of ``fig``, tick labels included."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else float("inf")


def _renders_laid_out(render) -> bool:
    """Run ``render()``; False if the layout engine gave up while drawing (its warning is
    then swallowed: the caller tries smaller text).  Other warnings pass through."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render()
    collapsed = False
    for w in caught:
        if "not applied" in str(w.message):
            collapsed = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return not collapsed


def readable(fig, min_pt=None, render=None) -> float:
    """Raise every text of ``fig`` (labels, ticks, legends, titles, annotations) to at
    least ``min_pt`` points, by default :func:`min_font_pt` of the figure's width: the
    size at which it reads as the body text on a 400-px screen.

    Where the figure's layout cannot hold text that large (constrained layout would
    shrink an axes to nothing: panels side by side in a narrow figure), the largest
    size it can hold, in steps of 5 %, is used instead; the book's checks then report
    the figure (stack its panels with ``nrows``); if even the figure's own sizes do not
    fit, all its text is scaled down until it does.  ``render``, when given, is the drawing
    that must succeed with that layout (a savefig); it is run once more for each smaller
    size tried.  Returns the smallest text size (pt)."""
    target = min_font_pt(fig.get_figwidth()) if min_pt is None else min_pt
    sizes = _text_sizes(fig)
    # from the largest text to the smallest: raised to 100 %, 90 % ... of the target, then
    # the figure's own sizes scaled by 0.9 ... 0.6 (a layout made for smaller text)
    tries = [(target * share, 1.0) for share in np.arange(1.0, 0.05, -0.1)] + [(0.0, f) for f in (1.0, 0.9, 0.8, 0.7, 0.6)]

    def holds(i):  # the layout alone (cheap), twice: a layout that succeeds moves the
        _raise_texts(fig, sizes, *tries[i])  # axes, which changes their ticks
        return _layout_holds(fig) and _layout_holds(fig)

    if render is not None:  # the common case costs one drawing: the target size fits
        _raise_texts(fig, sizes, *tries[0])
        if _renders_laid_out(render):
            return smallest_text_pt(fig)
    if holds(0):
        good = 0
    elif not holds(len(tries) - 1):
        good = None
    else:  # bisect for the largest text whose layout holds
        bad, good = 0, len(tries) - 1
        while good - bad > 1:
            mid = (bad + good) // 2
            bad, good = (bad, mid) if holds(mid) else (mid, good)
        holds(good)
    # then the drawing itself, stepping down while it still gives up on the layout
    while good is not None and render is not None and not _renders_laid_out(render):
        good = good + 1 if good + 1 < len(tries) else None
        if good is not None:
            holds(good)
    if good is None:  # nothing fits: the figure's own sizes, as they were
        _raise_texts(fig, sizes, 0.0)
        if render is not None:
            render()
    return smallest_text_pt(fig)


def _png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def compact_png(data: bytes) -> bytes:
    """The same picture as a 256-colour PNG, about a third of the bytes of matplotlib's
    RGBA one (figures are drawn on white in a few colours; no dithering, so lines and
    text stay crisp).  Deterministic: the same pixels give the same bytes."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        paletted = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    paletted.save(buf, format="png", compress_level=6)
    return buf.getvalue()


def png(fig) -> tuple[bytes, int]:
    """``(PNG bytes, CSS width)`` of ``fig`` at the book's density, its texts made
    :func:`readable`, as a :func:`compact_png`.  The figure keeps its size (no tight
    bounding box), so one inch is one CSS inch."""
    buf = io.BytesIO()

    def render():
        buf.seek(0)
        buf.truncate()
        fig.savefig(buf, format="png", dpi=DPI)

    with book_style():
        readable(fig, render=render)
    data = compact_png(buf.getvalue())
    return data, _png_size(data)[0] // DENSITY


def text_metadata(fig) -> dict:
    """What the book's checks need to know how large a figure's text is on a screen:
    its width (in) and its smallest text (pt)."""
    return {"width_in": round(float(fig.get_figwidth()), 3), "text_pt": round(float(smallest_text_pt(fig)), 2)}


class Picture:
    """A PNG for IPython's display: ``_repr_png_`` gives the bytes with their CSS width
    and alt text as metadata (``{"width": ..., "alt": ...}``, IPython's keys, and the
    figure's :func:`text_metadata` under ``"descent"``), and the plain-text form (what
    nbval compares, and a terminal shows) is the alt text."""

    def __init__(self, data: bytes, width: int, alt: str | None = None, text: dict | None = None):
        self.data, self.width, self.alt, self.text = data, width, alt, text

    def _repr_png_(self):
        meta = {"width": self.width}
        if self.alt:
            meta["alt"] = self.alt
        if self.text:
            meta["descent"] = self.text
        return self.data, meta

    def __repr__(self):
        return f"[figure: {self.alt}]" if self.alt else "[figure without alt text]"


def image(fig, alt=None) -> Picture:
    """``fig`` as a :class:`Picture`: the PNG of :func:`png`, its CSS width, ``alt``."""
    data, width = png(fig)
    return Picture(data, width, alt or None, text_metadata(fig))


def _display_png(fig, alt):
    from IPython.display import display

    display(image(fig, alt))


def show(fig, alt=None):
    """Display ``fig`` as the book's PNG (2x density, its CSS width, ``alt`` text) and
    close it: no stray ``<Figure ...>`` text."""
    _display_png(fig, alt if alt is not None else getattr(fig, "alt", None))
    plt.close(fig)


# ------------------------------------------------------------------ legends

def _handles(target):
    axes = target.axes if isinstance(target, _MplFigure) else [target]
    seen, handles, labels = set(), [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in seen:
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    return handles, labels


def legend(target, where="below", ncols=None, handles=None, labels=None, **kwargs):
    """A legend clear of the data: outside the axes, ``"below"`` (default), ``"right"``
    or ``"above"`` them.

    ``target`` is an Axes (its own lines) or a Figure (one legend for every labelled line
    of all its axes, each label once, below/right of/above all panels).  With a figure
    laid out by :func:`figure` (constrained layout) the axes shrink to make room.
    ``ncols`` defaults to as many columns as fit the figure's width.  Returns the legend.
    """
    if where not in ("below", "right", "above"):
        raise ValueError(f"where must be 'below', 'right' or 'above', got {where!r}")
    if handles is None or labels is None:
        found_h, found_l = _handles(target)
        handles = found_h if handles is None else handles
        labels = found_l if labels is None else labels
    fig = target if isinstance(target, _MplFigure) else target.figure
    if ncols is None:
        if where == "right" or not labels:
            ncols = 1
        else:  # as many columns as fit the width below the axes (or the figure)
            size = matplotlib.font_manager.FontProperties(size=kwargs.get("fontsize", RC["legend.fontsize"])).get_size_in_points()
            column_in = (0.55 * size * max(len(str(lab)) for lab in labels) + 2.8 * size) / 72  # text, handle, gap
            span_in = fig.get_figwidth() * (1.0 if isinstance(target, _MplFigure) else target.get_position().width)
            ncols = max(1, min(len(labels), int(span_in // column_in)))
    kwargs.setdefault("frameon", False)
    if isinstance(target, _MplFigure):
        loc = {"below": "outside lower center", "right": "outside right upper", "above": "outside upper center"}[where]
        return fig.legend(handles, labels, loc=loc, ncols=ncols, **kwargs)
    ax = target
    if where == "right":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                         ncols=ncols, **kwargs)
    # Below or above the axes, past its tick labels, axis label and title: measured in
    # points (they do not change when the layout resizes the axes).
    from matplotlib.transforms import ScaledTranslation

    renderer = fig.canvas.get_renderer()
    box, tight = ax.get_window_extent(renderer), ax.get_tightbbox(renderer, for_layout_only=True)
    to_pt = 72 / fig.dpi
    if where == "below":
        gap = (box.y0 - tight.y0) * to_pt + 4
        anchor, loc, shift = (0.5, 0.0), "upper center", -gap
    else:
        gap = (tight.y1 - box.y1) * to_pt + 4
        anchor, loc, shift = (0.5, 1.0), "lower center", gap
    transform = ax.transAxes + ScaledTranslation(0, shift / 72, fig.dpi_scale_trans)
    return ax.legend(handles, labels, loc=loc, bbox_to_anchor=anchor, bbox_transform=transform, borderaxespad=0,
                     ncols=ncols, **kwargs)


# ------------------------------------------------------------------ objectives

def _grid(objective, window, n):
    (x0, x1), (y0, y1) = window if window is not None else objective.window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    with np.errstate(all="ignore"):
        Z = objective.f(np.stack([X, Y], axis=-1))
    return X, Y, Z


# Level sets in light greys (darker towards the minimum): every optimizer's colour reads
# on them, blue ones included.
LEVELS = ListedColormap(matplotlib.colormaps["Greys"](np.linspace(0.30, 0.02, 256)), name="descent_levels")


def contour(ax, objective, levels=30, window=None, n=160, log=None, filled=True, cmap=LEVELS):
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
        ax.contourf(X, Y, Zs, levels=lv, norm=norm, cmap=cmap)
    ax.contour(X, Y, Zs, levels=lv, norm=norm, colors="0.45", linewidths=0.5, alpha=0.5)
    if getattr(objective, "minimum", None) is not None and np.size(objective.minimum) == 2:
        ax.plot(*objective.minimum, marker="*", ms=14, color="gold", mec="k", mew=0.8, zorder=5, ls="none")
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
    ax.plot([x], [y], marker="x", ms=11, mew=2.5, color=color, zorder=6, ls="none")
    ax.annotate(f"diverged at step {step}", (x, y), xytext=(6, 6), textcoords="offset points",
                color=color, fontweight="bold", zorder=7,
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


def path(ax, traj, opt=None, label=None, color=None, markers=True, upto=None, lw=1.8, **kwargs):
    """Trajectories of a run (or a batch) on 2-D axes, with start and end markers, in the
    rule's colour, line style and marker."""
    lk = look(opt, label)
    color = color or lk.color
    if "ls" not in kwargs and "linestyle" not in kwargs:
        kwargs["linestyle"] = lk.linestyle
    lines = []
    for k, (xs, _, at) in enumerate(_runs(traj)):
        pts = xs[: None if upto is None else upto + 1]
        (ln,) = ax.plot(pts[:, 0], pts[:, 1], color=color, lw=lw, marker=lk.marker if markers else None, ms=3.5,
                        label=lk.label if k == 0 else None, zorder=4, **kwargs)
        lines.append(ln)
        ax.plot(*pts[0], marker="o", ms=7, color=color, mec="k", mew=0.7, zorder=5)
        if at >= 0 and (upto is None or upto >= at):
            j = _last_finite_index(pts[:, 0])
            mark_divergence(ax, pts[j, 0], pts[j, 1], at, color="crimson")
    return lines


def iterates_1d(ax, objective, traj, opt=None, label=None, color=None, upto=None, arrows=True):
    """The iterates of a 1-D run on the curve of the objective, joined in order."""
    lk = look(opt, label)
    color = color or lk.color
    for k, (xs, ls, at) in enumerate(_runs(traj)):
        x, f = xs[: None if upto is None else upto + 1, 0], ls[: None if upto is None else upto + 1]
        ax.plot(x, f, color=color, lw=1.2, alpha=0.8, marker=lk.marker, ms=5, zorder=4,
                linestyle=lk.linestyle, label=lk.label if k == 0 else None)
        ax.plot(x[:1], f[:1], marker="o", ms=8, color=color, mec="k", zorder=5)
        if at >= 0 and (upto is None or upto >= at):
            j = _last_finite_index(x)
            mark_divergence(ax, x[j], f[j], at)
    return ax


def loss(ax, traj, opt=None, label=None, color=None, log=True, f_min=None, upto=None, **kwargs):
    """Loss against step t (minus ``f_min`` when given) on a log axis; marks divergence."""
    lk = look(opt, label)
    color = color or lk.color
    if "ls" not in kwargs and "linestyle" not in kwargs:
        kwargs["linestyle"] = lk.linestyle
    for k, (_, ls, at) in enumerate(_runs(traj)):
        y = ls if f_min is None else ls - f_min
        if upto is not None:
            y = y[: upto + 1]
        t = np.arange(len(y))
        if log:
            y = np.where(y > 0, y, np.nan) if f_min is None else np.maximum(y, 1e-300)
        ax.plot(t, y, color=color, label=lk.label if k == 0 else None, **kwargs)
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
    styles = ["-", "--", "-.", ":"]
    for k, (label, s) in enumerate(named.items()):
        ax.plot(t, s(t), label=label, color=SERIES[k % len(SERIES)], ls=styles[k // 2 % len(styles)], lw=2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"learning rate $\eta_t$")
    legend(ax)
    return ax


# ------------------------------------------------------------------ flip-books

_UUID = re.compile(r"[0-9a-f]{32}")
_IMG = re.compile(r'<img id="(_anim_img[0-9a-f]{32})">')
_FRAME = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)")  # base64 with JS line continuations


def _frame_list(frames):
    return list(range(frames)) if isinstance(frames, int) else list(frames)


def flipbook(fig, draw_frame, frames, interval=250, name="flipbook", default_mode="once", alt=None,
             layout_frame=-1, layout=True):
    """A flip-book of ``frames`` (an int or a sequence) drawn by ``draw_frame(frame)``.

    Returns ``IPython.display.HTML`` with matplotlib's self-contained JavaScript player
    (frames as embedded PNG at 2x density, a play button and a frame slider): it plays in
    the static HTML page without a kernel.  ``alt`` is the player image's alt text (what
    the animation shows, in a sentence; default: the figure's ``alt``).

    The flip-book owns the layout: its texts are made :func:`readable`, the figure is laid
    out once (constrained layout) with ``layout_frame`` drawn (default the last frame,
    usually the fullest), and that layout is frozen, so every frame is rendered once and
    nothing moves between frames.  ``layout=False`` keeps the positions the figure has.
    The element id is derived from ``name`` instead of a random uuid, so re-executing the
    notebook changes no byte.  Closes ``fig``.
    """
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    canvas = fig.canvas
    order = _frame_list(frames)
    alt = alt if alt is not None else getattr(fig, "alt", None)
    with book_style():
        if layout:
            engine = fig.get_layout_engine()
            if engine is None or isinstance(engine, PlaceHolderLayoutEngine):
                fig.set_layout_engine("constrained")
            draw_frame(order[layout_frame])
            readable(fig, render=canvas.draw)  # lay out on that frame, then freeze: savefig with
            fig.set_layout_engine("none")  # a layout engine renders every frame twice
            fig._layout_engine = None  # "none" leaves a placeholder that savefig still lays out
        else:
            readable(fig)
        anim = FuncAnimation(fig, draw_frame, frames=order, interval=interval, blit=False)
        # Each frame is rendered once by savefig; the animation's own draw_idle after
        # every frame would render it a second time for nothing.
        canvas.draw_idle = lambda *args, **kwargs: None
        try:
            html = anim.to_jshtml(default_mode=default_mode)
        finally:
            del canvas.draw_idle
    width = round(fig.get_figwidth() * CSS_PX_PER_INCH)
    text = text_metadata(fig)
    plt.close(fig)
    uid = hashlib.md5(name.encode()).hexdigest()
    html = _UUID.sub(uid, html)
    attrs = (f' width="{width}" style="max-width: 100%; height: auto"'
             f' data-width-in="{text["width_in"]}" data-text-pt="{text["text_pt"]}"')
    if alt:
        attrs += f' alt="{_html.escape(alt)}"'
    html = _IMG.sub(lambda m: f'<img id="{m.group(1)}"{attrs}>', html)
    html = _FRAME.sub(lambda m: "data:image/png;base64," + base64.b64encode(
        compact_png(base64.b64decode(m.group(1).replace("\\\n", "")))).decode("ascii"), html)
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


# ------------------------------------------------------------------ tables

_MATH = re.compile(r"\$([^$]+)\$")


class Table:
    """A table shown as HTML in the book and JupyterLab and as aligned text elsewhere
    (nbval compares both, so both are deterministic).  Made by :func:`table`."""

    def __init__(self, header, rows, align, caption, groups=None):
        self.header, self.rows, self.align, self.caption, self.groups = header, rows, align, caption, groups

    @staticmethod
    def _cell_html(text):
        parts = _MATH.split(text)  # odd items are TeX: typeset by MathJax in the book
        return "".join(rf'<span class="math notranslate nohighlight">\({_html.escape(p)}\)</span>' if i % 2
                       else _html.escape(p) for i, p in enumerate(parts))

    def _repr_html_(self):
        def row(cells, tag):
            return "<tr>" + "".join(f'<{tag} style="text-align: {a}">{self._cell_html(c)}</{tag}>'
                                    for c, a in zip(cells, self.align, strict=True)) + "</tr>"

        head = ""
        if self.groups:
            head += "<tr>" + "".join(f'<th colspan="{n}" class="descent-group">{self._cell_html(g)}</th>'
                                     for g, n in self.groups) + "</tr>"
        if self.header:
            head += row(self.header, "th")
        head = f"<thead>{head}</thead>" if head else ""
        body = "".join(row(r, "td") for r in self.rows)
        caption = f'<div class="descent-table-caption">{self._cell_html(self.caption)}</div>' if self.caption else ""
        return (f'<div class="descent-table">{caption}<div class="descent-table-scroll">'
                f"<table>{head}<tbody>{body}</tbody></table></div></div>")

    def __repr__(self):
        lines = [self.header] if self.header else []
        lines += self.rows
        widths = [max(len(r[j]) for r in lines) for j in range(len(self.align))]
        if self.groups:  # a group label wider than its columns widens the last of them
            start = 0
            for label, n in self.groups:
                span = sum(widths[start:start + n]) + 2 * (n - 1)
                widths[start + n - 1] += max(0, len(label) - span)
                start += n

        def fmt(cells):
            return "  ".join(c.rjust(w) if a == "right" else c.ljust(w)
                             for c, w, a in zip(cells, widths, self.align, strict=True)).rstrip()

        out = [self.caption] if self.caption else []
        if self.groups:
            start, parts = 0, []
            for label, n in self.groups:
                span = sum(widths[start:start + n]) + 2 * (n - 1)
                parts.append(label.center(span))
                start += n
            out.append("  ".join(parts).rstrip())
        if self.header:
            out += [fmt(self.header), "  ".join("-" * w for w in widths)]
        out += [fmt(r) for r in self.rows]
        return "\n".join(out)


_PLACEHOLDERS = ("—", "–", "-", "")


def _format(value, spec):
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return "—" if np.isnan(value) else ("∞" if value > 0 else "−∞")
    return format(value, spec) if spec else str(value)


def _numeric(value) -> bool:
    return (isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))) \
        or value is None or (isinstance(value, str) and value in _PLACEHOLDERS)


def table(rows, columns=None, formats=None, caption=None, align=None, groups=None):
    """A table of ``rows`` (sequences of cells) under the header ``columns``.

    ``formats`` gives each column a format spec (a list, or a dict by column name, e.g.
    ``{"η": ".3g", "f(x_100)": ".2e"}``); numbers without one print with ``str``, so give
    a spec for every float column: the text must not depend on the last bits of a float.
    Text cells may hold ``$...$`` math (typeset in the book).  Numbers are right-aligned
    (a column of numbers and "—" placeholders too), text left-aligned, unless ``align`` (a
    list of "left"/"right") says otherwise.  ``groups``, a list of ``(label, number of
    columns)``, adds a row above the header that groups columns (e.g. one problem's three).
    Return it as the last expression of a cell, or ``display(...)`` it.
    """
    rows = [list(r) for r in rows]
    header = [str(c) for c in columns] if columns is not None else None
    n = len(header) if header is not None else (len(rows[0]) if rows else 0)
    for i, r in enumerate(rows):
        if len(r) != n:
            raise ValueError(f"rows[{i}] has {len(r)} cells, expected {n}: {r!r}")
    if isinstance(formats, dict):
        unknown = set(formats) - set(header or [])
        if unknown:
            raise ValueError(f"formats names columns that are not in columns: {sorted(unknown)}")
        specs = [formats.get(c) for c in header]
    else:
        specs = list(formats) if formats is not None else [None] * n
    if len(specs) != n:
        raise ValueError(f"formats has {len(specs)} entries, expected {n}: {formats!r}")
    if align is None:
        align = ["right" if rows and all(_numeric(r[j]) for r in rows)
                 and not all(isinstance(r[j], str) or r[j] is None for r in rows) else "left" for j in range(n)]
    elif len(align) != n or any(a not in ("left", "right") for a in align):
        raise ValueError(f"align must be {n} of 'left'/'right', got {align!r}")
    if groups is not None:
        groups = [(str(label), int(span)) for label, span in groups]
        if sum(span for _, span in groups) != n or any(span < 1 for _, span in groups):
            raise ValueError(f"groups must span the {n} columns with at least one each, got {groups!r}")
    cells = [[_format(v, s) for v, s in zip(r, specs, strict=True)] for r in rows]
    return Table(header, cells, list(align), caption, groups)


__all__ = [
    "RC", "COLUMN_PX", "BODY_PX", "DPI", "WIDTH", "SERIES", "LEVELS", "Look", "Figure", "Picture", "Table",
    "min_font_pt", "style", "look", "line", "book_style", "figure", "readable", "smallest_text_pt", "png",
    "compact_png", "text_metadata", "image", "show", "legend",
    "contour", "curve", "mark_divergence", "path", "iterates_1d", "loss", "schedules", "flipbook", "table",
]

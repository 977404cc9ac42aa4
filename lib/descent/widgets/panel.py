"""A live panel: one description, shown by a kernel as ipywidgets and by the static page
as an HTML twin that the JavaScript port of :mod:`descent` drives.

A :class:`LivePanel` takes a *kind* (see :mod:`descent.widgets.kinds`): the controls, the
experiment (``compute``), the figure's fixed parts (``setup``/``restyle``), its moving parts
(``artists``: name -> style, the same table the page draws with) and ``scene`` (name -> the
data of each moving part).  In a kernel every control change recomputes, updates those
artists in place, blits them over a cached background and sends one PNG to an
``ipywidgets.Image``; no new figure, no new contour.

Displayed, the panel carries two views of itself (``_repr_mimebundle_``): the widget for
a kernel (JupyterLab picks it first) and ``text/html``, the live twin for the static book
(``nb_mime_priority_overrides`` in ``_config.yml`` makes the book pick it).  That HTML is
deterministic (no random id, numbers rounded where they come from floating-point work),
so nbval can compare it; see :mod:`descent.widgets.html`.
"""

from __future__ import annotations

import io
import time

import numpy as np

from .. import plot
from . import spec as S

#: CSS pixels per inch of a panel in the page (the book's figures are laid out at 80).
CSS_DPI = 80
#: Pixels per inch of the static backgrounds: twice the CSS density, sharp on HiDPI screens.
BACKGROUND_DPI = 2 * CSS_DPI


def _widget(control):
    """The ipywidgets control of a :class:`~descent.widgets.spec.Control` (same values)."""
    import ipywidgets as W

    style = {"description_width": "initial"}
    if isinstance(control, S.Dropdown):
        return W.Dropdown(options=control.options, value=control.value, description=control.label, style=style)
    if control.integer:
        step = control.values[1] - control.values[0] if len(control.values) > 1 else 1
        regular = all(b - a == step for a, b in zip(control.values, control.values[1:], strict=False))
        if regular:
            return W.IntSlider(value=control.value, min=control.values[0], max=control.values[-1], step=step,
                               description=control.label, style=style, layout=W.Layout(width="320px"),
                               continuous_update=False)
    labels = [(_readout(control, v), v) for v in control.values]
    return W.SelectionSlider(options=labels, value=control.value, description=control.label, style=style,
                             layout=W.Layout(width="320px"), continuous_update=False)


def _readout(control, value) -> str:
    return format(value, control.format)


class LivePanel:
    """Controls plus one reused figure, described so that the page can run it too.

    Args:
        kind: the experiment and its figure (an instance from :mod:`descent.widgets.kinds`).
        caption: a line under the controls.
    """

    def __init__(self, kind, caption: str | None = None):
        self.kind, self.caption = kind, caption
        self.controls = {c.name: c for c in kind.controls}
        self._values = {name: c.value for name, c in self.controls.items()}
        self._built = False
        self._html = None
        self.timings: dict = {}

    def _build(self):
        """The figure, its artists and the widgets, made on first use (a panel only asked to
        ``compute`` never draws)."""
        if self._built:
            return
        import ipywidgets as W

        kind = self.kind
        self._built = True
        self._widgets = {name: _widget(c) for name, c in self.controls.items()}
        for name, w in self._widgets.items():
            w.value = self._values[name]
        self._fig, self._axes = plot.figure(ncols=kind.ncols, nrows=kind.nrows, size=kind.size, pyplot=False)
        self._artists = {}
        with plot.book_style():
            kind.setup(self._fig, self._axes)
            self._static_key = None
            self._restyle(self.values)
            self._fig.canvas.draw()  # lay out once (constrained layout), then freeze it to whole
            self._boxes = _freeze_layout(self._fig, self._axes)  # hundredths of CSS pixels
            self._pres = {}  # text tables: an ipywidgets.HTML beside the figure (the page: a <pre>)
            for name, style in kind.artists().items():
                if style["type"] == "pre":
                    self._pres[name] = W.HTML(layout=W.Layout(margin="0 0 0 12px"))
                else:
                    self._artists[name] = _make_artist(self._axes[style["axes"]], style)
        self._backgrounds: dict = {}
        self._image = W.Image(format="png", layout=W.Layout(max_width="100%", width=f"{self._boxes['width']}px"))
        self._quiet = False
        for w in self._widgets.values():
            w.observe(self._on_change, names="value")
        ws = list(self._widgets.values())
        rows = [W.HBox(ws[i:i + 3], layout=W.Layout(flex_flow="row wrap")) for i in range(0, len(ws), 3)]
        if self.caption:
            rows.append(W.HTML(f"<small>{_escape(self.caption)}</small>"))
        figure = W.HBox([self._image, *self._pres.values()], layout=W.Layout(flex_flow="row wrap", align_items="flex-start")) \
            if self._pres else self._image
        self._widget = W.VBox(rows + [figure])
        self.redraw()

    # the figure and the widgets, built on first use
    fig = property(lambda self: self._part("fig"), doc="The reused matplotlib figure.")
    axes = property(lambda self: self._part("axes"), doc="Its axes, in order.")
    boxes = property(lambda self: self._part("boxes"), doc="The axes' boxes in CSS pixels (see _freeze_layout).")
    widgets = property(lambda self: self._part("widgets"), doc="{name: ipywidgets control}.")
    image = property(lambda self: self._part("image"), doc="The ipywidgets.Image that shows the figure.")
    widget = property(lambda self: self._part("widget"), doc="The whole ipywidgets panel.")

    def _part(self, name):
        self._build()
        return self.__dict__["_" + name]

    # ------------------------------------------------------------ state

    @property
    def values(self) -> dict:
        """The controls' current values, by name."""
        if not self._built:
            return dict(self._values)
        return {name: w.value for name, w in self._widgets.items()}

    def _on_change(self, change):
        if not self._quiet:
            self.redraw()

    def set(self, **values):
        """Set several controls at once and redraw once (tests, benchmarks).  Each value must
        be one the control can take (``panel.controls[name].values``)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"Invalid control names: {sorted(unknown)} (this panel has {sorted(self.controls)})")
        for name, v in values.items():
            allowed = self.controls[name].values
            if v not in allowed:
                near = sorted(allowed, key=lambda a: abs(a - v) if isinstance(a, (int, float)) and not isinstance(v, str)
                              else 0)[:3]
                raise ValueError(f"Invalid {name}: {v!r} (not a value of this control; nearest: {near})")
        self._quiet = True
        try:
            for name, v in values.items():
                self.widgets[name].value = v
        finally:
            self._quiet = False
        return self.redraw()

    def compute(self, values: dict | None = None):
        """The experiment at ``values`` (default: the current ones), without drawing."""
        with np.errstate(all="ignore"):
            return self.kind.compute(self.values if values is None else {**self.values, **values})

    def scene(self, values: dict | None = None):
        """What the moving artists show at ``values``: {name: data} (also what the page draws)."""
        values = self.values if values is None else {**self.values, **values}
        with np.errstate(all="ignore"):
            return self.kind.scene(values, self.kind.compute(values), self._limits_for(values))

    # ------------------------------------------------------------ drawing

    def _limits_for(self, values):
        return self.kind.limits(self.kind.static_key(values))

    def _restyle(self, values) -> bool:
        key = self.kind.static_key(values)
        if key == self._static_key:
            return False
        self.kind.restyle(self.axes, key)
        self._static_key = key
        return True

    def _draw(self, extra_key):
        canvas = self.fig.canvas
        key = (self._static_key, extra_key)
        if key not in self._backgrounds:  # one background per static state, drawn once
            canvas.draw()  # everything but the animated artists
            self._backgrounds[key] = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._backgrounds[key])
        for artist in sorted((a for a in self._artists.values() if a.get_visible()), key=lambda a: a.get_zorder()):
            self.fig.draw_artist(artist)

    def redraw(self):
        """Recompute, update the artists, re-encode the PNG; record the three timings."""
        if not self._built:
            self._build()  # which ends with a redraw
            return self
        values = self.values
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            result = self.kind.compute(values)
        t1 = time.perf_counter()
        with plot.book_style(), np.errstate(all="ignore"):
            self._restyle(values)
            scene = self.kind.scene(values, result, self._limits_for(values))
            ylims = scene.pop("_ylim", {})
            for i, lim in ylims.items():  # an axis whose limits follow the data (drawn by the page too)
                if tuple(self.axes[i].get_ylim()) != tuple(lim):
                    self.axes[i].set_ylim(*lim)
            for name, data in scene.items():
                if name in self._pres:
                    self._pres[name].value = pre_html(self.kind.artists()[name], data.get("text", ""))
                else:
                    _update_artist(self._artists[name], data)
            self._draw(tuple(sorted(ylims.items())))
        t2 = time.perf_counter()
        self.image.value = _png(self.fig)
        t3 = time.perf_counter()
        self.timings = {"compute": t1 - t0, "draw": t2 - t1, "encode": t3 - t2, "total": t3 - t0}
        return self

    # ------------------------------------------------------------ display

    def html(self) -> str:
        """The static page's twin of this panel (see :mod:`descent.widgets.html`)."""
        self._build()
        if self._html is None:
            from .html import panel_html

            self._html = panel_html(self)
        return self._html

    def _repr_mimebundle_(self, include=None, exclude=None):
        self._build()
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        bundle["text/html"] = self.html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"LivePanel({type(self.kind).__name__}: {', '.join(self.controls)})"


# ------------------------------------------------------------------ helpers

def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def pre_html(style, text) -> str:
    """A text table as HTML (the kernel's widget and the page's first paint)."""
    title = f'<div class="dl-pre-title">{_escape(style["title"])}</div>' if style.get("title") else ""
    return f'{title}<pre class="dl-pre" style="margin:0.3em 0;font-size:0.85em">{_escape(text)}</pre>'


def _png(fig) -> bytes:
    from PIL import Image as PILImage

    rgba = np.asarray(fig.canvas.buffer_rgba())
    buf = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _freeze_layout(fig, axes) -> dict:
    """Round every axes box to hundredths of a CSS pixel, pin it, switch the layout engine off.

    The page draws in these boxes; pinning them here makes matplotlib draw in exactly the
    same ones, at any dpi.  Returns ``{"width", "height", "axes": [[left, top, w, h], ...]}``
    in CSS pixels (origin top left)."""
    W = round(fig.get_figwidth() * CSS_DPI)
    H = round(fig.get_figheight() * CSS_DPI)
    boxes = []
    for ax in axes:
        p = ax.get_position()
        left, top = round(p.x0 * W, 2), round((1 - p.y1) * H, 2)
        w, h = round(p.width * W, 2), round(p.height * H, 2)
        ax.set_position([left / W, 1 - (top + h) / H, w / W, h / H])
        boxes.append([left, top, w, h])
    fig.set_layout_engine("none")
    fig._layout_engine = None  # "none" leaves a placeholder that savefig would still run
    return {"width": W, "height": H, "axes": boxes}


def _make_artist(ax, st):
    """A matplotlib artist for a moving part (``animated``: blitted, not in the background)."""
    t = st["type"]
    if t == "line":
        (a,) = ax.plot([], [], color=st.get("color", "k"), lw=st.get("lw", 1.5), ls=st.get("ls", "-"),
                       marker=st.get("marker") or None, ms=st.get("ms", 6), alpha=st.get("alpha", 1.0),
                       zorder=st.get("zorder", 2), animated=True,
                       **({"mec": st["mec"]} if "mec" in st else {}), **({"mew": st["mew"]} if "mew" in st else {}))
        return a
    if t == "text":
        box = st.get("box")
        bbox = dict(boxstyle=f"round,pad={box.get('pad', 0.2)}", fc=box["fc"], ec=box["ec"], alpha=box.get("alpha", 1.0)) \
            if box else None
        transform = ax.transAxes if st.get("coords", "axes") == "axes" else ax.transData
        return ax.text(*st.get("xy", (0, 0)), "", transform=transform, ha=st.get("ha", "left"), va=st.get("va", "baseline"),
                       fontsize=st.get("size", 10), color=st.get("color", "k"), fontweight=st.get("weight", "normal"),
                       family="monospace" if st.get("family") == "mono" else None, bbox=bbox,
                       zorder=st.get("zorder", 7), animated=True, linespacing=st.get("linespacing", 1.2))
    if t == "span":
        return ax.axvspan(0, 1, color=st["color"], alpha=st.get("alpha", 1.0), lw=0, zorder=st.get("zorder", 1),
                          animated=True)
    if t == "stairs":  # edges: [lo, hi, n], n equal bins
        lo, hi, n = st["edges"]
        return ax.stairs(np.zeros(n), np.linspace(lo, hi, n + 1), fill=True, color=st["color"], animated=True,
                         zorder=st.get("zorder", 2))
    if t == "legend":
        return _Legend(ax, st)
    raise ValueError(f"Invalid artist type: {t!r}")


class _Legend:
    """A legend whose labels and colours change (a legend of proxy lines, blitted)."""

    def __init__(self, ax, st):
        self.ax, self.st, self.legend, self.entries = ax, st, None, None

    def get_visible(self):
        return self.legend is not None and self.legend.get_visible()

    def set_visible(self, on):
        if self.legend is not None:
            self.legend.set_visible(on)

    def get_zorder(self):
        return 8

    def draw(self, renderer):
        self.legend.draw(renderer)

    def update(self, entries):
        from matplotlib.lines import Line2D

        entries = [tuple(e) for e in entries]
        if entries == self.entries:
            return
        if self.legend is not None:
            self.legend.remove()
        handles = [Line2D([], [], color=c, lw=2, ls=ls) for _, c, ls in entries]
        self.legend = self.ax.legend(handles, [lab for lab, _, _ in entries], loc=self.st.get("loc", "upper right"))
        self.legend.set_animated(True)
        self.entries = entries


def _update_artist(a, d):
    if isinstance(a, _Legend):
        a.update(d["entries"])
        return
    kind = type(a).__name__
    if kind == "Line2D":
        a.set_data(np.asarray(d.get("x", []), dtype=float), np.asarray(d.get("y", []), dtype=float))
        if "color" in d:
            a.set_color(d["color"])
        if "ls" in d:
            a.set_linestyle(d["ls"])
        a.set_visible(d.get("visible", True))
    elif kind == "Text":
        a.set_text(d.get("text", ""))
        if "xy" in d:
            a.set_position(d["xy"])
        a.set_visible(bool(d.get("text")) and d.get("visible", True))
    elif kind == "Rectangle":
        a.set_x(d["x0"])
        a.set_width(d["x1"] - d["x0"])
    elif kind == "StepPatch":
        a.set_data(np.asarray(d["values"], dtype=float))
    else:  # pragma: no cover - every type made by _make_artist is handled above
        raise ValueError(f"Invalid artist: {a!r}")

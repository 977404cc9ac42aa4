"""The static page's twin of a panel: deterministic HTML that the page's script makes live.

``panel_html(panel)`` returns one ``<div class="descent-live">`` holding

* the controls as plain HTML (``<input type="range">`` over the index of the control's
  value table, ``<select>``), all ``disabled`` as written: the page's script enables them
  once it has drawn the panel, so without the script nothing pretends to move;
* the figure: for each static key (e.g. each function of a 1-D panel) a background PNG
  made by matplotlib at 2x (contours, curves, axes, labels; the moving parts hidden) and a
  ``<canvas>`` over it, on which ``js/descent/page.js`` draws the moving parts;
* ``<script type="application/json" class="dl-spec">``: the panel's description, the
  artists' styles, the axes' boxes and limits, the colours and labels of its rules.

A panel whose kind has no JavaScript twin gets the still figure of its current settings,
its controls ``disabled`` for good and one line saying how to make them live.

Everything here is a pure function of the panel's description and matplotlib's output:
no random id, and every number that comes out of floating-point work is rounded
(:func:`~descent.widgets.kinds._r`), so the HTML is the same on every machine and nbval can
compare it.  The PNGs (``data:image/png;base64,``) are masked by ``nbval_sanitize.cfg``.
"""

from __future__ import annotations

import base64
import html
import io
import json

from .. import plot
from . import spec as S
from .panel import BACKGROUND_DPI, CSS_DPI, _readout, pre_html

#: Shown beside the controls of a panel that only a kernel can run.
INACTIVE_NOTE = ("These controls need Python, so on this page they are switched off and the figure shows the "
                 "settings above. To move them, run this chapter as a notebook: download it with the button at "
                 "the top of the page (.ipynb) and open it in JupyterLab.")
#: Shown until the page's script has made a live panel run (hidden once it has); seen only where
#: the script never runs (a notebook viewer, a page saved without it).
LOADING_NOTE = ("These controls run in the book's pages and in a running notebook; here they are switched off and the "
                "figure shows the settings above.")

VERSION = 1


def _png(fig, dpi) -> bytes:
    """The figure at ``dpi`` as an 8-bit palette PNG: a quarter of the RGB size (a background
    is mostly flat colour, a 256-colour octree keeps its gradients), deterministic."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="raw", dpi=dpi)
    w, h = round(fig.get_figwidth() * dpi), round(fig.get_figheight() * dpi)
    img = Image.frombuffer("RGBA", (w, h), buf.getvalue(), "raw", "RGBA", 0, 1).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, format="png",
                                                                                             compress_level=9)
    return out.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _styles(kind) -> dict:
    """Colour, line style and label of every rule the panel can run (:func:`descent.plot.look`)."""
    names = []
    for d in kind.rules():
        for n in S.rule_names(d):
            if n not in names:
                names.append(n)
    return {n: {**plot.style(n), "ls": plot.look(n).linestyle} for n in names}


def _font(size_pt: float) -> float:
    return round(size_pt * CSS_DPI / 72, 3)


def _spec(panel, statics) -> dict:
    kind = panel.kind
    import matplotlib

    with plot.book_style():
        rc = {k: matplotlib.rcParams[k] for k in ("font.size", "legend.fontsize", "xtick.labelsize", "font.family",
                                                  "grid.alpha", "grid.color", "grid.linewidth", "ytick.major.size",
                                                  "ytick.major.width", "ytick.major.pad", "ytick.color")}
    sizes = {"font.size": rc["font.size"], "legend.fontsize": rc["legend.fontsize"], "tick": rc["xtick.labelsize"]}
    sizes = {k: matplotlib.font_manager.FontProperties(size=v).get_size_in_points() for k, v in sizes.items()}
    axes = []
    for ax, box in zip(panel.axes, panel.boxes["axes"], strict=True):
        axes.append({"box": box, "xscale": ax.get_xscale(), "yscale": ax.get_yscale()})
    return {
        "version": VERSION,
        "kind": type(kind).__name__,
        "controls": [c.json() for c in kind.controls],
        "params": kind.json(),
        "artists": kind.artists(),
        "styles": _styles(kind),
        "figure": {"width": panel.boxes["width"], "height": panel.boxes["height"], "axes": axes, "statics": statics,
                   "ticks": _ticks(panel), "css_dpi": CSS_DPI},
        "font": {"size": _font(sizes["font.size"]), "legend": _font(sizes["legend.fontsize"]),
                 "tick": _font(sizes["tick"]), "grid_alpha": rc["grid.alpha"], "grid_color": str(rc["grid.color"]),
                 "grid_width": rc["grid.linewidth"], "tick_length": rc["ytick.major.size"],
                 "tick_width": rc["ytick.major.width"], "tick_pad": rc["ytick.major.pad"]},
    }


def _ticks(panel) -> dict:
    with plot.book_style():
        return panel.kind.ticks(panel.axes)


def _backgrounds(panel) -> tuple[list, list]:
    """One background per static key: (statics for the spec, [(data uri, alt)])."""
    kind = panel.kind
    artists = list(panel._artists.values())
    hidden = [a for a in artists if hasattr(a, "set_visible")]
    saved = [a.get_visible() for a in hidden]
    statics, images = [], []
    key_now = panel._static_key
    with plot.book_style():
        try:
            for a in hidden:
                a.set_visible(False)
            kind.background(panel.axes, True)
            for key in kind.static_keys():
                kind.restyle(panel.axes, key)
                panel._static_key = key
                images.append((_data_uri(_png(panel.fig, BACKGROUND_DPI)), kind.alt(key)))
                statics.append({"when": dict(zip(kind.static_controls, key, strict=True)), "limits": kind.limits(key),
                                "image": len(images) - 1})
        finally:
            kind.background(panel.axes, False)
            for a, v in zip(hidden, saved, strict=True):
                a.set_visible(v)
            kind.restyle(panel.axes, key_now)  # the kernel's figure as it was: its cached blit
            panel._static_key = key_now  # backgrounds stay valid
    return statics, images


def _controls_html(panel, live: bool) -> str:
    parts = []
    for c in panel.kind.controls:
        label = f'<span class="dl-label">{html.escape(c.label)}</span>'
        if isinstance(c, S.Dropdown):
            opts = "".join(f'<option value="{i}"{" selected" if v == c.value else ""}>{html.escape(lab)}</option>'
                           for i, (lab, v) in enumerate(c.options))
            field = f'<select data-control="{c.name}" disabled>{opts}</select>'
            readout = ""
        else:
            i = c.values.index(c.value)
            field = (f'<input type="range" data-control="{c.name}" min="0" max="{len(c.values) - 1}" step="1" '
                     f'value="{i}" aria-label="{html.escape(c.label)}" disabled>')
            readout = f'<output class="dl-readout">{html.escape(_readout(c, c.value))}</output>'
        parts.append(f'<label class="dl-control">{label}{field}{readout}</label>')
    return f'<div class="dl-controls">{"".join(parts)}</div>'


def _json(data) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def panel_html(panel) -> str:
    """The HTML twin of ``panel`` (see the module docstring)."""
    kind = panel.kind
    caption = f'<p class="dl-caption">{html.escape(panel.caption)}</p>' if panel.caption else ""
    W, H = panel.boxes["width"], panel.boxes["height"]
    if not kind.twin:
        panel.redraw()
        with plot.book_style():
            uri = _data_uri(_png(panel.fig, BACKGROUND_DPI))
        return (f'<div class="descent-live dl-inactive" data-kind="{type(kind).__name__}">'
                f'{_controls_html(panel, live=False)}<p class="dl-note">{html.escape(INACTIVE_NOTE)}</p>{caption}'
                f'<div class="dl-figure" style="max-width:{W}px"><img class="dl-still" src="{uri}" '
                f'alt="{html.escape(kind.alt(None))}" width="{W}" height="{H}"></div></div>')
    statics, images = _backgrounds(panel)
    spec = _spec(panel, statics)
    pres = {name: st for name, st in spec["artists"].items() if st["type"] == "pre"}
    scene = panel.scene() if pres else {}
    tables = "".join(f'<div class="dl-pre-box" data-artist="{name}">{pre_html(st, scene[name].get("text", ""))}</div>'
                     for name, st in pres.items())
    now = kind.static_key(panel.values)
    first = next(s["image"] for s in statics if tuple(s["when"][n] for n in kind.static_controls) == now)
    imgs = "".join(f'<img class="dl-bg" src="{uri}" alt="{html.escape(alt)}" width="{W}" height="{H}" '
                   f'data-static="{i}"{"" if i == first else " hidden"}>' for i, (uri, alt) in enumerate(images))
    return (f'<div class="descent-live" data-kind="{type(kind).__name__}">'
            f'{_controls_html(panel, live=True)}<p class="dl-note dl-loading">{html.escape(LOADING_NOTE)}</p>{caption}'
            f'<div class="dl-row"><div class="dl-figure" style="max-width:{W}px"><div class="dl-stage" '
            f'style="aspect-ratio:{W}/{H}">{imgs}<canvas class="dl-canvas" width="{W}" height="{H}" role="img" '
            f'aria-label="{html.escape(images[first][1])}"></canvas></div></div>{tables}</div>'
            f'<script type="application/json" class="dl-spec">{_json(spec)}</script></div>')

"""Run a chapter notebook's code in this Python process, to get at its widget panels.

``tests/test_chapter_widgets.py`` and ``bench/widgets.py`` both need every
:class:`descent.widgets.Panel` a chapter creates, live, without a kernel: the code
cells are executed in order in one fresh namespace, with the chapter's folder as
working directory (as nbval and JupyterLab run it) and matplotlib's Agg backend.
Each Panel registers itself in ``descent.widgets.PANELS``; :func:`run_chapter`
returns the ones this chapter added.  Chapters avoid IPython magics; a line magic or
shell escape (``%…``, ``!…``) is dropped, a cell magic (``%%…``) skips its cell.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def chapter_paths() -> list[Path]:
    """Every chapter notebook, in book order (``chapters/NN_slug.ipynb``)."""
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path: Path) -> list[str]:
    """The sources of the code cells that would run (magics removed)."""
    nb = nbformat.read(path, as_version=4)
    sources = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):
            continue
        lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        source = "\n".join(lines)
        if source.strip():
            sources.append(source)
    return sources


def run_chapter(path: Path, quiet: bool = True) -> tuple[dict, list]:
    """Execute ``path``'s code cells; return (namespace, the Panels it created).

    Pyplot figures are closed after every cell, as the inline backend does, so a long
    chapter never trips matplotlib's "more than 20 figures" warning.  Output the cells
    print is swallowed when ``quiet``.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from descent import widgets

    path = Path(path).resolve()
    start = len(widgets.PANELS)
    namespace: dict = {"__name__": "__main__", "__file__": str(path)}
    cwd = os.getcwd()
    sink = io.StringIO()
    os.chdir(path.parent)
    try:
        for i, source in enumerate(code_cells(path)):
            code = compile(source, f"{path.name}, code cell {i + 1}", "exec")
            with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
                exec(code, namespace)
            plt.close("all")
    finally:
        os.chdir(cwd)
    return namespace, list(widgets.PANELS[start:])


def control_values(widget) -> list:
    """The values a control can be driven to at its ends: slider min and max (a log
    slider's min and max values, not exponents), every option of a selection, both
    states of a checkbox.  Empty for a control with no ends (a text box)."""
    if hasattr(widget, "options"):  # Dropdown, RadioButtons, ToggleButtons, SelectionSlider …
        if isinstance(widget.options, dict):
            return list(widget.options.values())
        return [o[1] if isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) else o for o in widget.options]
    if hasattr(widget, "min") and hasattr(widget, "max"):
        lo, hi = widget.min, widget.max
        if hasattr(widget, "base"):  # FloatLogSlider: min/max are exponents
            lo, hi = widget.base ** lo, widget.base ** hi
        if isinstance(widget.value, tuple):  # range sliders
            return [(lo, lo), (lo, hi), (hi, hi)]
        return [lo, hi]
    if isinstance(getattr(widget, "value", None), bool):
        return [False, True]
    return []


def control_sweep(widget, n: int = 5) -> list:
    """``n`` values spread over a control's range (for the benchmark)."""
    import numpy as np

    if hasattr(widget, "options"):
        return control_values(widget)
    if hasattr(widget, "min") and hasattr(widget, "max") and not isinstance(widget.value, tuple):
        q = np.linspace(0.1, 0.9, n)
        if hasattr(widget, "base"):
            return [float(widget.base ** (widget.min + t * (widget.max - widget.min))) for t in q]
        vals = [widget.min + t * (widget.max - widget.min) for t in q]
        return [int(round(v)) for v in vals] if isinstance(widget.value, int) else [float(v) for v in vals]
    return control_values(widget)

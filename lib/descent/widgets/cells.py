"""A chapter's panels, without running the chapter: its cells tagged ``panel``.

A chapter's panel cell is self-contained and declarative: it uses only the chapter's first
code cell (the imports) and literals, and its last line is the factory call that shows the
panel.  So a test or a benchmark gets every panel of a chapter by running the import cell
and then each ``panel`` cell, in a fresh namespace, with the chapter's folder as working
directory and matplotlib's Agg backend (:func:`notebook_panels`).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
from pathlib import Path

TAG = "panel"


def _code(cell) -> str:
    lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def panel_cells(path) -> list[tuple[int, str]]:
    """``(index, source)`` of every code cell of the notebook ``path`` tagged ``panel``."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    return [(i, _code(c)) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and TAG in c.get("metadata", {}).get("tags", [])]


def stored_html(path) -> dict[int, str]:
    """{index: the text/html output stored in the notebook} of its ``panel`` cells: the
    twins the built book shows (nbval keeps them equal to a fresh run's)."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    out = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and TAG in c.get("metadata", {}).get("tags", []):
            for o in c.get("outputs", []):
                html = o.get("data", {}).get("text/html")
                if html:
                    out[i] = "".join(html) if isinstance(html, list) else html
    return out


def import_cell(path) -> str:
    """The source of the notebook's first code cell (the chapter's imports)."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            return _code(c)
    return ""


def _run(source: str, namespace: dict, where: str):
    """Execute ``source``; return the value of its last line if it is an expression."""
    tree = ast.parse(source, filename=where)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, where, "exec"), namespace)
    return eval(compile(last, where, "eval"), namespace) if last is not None else None


def notebook_panels(path, sources=None, quiet=True) -> list:
    """Run the import cell of the chapter ``path``, then each of its ``panel`` cells (or the
    given ``sources``); return ``[(label, panel)]`` with each cell's last value.

    Every cell must end in a panel (a :class:`~descent.widgets.LivePanel`); a cell that does
    not is an error that names it."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from .panel import LivePanel

    path = Path(path).resolve()
    cells = panel_cells(path) if sources is None else list(enumerate(sources))
    namespace: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    out = []
    os.chdir(path.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            _run(import_cell(path), namespace, f"{path.name}, import cell")
            for index, source in cells:
                where = f"{path.name}, panel cell {index}"
                value = _run(source, dict(namespace), where)
                if not isinstance(value, LivePanel):
                    raise ValueError(f"Invalid panel cell: {where} ends in {type(value).__name__}, not a panel "
                                     f"(its last line must be the factory call)")
                out.append((f"{path.stem}[{index}]", value))
                plt.close("all")
    finally:
        os.chdir(cwd)
    return out

"""Every panel of every chapter draws a figure at every value its tests visit.

A chapter's panels are its cells tagged ``panel`` (self-contained: the chapter's import
cell, then the cell; ``descent.widgets.cells``).  Each panel is driven from its defaults to both ends
of every slider and to every option of every dropdown, and to all sliders at their minimum
and all at their maximum together, divergent settings included (the values between are
test_js_parity's and test_live_panels').  After each change its ``ipywidgets.Image`` must hold a freshly drawn,
decodable, non-blank PNG, with no exception and no RuntimeWarning.  New chapters are picked
up by file name.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from descent.widgets import spec as S
from descent.widgets.cells import notebook_panels

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _cases(panel):
    """(label, settings): each control's ends (every option) from the defaults, then all-min, all-max."""
    controls = panel.kind.controls
    defaults = {c.name: c.value for c in controls}
    ends = {c.name: c.values if isinstance(c, S.Dropdown) else [c.values[0], c.values[-1]] for c in controls}
    cases = [(f"{c.name}={v!r}", {**defaults, c.name: v}) for c in controls for v in ends[c.name] if v != c.value]
    sliders = [c for c in controls if isinstance(c, S.Slider)]
    cases.append(("every slider at its minimum", {**defaults, **{c.name: c.values[0] for c in sliders}}))
    cases.append(("every slider at its maximum", {**defaults, **{c.name: c.values[-1] for c in sliders}}))
    return defaults, cases


def _check_png(data: bytes) -> str | None:
    """None if ``data`` is a decodable, non-blank PNG; else what is wrong with it."""
    from PIL import Image

    if not data:
        return "the Image widget is empty (no redraw)"
    if not bytes(data).startswith(PNG_SIGNATURE):
        return f"the Image widget does not hold a PNG (starts {bytes(data[:8])!r})"
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # any decoding failure is the finding
        return f"the PNG does not decode: {exc}"
    if img.width < 50 or img.height < 50:
        return f"the PNG is only {img.width}x{img.height}"
    lo, hi = img.convert("L").getextrema()
    if lo == hi:
        return "the PNG is blank (a single colour)"
    return None


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_panel_draws_at_every_extreme(path):
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the chapter's import cell runs as in a kernel
        panels = notebook_panels(path)
    assert panels, f"{path.name} has no cell tagged 'panel'; every chapter has a panel"
    failures = []
    for label, panel in panels:
        assert panel.controls, f"{label} has no controls"
        defaults, cases = _cases(panel)
        for case, settings in cases:
            where = f"{label} ({', '.join(panel.controls)}), {case}"
            panel.image.value = b""  # so that a missing redraw shows as an empty image
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    panel.set(**settings)
                except Exception as exc:  # report every failing setting, not just the first
                    failures.append(f"{where}: {type(exc).__name__}: {exc}")
                    continue
            runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
            if runtime:
                failures.append(f"{where}: RuntimeWarning: {runtime[0].message}")
            problem = _check_png(panel.image.value)
            if problem:
                failures.append(f"{where}: {problem}")
        panel.set(**defaults)
    assert not failures, f"{len(failures)} failing setting(s) in {path.name}:\n" + "\n".join(failures)

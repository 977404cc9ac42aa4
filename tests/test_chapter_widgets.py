"""Every widget panel of every chapter draws a figure at the ends of every control.

Each chapter notebook's code runs in this process (``scripts/inprocess.py``: fresh
namespace, matplotlib Agg, the chapter folder as working directory), so every
``descent.widgets.Panel`` it creates lands in ``descent.widgets.PANELS``.  Each panel
is then driven, from its saved settings, to the minimum and the maximum of every
slider and to every option of every dropdown (divergent settings included), and to
all sliders at their minimum and all at their maximum together.  After each change the
panel's ``ipywidgets.Image`` must hold a freshly drawn, decodable, non-blank PNG, with
no exception and no RuntimeWarning.  New chapters are picked up by file name.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from inprocess import chapter_paths, code_cells, control_values, run_chapter  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAPTERS = chapter_paths()


def _cases(panel):
    """(label, settings) pairs: each control's ends from the defaults, then all-min, all-max."""
    defaults = {name: w.value for name, w in panel.controls.items()}
    cases = []
    lows, highs = dict(defaults), dict(defaults)
    for name, widget in panel.controls.items():
        values = control_values(widget)
        for value in values:
            cases.append((f"{name}={value!r}", {**defaults, name: value}))
        if values and (hasattr(widget, "min") or hasattr(widget, "base")):
            lows[name], highs[name] = values[0], values[-1]
    cases.append(("every slider at its minimum", lows))
    cases.append(("every slider at its maximum", highs))
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
    lo_hi = img.convert("L").getextrema()
    if lo_hi[0] == lo_hi[1]:
        return "the PNG is blank (a single colour)"
    return None


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_panel_draws_at_every_extreme(path):
    if not code_cells(path):
        pytest.skip(f"{path.name} has no code cells yet")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the chapter runs as in a kernel: warnings are not errors here
        _, panels = run_chapter(path)
    assert panels, f"{path.name} creates no descent.widgets.Panel; every chapter has at least one widget"

    failures = []
    for k, panel in enumerate(panels):
        assert panel.controls, f"panel {k} of {path.name} has no controls"
        defaults, cases = _cases(panel)
        for label, settings in cases:
            where = f"panel {k} ({', '.join(panel.controls)}), {label}"
            panel.image.value = b""  # so a missing redraw shows as an empty image
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

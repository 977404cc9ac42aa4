"""scripts/execute.py --check: text must be identical, a figure may differ in a few pixels."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import execute  # noqa: E402


def png(pixels: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def notebook(image: str, text: str = "x = 1\n", html_frame: str | None = None, widget: str | None = None) -> str:
    outputs = [{"output_type": "stream", "name": "stdout", "text": text},
               {"output_type": "display_data", "metadata": {}, "data": {"image/png": image, "text/plain": "<Figure>"}}]
    if html_frame is not None:
        outputs.append({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": f'<img src="data:image/png;base64,{html_frame}">'}})
    meta = {}
    if widget is not None:
        meta["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {
            "model_name": "ImageModel", "state": {"format": "png"},
            "buffers": [{"data": widget, "encoding": "base64", "path": ["value"]}]}}}}
    return json.dumps({"cells": [{"cell_type": "code", "source": "print(1)", "outputs": outputs}], "metadata": meta})


BASE = np.full((60, 80, 3), 255)
NUDGED = BASE.copy()
NUDGED[30, 40] = [200, 200, 200]  # one antialiased pixel
SMEARED = BASE.copy()
SMEARED[10:40, 10:40] = 0  # a figure that really changed


def test_identical_files_are_unchanged():
    nb = notebook(png(BASE))
    assert execute.compare(nb, nb) == (True, "identical")


@pytest.mark.parametrize("where", ["output", "html", "widget"])
def test_a_few_pixels_are_allowed_and_reported(where):
    old = notebook(png(BASE), html_frame=png(BASE), widget=png(BASE))
    kw = {"output": dict(image=png(NUDGED)), "html": dict(image=png(BASE), html_frame=png(NUDGED)),
          "widget": dict(image=png(BASE), widget=png(NUDGED))}[where]
    new = notebook(**{"image": png(BASE), "html_frame": png(BASE), "widget": png(BASE), **kw})
    same, summary = execute.compare(old, new)
    assert same, summary
    assert "largest channel change 55/255" in summary and "0.021%" in summary


def test_a_changed_figure_is_a_change():
    same, summary = execute.compare(notebook(png(BASE)), notebook(png(SMEARED)))
    assert not same and "pixels" in summary


def test_a_resized_figure_is_a_change():
    same, summary = execute.compare(notebook(png(BASE)), notebook(png(BASE[:50])))
    assert not same and "size" in summary


def test_any_text_difference_is_a_change():
    same, summary = execute.compare(notebook(png(BASE)), notebook(png(NUDGED), text="x = 2\n"))
    assert not same and summary == "text differs"

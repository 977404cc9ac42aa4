"""Re-execute the book's notebooks in place, so that re-running changes no byte.

    python scripts/execute.py                      # every chapters/NN_*.ipynb
    python scripts/execute.py chapters/03_averages.ipynb
    python scripts/execute.py --check              # execute, write nothing, exit 1 if a file would change

Each notebook runs top to bottom in a fresh ``python3`` kernel (the one of the Python
running this script) with its own folder as working directory, ``PYTHONHASHSEED=0``
and matplotlib's inline backend, exactly as nbval and JupyterLab run it.  Widget
state is stored in the notebook (``store_widget_state``), so the built HTML shows
every panel as it was last drawn.  Then everything that would differ between two runs
is normalised:

* widget model ids (random uuid4 hex) become ids derived from the notebook's name and
  the order in which the models first appear (outputs first, then the models they
  reference, then the rest of the saved state);
* the machine-specific patterns of ``nbval_sanitize.cfg`` (the one definition nbval uses
  too): memory addresses (``<... at 0x7f3a...>``) become ``at 0x0``, kernel temp paths
  (``/tmp/ipykernel_123/456.py``) become ``<ipykernel>``;
* execution counts run 1, 2, 3 … and no execution timestamps are stored;
* cells without an id get ``cell-N``.

The outputs of cells tagged ``nbval-ignore-output`` (legitimately variable: a timing) do
not count as a change; a file is rewritten only when something else changed, or with
``--timings``, which stores their fresh values (after a change that makes them stale).

A cell that raises stops the run and leaves the file untouched (exit status 1).

``--check`` compares the fresh run with the stored file in two parts.  Everything that is
text — source, printed output, HTML, the non-image parts of the saved widget state — must
be identical, on any machine.  A figure (a PNG output, a PNG inside HTML such as a
flip-book frame, a panel's image in the widget state) may differ from one CPU to the next
only as decoded pixels, within a stated bound: at most ``PIXEL_FRACTION`` of its pixels
changed (antialiasing of a line that moved by a fraction of a pixel).  A figure whose
size changed, or whose pixels differ more, is a change.  The check prints the largest
pixel difference it saw.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HEX32 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")
SANITIZE = ROOT / "nbval_sanitize.cfg"
PNG_IN_TEXT = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)")
#: A figure may differ between machines in at most this fraction of its pixels.
PIXEL_FRACTION = 0.002


def default_notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def kernel_env() -> None:
    """The environment the kernel inherits: fixed hash seed, inline matplotlib, this venv."""
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.pop("MPLBACKEND", None)  # let ipykernel choose its inline backend, as in JupyterLab
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugger warning on stderr


# ------------------------------------------------------------------ normalisation

def sanitizers(path: Path = SANITIZE) -> list[tuple[re.Pattern, str]]:
    """The (regex, replacement) pairs of nbval_sanitize.cfg that also apply to stored
    notebooks: every section but those titled "comparison only"."""
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(path, encoding="utf-8")
    return [(re.compile(cfg[name]["regex"]), cfg[name]["replace"]) for name in cfg.sections()
            if not name.startswith("comparison only")]


def _refs(value):
    """Model ids referenced (``IPY_MODEL_<id>``) anywhere inside a widget's state."""
    text = json.dumps(value, sort_keys=True)
    return re.findall(r"IPY_MODEL_([0-9a-f]{32})", text)


def _view_ids(outputs):
    for out in outputs:
        view = out.get("data", {}).get(WIDGET_VIEW)
        if view and "model_id" in view:
            yield view["model_id"]


def widget_id_map(nb, stem: str) -> dict[str, str]:
    """Old model id -> new deterministic id, in order of first appearance."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    order: list[str] = []
    seen: set[str] = set()

    def visit(mid):
        if mid in seen:
            return
        seen.add(mid)
        order.append(mid)
        for ref in _refs(state.get(mid, {})):
            visit(ref)

    for cell in nb.cells:
        for mid in _view_ids(cell.get("outputs", [])):
            visit(mid)
    for mid in state:  # models no output shows (e.g. closed figures' canvases), in saved order
        visit(mid)
    return {old: hashlib.md5(f"descent:{stem}:{i}".encode()).hexdigest() for i, old in enumerate(order)}


def merge_streams(outputs):
    """Join consecutive stream outputs of the same name: how a cell's prints are cut into
    messages depends on timing (a loaded machine flushes more often), the text does not."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None
                and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")):
            prev["text"] = "".join(prev["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def normalise(nb, stem: str):
    """Return a copy of ``nb`` with every run-to-run difference removed (see module doc)."""
    nb = copy.deepcopy(nb)
    mapping = widget_id_map(nb, stem)
    count = 0
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = f"cell-{i}"
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = merge_streams(cell.outputs)
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
    text = nbformat.writes(nb)
    if mapping:
        text = HEX32.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)
    for pattern, replacement in sanitizers():
        text = pattern.sub(replacement, text)
    nb = nbformat.reads(text, as_version=4)
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    if widgets and "state" in widgets:  # saved state ordered by the new ids' order of appearance
        rank = {new: i for i, new in enumerate(mapping.values())}
        widgets["state"] = dict(sorted(widgets["state"].items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return nb


# ------------------------------------------------------------------ comparison

def comparable(text: str) -> str:
    """The notebook text without the outputs of cells tagged ``nbval-ignore-output`` (a
    timing, say): like nbval, a re-run whose only change is there changes nothing, and the
    file keeps its stored output."""
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            cell.outputs = []
    return nbformat.writes(nb)


def _pixels(data: str):
    import numpy as np
    from PIL import Image

    raw = base64.b64decode(re.sub(r"[\\\s]", "", data))
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGBA"), dtype=np.int16)


def _split_images(value, images: list):
    """Replace every PNG in a JSON value by a placeholder, collecting the PNGs in order."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("image/png", "image/jpeg") and isinstance(v, str):
                images.append(v)
                out[k] = "<png>"
            else:
                out[k] = _split_images(v, images)
        if value.get("encoding") == "base64" and "data" in value:  # a widget buffer (Image.value)
            images.append(value["data"])
            out["data"] = "<png>"
        return out
    if isinstance(value, list):
        return [_split_images(v, images) for v in value]
    if isinstance(value, str) and "data:image/png;base64," in value:
        def grab(m):
            images.append(m.group(1))
            return "data:image/png;base64,<png>"
        return PNG_IN_TEXT.sub(grab, value)
    return value


def compare(old_text: str, new_text: str) -> tuple[bool, str]:
    """(same, summary): text identical and every image within the pixel bound?"""
    import numpy as np

    if old_text == new_text:
        return True, "identical"
    old_imgs, new_imgs = [], []
    old = _split_images(json.loads(old_text), old_imgs)
    new = _split_images(json.loads(new_text), new_imgs)
    if old != new or len(old_imgs) != len(new_imgs):
        return False, "text differs"
    worst, worst_max = 0.0, 0
    for a, b in zip(old_imgs, new_imgs, strict=True):
        if a == b:
            continue
        try:
            pa, pb = _pixels(a), _pixels(b)
        except Exception as exc:  # not a PNG we can decode: compare as text
            return False, f"an image could not be decoded ({exc})"
        if pa.shape != pb.shape:
            return False, f"a figure changed size ({pa.shape[1]}x{pa.shape[0]} -> {pb.shape[1]}x{pb.shape[0]})"
        changed = np.any(pa != pb, axis=-1)
        worst = max(worst, float(changed.mean()))
        worst_max = max(worst_max, int(np.abs(pa - pb).max()))
    summary = (f"text identical; figures differ in at most {100 * worst:.3f}% of their pixels "
               f"(largest channel change {worst_max}/255; bound {100 * PIXEL_FRACTION:.1f}%)")
    return worst <= PIXEL_FRACTION, summary


# ------------------------------------------------------------------ execution

def execute(path: Path, timeout: int) -> tuple[str, float]:
    """Execute ``path`` and return (normalised notebook text, seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        allow_errors=False,
        record_timing=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    text = nbformat.writes(normalise(nb, path.stem))
    return (text if text.endswith("\n") else text + "\n"), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--timings", action="store_true",
                        help="also store fresh outputs of nbval-ignore-output cells (timings) when only they changed")
    args = parser.parse_args(argv)
    kernel_env()
    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    status, total = 0, 0.0
    for path in paths:
        label = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
        try:
            text, seconds = execute(path, args.timeout)
        except Exception as exc:  # a failing cell: report it, leave the file as it was
            print(f"FAILED {label}: {type(exc).__name__}: {str(exc).strip()[-2000:]}", file=sys.stderr)
            status = 1
            continue
        total += seconds
        old = path.read_text(encoding="utf-8")
        changed = comparable(text) != comparable(old)
        if args.check:
            same, summary = compare(comparable(old), comparable(text))
            verdict = "unchanged" if not changed else f"{'unchanged' if same else 'would change'}: {summary}"
            status |= int(not same)
        else:
            verdict = "updated" if changed else "unchanged"
            if not changed and args.timings and text != old:
                changed, verdict = True, "updated: variable outputs only"
            if changed:
                path.write_text(text, encoding="utf-8")
        print(f"{seconds:7.2f} s  {label}  ({verdict})", flush=True)
    print(f"{total:7.2f} s  total, {len(paths)} notebook(s)")
    return status


if __name__ == "__main__":
    sys.exit(main())

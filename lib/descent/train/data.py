r"""Fashion-MNIST from its IDX files, read directly and offline.

Debian's package ``dataset-fashion-mnist`` installs the four files of Xiao, Rasul &
Vollgraf's data set (60,000 training and 10,000 test images, 28 x 28 grey levels, ten
classes of clothing; MIT licence) under ``/usr/share/datasets/fashion-mnist``.  Another
folder holding the same four files (``.gz`` or not) is taken from ``--data DIR`` or the
environment variable ``DESCENT_DATA``.  Nothing is ever downloaded.

An IDX file is a big-endian header followed by raw bytes: ``0x00000803`` (unsigned bytes,
three dimensions), then ``N``, ``28``, ``28`` as 32-bit integers for images (16 bytes),
``0x00000801``, ``N`` for labels (8 bytes).  :func:`read_idx` checks the header and reads
only the first ``limit`` items, so a subset of the training set costs only its own bytes.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

#: Where Debian's ``dataset-fashion-mnist`` puts the files.
DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The environment variable naming another folder.
ENV = "DESCENT_DATA"
PACKAGE = "dataset-fashion-mnist"

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SIZES = {"train": 60_000, "test": 10_000}

#: The ten classes, by label.
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

#: Mean and standard deviation of the 60,000 training images' pixels, scaled to [0, 1]
#: (computed by ``tests/test_train.py::test_normalization_constants``): inputs are
#: standardized as ``(pixels / 255 - MEAN) / STD``.
MEAN, STD = 0.2860, 0.3530


class DataMissing(FileNotFoundError):
    """The Fashion-MNIST files are not where they were looked for."""


def data_dir(path=None) -> Path:
    """The folder to read: ``path``, else ``$DESCENT_DATA``, else Debian's."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get(ENV, "")
    return Path(env) if env else DEFAULT_DIR


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        p = folder / name
        if p.is_file():
            return p
    raise DataMissing(f"Fashion-MNIST not found: no {stem}.gz in {folder} "
                      f"(install the Debian package {PACKAGE}, or set {ENV} / --data to a folder with the four IDX files)")


def files(split: str, path=None) -> tuple[Path, Path]:
    """(images, labels) file paths of ``split`` ("train" or "test"); raises DataMissing."""
    if split not in FILES:
        raise ValueError(f"Invalid split: {split!r} (expected 'train' or 'test')")
    folder = data_dir(path)
    return tuple(_find(folder, stem) for stem in FILES[split])


def read_idx(path, limit: int | None = None) -> np.ndarray:
    """The array stored in an IDX file of unsigned bytes (``.gz`` or plain), its first
    ``limit`` items only when ``limit`` is given."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        head = fh.read(4)
        if len(head) != 4 or head[:2] != b"\0\0" or head[2] != 0x08:
            raise ValueError(f"Invalid IDX file: {path} (magic {head!r}; expected unsigned bytes, 0x000008..)")
        ndim = head[3]
        dims = list(struct.unpack(f">{ndim}I", fh.read(4 * ndim)))
        n = dims[0] if limit is None else min(int(limit), dims[0])
        item = int(np.prod(dims[1:], dtype=np.int64))
        raw = fh.read(n * item)
    if len(raw) != n * item:
        raise ValueError(f"Invalid IDX file: {path} (truncated: {len(raw)} of {n * item} bytes)")
    return np.frombuffer(raw, dtype=np.uint8).reshape([n] + dims[1:])


def load(split: str = "train", path=None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of ``split``; the first
    ``limit`` of them when given (``None`` or 0: all)."""
    limit = None if not limit else int(limit)
    if limit is not None and limit < 0:
        raise ValueError(f"Invalid limit: {limit} (must be >= 0)")
    img_path, lab_path = files(split, path)
    images = read_idx(img_path, limit)
    labels = read_idx(lab_path, limit).astype(np.int64)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"Invalid Fashion-MNIST files in {img_path.parent}: images {images.shape}, labels {labels.shape}")
    return images, labels


__all__ = ["CLASSES", "DEFAULT_DIR", "ENV", "MEAN", "STD", "DataMissing", "data_dir", "files", "load", "read_idx"]

"""Train a real network on Fashion-MNIST with the book's optimizers, on one device or many.

    python -m descent.train --model cnn --optimizer adam --lr 1e-3 --schedule warmup_cosine \\
        --epochs 2 --batch-size 128 --subset 2000 --device cpu --seed 0 --out runs/adam

or, from Python (the last chapter does this)::

    from descent import train
    result = train.fit(model="cnn", optimizer="adam", lr=1e-3, subset=2000, epochs=2)
    result.epochs[-1]["test_acc"]

The map:

* :mod:`~descent.train.data` — the IDX files of Debian's ``dataset-fashion-mnist``
  (or ``--data DIR`` / ``$DESCENT_DATA``), read directly; nothing is downloaded;
* :mod:`~descent.train.config` — :class:`Config` (the CLI's flags) and its checks, which
  need no torch, so a bad command line fails in milliseconds with one line;
* :mod:`~descent.train.models` — a LeNet-style CNN and an MLP, max-norm;
* :mod:`~descent.train.optim` — the optimizer (``descent.torch.Optimizer`` or torch.optim's
  twin) and :class:`ScheduleLR`, which drives ``group["lr"]`` from a descent schedule;
* :mod:`~descent.train.loop` — :func:`fit`: batches, DistributedDataParallel under
  ``torchrun``, evaluation, checkpoints and ``--resume``, metrics as JSON lines;
* :mod:`~descent.train.cli` — ``python -m descent.train``.

Only ``data`` and ``config`` are imported here; the names that need torch are imported
on first use, so that ``import descent.train`` and the CLI's checks stay torch-free.
"""

from . import config, data
from .config import Config, ConfigError

_LAZY = {  # name -> module that defines it (imports torch)
    "fit": "loop", "Result": "loop", "Batches": "loop", "evaluate": "loop",
    "load_checkpoint": "loop", "save_checkpoint": "loop",
    "ScheduleLR": "optim", "make_optimizer": "optim",
    "build": "models", "cnn": "models", "mlp": "models", "max_norm_": "models", "count_parameters": "models",
    "loop": None, "optim": None, "models": None, "cli": None, "timing": None,
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'descent.train' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    return module if _LAZY[name] is None else getattr(module, name)


__all__ = ["Config", "ConfigError", "config", "data", *_LAZY]

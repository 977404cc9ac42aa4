"""Wall-clock time of a training iteration and of the optimizer's step alone.

Shared by ``bench/train.py`` and Chapter 09.  An *iteration* is ``zero_grad``, forward,
backward and ``step``; the *step alone* is ``optimizer.step()`` on the gradients the last
iteration left.  Times are wall clock, synchronized with the GPU when there is one; they
vary with the machine and its load, so nothing asserts them.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from . import data
from .loop import _standardize

#: The least memory traffic of one float32 step, bytes per parameter: Adam reads p, g, m, v
#: and writes p, m, v; SGD with momentum reads p, g, b and writes p, b.
STEP_BYTES = {"adam": 28, "sgd": 20}


def step_gbs(rule: str, n_params: int, seconds: float) -> float:
    """GB/s of a step of ``rule`` (a key of :data:`STEP_BYTES`) on ``n_params`` float32
    parameters that took ``seconds``, at the least traffic such a step must move."""
    if rule not in STEP_BYTES:
        raise ValueError(f"Invalid rule: {rule!r} (one of {', '.join(STEP_BYTES)})")
    return STEP_BYTES[rule] * n_params / seconds / 1e9


def sync(device) -> None:
    """Wait for the GPU's queued work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def seconds_per_call(fn, device, n: int) -> float:
    """Mean seconds of ``n`` calls of ``fn()``."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"Invalid n: {n!r} (a positive number of calls)")
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / n


def batch(size: int, device="cpu", dtype=torch.float32):
    """The first ``size`` training images, standardized as training sees them, and their labels."""
    images, labels = data.load("train", limit=size)
    return _standardize(torch.tensor(images).to(device), dtype), torch.tensor(labels).to(device)


def iteration(model, optimizer, x, y):
    """One training iteration on the batch ``(x, y)`` (cross-entropy loss), as a function."""
    def run():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return run


def step_times(model, optimizer, x, y, n: int = 20, warmup: int = 3) -> tuple[float, float]:
    """(seconds per iteration, seconds per step alone), each the mean of ``n``, after
    ``warmup`` iterations (first steps, state allocation, any compilation)."""
    device = next(model.parameters()).device
    it = iteration(model, optimizer, x, y)
    for _ in range(warmup):
        it()
    return seconds_per_call(it, device, n), seconds_per_call(optimizer.step, device, n)

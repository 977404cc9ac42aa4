"""Two CPU processes on gloo equal one process with the same global batch.

One ``torchrun --standalone --nproc_per_node=2`` launch (no fixed port: torchrun picks a
free one) runs this file as a script: it trains through the CLI's ``main`` four times,
Adam and SGD with momentum, each through ``descent.torch.Optimizer`` and torch.optim,
under DistributedDataParallel.  The test then trains the same four runs in one process
and compares the parameters.  The two processes each average their half of every global
batch and DDP averages the two halves, so the result equals one process's gradient up to
the order of the additions: float64 keeps the gap near 1e-16; the bound is 1e-10.  The
model has no BatchNorm or dropout, which would break that equality.  Start-up is most of
the cost (about 10 s on two cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

RUNS = {  # name -> CLI flags that differ
    "adam-descent": ["--optimizer", "adam", "--lr", "2e-3", "--schedule", "warmup_cosine", "--impl", "descent"],
    "adam-torch": ["--optimizer", "adam", "--lr", "2e-3", "--schedule", "warmup_cosine", "--impl", "torch"],
    "sgd-descent": ["--optimizer", "sgd", "--opt", "momentum=0.9", "--lr", "0.05", "--impl", "descent"],
    "sgd-torch": ["--optimizer", "sgd", "--opt", "momentum=0.9", "--lr", "0.05", "--impl", "torch"],
}
COMMON = ["--model", "cnn", "--arch", "channels=4,8", "--arch", "hidden=16", "--epochs", "2", "--batch-size", "64",
          "--subset", "256", "--test-subset", "200", "--dtype", "float64", "--device", "cpu", "--seed", "1"]


def worker(out):
    """Under torchrun: the four runs in one process group (created once, reused by fit)."""
    import torch.distributed as dist
    from descent.train.cli import main

    dist.init_process_group("gloo")
    try:
        for name, flags in RUNS.items():
            code = main([*COMMON, *flags, "--out", str(Path(out) / name)])
            if code:
                sys.exit(code)
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path):
    from _requires import fashion_mnist_present, require_system

    require_system(fashion_mnist_present(), "Fashion-MNIST's IDX files", "dataset-fashion-mnist")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    cmd = ([torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"])
    cmd += ["--standalone", "--nproc_per_node=2", __file__, str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # rank 0 alone prints and writes: one line per epoch per run, one metrics file per run
    assert proc.stdout.count("epoch 2/2, train loss") == len(RUNS), proc.stdout

    from descent.train.cli import config_from_args
    from descent.train.loop import fit

    for name, flags in RUNS.items():
        folder = tmp_path / name
        records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        assert records[0]["event"] == "start" and records[0]["processes"] == 2
        assert sum(r["event"] == "step" for r in records) == 8  # 256 images / 64 per global batch, 2 epochs
        two = torch.load(folder / "last.pt", weights_only=True)
        one = fit(config_from_args([*COMMON, *flags]).replace(verbose=False, threads=1))
        mine = one.model.state_dict()
        gap = max(float((mine[k] - two["model"][k]).abs().max()) for k in mine)
        assert gap < 1e-10, (name, gap)
        steps = [r for r in records if r["event"] == "step"]
        assert max(abs(a["loss"] - b["loss"]) for a, b in zip(steps, one.steps, strict=True)) < 1e-10
        last = [r for r in records if r["event"] == "epoch"][-1]
        assert abs(last["test_acc"] - one.epochs[-1]["test_acc"]) < 1e-12  # the shards' sums add up to the whole


if __name__ == "__main__":
    worker(sys.argv[1])

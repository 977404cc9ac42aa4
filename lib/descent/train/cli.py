"""``python -m descent.train``: train a network on Fashion-MNIST with one of the book's rules.

    python -m descent.train --model cnn --optimizer adam --lr 1e-3 --schedule warmup_cosine \\
        --epochs 2 --batch-size 128 --subset 2000 --device cpu --seed 0 --out runs/adam
    python -m descent.train ... --impl torch          # torch.optim's own Adam instead
    python -m descent.train ... --resume runs/adam/last.pt
    torchrun --standalone --nproc_per_node=2 -m descent.train ...   # DistributedDataParallel

Every setting is checked before torch is imported; a bad one ends with one line naming
the flag (exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import config as _config
from .config import Config, ConfigError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    d = Config()
    p = _Parser(prog="python -m descent.train", description=__doc__.splitlines()[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=d.model, help="cnn (LeNet-style) or mlp")
    p.add_argument("--optimizer", default=d.optimizer, metavar="RULE",
                   help="a rule of descent: " + ", ".join(_config.rule_names()))
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (the schedule's peak)")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter of the rule, e.g. --opt betas=0.9,0.99 --opt weight_decay=0.01")
    p.add_argument("--schedule", default=d.schedule, metavar="NAME",
                   help="a schedule of descent.schedules or torch's class name of one: " + ", ".join(_config.schedule_names()))
    p.add_argument("--sched", action="append", default=[], metavar="KEY=VALUE",
                   help="an argument of the schedule (step counts default to the run's)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="the global batch (split over torchrun's processes)")
    p.add_argument("--subset", type=int, default=d.subset, help="train on the first N images (0: all 60,000)")
    p.add_argument("--val", type=int, default=d.val, help="hold out the next N training images for validation")
    p.add_argument("--test-subset", type=int, default=d.test_subset, help="evaluate on the first N test images (0: all)")
    p.add_argument("--device", default=d.device, help="auto (cuda if present, else cpu), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default=d.dtype, help="float32 or float64")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default=d.out, metavar="DIR", help="write metrics.jsonl and last.pt (and best.pt) here")
    p.add_argument("--impl", default=d.impl, help="descent (the book's rule through descent.torch.Optimizer) or torch")
    p.add_argument("--resume", default=d.resume, metavar="PATH", help="continue from a checkpoint (DIR/last.pt)")
    p.add_argument("--amp", default=d.amp, metavar="bf16", help="bfloat16 autocast")
    p.add_argument("--compile", nargs="?", const="inductor", default=d.compile, metavar="BACKEND",
                   help="torch.compile the model (backend: inductor unless given)")
    p.add_argument("--arch", action="append", default=[], metavar="KEY=VALUE",
                   help="model widths: cnn channels=6,16 hidden=120,84; mlp hidden=256,256")
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--max-norm", type=float, default=d.max_norm, metavar="C", help="keep every unit's weights within norm C")
    p.add_argument("--patience", type=int, default=d.patience, help="early stopping after N epochs without a better val loss")
    p.add_argument("--tol", type=float, default=d.tol, metavar="EPS", help="stop when |theta_t - theta_(t-1)| < EPS")
    p.add_argument("--stop-after", type=int, default=d.stop_after, metavar="EPOCH",
                   help="end this process after that epoch (the run can be resumed)")
    p.add_argument("--data", default=d.data, metavar="DIR", help="folder of the Fashion-MNIST IDX files (default: $DESCENT_DATA, "
                   "else Debian's dataset-fashion-mnist)")
    p.add_argument("--loader", default=d.loader, help="auto, device (whole data set on the device) or workers (DataLoader)")
    p.add_argument("--threads", type=int, default=d.threads, help="torch's intra-op threads")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=d.progress,
                   help="a progress bar (default: when stderr is a terminal and $CI is unset)")
    return p


def config_from_args(argv=None) -> Config:
    args = parser().parse_args(argv)
    kw = vars(args)
    kw["opt"] = _config.parse_pairs(kw["opt"], "--opt")
    kw["sched"] = _config.parse_pairs(kw["sched"], "--sched")
    kw["arch"] = _config.parse_pairs(kw["arch"], "--arch")
    return Config(verbose=True, **kw)


def main(argv=None) -> int:
    prog = "python -m descent.train"
    try:
        cfg = config_from_args(argv)
        _config.check(cfg)  # before torch is imported: a bad flag costs milliseconds
        from .loop import fit

        result = fit(cfg)
    except ConfigError as e:
        if os.environ.get("RANK", "0") == "0":  # under torchrun every process finds it: say it once
            print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    if result.stopped not in ("done", "stop_after"):
        print(f"stopped: {result.stopped}", flush=True)
    return 0


__all__ = ["config_from_args", "main", "parser"]

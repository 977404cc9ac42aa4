r"""The training loop: one process, or many under ``torchrun`` on torch's own engine.

:func:`fit` runs a :class:`~descent.train.config.Config` and returns a :class:`Result`
(the per-step and per-epoch records, the model, the optimizer).  Each optimizer step is

.. math::

    \ell_t = \frac{1}{B}\sum_{i \in \text{batch}_t} \operatorname{CE}(f_{\theta_{t-1}}(x_i), y_i), \qquad
    g_t = \nabla_\theta \ell_t, \qquad \theta_t = \theta_{t-1} + \operatorname{step}(g_t, \text{state}, \eta_{t-1}),

with :math:`\eta_{t-1}` the schedule's value after :math:`t-1` steps and the step the rule's
(``descent.torch.Optimizer``) or torch.optim's.  Every step also records
:math:`\|\theta_t - \theta_{t-1}\|_2` (after a max-norm projection, if any), which ``tol``
turns into the stopping rule :math:`\|\Delta\theta\| < \epsilon`.

Data.  The images stay uint8 until a batch is drawn, then become
``(pixels / 255 - MEAN) / STD`` in the model's dtype.  When the data set fits (always on a
CPU; on a GPU when it takes under half the free memory) it is moved to the device once and
batches are gathered there; otherwise a ``DataLoader`` with pinned memory and one
persistent worker feeds the GPU (``loader="workers"``; on a CPU the same path runs with no
worker).  The order of each epoch comes from a ``DistributedSampler`` seeded with
``seed`` and told the epoch (``set_epoch``), on one process too, so that one process and
N processes see the same global batches.

Many processes.  Under ``torchrun --nproc_per_node=N`` (``WORLD_SIZE`` > 1) the model is
wrapped in ``DistributedDataParallel`` (NCCL on CUDA, gloo on a CPU), each process takes
every N-th sample of the epoch's order and ``batch_size / N`` of each global batch, DDP
averages the gradients, and only rank 0 writes metrics and checkpoints.  The sampler pads
the epoch to a multiple of N by repeating samples, so with N processes an epoch can
contain up to N - 1 repeats.  Test and validation sets are split between the processes
without padding and their sums added up.

Checkpoints.  ``out/last.pt`` after every epoch: model, optimizer, scheduler, every
process's RNG state, the epoch, the step, the early-stopping state and the settings.
Resuming from it on a CPU continues bit for bit (``tests/test_train.py`` checks two epochs
straight against one epoch, stop, resume).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from . import config as _config
from . import data as _data
from . import models as _models
from .config import Config, ConfigError
from .optim import ScheduleLR, make_optimizer

CHECKPOINT_VERSION = 1
#: Images per forward pass when evaluating: float64 convolutions on a CPU run fastest in
#: small batches (3x faster at 100 than at 1,000), a GPU prefers large ones.
EVAL_BATCH = {"cpu": 100, "cuda": 1000}


@dataclass
class Result:
    """What :func:`fit` returns."""

    config: Config
    steps: list = field(default_factory=list)  # one dict per optimizer step of this process
    epochs: list = field(default_factory=list)  # one dict per epoch, resumed ones included
    model: torch.nn.Module | None = None  # the bare model (not DDP, not compiled)
    optimizer: torch.optim.Optimizer | None = None
    scheduler: ScheduleLR | None = None
    stopped: str = "done"  # "done", "tol", "early stopping", "stop_after"
    best_epoch: int | None = None
    best_state: dict | None = None  # the model at the best validation loss (early stopping)

    def series(self, key, source="steps"):
        """The values of ``key`` over the steps (or ``source="epochs"``), as a list."""
        return [r[key] for r in getattr(self, source) if key in r]


# ------------------------------------------------------------------ processes

class _Processes:
    """The process group of a torchrun launch, or a single process."""

    def __init__(self, device_kind):
        self.world, self.rank, self.local_rank, self.created = 1, 0, 0, False
        if _config.world_size() > 1 or (torch.distributed.is_available() and torch.distributed.is_initialized()):
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
                self.created = True
            self.world, self.rank = dist.get_world_size(), dist.get_rank()
            self.local_rank = int(os.environ.get("LOCAL_RANK", self.rank))

    @property
    def distributed(self):
        return self.world > 1

    def sum_(self, tensor):
        if self.distributed:
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor

    def gather(self, obj):
        if not self.distributed:
            return [obj]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def barrier(self):
        if self.distributed:
            torch.distributed.barrier()

    def close(self):
        if self.created:
            torch.distributed.destroy_process_group()


def _device(cfg, procs_kind_only=False):
    name = cfg.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device", f"{cfg.device!r} asked for, but torch sees no CUDA device")
    return name


# ------------------------------------------------------------------ data

def _standardize(images_u8, dtype):
    """uint8 (B, 28, 28) -> (B, 1, 28, 28) in ``dtype``: (pixels / 255 - MEAN) / STD."""
    x = images_u8.to(dtype).div_(255.0).sub_(_data.MEAN).div_(_data.STD)
    return x.unsqueeze(1)


class Batches:
    """The batches of one process for one epoch at a time (``set_epoch`` first).

    ``mode="device"`` keeps the uint8 images on ``device`` and gathers each batch there;
    ``mode="workers"`` reads them through a DataLoader (pinned memory and one persistent
    worker on CUDA, none on a CPU).  Both give the same batches in the same order.
    """

    def __init__(self, images, labels, batch, device, dtype, seed, world=1, rank=0, mode="device"):
        from torch.utils.data import DistributedSampler

        self.n, self.batch, self.device, self.dtype, self.mode = len(labels), batch, device, dtype, mode
        self.sampler = DistributedSampler(range(self.n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
        if mode == "device":
            self.images, self.labels = images.to(device), labels.to(device)
        else:
            from torch.utils.data import DataLoader, TensorDataset

            cuda = torch.device(device).type == "cuda"
            self.loader = DataLoader(TensorDataset(images, labels), batch_size=batch, sampler=self.sampler,
                                     num_workers=1 if cuda else 0, pin_memory=cuda, persistent_workers=cuda)

    def __len__(self):
        return -(-len(self.sampler) // self.batch)

    def set_epoch(self, epoch):
        self.sampler.set_epoch(epoch)

    def __iter__(self):
        if self.mode == "device":
            order = torch.tensor(list(iter(self.sampler)), dtype=torch.long, device=self.device)
            for lo in range(0, len(order), self.batch):
                idx = order[lo:lo + self.batch]
                yield _standardize(self.images[idx], self.dtype), self.labels[idx]
        else:
            for x, y in self.loader:
                x = x.to(self.device, non_blocking=True)
                yield _standardize(x, self.dtype), y.to(self.device, non_blocking=True)


def fits_on_device(nbytes, device) -> bool:
    """Always on a CPU; on CUDA when ``nbytes`` is under half the free memory."""
    if torch.device(device).type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return nbytes < free // 2


@torch.no_grad()
def evaluate(model, images, labels, dtype, procs=None, autocast=None):
    """(mean loss, accuracy) of ``model`` on uint8 ``images`` (on the model's device); under
    torchrun each process takes every N-th image and the sums are added up."""
    world, rank = (procs.world, procs.rank) if procs else (1, 0)
    was = model.training
    model.eval()
    device = labels.device
    sums = torch.zeros(2, dtype=torch.float64, device=device)
    idx = torch.arange(rank, len(labels), world, device=device)
    ctx = autocast or contextlib.nullcontext
    size = EVAL_BATCH.get(device.type, 1000)
    for lo in range(0, len(idx), size):
        part = idx[lo:lo + size]
        with ctx():
            out = model(_standardize(images[part], dtype))
            loss = F.cross_entropy(out.float() if out.dtype == torch.bfloat16 else out, labels[part], reduction="sum")
        sums[0] += loss.double()
        sums[1] += (out.argmax(1) == labels[part]).sum()
    if procs:
        procs.sum_(sums)
    model.train(was)
    n = len(labels)
    return float(sums[0]) / n, float(sums[1]) / n


# ------------------------------------------------------------------ checkpoints

def _rng_state(device):
    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    return state


def _set_rng_state(state, device):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], torch.device(device))


def _plain(value):
    """Settings as JSON would have them (tuples become lists) to compare across a save."""
    return json.loads(json.dumps(value))


def save_checkpoint(path, payload):
    """Write atomically: a crash while saving leaves the previous checkpoint intact."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a torch file, truncated ...: one line naming the flag
        first = (str(e).splitlines() or [""])[0][:200]
        raise ConfigError("--resume", f"cannot read checkpoint {path}: {type(e).__name__}: {first}") from None
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION:
        raise ConfigError("--resume", f"{path} is not a descent.train checkpoint")
    return ckpt


def _check_resume(ckpt, cfg, path):
    old = dict(ckpt["config"], arch=_plain(_config.normal_arch(ckpt["config"].get("arch"))))
    new = _plain(cfg.replace(arch=_config.normal_arch(cfg.arch)).as_dict())
    for key in _config.TRAJECTORY:
        if _plain(old.get(key)) != new.get(key):
            flag = "--" + key.replace("_", "-")
            raise ConfigError("--resume", f"{path} was made with {flag} {old.get(key)!r}, not {new.get(key)!r}")


# ------------------------------------------------------------------ the loop

class _Metrics:
    """JSON lines on rank 0 (``out/metrics.jsonl``); nothing elsewhere."""

    def __init__(self, out, rank, append):
        self.fh = None
        if out is not None and rank == 0:
            Path(out).mkdir(parents=True, exist_ok=True)
            self.fh = open(Path(out) / "metrics.jsonl", "a" if append else "w", encoding="utf-8")

    def write(self, record):
        if self.fh:
            self.fh.write(json.dumps(record, sort_keys=False) + "\n")

    def flush(self):
        if self.fh:
            self.fh.flush()

    def close(self):
        if self.fh:
            self.fh.close()


@contextlib.contextmanager
def _torch_settings(cfg, device):
    """Deterministic kernels on a CPU, the run's default dtype and thread count; restored after."""
    old_det = torch.are_deterministic_algorithms_enabled()
    old_dtype = torch.get_default_dtype()
    old_threads = torch.get_num_threads()
    try:
        if torch.device(device).type == "cpu":
            torch.use_deterministic_algorithms(True)
        torch.set_default_dtype(getattr(torch, cfg.dtype))  # torch keeps some optimizer scalars in it
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.set_default_dtype(old_dtype)
        torch.set_num_threads(old_threads)


def _progress(cfg, rank):
    if rank != 0:
        return False
    if cfg.progress is not None:
        return bool(cfg.progress)
    return sys.stderr.isatty() and not os.environ.get("CI")


def fit(cfg: Config | None = None, *, on_epoch=None, **changes) -> Result:
    """Train as ``cfg`` (with ``changes`` applied) says; see the module docstring.

    ``on_epoch(record, model)``, if given, is called on every process after each epoch
    with the epoch's record and the bare model (e.g. to keep snapshots of the weights).
    """
    cfg = (cfg or Config()).replace(**changes)
    resolved = _config.check(cfg)
    device = _device(cfg)
    procs = _Processes(torch.device(device).type)
    try:
        if torch.device(device).type == "cuda" and procs.distributed:
            device = f"cuda:{procs.local_rank}"
            torch.cuda.set_device(torch.device(device))
        with _torch_settings(cfg, device):
            return _fit(cfg, resolved, device, procs, on_epoch)
    finally:
        procs.close()


def _fit(cfg, resolved, device, procs, on_epoch=None):
    from tqdm.auto import tqdm

    dtype = getattr(torch, cfg.dtype)
    per_epoch = resolved["steps_per_epoch"]
    ckpt = load_checkpoint(cfg.resume) if cfg.resume else None
    if ckpt is not None:
        _check_resume(ckpt, cfg, cfg.resume)

    # data (uint8 on the host; to the device below)
    n_train, n_val = _config.split_sizes(cfg)
    images, labels = _data.load("train", cfg.data, limit=n_train + n_val if cfg.subset else None)
    tr_x, tr_y = torch.tensor(images[:n_train]), torch.tensor(labels[:n_train])
    va_x, va_y = torch.tensor(images[len(labels) - n_val:]), torch.tensor(labels[len(labels) - n_val:])
    te_img, te_lab = _data.load("test", cfg.data, limit=cfg.test_subset or None)
    te_x, te_y = torch.tensor(te_img).to(device), torch.tensor(te_lab).to(device)
    va_x, va_y = va_x.to(device), va_y.to(device)
    local_batch = cfg.batch_size // procs.world
    mode = cfg.loader
    if mode == "auto":
        mode = "device" if fits_on_device(tr_x.numel() + 8 * tr_y.numel(), device) else "workers"
    batches = Batches(tr_x, tr_y, local_batch, device, dtype, cfg.seed, procs.world, procs.rank, mode)
    assert len(batches) == per_epoch, (len(batches), per_epoch)

    # model: the same initial parameters on every process and for both implementations
    torch.manual_seed(cfg.seed)
    raw = _models.build(cfg.model, dropout=cfg.dropout, **_config.normal_arch(cfg.arch)).to(device=device, dtype=dtype)
    torch.manual_seed(cfg.seed + procs.rank)  # dropout masks: one stream per process
    net = raw
    if procs.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(raw, device_ids=[torch.device(device).index] if "cuda" in device else None)
    if cfg.compile:
        net = torch.compile(net, backend=cfg.compile)
    optimizer = make_optimizer(raw.parameters(), cfg, resolved["rule"])
    scheduler = ScheduleLR(optimizer, resolved["schedule"])
    autocast = None
    if cfg.amp == "bf16":
        def autocast():
            return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)

    result = Result(config=cfg, model=raw, optimizer=optimizer, scheduler=scheduler)
    start_epoch, step, best, bad = 1, 0, math.inf, 0
    if ckpt is not None:
        raw.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        rng = ckpt["rng"]
        _set_rng_state(rng[procs.rank] if procs.rank < len(rng) else rng[0], device)
        start_epoch, step = ckpt["epoch"] + 1, ckpt["step"]
        best, bad, result.best_epoch = ckpt["best"], ckpt["bad"], ckpt["best_epoch"]
        result.epochs = list(ckpt["epochs"])
        if ckpt["stopped"] not in ("stop_after",):
            result.stopped = ckpt["stopped"]
            start_epoch = cfg.epochs + 1  # that run had ended: nothing left to do

    metrics = _Metrics(cfg.out, procs.rank, append=ckpt is not None)
    metrics.write({"event": "start", "resumed_from": cfg.resume, "epoch": start_epoch, "step": step,
                   "device": device, "processes": procs.world, "torch": torch.__version__,
                   "parameters": _models.count_parameters(raw), "config": _plain(cfg.as_dict())})
    show = _progress(cfg, procs.rank)
    params = [p for p in raw.parameters()]
    stopped = result.stopped

    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        batches.set_epoch(epoch)
        raw.train()
        stats = torch.zeros(4, per_epoch, dtype=torch.float64, device=device)  # loss*n, correct, n, |dtheta|
        lrs = []
        bar = tqdm(total=per_epoch, desc=f"epoch {epoch}/{cfg.epochs}", disable=not show, leave=False,
                   dynamic_ncols=True, file=sys.stderr)
        done = 0
        for i, (x, y) in enumerate(batches):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            with autocast() if autocast else contextlib.nullcontext():
                out = net(x)
                loss = F.cross_entropy(out.float() if out.dtype == torch.bfloat16 else out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            before = [p.detach().clone() for p in params]
            optimizer.step()
            if cfg.max_norm is not None:
                _models.max_norm_(raw, cfg.max_norm)
            scheduler.step()
            step += 1
            done = i + 1
            with torch.no_grad():
                dtheta = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm((p.detach() - b).double())
                                                               for p, b in zip(params, before, strict=True)]))
                stats[0, i] = loss.detach().double() * len(y)
                stats[1, i] = (out.argmax(1) == y).sum()
                stats[2, i] = len(y)
                stats[3, i] = dtheta
            if show:
                bar.update(1)
                if i % max(1, per_epoch // 20) == 0 or i + 1 == per_epoch:
                    seen = stats[:, :i + 1].sum(1)
                    bar.set_postfix(loss=f"{float(seen[0] / seen[2]):.4f}", acc=f"{float(seen[1] / seen[2]):.3f}")
            if cfg.tol is not None and float(dtheta) < cfg.tol:
                stopped = "tol"
                break
        bar.close()
        stats = procs.sum_(stats[:, :done].contiguous())
        stats[3] /= procs.world  # every process holds the same parameters: the mean is the value
        first = step - done + 1
        for k in range(done):
            rec = {"event": "step", "step": first + k, "epoch": epoch, "lr": lrs[k],
                   "loss": float(stats[0, k] / stats[2, k]), "acc": float(stats[1, k] / stats[2, k]),
                   "update_norm": float(stats[3, k])}
            result.steps.append(rec)
            metrics.write(rec)
        total = stats.sum(1)
        rec = {"event": "epoch", "epoch": epoch, "step": step, "lr": float(optimizer.param_groups[0]["lr"]),
               "train_loss": float(total[0] / total[2]), "train_acc": float(total[1] / total[2])}
        if n_val:
            rec["val_loss"], rec["val_acc"] = evaluate(raw, va_x, va_y, dtype, procs, autocast)
        rec["test_loss"], rec["test_acc"] = evaluate(raw, te_x, te_y, dtype, procs, autocast)
        rec["update_norm"] = float(stats[3, done - 1])
        if n_val:
            if rec["val_loss"] < best:
                best, bad, result.best_epoch = rec["val_loss"], 0, epoch
                result.best_state = {k: v.detach().clone() for k, v in raw.state_dict().items()}
                if cfg.out is not None and procs.rank == 0:
                    save_checkpoint(Path(cfg.out) / "best.pt", {"version": CHECKPOINT_VERSION, "epoch": epoch,
                                                                "model": raw.state_dict(), "config": _plain(cfg.as_dict())})
            else:
                bad += 1
            rec["best_epoch"] = result.best_epoch
            if cfg.patience and bad >= cfg.patience and stopped == "done":
                stopped = "early stopping"
        if stopped == "done" and cfg.stop_after is not None and epoch >= cfg.stop_after and epoch < cfg.epochs:
            stopped = "stop_after"
        rec["seconds"] = time.perf_counter() - t0
        rec["stopped"] = None if stopped == "done" else stopped
        result.epochs.append(rec)
        metrics.write(rec)
        if on_epoch is not None:
            on_epoch(rec, raw)
        metrics.flush()
        if cfg.verbose and procs.rank == 0:
            parts = [f"epoch {epoch}/{cfg.epochs}", f"train loss {rec['train_loss']:.4f} acc {rec['train_acc']:.4f}"]
            if n_val:
                parts.append(f"val loss {rec['val_loss']:.4f} acc {rec['val_acc']:.4f}")
            parts += [f"test loss {rec['test_loss']:.4f} acc {rec['test_acc']:.4f}", f"{rec['seconds']:.1f} s"]
            print(", ".join(parts) + ("" if stopped == "done" else f"  [stopped: {stopped}]"), flush=True)
        rngs = procs.gather(_rng_state(device))
        if cfg.out is not None and procs.rank == 0:
            save_checkpoint(Path(cfg.out) / "last.pt", {
                "version": CHECKPOINT_VERSION, "epoch": epoch, "step": step, "stopped": stopped,
                "model": raw.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": rngs, "best": best, "bad": bad, "best_epoch": result.best_epoch,
                "epochs": [_plain(e) for e in result.epochs], "config": _plain(cfg.as_dict())})
        procs.barrier()
        if stopped != "done":
            break
    result.stopped = stopped
    metrics.close()
    return result


__all__ = ["Batches", "Result", "evaluate", "fit", "fits_on_device", "load_checkpoint", "save_checkpoint"]

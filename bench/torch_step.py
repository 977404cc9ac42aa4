"""Time one optimizer step: descent.torch.Optimizer against torch.optim, side by side.

    python bench/torch_step.py                  # CPU (and CUDA when available)
    python bench/torch_step.py --threads 1      # pin intra-op threads (shared machines)
    python bench/torch_step.py --full           # also a whole training iteration
    python bench/torch_step.py --widths 16 1024 # other model sizes (1024: 31 M parameters)

Models: 30 linear layers (60 parameter tensors) of width 16 / 64 / 256, i.e. about 8 K,
125 K and 2 M float32 parameters (``--widths 1024``: 31 M).  Each optimizer gets its own copy of the model and the
gradients of one real backward pass; then steps are timed in interleaved rounds (adapter,
torch, adapter, torch …) so both see the same machine load, and the median per step is
reported.  The design's budget: the adapter no slower than the fastest torch.optim variant
(default, ``foreach``, ``fused``; torch fuses Adam and SGD on CPU too) at every size on CPU,
and within 1.1x of torch's fused Adam on a GPU.

Columns: ``torch`` is torch.optim's default (the for-loop on CPU, foreach on CUDA),
``foreach`` and ``fused`` torch's other implementations, ``adapter`` is
descent.torch.Optimizer (fuse="auto"), ``GB/s`` the adapter's step at that least traffic
(``descent.train.timing.STEP_BYTES``) over its time (against the machine's memory bandwidth at large
sizes), ``eager`` is the adapter with ``fuse=False``;
ratios are adapter time / other time, wall clock; ``/fastest`` is against the fastest of
torch's three (``/fastest cpu`` the same in CPU time, with the name of that fastest).  ``/torch cpu`` is the
same ratio in CPU time of the calling thread: with ``--threads 1`` all the work runs on
that thread, and CPU time does not count the time other processes took the core, so it
is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import descent
import descent.torch as dt
import torch
from descent.train import timing

WIDTHS = (16, 64, 256)
LAYERS = 30
BATCH = 32


def make_model(width, device, seed=0):
    torch.manual_seed(seed)
    layers = []
    for _ in range(LAYERS):
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers).to(device)


def loss_fn(model, x):
    return model(x).square().mean()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def contenders(rule_name, device):
    """name -> factory(params) for one rule."""
    if rule_name == "adam":
        kw, torch_cls, rule = dict(lr=1e-3), torch.optim.Adam, descent.adam
    else:
        kw, torch_cls, rule = dict(lr=1e-3, momentum=0.9), torch.optim.SGD, descent.sgd
    out = {
        "adapter": lambda ps: dt.Optimizer(ps, rule, **kw),
        "eager": lambda ps: dt.Optimizer(ps, rule, fuse=False, **kw),
        "torch": lambda ps: torch_cls(ps, **kw),
    }
    out["foreach"] = lambda ps: torch_cls(ps, foreach=True, **kw)
    out["fused"] = lambda ps: torch_cls(ps, fused=True, **kw)  # CPU too (torch >= 2.4 for Adam and SGD)
    return out


def bench_one(width, rule_name, device, rounds, per_round, full):
    x = torch.randn(BATCH, width, device=device)
    runs = {}
    for name, make in contenders(rule_name, device).items():
        model = make_model(width, device)
        opt = make(list(model.parameters()))
        loss_fn(model, x).backward()
        for _ in range(5):  # warm up (the adapter lays out its buffers and compiles here)
            opt.step()
        sync(device)

        def iteration(model=model, opt=opt):
            opt.zero_grad()
            loss_fn(model, x).backward()
            opt.step()

        runs[name] = (opt.step, iteration)
    if full:
        for _, it in runs.values():
            for _ in range(3):
                it()
    times = {name: [] for name in runs}
    cpu_times = {name: [] for name in runs}
    full_times = {name: [] for name in runs}
    full_cpu = {name: [] for name in runs}
    def timed(fn, count, wall, cpu):
        for _ in range(count):
            sync(device)
            t0, c0 = time.perf_counter(), time.thread_time()
            fn()
            sync(device)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)

    for _ in range(rounds):
        for name, (step, it) in runs.items():
            timed(step, per_round, times[name], cpu_times[name])
            if full:
                timed(it, max(1, per_round // 2), full_times[name], full_cpu[name])
    med = {k: statistics.median(v) for k, v in times.items()}
    cmed = {k: statistics.median(v) for k, v in cpu_times.items()}
    fmed = {k: (statistics.median(v), statistics.median(full_cpu[k])) for k, v in full_times.items()} if full else {}
    n = sum(p.numel() for p in make_model(width, "meta").parameters())
    return n, med, cmed, fmed


def reference_gbs(device, n, rounds=15):
    """GB/s of torch's in-place ``x.add_(y)`` on ``n`` float32 elements (read x, y, write x),
    median of ``rounds``: the memory speed a streaming elementwise step can hope for."""
    x, y = torch.rand(n, device=device), torch.rand(n, device=device)
    times = []
    for _ in range(rounds):
        sync(device)
        t0 = time.perf_counter()
        x.add_(y)
        sync(device)
        times.append(time.perf_counter() - t0)
    return 12 * n / statistics.median(times) / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--per-round", type=int, default=8)
    ap.add_argument("--full", action="store_true", help="also time zero_grad + forward + backward + step")
    ap.add_argument("--device", default="all", choices=["all", "cpu", "cuda"])
    ap.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="layer widths (model sizes)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif args.device == "cuda":
        raise SystemExit("no CUDA device")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, "
          f"load average {os.getloadavg()[0]:.2f}, float32, {LAYERS * 2} parameter tensors")
    for device in devices:
        others = ["torch", "eager", "foreach", "fused"]
        head = f"{'device':6} {'params':>9} {'rule':5} {'adapter ms':>10} {'GB/s':>6} " + " ".join(
            f"{o + ' ms':>10}" for o in others) + " " + " ".join(f"{'/' + o:>9}" for o in others) + (
            f" {'/torch cpu':>10}" if device.type == "cpu" else "") + f" {'/fastest':>9}" + (
            f" {'/fastest cpu':>11}" if device.type == "cpu" else "")
        print()
        print(head)
        print("-" * len(head))
        full_rows = []
        for width in args.widths:
            for rule_name in ("adam", "sgdm"):
                n, med, cmed, fmed = bench_one(width, rule_name, device, args.rounds, args.per_round, args.full)
                gbs = timing.step_gbs("sgd" if rule_name == "sgdm" else rule_name, n, med["adapter"])
                row = f"{device.type:6} {n:>9,} {rule_name:5} {med['adapter'] * 1e3:>10.3f} {gbs:>6.1f} " + " ".join(
                    f"{med[o] * 1e3:>10.3f}" for o in others) + " " + " ".join(
                    f"{med['adapter'] / med[o]:>9.2f}" for o in others) + (
                    f" {cmed['adapter'] / cmed['torch']:>10.2f}" if device.type == "cpu" else "")
                fastest = min(("torch", "foreach", "fused"), key=med.get)
                row += f" {med['adapter'] / med[fastest]:>9.2f}"
                if device.type == "cpu":
                    fastest_cpu = min(("torch", "foreach", "fused"), key=cmed.get)
                    row += f" {cmed['adapter'] / cmed[fastest_cpu]:>11.2f} ({fastest_cpu})"
                else:
                    row += f" ({fastest})"
                print(row, flush=True)
                if fmed:
                    full_rows.append((n, rule_name, fmed))
        if max(args.widths) >= 512:  # sizes well past the caches: the machine's memory speed, for scale
            print(f"memory reference, {device.type}: {reference_gbs(device, 31_488_000):.1f} GB/s for torch's "
                  "x.add_(y) on 31,488,000 floats (12 bytes per element)")
        if full_rows:
            print(f"\nwhole iteration (zero_grad + forward + backward + step), {device.type}, median ms (wall)")
            for n, rule_name, fmed in full_rows:
                print(f"{n:>9,} {rule_name:5} " + " ".join(f"{k} {v[0] * 1e3:.3f}" for k, v in fmed.items())
                      + f"   adapter/torch {fmed['adapter'][0] / fmed['torch'][0]:.2f}"
                      + f" (cpu {fmed['adapter'][1] / fmed['torch'][1]:.2f})")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

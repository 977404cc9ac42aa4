"""Images per second of a training iteration and of the optimizer step alone, side by side.

    python bench/train.py                       # CPU, and CUDA when present
    python bench/train.py --threads 1 --rounds 7
    python bench/train.py --models cnn --rules adam --batch-size 256

For each device, model of ``descent.train`` (the LeNet-style CNN and the MLP, default
widths, float32) and rule (Adam, SGD with momentum 0.9), four optimizers train copies of
the same model on the same real Fashion-MNIST batch: ``descent`` is
``descent.torch.Optimizer`` (whatever it does by default), ``torch`` torch.optim's class
with its defaults, ``foreach`` and ``fused`` the same class with ``foreach=True`` /
``fused=True`` (torch fuses Adam, AdamW and SGD on the CPU too).  They run in interleaved
rounds (descent, torch, foreach, fused, descent, ...) so that all see the same machine
load, after a warm-up that includes any compilation; the median of the rounds is shown.

Columns: ``iter img/s`` is batch / time of one whole iteration (zero_grad, forward,
backward, step), ``step img/s`` batch / time of ``optimizer.step()`` alone (on the same
gradients), ``step us`` that time, ``GB/s`` the step's memory traffic at the minimum a
step must move (Adam: read p, g, m, v and write p, m, v = 28 bytes per float32 parameter;
SGD with momentum: 20 bytes) divided by its time, and ``step x`` the step time over the
fastest torch variant's (<= 1.0: the adapter is at least as fast).  Timings are wall
clock and vary with the machine and its load; nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import statistics

import descent
import descent.torch as dt
import torch
from descent.train import models, timing


def contenders(rule):
    if rule == "adam":
        cls, fn, kw = torch.optim.Adam, descent.adam, dict(lr=1e-3)
    else:
        cls, fn, kw = torch.optim.SGD, descent.sgd, dict(lr=1e-2, momentum=0.9)
    return {
        "descent": lambda ps: dt.Optimizer(ps, fn, **kw),
        "torch": lambda ps: cls(ps, **kw),
        "foreach": lambda ps: cls(ps, foreach=True, **kw),
        "fused": lambda ps: cls(ps, fused=True, **kw),
    }


def bench(device, model_name, rule, x, y, rounds, iters, steps):
    runs = {}
    for name, make in contenders(rule).items():
        torch.manual_seed(0)
        net = models.build(model_name).to(device)
        try:
            opt = make(list(net.parameters()))
        except (RuntimeError, ValueError, TypeError) as e:  # e.g. a variant this build lacks
            runs[name] = str(e).splitlines()[0]
            continue

        iteration = timing.iteration(net, opt, x, y)
        for _ in range(5):  # warm-up: first steps, state allocation, any compilation
            iteration()
        runs[name] = (net, opt, iteration, [], [])
    live = {k: v for k, v in runs.items() if not isinstance(v, str)}
    for _ in range(rounds):
        for _net, opt, iteration, t_iter, t_step in live.values():
            t_iter.append(timing.seconds_per_call(iteration, device, iters))
            t_step.append(timing.seconds_per_call(opt.step, device, steps))
    n_params = models.count_parameters(models.build(model_name))
    out = {}
    for name, run in runs.items():
        if isinstance(run, str):
            out[name] = run
            continue
        out[name] = (statistics.median(run[3]), statistics.median(run[4]))
    return n_params, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", nargs="*", default=None, help="default: cpu, and cuda when present")
    p.add_argument("--models", nargs="*", default=["cnn", "mlp"])
    p.add_argument("--rules", nargs="*", default=["adam", "sgd"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=10, help="iterations per round")
    p.add_argument("--steps", type=int, default=50, help="optimizer steps per round")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch_size}, "
          f"median of {args.rounds} rounds")
    head = (f"{'device':6s} {'model':5s} {'params':>7s} {'rule':4s} {'variant':8s} {'iter img/s':>11s} "
            f"{'step img/s':>11s} {'step us':>9s} {'GB/s':>6s} {'step x':>7s}")
    print(head)
    print("-" * len(head))
    for dev in devices:
        device = torch.device(dev)
        x, y = timing.batch(args.batch_size, device)
        for model_name in args.models:
            for rule in args.rules:
                n_params, res = bench(device, model_name, rule, x, y, args.rounds, args.iters, args.steps)
                times = [v[1] for k, v in res.items() if k != "descent" and not isinstance(v, str)]
                best = min(times) if times else float("nan")
                for name, v in res.items():
                    lead = f"{dev:6s} {model_name:5s} {n_params:7d} {rule:4s} {name:8s}"
                    if isinstance(v, str):
                        print(f"{lead} not available: {v[:60]}")
                        continue
                    t_iter, t_step = v
                    gbs = timing.step_gbs(rule, n_params, t_step)
                    ratio = t_step / best
                    print(f"{lead} {args.batch_size / t_iter:11.0f} {args.batch_size / t_step:11.0f} "
                          f"{t_step * 1e6:9.1f} {gbs:6.2f} {ratio:7.2f}")
        print()


if __name__ == "__main__":
    main()

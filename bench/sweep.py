"""Sweep benchmark: 100,000 Adam runs x 100 steps on 2-D Rosenbrock as ONE descent.run batch,
against the same rule run one run at a time (a few hundred timed, then extrapolated).

Budget (DESIGN.md): the batch in under 1 s, and at least 100x the run-steps per second of
single runs.  This prints figures; it asserts nothing.

    python bench/sweep.py [--runs 100000] [--steps 100] [--singles 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import time

import descent
import numpy as np
from descent import functions as F


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--singles", type=int, default=300, help="single runs to time and extrapolate from")
    ap.add_argument("--repeat", type=int, default=3, help="batch timings; the best is reported")
    args = ap.parse_args()

    rosen = F.rosenbrock()
    rng = np.random.default_rng(0)
    # every run its own learning rate and its own start in the plotting window
    lrs = np.logspace(-4, 0, args.runs)[:, None]
    starts = np.column_stack([rng.uniform(-2, 2, args.runs), rng.uniform(-1, 3, args.runs)])

    descent.run(descent.adam(lr=lrs[:100]), rosen, starts[:100], 5)  # warm up (imports, caches)
    batch_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tr = descent.run(descent.adam(lr=lrs), rosen, starts, args.steps)
        batch_times.append(time.perf_counter() - t0)
    batch = min(batch_times)

    idx = np.linspace(0, args.runs - 1, args.singles).astype(int)
    t0 = time.perf_counter()
    singles = [descent.run(descent.adam(lr=float(lrs[i, 0])), rosen, starts[i], args.steps) for i in idx]
    single_time = time.perf_counter() - t0
    per_run = single_time / args.singles

    # the batch is the same computation: spot-check the runs timed one at a time
    worst = max(float(np.nanmax(np.abs(s.xs - tr.xs[:, i]))) for s, i in zip(singles, idx, strict=True))

    run_steps = args.runs * args.steps
    batch_rate = run_steps / batch
    single_rate = args.steps / per_run
    print(f"machine            {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(f"batch              {args.runs:,} Adam runs x {args.steps} steps on 2-D Rosenbrock, one descent.run call")
    print(f"batch wall time    {batch:.3f} s   (best of {args.repeat}: {', '.join(f'{t:.3f}' for t in batch_times)})"
          f"   budget < 1 s: {'met' if batch < 1 else 'MISSED'}")
    print(f"single runs        {args.singles} timed: {single_time:.3f} s, {per_run * 1e3:.3f} ms per run of {args.steps} steps")
    print(f"                   extrapolated to {args.runs:,} runs: {per_run * args.runs:.1f} s")
    print(f"run-steps / s      batch {batch_rate:,.0f}   single {single_rate:,.0f}")
    ratio = batch_rate / single_rate
    print(f"ratio              {ratio:,.0f}x   budget >= 100x: {'met' if ratio >= 100 else 'MISSED'}")
    print(f"diverged runs      {int(tr.diverged.sum()):,} of {args.runs:,}; "
          f"batch vs single max |dx| = {worst:.1e}")


if __name__ == "__main__":
    main()

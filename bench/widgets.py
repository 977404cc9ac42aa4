"""Widget latency: from a control change to a redrawn PNG, for every panel of every chapter.

    python bench/widgets.py                         # every chapters/NN_*.ipynb
    python bench/widgets.py chapters/02_learning_rates.ipynb --changes 40

Each chapter's code runs in this process (``scripts/inprocess.py``, as in
``tests/test_chapter_widgets.py``), so every ``descent.widgets.Panel`` it creates is
live.  Each panel then gets ``--changes`` control changes, round-robin over its
controls, each control walking through values spread over its range (every option
of a dropdown).  A change is made the way a reader makes it, by assigning the
control's ``value``; the panel's observer recomputes, redraws and re-encodes.  The
wall time of that assignment is the latency; ``Panel.timings`` splits it into
compute (the experiment), draw (updating artists and rasterising) and encode (PNG).
Medians are printed against the budget of DESIGN.md: 100 ms, what a reader perceives
as instant.  Nothing here is asserted; this is a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from inprocess import chapter_paths, code_cells, control_sweep, run_chapter  # noqa: E402

BUDGET_MS = 100.0


def changes_for(panel, n):
    """``n`` (control, value) changes, round-robin over controls, each value differing
    from that control's current one (an unchanged value fires no observer)."""
    plans = {name: control_sweep(w) for name, w in panel.controls.items()}
    plans = {k: v for k, v in plans.items() if len(v) >= 2}
    if not plans:
        return []
    names, cursor, out = list(plans), {k: 0 for k in plans}, []
    current = {k: panel.controls[k].value for k in plans}
    i = 0
    while len(out) < n:
        name = names[i % len(names)]
        values = plans[name]
        for _ in range(len(values)):
            value = values[cursor[name] % len(values)]
            cursor[name] += 1
            if value != current[name]:
                out.append((name, value))
                current[name] = value
                break
        i += 1
    return out


def bench_panel(panel, n):
    """Per change: wall ms of the assignment and the panel's compute/draw/encode ms."""
    defaults = {name: w.value for name, w in panel.controls.items()}
    rows = []
    for name, value in changes_for(panel, n):
        t0 = time.perf_counter()
        panel.controls[name].value = value
        wall = time.perf_counter() - t0
        t = panel.timings
        rows.append({"wall": wall * 1e3, "compute": t["compute"] * 1e3, "draw": t["draw"] * 1e3,
                     "encode": t["encode"] * 1e3})
    panel.set(**defaults)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb")
    parser.add_argument("--changes", type=int, default=20, help="control changes per panel (default 20)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or chapter_paths()

    header = f"{'chapter':<22} {'panel':>5}  {'controls':<34} {'n':>3} {'compute':>8} {'draw':>7} {'encode':>7} " \
             f"{'median':>7} {'p90':>7}  within {BUDGET_MS:.0f} ms?"
    print(header)
    print("-" * len(header))
    medians, worst = [], None
    for path in paths:
        if not code_cells(path):
            print(f"{path.stem:<22} (no code yet)")
            continue
        t0 = time.perf_counter()
        _, panels = run_chapter(path)
        setup = time.perf_counter() - t0
        if not panels:
            print(f"{path.stem:<22} (no panels; chapter ran in {setup:.1f} s)")
            continue
        for k, panel in enumerate(panels):
            rows = bench_panel(panel, args.changes)
            if not rows:
                print(f"{path.stem:<22} {k:>5}  (no control with two values)")
                continue
            med = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
            walls = sorted(r["wall"] for r in rows)
            p90 = walls[min(len(walls) - 1, int(round(0.9 * (len(walls) - 1))))]
            ok = med["wall"] <= BUDGET_MS
            medians.append(med["wall"])
            if worst is None or med["wall"] > worst[0]:
                worst = (med["wall"], f"{path.stem} panel {k}")
            controls = ", ".join(panel.controls)
            controls = controls if len(controls) <= 34 else controls[:33] + "…"
            print(f"{path.stem:<22} {k:>5}  {controls:<34} {len(rows):>3} {med['compute']:>8.1f} {med['draw']:>7.1f} "
                  f"{med['encode']:>7.1f} {med['wall']:>7.1f} {p90:>7.1f}  {'yes' if ok else 'NO'}")
    print("-" * len(header))
    print("times in ms; compute/draw/encode/median are medians over the changes; median and p90 are the wall time")
    print("of the control change (observer included), compute+draw+encode its parts.")
    if medians:
        over = sum(m > BUDGET_MS for m in medians)
        print(f"{len(medians)} panel(s); {len(medians) - over} within the {BUDGET_MS:.0f} ms median budget, {over} over; "
              f"slowest: {worst[1]} at {worst[0]:.1f} ms")
    else:
        print("no panels found")
    return 0


if __name__ == "__main__":
    sys.exit(main())

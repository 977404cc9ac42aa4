"""Panel latency: from a control change to a new image, in a kernel and in the static page.

    python bench/widgets.py                         # every chapters/NN_*.ipynb
    python bench/widgets.py chapters/02_learning_rates.ipynb --changes 40
    python bench/widgets.py --no-browser            # the kernel panels only

A chapter's panels are its cells tagged ``panel``, run after its import cell (``descent.widgets.cells``), and displayed
once as a notebook would (which renders the page's backgrounds).

Kernel: each panel gets ``--changes`` control changes, round-robin over its controls, each
control walking through its grid (both ends, the default and values between; every
option).  A change is made the way a reader makes it, by assigning the ipywidget's
``value``; the observer recomputes, redraws and re-encodes.  Its wall time is the latency;
``LivePanel.timings`` splits it into compute, draw and encode.  Budget (DESIGN.md): 100 ms
median, 200 ms p90.

Page: the panels' HTML twins in one page with the bundled script (``scripts/live_panels.py``),
in headless Chromium at devicePixelRatio 2; every control is moved through its grid and the
twin's own measure of each redraw (compute + draw, ``descent-live``'s ``last``) is read.
Budget: one animation frame, 16 ms.  Nothing here is asserted; this is a measurement.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
BUDGET_MS, P90_MS, FRAME_MS = 100.0, 200.0, 16.0


def changes_for(panel, n):
    """``n`` (control, value) changes, round-robin over the controls, each value differing
    from that control's current one (an unchanged value fires no observer)."""
    plans = {c.name: c.grid() for c in panel.kind.controls if len(c.grid()) >= 2}
    if not plans:
        return []
    names, cursor, out = list(plans), dict.fromkeys(plans, 0), []
    current = {k: panel.widgets[k].value for k in plans}
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
    defaults = dict(panel.values)
    rows = []
    for name, value in changes_for(panel, n):
        t0 = time.perf_counter()
        panel.widgets[name].value = value
        wall = time.perf_counter() - t0
        t = panel.timings
        rows.append({"wall": wall * 1e3, "compute": t["compute"] * 1e3, "draw": t["draw"] * 1e3,
                     "encode": t["encode"] * 1e3})
    panel.set(**defaults)
    return rows


PAGE_BENCH = """async () => {
  const out = [];
  for (const el of document.querySelectorAll('.descent-live[data-kind]:not(.dl-inactive)')) {
    const live = el.descentLive;
    const times = [];
    for (const c of live.spec.controls) {
      const values = c.type === 'slider' ? c.values : c.options.map(o => o[1]);
      const picks = [...new Set([0, values.length - 1, c.index, Math.floor(values.length / 4),
                                 Math.floor(values.length / 2), Math.floor(3 * values.length / 4)])];
      for (const k of picks) { live.set(c.name, values[k]); times.push(live.last); }
      live.set(c.name, values[c.index]);
    }
    out.push({label: el.closest('section').dataset.label, times});
  }
  return out;
}"""


def bench_page(labelled_panels):
    """{label: [ms per redraw]} of every live panel in Chromium (None if none is installed)."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return None
    from live_panels import standalone_page
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "panels.html"
        page_path.write_text(standalone_page([(label, p.html()) for label, p in labelled_panels]), encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=2)
                page.goto(page_path.as_uri(), wait_until="load")
                page.wait_for_function("() => [...document.querySelectorAll('.descent-live[data-kind]:not(.dl-inactive)')]"
                                       ".every(e => e.descentLive)", timeout=30_000)
                results = page.evaluate(PAGE_BENCH)
            finally:
                browser.close()
    return {r["label"]: r["times"] for r in results}


def _p90(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]


def main(argv=None) -> int:
    from descent.widgets.cells import notebook_panels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb")
    parser.add_argument("--changes", type=int, default=20, help="control changes per panel (default 20)")
    parser.add_argument("--no-browser", action="store_true", help="skip the page's redraw times")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

    every = []
    for path in paths:
        for label, panel in notebook_panels(path):
            panel._repr_mimebundle_()  # displayed once, as in a notebook (draws the page's backgrounds too)
            every.append((label, panel))
    page = None if args.no_browser else bench_page([(lab, p) for lab, p in every if p.kind.twin])

    header = (f"{'panel':<22} {'kind':<13} {'n':>3} {'compute':>8} {'draw':>6} {'encode':>7} {'median':>7} {'p90':>6}"
              f"  kernel ok?  {'page med':>8} {'page max':>8}  page ok?")
    print(header)
    print("-" * len(header))
    medians, over = [], []
    for label, panel in every:
        rows = bench_panel(panel, args.changes)
        if not rows:
            print(f"{label:<22} (no control with two values)")
            continue
        med = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        p90 = _p90([r["wall"] for r in rows])
        ok = med["wall"] <= BUDGET_MS and p90 <= P90_MS
        medians.append(med["wall"])
        if not ok:
            over.append(label)
        if not panel.kind.twin:
            js = "   (no twin: inactive in the page)"
        elif page is None:
            js = "   (no Chromium)"
        else:
            t = page[label]
            js = f"{statistics.median(t):>8.2f} {max(t):>8.2f}  {'yes' if max(t) <= FRAME_MS else 'NO'}"
        print(f"{label:<22} {type(panel.kind).__name__:<13} {len(rows):>3} {med['compute']:>8.1f} {med['draw']:>6.1f} "
              f"{med['encode']:>7.1f} {med['wall']:>7.1f} {p90:>6.1f}  {'yes' if ok else 'NO':<10}  {js}")
    print("-" * len(header))
    print("kernel: ms per control change (wall time of the assignment, observer included; compute/draw/encode are its")
    print("parts), medians over the changes and the 90th percentile.  page: ms per redraw in Chromium (compute + draw).")
    if medians:
        print(f"{len(medians)} panel(s); kernel budget ({BUDGET_MS:.0f} ms median, {P90_MS:.0f} ms p90) met by "
              f"{len(medians) - len(over)}" + (f", missed by {', '.join(over)}" if over else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The live panels in offline Chromium: they move, they draw where descent says, and the
panels without a twin are honestly switched off.

1. Every chapter's panels (their cells tagged ``panel``) in one page, with the script and style the book ships
   (``scripts/live_panels.py``), plus a 200-step 2-D race to time: each live panel starts
   and enables its controls; every control, moved through its grid by the reader's own
   event (the ``<input>`` changed, an ``input`` event sent), changes what the canvas
   shows; after every move, every line the page draws ends on the pixel where Python's
   reference (the panel's ``scene`` at the same values, through the same boxes and limits)
   puts it, within half a CSS pixel, the canvas really has the line's colour there, and
   every text (titles, tables, "diverged at step k") reads as Python prints it.
   Each redraw's time (the twin's own compute + draw) is printed, not asserted: timings
   belong to bench/widgets.py, which prints them against the 16 ms frame.
2. The panels without a twin: every control ``disabled``, the line saying how to make it live.
3. The built book (test_book.py's build and browser): the pages with a panel load the
   script and the others do not, a page that shows no widget view loads neither the saved
   widget state nor the widget manager, and the panels of the busiest page start.
"""

from __future__ import annotations

import json
import statistics
import sys

import descent
import numpy as np
import pytest
from descent import functions as F
from descent import widgets as dw
from descent.widgets.cells import notebook_panels, stored_html
from test_book import PAGES, ROOT, browser, html_dir, open_page  # noqa: F401  (fixtures)

sys.path.insert(0, str(ROOT / "scripts"))
from live_panels import standalone_page  # noqa: E402


def _timing_race():
    """A 200-step race of three rules on Rosenbrock: the redraw the frame budget is about."""
    eta = dw.slider("lr", 1e-3, 1e-4, 3e-3, log=True, label="η")
    return dw.race_2d(F.rosenbrock(), {"GD": dw.rule(descent.gd, lr=eta),
                                       "momentum": dw.rule(descent.momentum, lr=eta, beta=0.9),
                                       "Adam": dw.rule(descent.adam, lr=dw.slider("alr", 0.02, 1e-3, 0.3, log=True))},
                      x0=(-1.5, 2.0), steps=200)


@pytest.fixture(scope="module")
def panels():
    """{label: (panel, its HTML twin)}: the twin stored in the notebook (what the book shows),
    or made now where a cell has no stored output yet."""
    out = {}
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        stored = stored_html(path)
        for label, panel in notebook_panels(path):
            index = int(label.split("[")[1].rstrip("]"))
            out[label] = (panel, stored.get(index) or panel.html())
    out["timing[200-step race]"] = (race := _timing_race(), race.html())
    return out


@pytest.fixture(scope="module")
def page(panels, browser, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("live") / "panels.html"
    path.write_text(standalone_page([(label, html) for label, (_, html) in panels.items()]), encoding="utf-8")
    context, pg, report = open_page(browser, path.as_uri())
    pg.set_viewport_size({"width": 1280, "height": 900})
    pg.wait_for_function("() => [...document.querySelectorAll('.descent-live:not(.dl-inactive)')].every(e => e.descentLive)",
                         timeout=30_000)
    yield pg, report
    context.close()


# ------------------------------------------------------------------ helpers

# Move each control of one panel through the given indices, the reader's way (the <input>
# changed, an "input" event sent), and after each redraw report what the page drew.
MOVES = """async ([label, moves]) => {
  const el = document.querySelector(`section[data-label="${label}"] .descent-live`);
  const live = el.descentLive, canvas = el.querySelector('canvas');
  // the input handler redraws in the next animation frame; a callback asked for after it runs after it
  const frame = () => new Promise(r => requestAnimationFrame(r));
  const hash = () => { const t = JSON.stringify(live.scene); let h = 0;
    for (let i = 0; i < t.length; i++) h = (h * 31 + t.charCodeAt(i)) >>> 0; return h; };
  const scale = canvas.width / live.spec.figure.width;
  const pixels = ([x, y], r) => { const d = canvas.getContext('2d').getImageData(Math.round(x * scale) - r,
      Math.round(y * scale) - r, 2 * r + 1, 2 * r + 1).data;
    const out = []; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) out.push([d[i], d[i + 1], d[i + 2]]); return out; };
  const out = [{figure: live.spec.figure}];
  for (const [name, index] of moves) {
    const input = el.querySelector(`[data-control="${name}"]`);
    input.value = String(index);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    await frame();
    const drawn = {};
    for (const [k, v] of Object.entries(live.drawn)) {
      if (v && v.end) drawn[k] = {end: v.end, color: v.color, near: pixels(v.end, 3)};
    }
    const texts = {};
    for (const [k, v] of Object.entries(live.scene)) if (v && typeof v.text === "string") texts[k] = v.text;
    out.push({values: {...live.values}, drawn, texts, ms: live.last, hash: hash(), limits: live.limits});
  }
  return out;
}"""


def _pixel(box, limits, scales, x, y):
    """Data -> CSS pixel of the figure, as js/descent/draw.js's transform."""
    (x0, x1), (y0, y1) = limits

    def frac(v, a, b, scale):
        if scale == "log":
            return (np.log10(v) - np.log10(a)) / (np.log10(b) - np.log10(a)) if v > 0 else np.nan
        return (v - a) / (b - a)

    L, T, W, H = box
    return L + frac(x, x0, x1, scales[0]) * W, T + H - frac(y, y0, y1, scales[1]) * H


def _python_ends(panel, values, limits, figure):
    """({line artist: its last drawable point in CSS pixels}, {text artist: its text}) from
    Python's scene, through the boxes and scales of the page's figure (the ones matplotlib
    drew its background with)."""
    scene = panel.scene(values)
    styles = panel.kind.artists()
    texts = {k: v["text"] for k, v in scene.items() if isinstance(v, dict) and isinstance(v.get("text"), str)}
    out = {}
    for name, st in styles.items():
        if st["type"] != "line" or name not in scene:
            continue
        ax = figure["axes"][st["axes"]]
        xs, ys = np.asarray(scene[name].get("x", []), float), np.asarray(scene[name].get("y", []), float)
        pts = [_pixel(ax["box"], limits[st["axes"]], (ax["xscale"], ax["yscale"]), x, y)
               for x, y in zip(xs, ys, strict=True)]
        pts = [p for p in pts if np.isfinite(p[0]) and np.isfinite(p[1])]
        if pts:
            out[name] = pts[-1]
    return out, texts


def _same_values(panel, js_values):
    """The JS values as the controls' own Python values (a JSON 1 is the slider's 1.0)."""
    out = {}
    for name, c in panel.controls.items():
        v = js_values[name]
        out[name] = next(t for t in c.values if t == v)
    return out


def _rgb(color):
    from matplotlib.colors import to_rgb

    return np.array(to_rgb(color)) * 255


# ------------------------------------------------------------------ 1. the live panels

def test_every_live_panel_starts_with_its_controls_enabled(page, panels):
    pg, report = page
    state = pg.evaluate("""() => [...document.querySelectorAll('section')].map(s => {
      const el = s.querySelector('.descent-live');
      return {label: s.dataset.label, live: !!el.descentLive, inactive: el.classList.contains('dl-inactive'),
              disabled: [...el.querySelectorAll('[data-control]')].filter(i => i.disabled).length,
              loading: [...el.querySelectorAll('.dl-loading')].filter(n => !n.hidden).length};
    })""")
    for s in state:
        if panels[s["label"]][0].kind.twin:
            assert s["live"] and not s["disabled"] and not s["loading"], s
    assert not report.errors, report.errors
    assert not report.blocked, report.blocked


def test_every_control_moves_the_drawing_and_every_line_ends_where_python_says(page, panels):
    pg, report = page
    failures, times = [], {}
    for label, (panel, _) in panels.items():
        if not panel.kind.twin:
            continue
        moves, plan = [], []
        for c in panel.kind.controls:  # from the default, through the grid, back to the default
            home = c.values.index(c.value)
            moves.append((c.name, home))
            plan.append((c, None))
            for v in c.grid(interior=1):  # (test_js_parity covers the full grid, numerically)
                moves.append((c.name, c.values.index(v)))
                plan.append((c, v))
            moves.append((c.name, home))
            plan.append((c, "back"))
        figure, *got = pg.evaluate(MOVES, [label, moves])
        figure = figure["figure"]
        times[label] = [g["ms"] for g, (_, v) in zip(got, plan, strict=True) if v not in (None, "back")]
        start, moved = None, {}
        for g, (c, v) in zip(got, plan, strict=True):
            if v is None:
                start = g["hash"]
                continue
            if v == "back":
                continue
            moved[c.name] = moved.get(c.name, False) or g["hash"] != start
            values = _same_values(panel, g["values"])
            if values[c.name] != v:
                failures.append(f"{label}: moving {c.name} to {v!r} gave the page the value {values[c.name]!r}")
            ends, texts = _python_ends(panel, values, g["limits"], figure)
            for name, text in texts.items():  # titles, tables, "diverged at step k": the same characters
                if g["texts"].get(name) != text:
                    failures.append(f"{label} at {values}: '{name}' reads {g['texts'].get(name)!r} in the page, "
                                    f"{text!r} in Python")
            for name, (px, py) in ends.items():
                js = g["drawn"].get(name)
                if js is None:
                    failures.append(f"{label} at {values}: the page drew no '{name}' (Python ends it at {px:.1f}, {py:.1f})")
                elif abs(js["end"][0] - px) > 0.5 or abs(js["end"][1] - py) > 0.5:
                    failures.append(f"{label} at {values}: '{name}' ends at {js['end']} in the page, ({px:.2f}, {py:.2f}) "
                                    f"in Python")
            for name in [n for n in ("path", "path0") if n in g["drawn"] and n in ends][:1]:
                # the main trajectory's end, when inside its axes, really is on the canvas: in its colour,
                # or in that of a line drawn over it (a later path crossing it there)
                x, y = g["drawn"][name]["end"]
                L, T, W, H = figure["axes"][panel.kind.artists()[name]["axes"]]["box"]
                if not (L + 2 < x < L + W - 2 and T + 2 < y < T + H - 2):
                    continue
                colours = [_rgb(d["color"]) for d in g["drawn"].values() if d.get("color")]
                near = g["drawn"][name]["near"]
                if not near or min(np.abs(np.array(q) - w).max() for q in near for w in colours) > 70:
                    failures.append(f"{label} at {values}: no pixel of '{name}''s colour near its end point")
        failures += [f"{label}: moving {n} over its grid never changed the drawing" for n, m in moved.items() if not m]
    print("\nredraw in Chromium (compute + draw, ms): median / max per panel")
    for label, t in times.items():
        print(f"  {label:<24} {statistics.median(t):6.2f} / {max(t):6.2f}   ({len(t)} redraws)")
    assert not report.errors, report.errors
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures[:20])


# ------------------------------------------------------------------ 2. no twin: switched off, and says so

def test_static_controls_without_a_twin_are_disabled(page, panels):
    pg, _ = page
    labels = [label for label, (p, _) in panels.items() if not p.kind.twin]
    state = pg.evaluate("""(labels) => labels.map(label => {
      const el = document.querySelector(`section[data-label="${label}"] .descent-live`);
      const controls = [...el.querySelectorAll('input, select')];
      return {label, n: controls.length, disabled: controls.filter(c => c.disabled).length,
              note: (el.querySelector('.dl-note') || {}).textContent || '', canvas: !!el.querySelector('canvas'),
              images: [...el.querySelectorAll('img')].map(i => i.complete && i.naturalWidth > 0)};
    })""", labels)
    for s in state:
        assert s["n"] and s["disabled"] == s["n"], f"{s['label']}: a control without a twin is not disabled: {s}"
        assert "run this chapter as a notebook" in s["note"] and not s["canvas"] and all(s["images"]), s


# ------------------------------------------------------------------ 3. the built book

def test_the_built_book_has_the_script_where_panels_are_and_no_unused_widget_state(html_dir):  # noqa: F811
    problems, found = [], 0
    for name in PAGES:
        html = (html_dir / f"{name}.html").read_text(encoding="utf-8")
        views = "application/vnd.jupyter.widget-view+json" in html
        if not views and ("widget-state+json" in html or "html-manager/embed.js" in html):
            problems.append(f"{name}: shows no widget view but loads the widget state or the widget manager")
        here = html.count('class="descent-live')
        found += here
        if here and "descent-live.js" not in html:
            problems.append(f"{name}: has {here} panel(s) but not the live panels' script")
        if not here and "descent-live.js" in html:
            problems.append(f"{name}: loads the live panels' script without a panel")
    print(f"\n{found} panel(s) in the built book")
    assert not problems, "\n".join(problems)


def test_the_built_book_starts_its_panels(html_dir, browser):  # noqa: F811
    """In the book's own page (theme, MathJax, the other outputs), the panels start.  One
    page is enough here: test_book.py opens every page and fails on any console error, which
    is what a panel that cannot start logs."""
    pages = [n for n in PAGES if 'class="descent-live' in (html_dir / f"{n}.html").read_text(encoding="utf-8")]
    assert pages, "no page of the built book has a live panel"
    busiest = max(pages, key=lambda n: (html_dir / f"{n}.html").read_text(encoding="utf-8").count('class="descent-live'))
    context, pg, report = open_page(browser, (html_dir / f"{busiest}.html").as_uri())
    try:
        state = pg.evaluate("""() => [...document.querySelectorAll('.descent-live')].map(el => ({
          kind: el.dataset.kind, inactive: el.classList.contains('dl-inactive'), live: !!el.descentLive,
          enabled: [...el.querySelectorAll('[data-control]')].filter(i => !i.disabled).length}))""")
    finally:
        context.close()
    assert state, busiest
    for s in state:
        assert s["live"] != s["inactive"], f"{busiest}: {s}"
        assert bool(s["enabled"]) == s["live"], f"{busiest}: {s}"
    assert not report.errors, report.errors


def test_the_page_and_the_kernel_share_one_value_table(panels):
    """What a slider offers in the page is what the kernel's widget offers: the same table."""
    from descent.widgets.panel import _widget

    for label, (panel, html) in panels.items():
        spec = json.loads(html.split('class="dl-spec">')[1].split("</script>")[0]) if panel.kind.twin else None
        for c in panel.kind.controls:
            w = _widget(c)
            kernel = [o[1] for o in w.options] if hasattr(w, "options") else list(range(w.min, w.max + 1, w.step))
            assert kernel == c.values, f"{label}: {c.name}'s widget offers other values than its table"
            if spec:
                js = next(k for k in spec["controls"] if k["name"] == c.name)
                page_values = js["values"] if js["type"] == "slider" else [o[1] for o in js["options"]]
                assert page_values == c.values, f"{label}: {c.name}'s page values differ from its table"

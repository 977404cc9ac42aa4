"""The JavaScript twin (js/descent) computes what descent computes, to 1e-12 relative.

Every live panel of the book (each chapter's cells tagged ``panel``) is evaluated over its control grid: the
defaults; each control alone at every value of ``Control.grid()`` (both ends, the
default, three values between; every option of a dropdown); every combination of the
dropdowns with all sliders at their minimum, at their maximum and at their defaults.  The
Python side is the panel's own ``compute`` (what the kernel shows); the JS side is the
twin, all points in one Node process.  Besides the panels, a table of every twin rule
(with their options), schedule and moving average is compared on its own.

What "equal" means: at each step the iterate vector agrees to 1e-12 relative (the largest
coordinate difference over the largest coordinate), each loss to 1e-12 of the largest
loss so far, every other output (learning rates, steps, weights, rates) to 1e-12
relative, and the divergence step exactly.  Both sides do the same IEEE operations in
the same order, but some are not bit-reproducible even within Python: glibc's and NumPy's
``pow``/``cos`` (SIMD kernels, FMA variants) and BLAS's 2x2 products differ from
``Math.pow``/``Math.cos``/plain products in the last bit.  Where a run is chaotic that
bit grows past 1e-12; such a point is accepted only when the Python computation itself,
started one ulp away (``np.nextafter`` of x0), leaves the tolerance no later than the
twin does; the test prints those points.  Any other difference fails, and so does a rule
changed on one side only (``test_an_unmirrored_change_fails``).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _requires import require_system
from descent import functions as F
from descent import widgets as dw
from descent.widgets import spec as S
from descent.widgets.cells import notebook_panels
from descent.widgets.kinds import base as kinds_base

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "js" / "tools" / "parity.mjs"
NODE = shutil.which("node")
RTOL = 1e-12
TINY = 1e-300


def live_panels() -> list[tuple[str, object]]:
    """(label, panel) of every panel of every chapter that has a JS twin."""
    out = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        out += [(label, p) for label, p in notebook_panels(path) if p.kind.twin]
    return out


def control_grid(panel) -> list[dict]:
    """The points of the module docstring, without repeats."""
    controls = panel.kind.controls
    defaults = {c.name: c.value for c in controls}
    sliders = [c for c in controls if isinstance(c, S.Slider)]
    drops = [c for c in controls if isinstance(c, S.Dropdown)]
    points = [defaults]
    for c in controls:
        points += [{**defaults, c.name: v} for v in c.grid()]
    lows = {**defaults, **{c.name: c.values[0] for c in sliders}}
    highs = {**defaults, **{c.name: c.values[-1] for c in sliders}}
    for combo in itertools.product(*(d.values for d in drops)):
        pick = {d.name: v for d, v in zip(drops, combo, strict=True)}
        points += [{**base, **pick} for base in (defaults, lows, highs)]
    seen, unique = set(), []
    for p in points:
        key = json.dumps(p, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


# ------------------------------------------------------------------ what is compared

def _traj(t, s=""):
    return {f"xs{s}": t.xs, f"losses{s}": t.losses, f"at{s}": int(t.diverged_at)}


EXTRACT = {  # the same keys as js/tools/parity.mjs
    "Run1D": lambda r: _traj(r["traj"]),
    "Race2D": lambda r: {k: v for i, (_, _, t) in enumerate(r) for k, v in _traj(t, i).items()},
    "Schedule1D": lambda r: {"eta": r["eta"], **_traj(r["traj"]), **(_traj(r["const"], "c") if r["const"] else {})},
    "FirstSteps": lambda r: {"rows": np.array(r["rows"]), **_traj(r["traj"])},
    "StepLengths": lambda r: {f"steps{i}": s for i, s in enumerate(r)},
    "RateRace": lambda r: {k: v for i, (_, t, rho) in enumerate(r) for k, v in {**_traj(t, i), f"rho{i}": rho}.items()},
    "EMAExplorer": lambda r: {"V": r["V"], "w": r["w"], "window": r["window"]},
}


def _array(v):
    """A JSON value (null for NaN) as a float array."""
    return np.array(json.loads(json.dumps(v).replace("null", "NaN")), dtype=float)


def deviation(key, a, b) -> np.ndarray:
    """Per step, how far ``b`` is from the reference ``a``, in units of the tolerance's scale:
    the iterate vector's largest difference over its largest coordinate (``xs``), a loss's
    difference over the largest loss so far (``losses``), else each value's relative
    difference.  ``inf`` where one side is NaN and the other is not."""
    a = np.atleast_1d(np.asarray(np.nan if a is None else a, dtype=float))
    b = np.atleast_1d(_array(b))
    if a.shape != b.shape:
        return np.full(max(len(a), 1), np.inf)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    diff = np.where(nan_a | nan_b, 0.0, np.abs(a - b))
    mag = np.where(nan_a, 0.0, np.abs(a))
    if key.startswith("xs"):
        diff, mag, odd = diff.max(axis=-1), mag.max(axis=-1), (nan_a != nan_b).any(axis=-1)
    elif key.startswith("losses"):
        mag, odd = np.maximum.accumulate(mag), nan_a != nan_b
    else:
        odd = nan_a != nan_b
        if a.ndim > 1:
            diff, mag, odd = diff.reshape(len(a), -1).max(-1), mag.reshape(len(a), -1).max(-1), odd.reshape(len(a), -1).any(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(diff <= TINY, 0.0, diff / np.maximum(mag, TINY))
    return np.where(odd, np.inf, dev)


def first_difference(py: dict, js: dict):
    """None if ``js`` equals ``py`` within the tolerances; else (key, step, deviation, what)
    of the earliest step where it does not."""
    if "error" in js:
        return ("error", 0, np.inf, js["error"])
    if set(py) != set(js):
        return ("keys", 0, np.inf, f"Python has {sorted(py)}, JS {sorted(js)}")
    worst = None
    for key in sorted(py):
        if key.startswith("at"):
            a, b = int(py[key]), int(js[key])
            if a == b:
                continue
            cand = (key, min(x for x in (a, b) if x >= 0), np.inf, f"diverged at {a} (Python) and {b} (JS)")
        else:
            dev = deviation(key, py[key], js[key])
            bad = np.flatnonzero(dev > RTOL)
            if not bad.size:
                continue
            k = int(bad[0])
            ref = np.atleast_1d(np.asarray(np.nan if py[key] is None else py[key], dtype=float))
            cand = (key, k, float(dev[k]), f"Python {ref[k].tolist() if k < len(ref) else '?'} vs JS "
                                           f"{np.atleast_1d(_array(js[key]))[k].tolist()}")
        if worst is None or cand[1] < worst[1]:
            worst = cand
    return worst


def float64_undetermined(reference: dict, probe: dict, diff) -> bool:
    """Whether the difference ``diff`` (of ``first_difference``) is one float64 cannot settle:
    the reference recomputed from x0 one ulp away (``probe``) differs from it by as much,
    within a factor 1000, at the same step (or, for a divergence step, diverges elsewhere
    too).  A twin that is wrong differs by far more than rounding moves the reference."""
    key, step, dev, _ = diff
    if key in ("error", "keys"):
        return False
    if key.startswith("at"):
        return int(probe[key]) != int(reference[key])
    moved = deviation(key, reference[key], probe[key])
    if step >= len(moved):
        return False
    return bool(moved[step] > RTOL and (np.isinf(moved[step]) or 1e3 * moved[step] >= dev))


def _listed(d: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def nudged_panel(panel, values) -> dict:
    """The panel's Python outputs with every run started at ``np.nextafter(x0, inf)``."""
    real = kinds_base.run  # every kind runs through kinds.base.run

    def nudged(opt, objective, x0, steps, **kw):
        return real(opt, objective, np.nextafter(np.asarray(x0, dtype=float), np.inf), steps, **kw)

    cache = getattr(panel.kind, "_last", {})  # a race keeps its last runs: recompute them all
    kinds_base.run = nudged
    cache.clear()
    try:
        return _listed(EXTRACT[type(panel.kind).__name__](panel.compute(values)))
    finally:
        kinds_base.run = real
        cache.clear()


# ------------------------------------------------------------------ the twin's own tables

def rule_cases():
    rosen, quad = F.rosenbrock(), F.quadratic(condition=10, angle=0.4)
    sched = [S.schedule("cosine_annealing_lr", lr=1e-3, T_max=40), S.schedule("step_lr", lr=2e-3, step_size=7, gamma=0.5),
             S.schedule("warmup_cosine", lr=1e-3, warmup_steps=10, total_steps=60, start_factor=0.1)]
    rules = [("gd", {"lr": 1e-3}), ("sgd", {"lr": 1e-3, "momentum": 0.9}),
             ("sgd", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
             ("sgd", {"lr": 1e-3, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01}),
             ("sgd", {"lr": 1e-3, "maximize": True}), ("momentum", {"lr": 1e-3, "beta": 0.9}),
             ("ema_momentum", {"lr": 1e-2, "rho": 0.9}), ("heavy_ball", {"lr": 1e-3, "beta": 0.8}),
             ("nesterov", {"lr": 1e-3, "beta": 0.9}), ("sgd_history", {"lr": 1e-3, "tau": 1e-4}),
             ("adagrad", {"lr": 0.1}), ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                                                  "initial_accumulator_value": 0.1}),
             ("adagrad_lecture", {"lr": 0.1, "s0": 0.5}), ("rmsprop", {"lr": 1e-3}),
             ("rmsprop", {"lr": 1e-3, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
             ("rmsprop_lecture", {"lr": 1e-2, "rho": 0.8}), ("adadelta", {}), ("adadelta", {"lr": 0.5, "weight_decay": 0.01}),
             ("adam", {"lr": 1e-2}), ("adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.01}),
             ("adam", {"lr": 1e-2, "maximize": True, "betas": [0.8, 0.99]}), ("adamw", {"lr": 1e-2}),
             ("adamw", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
             *[("adam_lecture", {"lr": 1e-2, "bias_correction": bc, "eps_inside": ei})
               for bc in ("none", "first", "both") for ei in (False, True)],
             ("newton", {}), ("newton", {"lr": 0.5, "damping": 1.0}), ("line_search", {"method": "armijo"}),
             ("line_search", {"method": "exact"}), ("line_search", {"method": "armijo", "alpha0": 0.5, "shrink": 0.7}),
             *[("gd", {"lr": s}) for s in sched], ("momentum", {"lr": sched[1], "beta": 0.9}), ("adam", {"lr": sched[0]})]
    cases = []
    for name, args in rules:
        for obj, x0 in ((rosen, [-1.5, 2.0]), (quad, [1.5, -1.0])):
            cases.append({"rule": S.to_json(S.rule(name, **args)), "objective": obj.describe(), "x0": x0, "steps": 60})
    for name, args in (("gd", {"lr": 0.1}), ("momentum", {"lr": 0.05, "beta": 0.9}), ("adam", {"lr": 0.3})):
        for obj, x0 in ((F.two_minima, [-3.2]), (F.log_bowl, [2.0]), (F.parabola(3.0), [1.0])):
            cases.append({"rule": S.to_json(S.rule(name, **args)), "objective": obj.describe(), "x0": x0, "steps": 60})
    return cases


SCHEDULES = [("constant", {"lr": 0.3}), ("step_lr", {"lr": 0.1, "step_size": 7, "gamma": 0.3}),
             ("multi_step_lr", {"lr": 0.1, "milestones": [5, 20, 60], "gamma": 0.5}),
             ("exponential_lr", {"lr": 0.1, "gamma": 0.97}), ("cosine_annealing_lr", {"lr": 0.1, "T_max": 50, "eta_min": 1e-3}),
             ("linear_lr", {"lr": 0.1, "start_factor": 0.25, "total_iters": 30}),
             ("step_decay", {"lr": 0.2, "every": 10, "divide_by": 1 / 0.3}),
             ("exponential_decay", {"lr": 0.2, "gamma": 0.7, "k0": 5, "s": 3}),
             ("inverse_time_decay", {"lr": 0.2, "k0": 3, "s": 4}),
             ("power_decay", {"lr": 0.2, "decay_rate": 0.4, "decay_steps": 9}),
             ("power_decay", {"lr": 0.2, "decay_rate": 0.4, "decay_steps": 9, "staircase": True}),
             ("warmup_cosine", {"lr": 0.2, "warmup_steps": 12, "total_steps": 100, "eta_min": 1e-4, "start_factor": 0.1}),
             ("robbins_monro", {"lr": 0.5, "power": 0.75, "offset": 2.0})]


def average_cases():
    rng = np.random.default_rng(7)
    values = [float(f"{v:.6f}") for v in rng.standard_normal(120)]
    return [{"values": values, "rho": rho, "t": t} for rho, t in ((0.0, 5), (0.5, 30), (0.9, 120), (0.999, 77))]


def _formats():
    rng = np.random.default_rng(11)
    values = [0.125, 2.5, 0.5, 1.5, 0.0625, -0.0001, 1e-5, 1e16, 123.0, 0.1, 9.9951, 9.995, 99.95, 1e-300, 0.001,
              0.00112, 1234567.0, -2.5e-7, 0.30000000000000004, 31.6227766, 3.0, -0.0, 0.0, 1e-9, 100.0, 0.999999]
    values += [float(v) for v in rng.uniform(-10, 10, 150) * 10.0 ** rng.integers(-8, 9, 150)]
    specs = [".4g", ".3g", ".3f", ".2f", ".4f", ".1e", "9.4f", "11.4f", "10.4f", "10.3f", ".0f", "", ".12g", ".1f"]
    return [[v, s] for v in values for s in specs] + [[5, "7d"], [123, "3d"], [-4, "d"], [0, "d"], ["none", "12s"],
                                                      ["-", ">7s"], ["t = 1", ">10s"]]


#: Python's format() against the twin's (js/descent/format.js), which prints every number a panel shows.
FORMATS = _formats()


# ------------------------------------------------------------------ one Node run for everything

def run_node(payload: dict, runner: Path = RUNNER, tmp: Path | None = None) -> dict:
    tmp = Path(tmp)
    src, out = tmp / "in.json", tmp / "out.json"
    src.write_text(json.dumps(payload, allow_nan=False), encoding="utf-8")
    proc = subprocess.run([NODE, str(runner), str(src), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"node {runner.name} failed:\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    require_system(NODE is not None, "Node.js (node), for the JavaScript twin's parity test", "nodejs")
    panels = live_panels()
    jobs, refs = [], []
    for _, panel in panels:
        points = control_grid(panel)
        jobs.append({"kind": type(panel.kind).__name__, "params": panel.kind.json(), "points": points})
        extract = EXTRACT[type(panel.kind).__name__]
        refs.append([extract(panel.compute(v)) for v in points])
    rules = rule_cases()
    rule_refs = []
    for c in rules:
        obj = F.from_description(c["objective"])
        opt = S.evaluate(_description(c["rule"]), {}, obj)
        from descent import run

        with np.errstate(all="ignore"):
            rule_refs.append(_traj(run(opt, obj, c["x0"], c["steps"])))
    scheds = [{"schedule": S.to_json(S.schedule(n, **a)), "t": list(range(201))} for n, a in SCHEDULES]
    sched_refs = [{"eta": S.evaluate(S.schedule(n, **a), {})(np.arange(201))} for n, a in SCHEDULES]
    avgs = average_cases()
    from descent import averages as A

    avg_refs = [{"ema": A.ema(c["values"], c["rho"], v0=0), "ema1": A.ema(c["values"], c["rho"]),
                 "weights": A.ema_weights(c["rho"], c["t"]),
                 "corrected": A.bias_corrected(A.ema(c["values"], c["rho"], v0=0), c["rho"])} for c in avgs]
    payload = {"panels": jobs, "rules": rules, "schedules": scheds, "averages": avgs, "formats": FORMATS}
    out = run_node(payload, tmp=tmp_path_factory.mktemp("parity"))
    return {"panels": panels, "jobs": jobs, "refs": refs, "js": out,
            "rules": (rules, rule_refs), "schedules": (scheds, sched_refs), "averages": (avgs, avg_refs)}


def _description(d):
    """A JSON rule description back as a spec Call (the reference runs the same description)."""
    if isinstance(d, dict) and "rule" in d:
        return S.Call("rule", d["rule"], {k: _description(v) for k, v in d["args"].items()})
    if isinstance(d, dict) and "schedule" in d:
        return S.Call("schedule", d["schedule"], {k: _description(v) for k, v in d["args"].items()})
    if isinstance(d, list):
        return tuple(_description(e) for e in d)
    return d


def test_every_chapter_has_a_live_panel(parity):
    chapters = {label.split("[")[0] for label, _ in parity["panels"]}
    expected = {p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb") if p.stem[:2] <= "08"}
    assert expected <= chapters, f"chapters with no live panel: {sorted(expected - chapters)}"


def test_panels_match_the_twin_over_their_control_grids(parity):
    failures, chaotic, sizes = [], [], []
    for (label, panel), job, refs, outs in zip(parity["panels"], parity["jobs"], parity["refs"], parity["js"]["panels"],
                                               strict=True):
        sizes.append(f"{label} {type(panel.kind).__name__}: {len(job['points'])} points")
        for values, ref, js in zip(job["points"], refs, outs, strict=True):
            diff = first_difference(ref, js)
            if diff is None:
                continue
            key, step, dev, what = diff
            where = f"{label} at {values}: {key}[{step}] {what}"
            if float64_undetermined(ref, nudged_panel(panel, values), diff):
                chaotic.append(f"{where} (x0 one ulp away moves Python's own result as far)")
            else:
                failures.append(where)
    print("\nparity grids:\n  " + "\n  ".join(sizes))
    if chaotic:
        print(f"{len(chaotic)} ill-conditioned (chaotic) point(s), compared up to the step where float64 stops "
              f"determining them:\n  " + "\n  ".join(chaotic))
    assert not failures, f"{len(failures)} point(s) where the JS twin differs from descent:\n" + "\n".join(failures[:15])


def test_every_twin_rule_matches(parity):
    from descent import run

    cases, refs = parity["rules"]
    bad, chaotic = [], []
    for c, ref, js in zip(cases, refs, parity["js"]["rules"], strict=True):
        diff = first_difference(ref, js)
        if diff is None:
            continue
        obj = F.from_description(c["objective"])
        with np.errstate(all="ignore"):
            probe = _traj(run(S.evaluate(_description(c["rule"]), {}, obj), obj,
                              np.nextafter(np.asarray(c["x0"], dtype=float), np.inf), c["steps"]))
        where = f"{c['rule']} on {c['objective']['objective']} from {c['x0']}: {diff[0]}[{diff[1]}] {diff[3]}"
        (chaotic if float64_undetermined(ref, _listed(probe), diff) else bad).append(where)
    if chaotic:
        print("\nrule cases float64 does not settle to 1e-12 (accepted):\n  " + "\n  ".join(chaotic))
    assert not bad, "\n".join(bad)


def _table_differences(parity, table, label):
    """One line per case of ``table`` (schedules, averages) where the twin differs."""
    cases, refs = parity[table]
    return [f"{label(c)}: {d}" for c, r, js in zip(cases, refs, parity["js"][table], strict=True)
            if (d := first_difference(r, js)) is not None]


def test_every_twin_schedule_matches(parity):
    bad = _table_differences(parity, "schedules", lambda c: c["schedule"])
    assert not bad, "\n".join(bad)


def test_the_twin_formats_numbers_as_python_does(parity):
    bad = [f"format({v!r}, {s!r}): Python {format(v, s)!r}, JS {js!r}"
           for (v, s), js in zip(FORMATS, parity["js"]["formats"], strict=True) if format(v, s) != js]
    assert not bad, "\n".join(bad[:20])


def test_every_twin_average_matches(parity):
    bad = _table_differences(parity, "averages", lambda c: f"rho={c['rho']}")
    assert not bad, "\n".join(bad)


def test_an_unmirrored_change_fails(tmp_path):
    """Change one rule in a copy of the twin (momentum's sign convention) and in nothing else:
    the comparison must catch it, so a rule edited on one side only cannot pass."""
    require_system(NODE is not None, "Node.js (node), for the JavaScript twin's parity test", "nodejs")
    copy = tmp_path / "js"
    shutil.copytree(ROOT / "js", copy)
    rules = copy / "descent" / "rules.js"
    text = rules.read_text(encoding="utf-8")
    original = "const v = zip2(s.v, grad, (vi, g) => beta * vi - lr_t * g);"
    assert original in text, "the lecture momentum line this test edits has moved; update the test"
    rules.write_text(text.replace(original, "const v = zip2(s.v, grad, (vi, g) => beta * vi - lr_t * g * (1 + 1e-9));"),
                     encoding="utf-8")
    case = {"rule": S.to_json(S.rule("momentum", lr=1e-3, beta=0.9)), "objective": F.rosenbrock().describe(),
            "x0": [-1.5, 2.0], "steps": 20}
    from descent import momentum, run

    ref = _traj(run(momentum(lr=1e-3, beta=0.9), F.rosenbrock(), [-1.5, 2.0], 20))
    good = run_node({"rules": [case]}, tmp=tmp_path)["rules"][0]
    assert first_difference(ref, good) is None
    bad = run_node({"rules": [case]}, runner=copy / "tools" / "parity.mjs", tmp=tmp_path)["rules"][0]
    assert first_difference(ref, bad) is not None, "a rule changed in the twin alone went unnoticed"


def test_the_grid_visits_both_ends_of_every_control():
    eta = dw.slider("lr", 0.01, 1e-3, 0.1, log=True)
    drop = dw.dropdown("form", ["a", "b", "c"])
    panel_like = type("P", (), {"kind": type("K", (), {"controls": [eta, drop]})()})()
    points = control_grid(panel_like)
    assert {p["lr"] for p in points} >= {1e-3, 0.01, 0.1} and {p["form"] for p in points} == {"a", "b", "c"}
    assert len(points) == len({json.dumps(p, sort_keys=True) for p in points})

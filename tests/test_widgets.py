"""descent.widgets: the declarative panel descriptions, the kernel panel and its HTML twin.

(The chapters' own panels are driven by test_chapter_widgets.py; the JS twin is compared
by test_js_parity.py and drawn in Chromium by test_live_panels.py.)
"""

from __future__ import annotations

import json
import re

import descent
import numpy as np
import pytest
from descent import functions as F
from descent import schedules as sched
from descent import widgets as dw
from descent.widgets import spec as S

# ------------------------------------------------------------------ controls

def test_a_log_slider_is_a_table_anchored_at_its_default_with_both_ends():
    s = dw.slider("lr", 0.8, 1e-3, 20.0, log=True, label="η")
    assert s.value == 0.8 and 0.8 in s.values
    assert s.values[0] == 1e-3 and s.values[-1] == 20.0
    assert s.values == sorted(s.values) and len(set(s.values)) == len(s.values)
    ratios = np.diff(np.log10(s.values[1:-1]))
    assert np.allclose(ratios, 0.05, atol=0.003)  # steps of 0.05 decade, rounded to 3 digits
    assert all(len(f"{v:.3g}") >= len(repr(v)) - 1 or float(f"{v:.3g}") == v for v in s.values[1:-1])


def test_a_linear_slider_has_clean_values_and_reaches_both_ends():
    s = dw.slider("beta", 0.9, 0.0, 0.99, step=0.01)
    assert s.values[:3] == [0.0, 0.01, 0.02] and s.values[-1] == 0.99 and 0.9 in s.values
    assert 0.37 in s.values  # 0.9 - 53 * 0.01 rounded to 12 digits, not 0.37000000000000005
    i = dw.slider("steps", 30, 5, 100)
    assert i.integer and i.values == list(range(5, 101)) and i.format == "d"
    odd = dw.slider("k", 10, 1, 50, step=4)
    assert odd.values[0] == 1 and odd.values[-1] == 50 and 10 in odd.values and 14 in odd.values


@pytest.mark.parametrize("args, match", [
    (("lr", 0.1, 1.0, 2.0), "Invalid value: 0.1"),
    (("lr", 0.1, 2.0, 1.0), "Invalid min, max"),
    (("lr", 0.1, 0.0, 1.0, None, True), "Invalid min: 0.0"),
    (("lr", float("nan"), 0.0, 1.0), "Invalid value: nan"),
    (("l r", 0.1, 0.0, 1.0), "Invalid name: 'l r'"),
    (("lr", 0.5, 0.0, 1.0, 1e-9), "Invalid step"),
])
def test_bad_sliders_raise_naming_the_argument(args, match):
    log = len(args) > 5 and args[5]
    with pytest.raises(ValueError, match=re.escape(match)):
        dw.slider(*args[:5], log=log)


def test_dropdowns_and_switches():
    d = dw.dropdown("form", {"inside (deck)": "inside", "outside (torch)": "outside"}, label="ε sits")
    assert d.values == ["inside", "outside"] and d.value == "inside" and d.label_of("outside") == "outside (torch)"
    with pytest.raises(ValueError, match="Invalid value: 'middle'"):
        dw.dropdown("form", ["a", "b"], value="middle")
    with pytest.raises(ValueError, match="Invalid cases"):
        dw.switch(d, {"inside": 1})
    with pytest.raises(ValueError, match="Invalid option"):
        dw.dropdown("obj", {"x": F.rosenbrock()})


# ------------------------------------------------------------------ descriptions

def test_expressions_evaluate_in_python_order():
    b2 = dw.slider("omb2", 1e-3, 1e-4, 0.5, log=True)
    kappa = dw.slider("kappa", 100.0, 10.0, 1e4, log=True)
    e = (1 - b2, 4.0 / kappa, -kappa + 1, dw.sqrt(b2) * 2)
    got = S.evaluate(e, {"omb2": 0.001, "kappa": 30.0})
    assert got == (1 - 0.001, 4.0 / 30.0, -30.0 + 1, (0.001 ** 0.5) * 2)  # the same IEEE operations, exactly
    assert S.to_json(1 - b2) == {"op": "-", "args": [1, {"c": "omb2"}]}


def test_rules_schedules_and_objectives_evaluate_to_descent_objects():
    eta, beta = dw.slider("lr", 0.01, 1e-3, 0.1, log=True), dw.slider("beta", 0.9, 0.0, 0.99, step=0.01)
    ravine = F.quadratic(condition=50, angle=np.pi / 6)
    values = {"lr": 0.02, "beta": 0.5}
    nest = S.evaluate(dw.rule(descent.nesterov, lr=eta, beta=beta), values, ravine)
    ref = descent.nesterov(ravine, lr=0.02, beta=0.5)
    a = descent.run(nest, ravine, [-1.8, 0.3], 30).xs
    assert np.array_equal(a, descent.run(ref, ravine, [-1.8, 0.3], 30).xs)
    s = S.evaluate(dw.schedule(sched.step_decay, lr=eta, every=10, divide_by=1 / beta), values)
    assert s(25) == sched.step_decay(0.02, 10, 1 / 0.5)(25)
    kappa = dw.slider("kappa", 100.0, 10.0, 1e4, log=True)
    q = S.evaluate(dw.objective("quadratic", A=[[1.0, 0.0], [0.0, kappa]]), {"kappa": 30.0})
    assert np.array_equal(q.A, np.diag([1.0, 30.0]))
    assert S.to_json(ravine) == {"objective": "quadratic", "args": {"condition": 50, "angle": np.pi / 6, "scale": 1.0}}
    with pytest.raises(ValueError, match="Invalid rule: 'adamix'"):
        dw.rule("adamix", lr=eta)
    with pytest.raises(ValueError, match="Invalid objective: None"):
        S.evaluate(dw.rule(descent.newton), {}, None)


def test_controls_are_found_in_order_and_names_must_be_unique():
    eta, rho = dw.slider("lr", 0.1, 1e-3, 1.0, log=True), dw.slider("rho", 0.9, 0.5, 0.99, step=0.01)
    form = dw.dropdown("form", ["a", "b"])
    d = dw.switch(form, {"a": dw.rule(descent.rmsprop_lecture, rho=rho, lr=eta), "b": dw.rule(descent.rmsprop, lr=eta)})
    assert [c.name for c in S.controls_of(d)] == ["rho", "lr", "form"]
    with pytest.raises(ValueError, match="two different controls are named 'lr'"):
        S.controls_of(dw.rule("gd", lr=eta), dw.rule("gd", lr=dw.slider("lr", 0.5, 0.1, 1.0)))


def test_objectives_describe_themselves_and_come_back_equal():
    for obj in (F.parabola(20, window=(-5, 5)), F.log_bowl, F.two_minima, F.rosenbrock(a=2.0),
                F.quadratic(condition=25, angle=0.3), F.quadratic(A=[[2.0, 0.5], [0.5, 1.0]], b=[1.0, 0.0])):
        d = obj.describe()
        assert json.loads(json.dumps(d)) == d
        back = F.from_description(d)
        x = np.linspace(-1.2, 1.4, 2 * obj.dim).reshape(2, obj.dim)
        np.testing.assert_allclose(back.grad(x), obj.grad(x), rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="Invalid objective"):
        F.synthetic_regression().describe()
    with pytest.raises(ValueError, match="Invalid description"):
        F.from_description({"objective": "beale"})


# ------------------------------------------------------------------ the panel

def _race():
    eta = dw.slider("lr", 0.01, 1e-3, 0.1, log=True, label="η")
    beta = dw.slider("beta", 0.9, 0.0, 0.99, step=0.01, label="β")
    return dw.race_2d(F.quadratic(condition=50, angle=np.pi / 6),
                      {"GD": dw.rule(descent.gd, lr=eta), "momentum": dw.rule(descent.momentum, lr=eta, beta=beta)},
                      x0=(-1.8, 0.3), steps=60, caption="a race")


def test_a_panel_computes_without_drawing_and_runs_what_it_describes():
    panel = _race()
    out = panel.compute({"lr": 0.0501, "beta": 0.5})
    assert not panel._built  # nothing drawn yet
    ref = descent.run(descent.momentum(lr=0.0501, beta=0.5), F.quadratic(condition=50, angle=np.pi / 6), [-1.8, 0.3], 60)
    assert np.array_equal(out[1][2].xs, ref.xs)


def test_a_panel_redraws_and_rejects_values_off_its_table():
    panel = _race()
    panel.set(lr=0.0501, beta=0.5)
    assert bytes(panel.image.value[:8]) == b"\x89PNG\r\n\x1a\n" and set(panel.timings) == {"compute", "draw", "encode",
                                                                                          "total"}
    with pytest.raises(ValueError, match=r"Invalid lr: 0.05 \(not a value of this control; nearest"):
        panel.set(lr=0.05)
    with pytest.raises(ValueError, match="Invalid control names"):
        panel.set(eta=0.1)


def test_the_display_carries_the_widget_and_a_deterministic_html_twin():
    a, b = _race(), _race()
    bundle = a._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    ha, hb = a.html(), b.html()
    assert ha == hb, "the HTML twin must not depend on the run (no random ids, no float noise)"
    assert "<canvas" in ha and ' disabled' in ha and 'class="dl-spec"' in ha
    spec = json.loads(re.search(r'<script type="application/json" class="dl-spec">(.*?)</script>', ha).group(1))
    assert spec["kind"] == "Race2D" and [c["name"] for c in spec["controls"]] == ["lr", "beta"]
    look = descent.plot.look("momentum")
    assert spec["styles"]["momentum"] == {**descent.plot.style("momentum"), "ls": look.linestyle}
    assert re.search(r"[0-9a-f]{32}", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", ha)) is None


def test_the_page_draws_where_matplotlib_does():
    """The page maps data to pixels from the emitted boxes and limits; matplotlib must put
    the same point at the same place (within 0.05 CSS pixel) in the backgrounds."""
    from descent.widgets.panel import CSS_DPI

    panel = _race()
    panel._build()
    limits = panel.kind.limits(())
    for ax, box, (xlim, ylim) in zip(panel.axes, panel.boxes["axes"], limits, strict=True):
        for x, y in ((xlim[0], ylim[0]), (np.mean(xlim), ylim[1]), (xlim[1] * 0.3 + xlim[0] * 0.7, ylim[0] * 5)):
            if ax.get_yscale() == "log":
                fy = (np.log10(y) - np.log10(ylim[0])) / (np.log10(ylim[1]) - np.log10(ylim[0]))
            else:
                fy = (y - ylim[0]) / (ylim[1] - ylim[0])
            page = (box[0] + (x - xlim[0]) / (xlim[1] - xlim[0]) * box[2], box[1] + box[3] - fy * box[3])
            px, py = ax.transData.transform((x, y)) * CSS_DPI / panel.fig.dpi
            assert abs(px - page[0]) < 0.05 and abs(panel.boxes["height"] - py - page[1]) < 0.05


def test_a_panel_without_twin_is_inactive_in_the_page_and_says_so():
    reg = F.synthetic_regression(n=256, d=2, noise=0.5, seed=0)
    panel = dw.minibatch_race(reg, start=reg.minimum + np.array([-2.5, 2.5]),
                              batch=dw.dropdown("m", [1, 16, 256], value=16), lr=dw.slider("lr", 0.2, 0.01, 3.0, log=True),
                              seed=dw.slider("seed", 0, 0, 9), steps=20)
    html = panel.html()
    assert "dl-inactive" in html and "<canvas" not in html and "dl-spec" not in html
    assert html.count(" disabled") == 3 and "run this chapter as a notebook" in html


# ------------------------------------------------------------------ chapter 02's schedule explorer

def _schedule_panel():
    eta0 = dw.slider("lr", 0.2, 0.01, 10.0, log=True, label="η₀")
    period = dw.slider("period", 10, 1, 50)
    factor = dw.slider("factor", 0.5, 0.1, 0.9, step=0.05)
    return dw.schedule_1d(F.log_bowl, {
        "constant": dw.schedule(sched.constant, lr=eta0),
        "step decay": dw.schedule(sched.step_decay, lr=eta0, every=period, divide_by=1 / factor),
        "cosine": dw.schedule(sched.cosine_annealing_lr, lr=eta0, T_max=period)},
        constant=eta0, x0=dw.slider("x0", -1.5, -9.0, 9.0, step=0.1), steps=60)


def test_schedule_panel_runs_the_rule_with_the_schedule():
    panel = _schedule_panel()
    out = panel.compute({"schedule": "step decay", "lr": 0.2, "period": 10, "factor": 0.5, "x0": -1.5})
    np.testing.assert_array_equal(out["eta"], sched.step_decay(0.2, 10, 2)(np.arange(60)))
    expected = descent.run(descent.gd(lr=sched.step_decay(0.2, 10, 2)), F.log_bowl, [-1.5], 60)
    np.testing.assert_array_equal(out["traj"].xs, expected.xs)
    const = descent.run(descent.gd(lr=0.2), F.log_bowl, [-1.5], 60)
    np.testing.assert_array_equal(out["const"].xs, const.xs)


def test_schedule_panel_survives_every_extreme():
    panel = _schedule_panel()
    for c in panel.kind.controls:
        for v in (c.values[0], c.values[-1]):
            panel.set(**{c.name: v})
            assert bytes(panel.image.value[:4]) == b"\x89PNG"

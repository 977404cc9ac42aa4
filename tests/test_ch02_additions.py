"""Chapter 02's addition to the library: the schedule explorer panel."""

import descent
import numpy as np
from descent import functions as F
from descent import schedules as S
from descent import widgets as dw


def _panel():
    makers = {
        "constant": lambda lr, **_: S.constant(lr),
        "step decay": lambda lr, period, factor, **_: S.step_decay(lr, period, 1 / factor),
        "cosine": lambda lr, period, **_: S.cosine_annealing_lr(lr, period),
    }
    controls = {"lr": dw.slider(0.2, 0.01, 10.0, log=True, description="η₀"),
                "period": dw.slider(10, 1, 50, description="period"),
                "factor": dw.slider(0.5, 0.1, 0.9, description="factor"),
                "x0": dw.slider(-1.5, -9.0, 9.0, description="x0")}
    return dw.schedule_panel_1d(F.log_bowl, makers, controls, steps=60)


def test_schedule_panel_runs_the_rule_with_the_schedule():
    panel = _panel()
    panel.set(schedule="step decay", lr=0.2, period=10, factor=0.5, x0=-1.5)
    eta = panel.handles["eta"].get_ydata()
    np.testing.assert_allclose(eta, S.step_decay(0.2, 10, 2)(np.arange(60)))
    expected = descent.run(descent.gd(lr=S.step_decay(0.2, 10, 2)), F.log_bowl, [-1.5], 60)
    np.testing.assert_allclose(panel.handles["path"].get_xdata(), expected.xs[:, 0])
    const = descent.run(descent.gd(lr=0.2), F.log_bowl, [-1.5], 60)
    np.testing.assert_allclose(panel.handles["cpath"].get_xdata(), const.xs[:, 0])
    assert panel.image.value[:4] == b"\x89PNG"


def test_schedule_panel_survives_every_extreme():
    panel = _panel()
    for name, value in panel.extremes():
        panel.set(**{name: value})
        assert panel.image.value[:4] == b"\x89PNG"

"""Live panels: one description of an experiment, live in a kernel and in the static book.

A chapter's panel is a few declarative lines: controls, the rules (or schedules) they feed,
an objective, and one factory::

    eta = dw.slider("lr", 0.01, 1e-3, 0.1, log=True, label="η")
    beta = dw.slider("beta", 0.9, 0.0, 0.99, step=0.01, label="β")
    dw.race_2d(F.quadratic(condition=50, angle=np.pi / 6),
               {"GD": dw.rule(descent.gd, lr=eta),
                "momentum": dw.rule(descent.momentum, lr=eta, beta=beta)},
               x0=(-1.8, 0.3), steps=120)

The factory returns a :class:`LivePanel`.  In JupyterLab with a kernel it is an ipywidgets
panel (the experiment recomputed with :mod:`descent` on every change); in the built book it
is an HTML twin that ``js/descent`` (a JavaScript port of the rules, schedules, objectives
and ``descent.run``) recomputes in the page, checked against :mod:`descent` to 1e-12 by
``tests/test_js_parity.py``.  Panels with no JavaScript twin (:func:`minibatch_race`) stay
honest in the page: a still figure, controls switched off, one line saying how to run them.

The factories, one per kind of figure (:mod:`descent.widgets.kinds`):

==================  =====================================================================
:func:`run_1d`       a 1-D run on its curve and its gap on a log axis (a function dropdown)
:func:`race_2d`      several rules on a 2-D objective: contours and gaps
:func:`schedule_1d`  a learning-rate schedule, its run, and the same rule at a constant rate
:func:`first_steps`  a 1-D run and a table of its first iterates (gradient, state, iterate)
:func:`step_lengths` each rule's step under a constant gradient, log-log, and a table
:func:`rate_race`    :math:`\\|x_t\\|` on a quadratic against the predicted rate :math:`\\rho^t`
:func:`ema_explorer` an exponential moving average and the weights inside it
:func:`minibatch_race` minibatch SGD against GD (no twin: inactive in the page)
==================  =====================================================================

Descriptions (:mod:`descent.widgets.spec`): :func:`slider`, :func:`dropdown`, :func:`rule`,
:func:`schedule`, :func:`objective`, :func:`switch`, :func:`sqrt`, and arithmetic on controls.
:func:`notebook_panels` runs a chapter's cells tagged ``panel`` (tests, benchmarks).
"""

from __future__ import annotations

from . import kinds
from .cells import notebook_panels, panel_cells
from .panel import LivePanel
from .spec import Dropdown, Slider, dropdown, evaluate, objective, rule, schedule, slider, sqrt, switch


def run_1d(objectives, rule, *, x0, steps=30, caption=None) -> LivePanel:
    """A 1-D run: ``rule`` from ``x0`` on ``objectives`` (one, or ``{label: objective}`` for a
    ``function`` dropdown), ``steps`` steps (a number or an integer slider)."""
    return LivePanel(kinds.Run1D(objectives, rule, x0=x0, steps=steps), caption)


def race_2d(objective, rules: dict, *, x0, steps=100, window=None, levels=30, caption=None) -> LivePanel:
    """``{label: rule}`` from ``x0`` (a pair of numbers or sliders) on a 2-D ``objective``."""
    return LivePanel(kinds.Race2D(objective, rules, x0=x0, steps=steps, window=window, levels=levels), caption)


def schedule_1d(objective, schedules: dict, *, rule=None, x0, steps=100, constant=None,
                eta_limits=(1e-4, 10.0), caption=None) -> LivePanel:
    """A ``schedule`` dropdown over ``{label: schedule}``, each passed as ``lr=`` to ``rule``
    (default gradient descent) on a 1-D ``objective``; ``constant`` (e.g. the η₀ slider) adds
    the same rule at that constant rate, dashed."""
    return LivePanel(kinds.Schedule1D(objective, schedules, rule=rule, x0=x0, steps=steps, constant=constant,
                                      eta_limits=eta_limits), caption)


def first_steps(objective, rule, *, x0, rows=5, steps=40, state="s", state_label="s_t", title=None,
                table_title="the first iterates", caption=None) -> LivePanel:
    """A 1-D run and its first ``rows`` iterates as a table: t, g_t, the state field ``state``
    (a name, or a :func:`switch` of names when the rule switches), x_t."""
    return LivePanel(kinds.FirstSteps(objective, rule, x0=x0, rows=rows, steps=steps, state=state,
                                      state_label=state_label, title=title, table_title=table_title), caption)


def step_lengths(rules: dict, *, grad, steps=2000, labels=None, colors=None, dashed=(), notes=(), footer=(),
                 title=None, table_title=None, ylim=(1e-4, 1e3), caption=None) -> LivePanel:
    """The step length of each of ``{key: rule}`` when every gradient is the number ``grad``.
    ``notes``/``footer``: ``(label, expression, format)`` lines above/below the table."""
    return LivePanel(kinds.StepLengths(rules, grad=grad, steps=steps, labels=labels, colors=colors, dashed=dashed,
                                       notes=notes, footer=footer, title=title, table_title=table_title, ylim=ylim),
                     caption)


def rate_race(objective, rules: dict, *, x0, steps=300, ylim=(1e-16, 1e9), caption=None) -> LivePanel:
    """:math:`\\|x_t\\|` of ``{label: rule}`` on a quadratic ``objective`` (may depend on controls,
    see :func:`objective`) against :math:`\\rho^t\\|x_0\\|`."""
    return LivePanel(kinds.RateRace(objective, rules, x0=x0, steps=steps, ylim=ylim), caption)


def ema_explorer(signal, noise, *, rho, t, sigma, bias, ylim=None, caption=None) -> LivePanel:
    """The EMA of ``signal + sigma * noise`` (both stored to 6 decimals) from V₀ = 0 and the
    weights inside V_t; ``bias`` is a dropdown with the values ``"off"``/``"on"``."""
    return LivePanel(kinds.EMAExplorer(signal, noise, rho=rho, t=t, sigma=sigma, bias=bias, ylim=ylim), caption)


def minibatch_race(objective, *, start, batch, lr, seed, steps=60, caption=None) -> LivePanel:
    """Minibatch SGD (batch size ``batch``, ``seed``) against full-batch GD on a 2-D least-squares
    ``objective``.  No JavaScript twin: inactive (and says so) in the static page."""
    return LivePanel(kinds.MinibatchRace(objective, start=start, batch=batch, lr=lr, seed=seed, steps=steps), caption)


__all__ = [
    "LivePanel", "Slider", "Dropdown", "slider", "dropdown", "rule", "schedule", "objective", "switch", "sqrt",
    "evaluate", "run_1d", "race_2d", "schedule_1d", "first_steps", "step_lengths", "rate_race", "ema_explorer",
    "minibatch_race", "notebook_panels", "panel_cells",
]

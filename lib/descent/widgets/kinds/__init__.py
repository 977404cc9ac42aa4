r"""The panels of the book, each a *kind*: an experiment and the figure that shows it.

A kind knows

* its ``controls`` (the :class:`~descent.widgets.spec.Control`\ s its descriptions use);
* ``compute(values)``: the experiment with :mod:`descent` (no drawing);
* the figure's fixed parts: ``setup(fig, axes)`` once, ``restyle(axes, key)`` for each
  *static key* (the values of the controls that change the fixed parts, e.g. the function
  of a 1-D panel), ``limits(key)`` (the axes' limits, rounded so the page gets the same);
* the moving parts: ``artists()`` (name -> style; the page draws with the same table) and
  ``scene(values, result, limits)`` (name -> data).

``js/descent/kinds.js`` holds each kind's JavaScript twin: the same ``compute`` with the
twin of :mod:`descent`, the same ``scene``.  ``tests/test_js_parity.py`` checks that both
computes agree over every live panel's control grid; ``tests/test_live_panels.py`` that the
page draws the scene where Python says.  A kind with ``twin = False`` (minibatch SGD, which
needs NumPy's seeded generator) is shown in the page as a still figure with its controls
visibly inactive.
"""

from .averages import EMAExplorer
from .base import Kind
from .minibatch import MinibatchRace
from .rates import RateRace, StepLengths, linear_rate
from .runs import FirstSteps, Race2D, Run1D, Schedule1D

__all__ = ["Kind", "Run1D", "Race2D", "Schedule1D", "FirstSteps", "StepLengths", "RateRace", "linear_rate",
           "EMAExplorer", "MinibatchRace"]

"""What every panel kind shares: the base class, rounding, divergence marks, gaps.

``run`` is :func:`descent.run`, called through this module by every kind (one place to
wrap it, as the parity test does to start a run one ulp away)."""

from __future__ import annotations

import itertools

import numpy as np

from ...run import run  # noqa: F401  (the kinds call base.run)
from .. import spec as S

CROSS = "crimson"
SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def _r(v, digits=10) -> float:
    """A computed limit rounded to ``digits`` significant digits: the same number on every
    machine (and in the page), whatever the last bits of the arithmetic behind it."""
    return float(f"{float(v):.{digits}g}")


def _lim(lo, hi):
    return [_r(lo), _r(hi)]


def _last_finite(x) -> int:
    ok = np.flatnonzero(np.isfinite(x))
    return int(ok[-1]) if ok.size else 0


def _positive(y):
    y = np.asarray(y, dtype=float)
    return np.where(y > 0, y, np.nan)


def _status_artists(prefix, axes, loc):
    return {
        f"{prefix}_cross": {"type": "line", "axes": axes, "marker": "x", "ms": 10, "mew": 2.5, "color": CROSS,
                            "ls": "none", "zorder": 6},
        f"{prefix}_text": {"type": "text", "axes": axes, "xy": list(loc), "va": "top", "color": CROSS, "weight": "bold",
                           "size": 9, "zorder": 7, "box": {"fc": "white", "ec": CROSS, "alpha": 0.85}},
    }


def _status_scene(prefix, at, x, y, label=""):
    """A cross at (x, y) and "label diverged at step k", or nothing if ``at < 0``."""
    if at < 0:
        return {f"{prefix}_cross": {"x": [], "y": []}, f"{prefix}_text": {"text": ""}}
    return {f"{prefix}_cross": {"x": [float(x)], "y": [float(y)]},
            f"{prefix}_text": {"text": f"{label} diverged at step {at}".strip()}}


def _f_min(obj) -> float:
    return obj.f_min if obj.f_min is not None else 0.0


def _gap(f, f_min):
    r""":math:`f - f^\star` to draw on a log axis: where :math:`f^\star \ne 0` a gap within 64
    ulps of it is rounding (its last bits, and those of :math:`f^\star`, differ between
    machines and between Python and the page): it is drawn on that floor, "reached"."""
    gap = np.asarray(f, dtype=float) - f_min
    noise = 64 * 2.220446049250313e-16 * abs(f_min)
    if noise == 0:
        return gap, np.where(gap > 0, gap, np.nan)
    return gap, np.where(gap > noise, gap, np.where(np.isnan(gap), np.nan, noise))


def _fixed(d, what):
    if S.controls_of(d):
        raise ValueError(f"Invalid {what}: {d!r} (it draws the panel's fixed background, so it may not depend on "
                         f"a control)")
    return d


class Kind:
    """The base of every panel kind (see the module docstring)."""

    ncols, nrows, size = 2, 1, (4.6, 3.4)
    twin = True
    static_controls: tuple = ()

    def static_key(self, values) -> tuple:
        return tuple(values[n] for n in self.static_controls)

    def static_keys(self) -> list[tuple]:
        by_name = {c.name: c for c in self.controls}
        return list(itertools.product(*(by_name[n].values for n in self.static_controls)))

    def background(self, axes, on: bool):
        """Hide (``on``) what the page draws itself on a background (a data-driven axis)."""

    def ticks(self, axes) -> dict:
        """Tick tables of the axes whose limits follow the data: {axes: {top: [[pos, label]]}}."""
        return {}

    def json(self) -> dict:
        raise NotImplementedError

    def rules(self) -> list:
        """Every rule description of the panel (for its colours and labels): those of its
        ``race`` [(label, rule)], or its one ``rule``, or none."""
        if hasattr(self, "race"):
            return [d for _, d in self.race]
        return [self.rule] if hasattr(self, "rule") else []

    def limits(self, key=()):
        """[[xlim, ylim]] per axes for the controls' values ``key``; fixed (``_limits``) unless a
        kind computes them."""
        return self._limits



"""The EMA explorer of chapter 03."""

from __future__ import annotations

import math

import numpy as np

from .. import spec as S
from .base import SUB, Kind, _lim, _r


def _six(values):
    """A series rounded to 6 decimals: the page holds exactly these numbers, on every machine."""
    return np.array([float(f"{v:.6f}") for v in np.asarray(values, dtype=float).ravel()])


class EMAExplorer(Kind):
    """An exponential moving average over ``signal + σ·noise`` (left) and the weight of every
    value inside :math:`V_t` (right, bars); optional bias correction."""

    size = (4.6, 3.3)
    COLOR, BARS = "#d95f02", "#7570b3"
    LADDER = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.2)

    def __init__(self, signal, noise, *, rho, t, sigma, bias, ylim=None):
        self.signal, self.noise = _six(signal), _six(noise)
        if self.signal.shape != self.noise.shape or self.signal.size < 2:
            raise ValueError(f"Invalid signal, noise: shapes {self.signal.shape}, {self.noise.shape} (need equal lengths)")
        if not isinstance(bias, S.Dropdown) or sorted(map(str, bias.values)) != ["off", "on"]:
            raise ValueError(f"Invalid bias: {bias!r} (a dropdown with the values 'off' and 'on')")
        self.rho, self.t, self.sigma, self.bias = rho, t, sigma, bias
        self.controls = S.controls_of(rho, t, sigma, bias)
        n = self.signal.size
        if ylim is None:
            spread = float(np.max(np.abs(self.noise))) * max(getattr(sigma, "values", [sigma])[-1], 0.0)
            ylim = (math.floor(2 * (self.signal.min() - spread)) / 2, math.ceil(2 * (self.signal.max() + spread)) / 2)
        self._limits = [[_lim(0, n + 1), _lim(*ylim)], [_lim(0, n + 1), [0.0, 1.0]]]

    def setup(self, fig, axes):
        ax, ax2 = axes
        n = self.signal.size
        ax.plot(np.arange(1, n + 1), self.signal, "--", color="0.3", lw=1, label="signal")
        ax.set_xlabel("$t$")
        ax.set_ylabel("value")
        ax.set_title("series and its EMA")
        ax2.set_xlabel("$i$ (which value)")
        ax2.set_ylabel("weight of $s_i$ in $V_t$")
        ax2.yaxis.set_label_coords(-0.2, 0.5)  # clear of the widest tick labels of every y-limit
        ax2.set_title(r"weights $(1-\rho)\,\rho^{t-i}$")

    def restyle(self, axes, key):
        for ax, (xlim, ylim) in zip(axes, self.limits(key), strict=True):
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)

    def background(self, axes, on):
        """The weight axis follows the bars: the page draws its ticks, grid and labels (here
        they turn transparent, so that the axis label keeps its place)."""
        import matplotlib

        ax2 = axes[1]
        ax2.tick_params(axis="y", colors="none" if on else matplotlib.rcParams["ytick.color"])
        ax2.yaxis.grid(False if on else matplotlib.rcParams["axes.grid"])

    def ticks(self, axes):
        ax2 = axes[1]
        saved = ax2.get_ylim()
        table = {}
        for top in self.LADDER:
            ax2.set_ylim(0, top)
            locs = [v for v in ax2.yaxis.get_major_locator()() if -1e-12 <= v <= top * (1 + 1e-12)]
            labels = ax2.yaxis.get_major_formatter().format_ticks(locs)
            table[repr(top)] = [[_r(v), lab] for v, lab in zip(locs, labels, strict=True)]
        ax2.set_ylim(*saved)
        return {"1": table}

    def artists(self):
        n = self.signal.size
        return {
            "dots": {"type": "line", "axes": 0, "ls": "none", "marker": ".", "ms": 3, "color": "#a6a6a6", "zorder": 2},
            "ema": {"type": "line", "axes": 0, "color": self.COLOR, "lw": 2, "zorder": 3},
            "now": {"type": "line", "axes": 0, "ls": "none", "marker": "o", "color": self.COLOR, "mec": "k", "ms": 8,
                    "zorder": 5},
            "band": {"type": "span", "axes": 0, "color": self.COLOR, "alpha": 0.12, "zorder": 1},
            "text": {"type": "text", "axes": 0, "xy": [0.02, 0.97], "va": "top", "size": 9,
                     "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.9}},
            "bars": {"type": "stairs", "axes": 1, "edges": [0.5, n + 0.5, n], "color": self.BARS, "zorder": 2},
            "wtext": {"type": "text", "axes": 1, "xy": [0.02, 0.97], "va": "top", "size": 9,
                      "box": {"fc": "white", "ec": "#b3b3b3", "alpha": 0.9}},
        }

    def compute(self, values):
        from ... import averages as A

        rho, t = S.evaluate(self.rho, values), int(S.evaluate(self.t, values))
        sigma, bias = S.evaluate(self.sigma, values), S.evaluate(self.bias, values)
        n = self.signal.size
        series = self.signal + sigma * self.noise
        V = A.ema(series, rho, v0=0)
        w = np.zeros(n)
        w[:t] = A.ema_weights(rho, t)
        if bias == "on":
            V = A.bias_corrected(V, rho)
            w = w / (1 - rho ** t)
        return {"series": series, "V": V, "w": w, "window": A.effective_window(rho)}

    def scene(self, values, result, limits):
        t = int(S.evaluate(self.t, values))
        corrected = S.evaluate(self.bias, values) == "on"
        series, V, w, window = result["series"], result["V"], result["w"], result["window"]
        ts = np.arange(1, series.size + 1)
        lo = max(t - window, 0.5)
        tallest = float(w.max())
        top = next((c for c in self.LADDER if c >= 1.1 * tallest), self.LADDER[-1])
        return {
            "dots": {"x": ts, "y": series}, "ema": {"x": ts, "y": V}, "now": {"x": [t], "y": [V[t - 1]]},
            "band": {"x0": lo, "x1": float(t)},
            "text": {"text": f"V{str(t).translate(SUB)} = {V[t - 1]:.3f}" + ("  (corrected)" if corrected else "")},
            "bars": {"values": w},
            "wtext": {"text": f"window 1/(1-ρ) = {window:.4g}\nweights sum to {w.sum():.4f}"},
            "_ylim": {1: (0.0, top)},
        }

    def json(self):
        return {"signal": self.signal.tolist(), "noise": self.noise.tolist(), "rho": S.to_json(self.rho),
                "t": S.to_json(self.t), "sigma": S.to_json(self.sigma), "bias": S.to_json(self.bias),
                "ladder": list(self.LADDER)}

    def alt(self, key):
        return ("Interactive figure: a noisy series with its exponential moving average (left) and the weight of "
                "every value inside the average (right).")



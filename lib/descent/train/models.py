r"""The two networks of the last chapter: a LeNet-style CNN and an MLP.

Both map a batch of standardized images ``(B, 1, 28, 28)`` to ten logits.  Widths are
arguments so that the book can run a narrow copy on a CPU in seconds; the defaults are
LeNet-5's (LeCun et al., 1998) with ReLU and max-pooling in place of its sigmoids and
average pooling, the form found in today's textbooks.

    cnn:  conv 5x5 (1 -> c1, padding 2) - ReLU - max-pool 2
          conv 5x5 (c1 -> c2)           - ReLU - max-pool 2      (28 -> 14 -> 10 -> 5)
          flatten (c2 * 5 * 5) - [dropout] - linear h1 - ReLU - linear h2 - ReLU - linear 10
    mlp:  flatten (784) - linear h - ReLU - [dropout] - ... - linear 10

No BatchNorm: its batch statistics would make a run on two processes differ from one
process with the same global batch (and the CPU runs of the book exact to the last digit
printed).  ``dropout`` > 0 adds dropout before each hidden linear layer after the first.
"""

from __future__ import annotations

import torch
from torch import nn

#: Model names the CLI accepts.
MODELS = ("cnn", "mlp")


def _dense(layers, width, hidden, dropout, first_dropout=True) -> nn.Sequential:
    """``layers`` followed by ``hidden`` ReLU layers and ten logits, with dropout before every
    linear layer (but the first, unless ``first_dropout``)."""
    for k, h in enumerate(hidden):
        if dropout and (first_dropout or k > 0):
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def cnn(channels=(6, 16), hidden=(120, 84), dropout=0.0) -> nn.Sequential:
    """LeNet-style: two 5x5 convolutions with max-pooling, then ``hidden`` linear layers."""
    c1, c2 = (int(c) for c in channels)
    layers = [nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return _dense(layers, c2 * 5 * 5, hidden, dropout)


def mlp(hidden=(256, 256), dropout=0.0) -> nn.Sequential:
    """Fully connected: 784 pixels, ``hidden`` ReLU layers, ten logits."""
    return _dense([nn.Flatten()], 28 * 28, hidden, dropout, first_dropout=False)


def build(name: str, dropout: float = 0.0, **widths) -> nn.Sequential:
    """The model called ``name`` ("cnn" or "mlp")."""
    if name == "cnn":
        return cnn(dropout=dropout, **widths)
    if name == "mlp":
        return mlp(dropout=dropout, **widths)
    raise ValueError(f"Invalid model: {name!r} (expected one of {', '.join(MODELS)})")


@torch.no_grad()
def max_norm_(model: nn.Module, c: float) -> None:
    r"""Max-norm: rescale every unit's incoming weight vector :math:`w` to
    :math:`\|w\|_2 \le c` (rows of a linear weight, one filter of a convolution), the
    constraint of Srivastava et al.'s dropout paper, applied after each step."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            m.weight.renorm_(2, 0, c)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["MODELS", "build", "cnn", "count_parameters", "max_norm_", "mlp"]

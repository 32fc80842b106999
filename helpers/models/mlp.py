"""Multilayer perceptron (MLP): a stack of fully connected layers.

    x: (B, in_features)
      -> Linear -> activation [-> Dropout]     (once per hidden width)
      -> Linear                                 -> logits: (B, out_features)

The last layer has no activation: it returns logits, which go straight into
``nn.CrossEntropyLoss`` (multi-class) or ``nn.BCEWithLogitsLoss`` (binary,
``out_features=1``). ``hidden=()`` gives a linear model (logistic regression).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validate import check_int, check_type

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


class MLP(nn.Module):
    """``MLP(in_features, hidden, out_features, activation="relu", dropout=0.0)``.

    ``forward(x: (B, in_features)) -> (B, out_features)`` logits.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int,
                 activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        widths = [in_features, *hidden, out_features]
        for name, w in zip(("in_features", *(f"hidden[{i}]" for i in range(len(hidden))), "out_features"), widths):
            if not isinstance(w, int) or isinstance(w, bool) or w < 1:
                raise ValueError(f"{name}={w!r}: layer widths must be positive ints")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
        self.in_features, self.out_features = in_features, out_features
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:  # hidden layer
                layers.append(ACTIVATIONS[activation]())
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MLP expects x of shape (B, {self.in_features}), got {tuple(x.shape)}")
        return self.net(x)


def num_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of ``model``."""
    check_type("model", model, nn.Module, "torch.nn.Module")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_widths(widths) -> None:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths is a {type(widths).__name__}; pass a list of layer widths, e.g. [10, 64, 1]")
    for i, w in enumerate(widths):
        check_int(f"widths[{i}]", w, min=1)


def mlp_num_params(widths: Sequence[int]) -> int:
    """Closed form for an MLP with layer widths ``[d0, d1, ..., dL]``: sum of ``d_{l-1}*d_l + d_l``."""
    _check_widths(widths)
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))

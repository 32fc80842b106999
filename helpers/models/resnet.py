"""ResNet-9: the residual network of the fast CIFAR-10 training recipes.

Page (2018) showed that a 9-layer residual network, trained with large batches,
a one-cycle learning rate and crop + flip augmentation, reaches over 94 % test
accuracy on CIFAR-10 in a few dozen epochs. Its layout (``w = width``, 64 by
default), for ``x: (B, 3, 32, 32)``::

    prep    conv_bn(3 -> w)                          (B, w,  32, 32)
    layer1  conv_bn(w -> 2w), maxpool 2               (B, 2w, 16, 16)
            + Residual(conv_bn(2w), conv_bn(2w))      (B, 2w, 16, 16)
    layer2  conv_bn(2w -> 4w), maxpool 2              (B, 4w,  8,  8)
    layer3  conv_bn(4w -> 8w), maxpool 2              (B, 8w,  4,  4)
            + Residual(conv_bn(8w), conv_bn(8w))      (B, 8w,  4,  4)
    head    global max pool, flatten, Linear(8w, n_classes), times ``scale``   (B, n_classes)

``conv_bn`` is a 3x3 convolution (no bias: the batch norm that follows has
one), batch normalisation and ReLU. 9 layers with weights: 8 convolutions and
the linear layer. The logits are multiplied by ``scale = 0.125`` as in Page's
code, which keeps the initial softmax from being over-confident.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv (padding 1, no bias) -> BatchNorm -> ReLU: ``(B, c_in, H, W) -> (B, c_out, H, W)``."""
    check_int("c_in", c_in, min=1)
    check_int("c_out", c_out, min=1)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class Residual(nn.Module):
    """``x + branch(x)`` where ``branch`` is two ``conv_bn(c, c)``: ``(B, c, H, W) -> (B, c, H, W)``.

    With the last batch norm's weight and bias set to zero the branch outputs
    zero and the block is the identity: a deep stack of such blocks can start
    out as (and fall back to) a shallower network.
    """

    def __init__(self, channels: int):
        check_int("channels", channels, min=1)
        super().__init__()
        self.branch = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class ResNet9(nn.Module):
    """``ResNet9(in_channels=3, n_classes=10, width=64, scale=0.125)``.

    ``forward(x: (B, in_channels, H, W)) -> (B, n_classes)`` logits; ``H, W >= 8``
    (three 2x2 poolings; 32x32 for CIFAR-10). ``width=64`` has 6,573,130
    parameters; smaller widths are for tests and CPU runs.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 10, width: int = 64, scale: float = 0.125):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("n_classes", n_classes), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        if not scale > 0:
            raise ValueError(f"scale={scale!r} must be > 0")
        w = width
        self.in_channels, self.scale = in_channels, scale
        self.prep = conv_bn(in_channels, w)
        self.layer1 = nn.Sequential(conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w))
        self.layer2 = nn.Sequential(conv_bn(2 * w, 4 * w), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8 * w, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < 8:
            hint = ("; convert channels-last images with x.permute(0, 3, 1, 2)"
                    if x.dim() == 4 and x.shape[-1] == self.in_channels else "")
            raise ValueError(f"ResNet9 expects x of shape (B, {self.in_channels}, H, W) with H, W >= 8, "
                             f"got {tuple(x.shape)}{hint}")
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(self.pool(x).flatten(1)) * self.scale

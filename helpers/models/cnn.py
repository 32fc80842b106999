"""Convolutional networks for image classification.

``SimpleCNN`` is the two-convolution network of the articles, with the size of
the flattened feature map computed from the input size instead of hard-coded::

    x: (B, C, H, W)
      -> Conv(k) -> ReLU -> MaxPool(2)      (B, c1, H1, W1),  H1 = (H + 2p - k + 1) // 2
      -> Conv(k) -> ReLU -> MaxPool(2)      (B, c2, H2, W2),  H2 = (H1 + 2p - k + 1) // 2
      -> flatten                            (B, c2 * H2 * W2)
      [-> Linear(hidden) -> ReLU [-> Dropout]]
      -> Linear(n_classes)                  logits: (B, n_classes)

``articles_cnn()`` builds it with the articles' sizes (32 and 64 channels of
5x5 kernels, a 1024-unit hidden layer) for any input size. ``CifarResNet`` is
the residual network He et al. (2016) designed for 32x32 images (ResNet-20,
-32, -56, -110: ``depth = 6n + 2``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..conv import conv_output_size


def _positive_int(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int")
    return value


class SimpleCNN(nn.Module):
    """``SimpleCNN(in_channels=1, n_classes=10, image_size=28, channels=(16, 32), kernel_size=5,
    padding=0, hidden=128, dropout=0.0)``.

    ``forward(x: (B, in_channels, image_size, image_size)) -> (B, n_classes)`` logits.
    ``n_classes=1`` gives one logit for ``nn.BCEWithLogitsLoss`` (binary);
    ``hidden=None`` connects the feature map straight to the output layer.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28,
                 channels: Sequence[int] = (16, 32), kernel_size: int = 5, padding: int = 0,
                 hidden: int | None = 128, dropout: float = 0.0):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("n_classes", n_classes), ("image_size", image_size),
                            ("kernel_size", kernel_size)):
            _positive_int(name, value)
        if len(channels) != 2:
            raise ValueError(f"channels={tuple(channels)!r}: give the widths of the two convolutions, e.g. (16, 32)")
        c1, c2 = (_positive_int(f"channels[{i}]", c) for i, c in enumerate(channels))
        if hidden is not None:
            _positive_int("hidden", hidden)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
        size = image_size
        for _ in range(2):
            if size + 2 * padding < kernel_size:   # the kernel no longer fits
                size = 0
                break
            size = conv_output_size(size, kernel_size, padding=padding) // 2
        if size < 1:
            raise ValueError(f"image_size={image_size} is too small for two {kernel_size}x{kernel_size} "
                             f"convolutions (padding={padding}) and two 2x2 poolings")
        self.in_channels, self.image_size, self.feature_size = in_channels, image_size, size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel_size, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = c2 * size * size
        head: list[nn.Module] = [nn.Flatten()]   # flatten(1): (B, c2, s, s) -> (B, c2*s*s), never mixes images
        if hidden is None:
            head.append(nn.Linear(flat, n_classes))
        else:
            head += [nn.Linear(flat, hidden), nn.ReLU()]
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            head.append(nn.Linear(hidden, n_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"SimpleCNN expects x of shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}" + ("; add a channel axis with x.unsqueeze(1)"
                                                        if x.dim() == 3 else ""))
        return self.classifier(self.features(x))


def articles_cnn(in_channels: int = 3, n_classes: int = 10, image_size: int = 32) -> SimpleCNN:
    """The articles' network: Conv(32, 5x5) -> Conv(64, 5x5) -> Linear(1024) -> Linear(n_classes).

    For 32x32 inputs the feature map is 64 x 5 x 5, as the articles hard-code;
    for 28x28 inputs it is 64 x 4 x 4, which the hard-coded version gets wrong.
    """
    return SimpleCNN(in_channels, n_classes, image_size, channels=(32, 64), kernel_size=5, hidden=1024)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus the input: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``.

    ``x: (B, c_in, H, W) -> (B, c_out, H / stride, W / stride)``. When the
    shape changes the shortcut subsamples and pads the new channels with zeros
    (He et al.'s option A: no extra parameters).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        for name, value in (("c_in", c_in), ("c_out", c_out), ("stride", stride)):
            _positive_int(name, value)
        if c_out < c_in:
            raise ValueError(f"c_out={c_out} < c_in={c_in}: the zero-padding shortcut can only add channels; "
                             "use c_out >= c_in")
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.extra_channels = stride, c_out - c_in

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra_channels > 0:
            half = self.extra_channels // 2
            x = F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"BasicBlock expects x of shape (B, c_in={self.conv1.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """``CifarResNet(depth=20, in_channels=3, n_classes=10, width=16)``: the CIFAR ResNet of He et al. (2016).

    A 3x3 convolution, then three stages of ``n = (depth - 2) / 6`` basic blocks
    with ``width``, ``2 * width``, ``4 * width`` channels (the 2nd and 3rd stage
    halve the resolution), global average pooling and a linear layer.
    ``forward(x: (B, in_channels, H, W)) -> (B, n_classes)`` logits.
    ResNet-20 has 0.27 M parameters.
    """

    def __init__(self, depth: int = 20, in_channels: int = 3, n_classes: int = 10, width: int = 16):
        super().__init__()
        for name, value in (("depth", depth), ("in_channels", in_channels), ("n_classes", n_classes),
                            ("width", width)):
            _positive_int(name, value)
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"depth={depth}: a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110)")
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        blocks, c = [], width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                blocks.append(BasicBlock(c, c_out, stride=2 if stage > 0 and i == 0 else 1))
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"CifarResNet expects images of shape (B, C, H, W), got {tuple(x.shape)}")
        return self.head(self.blocks(self.stem(x)))

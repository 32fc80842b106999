"""Data augmentation for image batches, applied to the training data only.

Each transform takes a batch ``x: (B, C, H, W)`` and a ``torch.Generator`` and
returns a new batch of the same shape, drawing one random choice per image.
``Augmented(loader, transform, seed)`` wraps a training ``DataLoader`` so that
every batch it yields is transformed; validation and test loaders stay as they
are (random crops at test time would blur the measurement, not improve it).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ._validate import check_float, check_int, check_type

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _check_images(x: torch.Tensor) -> None:
    check_type("x", x, torch.Tensor, "tensor of images (B, C, H, W)")
    if x.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(x.shape)}")


def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 2) -> torch.Tensor:
    """Zero-pad each image by ``padding`` pixels, then cut a random ``H x W`` window.

    The same as shifting each image by up to ``padding`` pixels in each direction.
    """
    _check_images(x)
    check_int("padding", padding, min=0)
    B, _, H, W = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
    rows = (dy[:, None] + torch.arange(H))[:, None, :, None]          # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(W))[:, None, None, :]          # (B, 1, 1, W)
    batch = torch.arange(B)[:, None, None, None]
    channels = torch.arange(x.shape[1])[None, :, None, None]
    return padded[batch, channels, rows, cols]


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``.

    Fine for photos (a flipped cat is a cat); wrong for digits and text,
    where a mirrored 2 is not a 2.
    """
    _check_images(x)
    check_float("p", p, min=0.0, max=1.0)
    flip = torch.rand(x.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def compose(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order: ``compose(random_crop, random_hflip)``."""
    if not transforms:
        raise ValueError("compose() got no transforms; pass at least one, e.g. compose(random_crop, random_hflip)")
    for i, t in enumerate(transforms):
        if not callable(t):
            raise TypeError(f"transforms[{i}] is a {type(t).__name__}; pass functions (x, generator) -> x")
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for t in transforms:
            x = t(x, generator)
        return x
    return apply


class Augmented:
    """Wrap a training loader: each ``(x, y)`` batch comes out as ``(transform(x), y)``.

    The transform draws from its own ``torch.Generator(seed)``, so a run is
    repeatable and independent of the global random state.
    """

    def __init__(self, loader, transform: Transform, seed: int = 0):
        if not hasattr(loader, "__iter__"):
            raise TypeError(f"loader is a {type(loader).__name__}; pass an iterable of (x, y) batches, "
                            "e.g. a DataLoader")
        if not callable(transform):
            raise TypeError(f"transform is a {type(transform).__name__}; pass a function (x, generator) -> x")
        check_int("seed", seed, min=0)
        self.loader, self.transform = loader, transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield self.transform(x, self.generator), y

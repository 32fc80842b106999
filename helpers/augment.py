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

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _check_images(x: torch.Tensor) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(x.shape)}")


def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 2) -> torch.Tensor:
    """Zero-pad each image by ``padding`` pixels, then cut a random ``H x W`` window.

    The same as shifting each image by up to ``padding`` pixels in each direction.
    """
    _check_images(x)
    if padding < 0:
        raise ValueError(f"padding={padding} must be >= 0")
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
    if not 0 <= p <= 1:
        raise ValueError(f"p={p} must be a probability in [0, 1]")
    flip = torch.rand(x.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def compose(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order: ``compose(random_crop, random_hflip)``."""
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
        self.loader, self.transform = loader, transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield self.transform(x, self.generator), y

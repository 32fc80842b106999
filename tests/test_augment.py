"""helpers.augment against slicing and flipping done by hand."""

import pytest
import torch
import torch.nn.functional as F

from helpers import augment, make_loader


def _images(B=6, C=2, H=5, W=7):
    return torch.arange(B * C * H * W, dtype=torch.float32).reshape(B, C, H, W)


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x, p = _images(), 2
    out = augment.random_crop(x, torch.Generator().manual_seed(1), padding=p)
    padded = F.pad(x, (p, p, p, p))
    assert out.shape == x.shape
    for b in range(len(x)):
        windows = [padded[b, :, i:i + 5, j:j + 7] for i in range(2 * p + 1) for j in range(2 * p + 1)]
        assert any(torch.equal(out[b], w) for w in windows)


def test_random_crop_with_zero_padding_is_identity():
    x = _images()
    assert torch.equal(augment.random_crop(x, torch.Generator(), padding=0), x)


def test_random_crop_shifts_differ_between_images():
    x = torch.ones(64, 1, 8, 8)
    out = augment.random_crop(x, torch.Generator().manual_seed(0), padding=3)
    assert len({tuple(o.sum(-1).flatten().tolist()) for o in out}) > 5


def test_random_hflip_flips_exactly_the_drawn_images():
    x = _images(B=200)
    out = augment.random_hflip(x, torch.Generator().manual_seed(0), p=0.5)
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert torch.all(flipped ^ kept)
    assert 70 < flipped.sum() < 130
    assert torch.equal(augment.random_hflip(x, torch.Generator(), p=0.0), x)
    assert torch.equal(augment.random_hflip(x, torch.Generator(), p=1.0), x.flip(-1))


def test_compose_applies_in_order():
    x = _images()
    t = augment.compose(lambda x, g: x + 1, lambda x, g: x * 2)
    assert torch.equal(t(x, torch.Generator()), (x + 1) * 2)


def test_augmented_loader_is_repeatable_and_keeps_labels():
    X, y = torch.rand(20, 1, 6, 6), torch.arange(20)
    loader = make_loader(X, y, batch_size=8)
    runs = [[(xb.clone(), yb) for xb, yb in augment.Augmented(loader, augment.random_crop, seed=3)]
            for _ in range(2)]
    assert len(augment.Augmented(loader, augment.random_crop)) == 3
    for (xa, ya), (xb, yb) in zip(*runs):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(torch.cat([yb for _, yb in runs[0]]), y)
    assert not torch.equal(torch.cat([xb for xb, _ in runs[0]]), X)


@pytest.mark.parametrize("fn", [augment.random_crop, augment.random_hflip])
def test_non_image_batches_are_rejected(fn):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        fn(torch.zeros(3, 4, 4), torch.Generator())


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="padding=-1"):
        augment.random_crop(_images(), torch.Generator(), padding=-1)
    with pytest.raises(ValueError, match="p=1.5"):
        augment.random_hflip(_images(), torch.Generator(), p=1.5)

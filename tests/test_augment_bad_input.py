"""Bad input to helpers.augment raises an error naming the argument."""

import pytest
import torch

from helpers import augment


def test_transforms_refuse_a_non_tensor():
    with pytest.raises(TypeError, match="x is a list"):
        augment.random_crop([[0.0]], torch.Generator())
    with pytest.raises(TypeError, match="padding=1.5"):
        augment.random_crop(torch.zeros(1, 1, 4, 4), torch.Generator(), padding=1.5)
    with pytest.raises(ValueError, match="p=nan"):
        augment.random_hflip(torch.zeros(1, 1, 4, 4), torch.Generator(), p=float("nan"))


def test_compose_refuses_non_callables_and_nothing():
    with pytest.raises(TypeError, match=r"transforms\[1\] is a str"):
        augment.compose(augment.random_crop, "flip")
    with pytest.raises(ValueError, match="no transforms"):
        augment.compose()


def test_augmented_refuses_bad_arguments():
    loader = [(torch.zeros(1, 1, 4, 4), torch.zeros(1))]
    with pytest.raises(TypeError, match="loader is a int"):
        augment.Augmented(3, augment.random_crop)
    with pytest.raises(TypeError, match="transform is a str"):
        augment.Augmented(loader, "crop")
    with pytest.raises(ValueError, match="seed=-1"):
        augment.Augmented(loader, augment.random_crop, seed=-1)

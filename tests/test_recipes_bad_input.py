"""Bad input to helpers.recipes raises an error naming the argument, before anything is read or written."""

import pytest
import torch

from helpers import recipes
from helpers.recipes import TensorBatches, cifar10_data


def test_tensor_batches_refuses_a_zero_batch_size():
    with pytest.raises(ValueError, match="batch_size=0 must be a positive int"):
        TensorBatches(torch.zeros(4, 2), torch.zeros(4), 0)


@pytest.mark.parametrize("fn", [recipes.crop, recipes.crop_flip])
def test_crops_refuse_a_single_image(fn):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\), got \(3, 32, 32\)"):
        fn(torch.zeros(3, 32, 32), torch.Generator())


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size=0"),
    ({"max_train": 0}, "max_train=0 must be a positive int or None"),
    ({"val_size": 1.0}, r"val_size=1.0 must be a fraction in \[0, 1\)"),
    ({"augment": "flip"}, "augment='flip'"),
])
def test_cifar10_data_refuses_before_reading(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cifar10_data(tmp_path / "nowhere", **kwargs)
    assert not (tmp_path / "nowhere").exists()


def test_hardware_name_refuses_a_non_device():
    with pytest.raises(ValueError, match="device='gpu0' is not a device"):
        recipes.hardware_name("gpu0")


def test_write_json_atomic_creates_no_folder_for_unserialisable_data(tmp_path):
    with pytest.raises(TypeError):
        recipes.write_json_atomic(tmp_path / "new" / "log.json", {"bad": object()})
    assert not (tmp_path / "new").exists()

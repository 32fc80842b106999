"""Bad input to helpers.env raises an error naming the argument, before any generator is seeded."""

import random

import numpy as np
import pytest
import torch

from helpers import env


@pytest.mark.parametrize("kwargs,error,match", [
    ({"device": "cpu"}, TypeError, "device='cpu' is a str; pass a torch.device"),
    ({"scale": "huge"}, ValueError, "scale='huge'"),
    ({"seed": -1}, ValueError, "seed=-1 must be a non-negative int"),
])
def test_env_refuses_bad_fields(kwargs, error, match):
    with pytest.raises(error, match=match):
        env.Env(**{"device": torch.device("cpu"), "scale": "default", "seed": 0, **kwargs})


@pytest.mark.parametrize("relpath,start,error,match", [
    ("", None, ValueError, "relpath='' must be a non-empty relative path"),
    ("/etc/hosts", None, ValueError, "relpath='/etc/hosts'"),
    (3, None, ValueError, "relpath=3"),
    ("benchmarks", 3, TypeError, "start=3 is a int"),
])
def test_find_upwards_refuses(relpath, start, error, match):
    with pytest.raises(error, match=match):
        env.find_upwards(relpath, start)


def test_get_device_and_get_scale_name_the_bad_value():
    with pytest.raises(ValueError, match="device 'gpu' is not a device name"):
        env.get_device("gpu")
    with pytest.raises(TypeError, match="scale=1 is a int"):
        env.get_scale(1)


def test_setup_with_a_bad_device_seeds_nothing():
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    with pytest.raises(ValueError, match="device 'gpu' is not a device name"):
        env.setup(seed=0, device="gpu", quiet=True)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected

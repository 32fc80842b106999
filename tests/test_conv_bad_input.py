"""Bad input to helpers.conv and helpers.models.cnn raises an error naming the argument."""

import pytest
import torch

from helpers import articles_cnn
from helpers.conv import conv2d_num_params
from helpers.models.cnn import BasicBlock


@pytest.mark.parametrize("kwargs,match", [
    ({"c_in": 0}, "c_in=0 must be an int >= 1"),
    ({"c_out": 2.0}, "c_out=2.0 must be an int"),
    ({"kernel": -3}, "kernel=-3"),
])
def test_conv2d_num_params_refuses_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d_num_params(**{"c_in": 3, "c_out": 8, "kernel": 3, **kwargs})


def test_conv2d_num_params_refuses_a_non_bool_bias():
    with pytest.raises(TypeError, match="bias=1"):
        conv2d_num_params(3, 8, 3, bias=1)


def test_articles_cnn_refuses_too_small_images():
    with pytest.raises(ValueError, match="image_size=8 is too small"):
        articles_cnn(image_size=8)


def test_basic_block_refuses_bad_widths_and_inputs():
    with pytest.raises(ValueError, match="stride=0"):
        BasicBlock(16, 16, stride=0)
    with pytest.raises(ValueError, match="c_out=8 < c_in=16"):
        BasicBlock(16, 8)
    with pytest.raises(ValueError, match=r"c_in=4, H, W\), got \(2, 3, 8, 8\)"):
        BasicBlock(4, 8)(torch.zeros(2, 3, 8, 8))

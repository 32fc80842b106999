"""Bad input to helpers.deploy.check_input raises an error naming the argument."""

import numpy as np
import pytest
import torch

from helpers.deploy import check_input


@pytest.mark.parametrize("x,error,match", [
    (torch.zeros(2, 3), TypeError, "x is a torch.Tensor"),
    (np.zeros((2, 3)), TypeError, "x has dtype float64, expected float32"),
    (np.zeros(3, np.float32), ValueError, r"x\[None\]"),
    (np.zeros((2, 4), np.float32), ValueError, r"expected \(3,\)"),
    (np.zeros((0, 3), np.float32), ValueError, "x is an empty batch"),
    (np.array([[0, np.nan, 0]], np.float32), ValueError, "x has 1 non-finite value"),
])
def test_check_input_refuses(x, error, match):
    with pytest.raises(error, match=match):
        check_input(x, (3,))

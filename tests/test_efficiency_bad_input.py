"""Bad input to helpers.efficiency raises an error naming the argument, before the model changes."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import MLP
from helpers.efficiency import accumulated_step, run_blocks, saved_activation_bytes


def test_saved_activation_bytes_refuses_bad_arguments():
    with pytest.raises(TypeError, match="fn is a Tensor"):
        saved_activation_bytes(torch.zeros(2))
    with pytest.raises(TypeError, match="exclude is a single tensor"):
        saved_activation_bytes(lambda: None, exclude=torch.zeros(2))
    with pytest.raises(TypeError, match=r"exclude\[0\] is a str"):
        saved_activation_bytes(lambda: None, exclude=["weight"])


def test_accumulated_step_refuses_a_non_optimizer_and_leaves_the_gradients_alone():
    model = MLP(4, [], 2)
    x, y = torch.randn(4, 4), torch.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match="optimizer is a float"):
        accumulated_step(model, 0.1, F.cross_entropy, x, y)
    assert all(p.grad is None for p in model.parameters())


def test_run_blocks_refuses_bad_blocks_and_inputs():
    with pytest.raises(TypeError, match="blocks is a Linear"):
        run_blocks(nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(TypeError, match=r"blocks\[1\] is a int"):
        run_blocks([nn.Identity(), 3], torch.zeros(1, 2))
    with pytest.raises(TypeError, match="x is a list"):
        run_blocks(nn.ModuleList([nn.Identity()]), [[0.0, 1.0]])

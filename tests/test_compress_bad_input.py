"""Bad input to helpers.compress raises an error naming the argument, and changes nothing."""

import pytest
import torch
from torch import nn

from helpers.compress import dequantize, median_latency, remove_pruning, sparse_state_dict


def test_remove_pruning_refuses_a_state_dict():
    with pytest.raises(TypeError, match="model is a OrderedDict"):
        remove_pruning(nn.Linear(2, 2).state_dict())


def test_sparse_state_dict_refuses_modules_and_non_tensors():
    with pytest.raises(TypeError, match=r"pass model.state_dict\(\)"):
        sparse_state_dict(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="state_dict is a list"):
        sparse_state_dict([torch.zeros(2, 2)])
    with pytest.raises(TypeError, match=r"state_dict\['step'\] is a int"):
        sparse_state_dict({"w": torch.zeros(2, 2), "step": 3})


@pytest.mark.parametrize("args,error,match", [
    ((torch.tensor([1.0]), 0.1, 0), TypeError, "q has dtype torch.float32"),
    (([1, 2], 0.1, 0), TypeError, "q is a list"),
    ((torch.tensor([1]), 0.0, 0), ValueError, "scale=0.0 must be > 0"),
    ((torch.tensor([1]), float("inf"), 0), ValueError, "scale=inf"),
    ((torch.tensor([1]), 0.1, 0.5), TypeError, "zero_point=0.5"),
])
def test_dequantize_refuses(args, error, match):
    with pytest.raises(error, match=match):
        dequantize(*args)


class _Fails(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_median_latency_gives_the_model_its_mode_back_when_the_forward_pass_fails():
    model = _Fails().train()
    with pytest.raises(RuntimeError, match="boom"):
        median_latency(model, torch.zeros(1), repeats=1, warmup=0)
    assert model.training
    with pytest.raises(TypeError, match="model is a function"):
        median_latency(lambda x: x, torch.zeros(1))

"""Bad input to helpers.interpret raises an error naming the argument."""

import pytest
import torch
from torch import nn

from helpers import MLP
from helpers.interpret import gradient_times_input, integrated_gradients, randomized_copy, saliency


def test_gradient_times_input_refuses_bad_inputs():
    model = MLP(4, [], 3)
    with pytest.raises(TypeError, match="x is a list"):
        gradient_times_input(model, [[0.0] * 4], 0)
    with pytest.raises(ValueError, match="x must be a non-empty float tensor"):
        gradient_times_input(model, torch.zeros(2, 4, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="x holds 1 NaN/inf"):
        gradient_times_input(model, torch.tensor([[0.0, float("nan"), 0.0, 0.0]]), 0)
    with pytest.raises(TypeError, match="model is a function"):
        saliency(lambda x: x, torch.zeros(2, 4), 0)


def test_integrated_gradients_refuses_a_baseline_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"baseline has shape \(3,\), which does not broadcast to x's \(2, 4\)"):
        integrated_gradients(MLP(4, [], 3), torch.zeros(2, 4), 0, baseline=torch.zeros(3))


def test_randomized_copy_refuses_bad_arguments():
    with pytest.raises(TypeError, match="model is a OrderedDict"):
        randomized_copy(nn.Linear(2, 2).state_dict())
    with pytest.raises(TypeError, match="seed=0.5"):
        randomized_copy(nn.Linear(2, 2), seed=0.5)

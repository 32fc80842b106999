"""Bad input to helpers.privacy raises an error naming the argument, before the model changes."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import MLP, make_loader
from helpers.privacy import clip_per_sample, dp_sgd_step, label_histogram, local_train, per_sample_norms

LABELS = np.array([0, 1, 2, 1, 0, 2])
CLIENTS = [np.array([0, 1, 2]), np.array([3, 4, 5])]


@pytest.mark.parametrize("args,error,match", [
    ((np.array([0.0, 1.0]), CLIENTS), ValueError, "labels must be a non-empty 1-D array of class ids"),
    ((np.array([0, -1, 2]), CLIENTS), ValueError, "labels"),
    ((LABELS, np.array([0, 1])), TypeError, "clients is a ndarray"),
    ((LABELS, [np.array([0, 9])]), ValueError, r"clients\[0\] must be a 1-D array of indices in \[0, 6\)"),
    ((LABELS, CLIENTS, 2), ValueError, "n_classes=2 must be an int > the largest label 2"),
])
def test_label_histogram_refuses(args, error, match):
    with pytest.raises(error, match=match):
        label_histogram(*args)


def _loader():
    X, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    return make_loader(X, y, batch_size=4, shuffle=False)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"epochs": 0}, ValueError, "epochs=0 must be >= 1"),
    ({"epochs": 1.5}, TypeError, "epochs=1.5"),
    ({"lr": 0.0}, ValueError, "lr=0.0 must be > 0"),
    ({"lr": float("nan")}, ValueError, "lr=nan must be a finite number"),
])
def test_local_train_refuses_bad_arguments_and_leaves_the_model_alone(kwargs, error, match):
    torch.manual_seed(0)
    model = MLP(4, [], 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=match):
        local_train(model, _loader(), **{"epochs": 1, "lr": 0.1, **kwargs})
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_local_train_refuses_a_non_module():
    with pytest.raises(TypeError, match="model is a function"):
        local_train(lambda x: x, _loader(), 1, 0.1)


def test_per_sample_norms_refuses_bad_grads():
    with pytest.raises(TypeError, match="grads is a list"):
        per_sample_norms([torch.zeros(3, 2)])
    with pytest.raises(ValueError, match="grads is empty"):
        per_sample_norms({})
    with pytest.raises(ValueError, match=r"different batch sizes \[2, 3\]"):
        per_sample_norms({"w": torch.zeros(3, 2), "b": torch.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\] must be a tensor"):
        clip_per_sample({"w": 1.0}, 1.0)


def test_dp_sgd_step_refusal_leaves_the_model_in_eval_mode():
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.1)).eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="max_grad_norm=0.0"):
        dp_sgd_step(model, F.cross_entropy, torch.zeros(2, 3), torch.tensor([0, 1]), opt, 0.0, 0.0)
    assert not model.training

"""Bad input to helpers.scaling raises an error naming the argument."""

import math
from types import SimpleNamespace

import pytest
from torch import nn

from helpers import scaling


def test_non_embedding_params_refuses_a_config():
    with pytest.raises(TypeError, match="model is a SimpleNamespace; pass a torch.nn.Module"):
        scaling.non_embedding_params(SimpleNamespace(n_layer=2, n_embd=8, bias=True))


@pytest.mark.parametrize("config,error,match", [
    (nn.Linear(2, 2), TypeError, r"pass its config \(model.config\)"),
    (SimpleNamespace(n_layer=2, n_embd=8), TypeError, r"without .bias"),
    (SimpleNamespace(n_layer=0, n_embd=8, bias=True), ValueError, "config.n_layer=0 must be a positive int"),
    (SimpleNamespace(n_layer=2, n_embd=8.0, bias=True), ValueError, "config.n_embd=8.0"),
    (SimpleNamespace(n_layer=2, n_embd=8, bias=1), ValueError, "config.bias=1 must be True or False"),
])
def test_gpt_non_embedding_params_refuses(config, error, match):
    with pytest.raises(error, match=match):
        scaling.gpt_non_embedding_params(config)


@pytest.mark.parametrize("kwargs,match", [
    ({"alpha": math.nan, "a": 1.0}, "alpha=nan must be a finite number"),
    ({"alpha": 0.1, "a": 0.0}, "a=0.0 must be > 0"),
    ({"alpha": 0.1, "a": 2.0, "irreducible": -1.0}, "irreducible=-1.0 must be >= 0"),
    ({"alpha": "0.1", "a": 2.0}, "alpha='0.1'"),
])
def test_power_law_fit_refuses_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling.PowerLawFit(**kwargs)

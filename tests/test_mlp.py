"""helpers.models.mlp: architecture, parameter count, errors."""

import pytest
import torch
from torch import nn

from helpers.models import MLP, mlp_num_params, num_params


def test_mlp_equals_hand_written_layers():
    torch.manual_seed(0)
    model = MLP(4, [8, 5], 3, activation="tanh")
    x = torch.randn(6, 4)
    l1, l2, l3 = [m for m in model.net if isinstance(m, nn.Linear)]
    expected = torch.tanh(torch.tanh(x @ l1.weight.T + l1.bias) @ l2.weight.T + l2.bias) @ l3.weight.T + l3.bias
    torch.testing.assert_close(model(x), expected)
    assert model(x).shape == (6, 3)


def test_parameter_count_matches_closed_form():
    for widths in ([30, 16, 2], [784, 256, 128, 10], [3, 1]):
        model = MLP(widths[0], widths[1:-1], widths[-1])
        assert num_params(model) == mlp_num_params(widths)
    assert mlp_num_params([30, 16, 2]) == 30 * 16 + 16 + 16 * 2 + 2


def test_trainable_only_counts_unfrozen():
    model = MLP(3, [4], 2)
    model.net[0].weight.requires_grad_(False)
    assert num_params(model, trainable_only=True) == num_params(model) - 12


def test_no_hidden_layers_is_linear_and_dropout_is_inserted():
    assert [type(m) for m in MLP(3, [], 1).net] == [nn.Linear]
    assert [type(m) for m in MLP(3, [4], 1, activation="gelu", dropout=0.5).net] == [
        nn.Linear, nn.GELU, nn.Dropout, nn.Linear]


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_features=0, hidden=[4], out_features=2), "in_features=0"),
    (dict(in_features=3, hidden=[4, -1], out_features=2), r"hidden\[1\]=-1"),
    (dict(in_features=3, hidden=[4], out_features=2, activation="swish"), "unknown activation 'swish'"),
    (dict(in_features=3, hidden=[4], out_features=2, dropout=1.0), "dropout=1.0"),
])
def test_bad_configs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP(**kwargs)


def test_wrong_input_shape_is_reported():
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 4\), got \(2, 5\)"):
        MLP(4, [3], 2)(torch.zeros(2, 5))

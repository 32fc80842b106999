"""Bad input to the helpers.distributed workers raises an error naming the argument (no process group needed)."""

import pytest
import torch

from helpers import MLP
from helpers import distributed as D


def test_all_reduce_mean_refuses_non_float_tensors():
    with pytest.raises(TypeError, match="t is a list"):
        D.all_reduce_mean([1.0, 2.0])
    with pytest.raises(TypeError, match=r"t has dtype torch.int64; .* t.float\(\)"):
        D.all_reduce_mean(torch.tensor([1, 2]))


def test_make_optimizer_refuses_a_bad_lr():
    with pytest.raises(ValueError, match="lr=-0.1 must be > 0"):
        D.make_optimizer("sgd", MLP(2, [], 2).parameters(), -0.1)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"rank": 2}, ValueError, "rank=2 must be < world_size=2"),
    ({"batch_size": 0}, ValueError, "batch_size=0 must be >= 1"),
    ({"epochs": 1.0}, TypeError, "epochs=1.0"),
    ({"lr": 0}, ValueError, "lr=0.0 must be > 0"),
    ({"y": torch.zeros(7).long()}, ValueError, "X has 8 rows but y has 7"),
])
def test_ddp_fit_refuses_before_touching_distributed(kwargs, error, match):
    args = {"rank": 0, "world_size": 2, "model": MLP(3, [], 2), "X": torch.zeros(8, 3),
            "y": torch.zeros(8).long(), "batch_size": 2, "epochs": 1, "lr": 0.1, **kwargs}
    with pytest.raises(error, match=match):
        D.ddp_fit(**args)


def test_ddp_train_steps_refuses_too_few_steps_of_data():
    with pytest.raises(ValueError, match=r"steps=3 or more"):
        D.ddp_train_steps(0, 1, MLP(3, [], 2), torch.zeros(2, 4, 3), torch.zeros(2, 4).long(), 3)


def test_seen_indices_and_sampler_pitfalls_refuse_bad_sizes():
    with pytest.raises(ValueError, match="n=0 must be >= 1"):
        D.seen_indices(0, 2, 0, 1)
    with pytest.raises(ValueError, match="batch_size=0"):
        D.seen_indices(0, 2, 8, 1, batch_size=0)
    with pytest.raises(ValueError, match="world_size=0"):
        D.sampler_pitfalls(0, 0)
    with pytest.raises(ValueError, match="epochs=-1"):
        D.sampler_pitfalls(0, 2, epochs=-1)

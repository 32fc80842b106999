"""Bad input to helpers.cost raises an error naming the argument."""

import pytest

from helpers import cost


@pytest.mark.parametrize("bad", [0, -1e9, float("inf"), []])
def test_inference_flops_per_token_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="n_params"):
        cost.inference_flops_per_token(bad)

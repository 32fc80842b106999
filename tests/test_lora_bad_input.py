"""Bad input to helpers.lora's model-wide functions raises an error naming the argument."""

import pytest
from torch import nn

from helpers.lora import lora_layers, merge_lora, unmerge_lora


@pytest.mark.parametrize("fn", [lora_layers, merge_lora, unmerge_lora])
def test_model_wide_lora_functions_refuse_a_state_dict(fn):
    state = dict(nn.Linear(2, 2).state_dict())
    with pytest.raises(TypeError, match="model is a dict; pass a torch.nn.Module"):
        fn(state)

"""Bad input to the smaller pieces of helpers.models.gpt, .mlp and .resnet raises an error naming the argument."""

import pytest
from torch import nn

from helpers.models.gpt import MLP, Block, CausalSelfAttention, GPTConfig, KVCache, gpt_num_params
from helpers.models.mlp import mlp_num_params, num_params
from helpers.models.resnet import Residual, conv_bn


def _config():
    return GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)


@pytest.mark.parametrize("build", [CausalSelfAttention, MLP, Block, gpt_num_params])
def test_gpt_pieces_refuse_a_dict_config(build):
    with pytest.raises(TypeError, match="config is a dict; pass a helpers.models.GPTConfig"):
        build(vars(_config()))


def test_kv_cache_refuses_a_bad_layer_count():
    with pytest.raises(ValueError, match="n_layer=0 must be >= 1"):
        KVCache(0)
    with pytest.raises(TypeError, match="n_layer=2.0 is a float"):
        KVCache(2.0)


def test_num_params_refuses_a_state_dict():
    with pytest.raises(TypeError, match="model is a dict; pass a torch.nn.Module"):
        num_params(dict(nn.Linear(2, 2).state_dict()))


def test_mlp_num_params_refuses_bad_widths():
    with pytest.raises(TypeError, match="widths is a int; pass a list of layer widths"):
        mlp_num_params(784)
    with pytest.raises(ValueError, match=r"widths\[1\]=0 must be >= 1"):
        mlp_num_params([784, 0, 10])
    with pytest.raises(TypeError, match=r"widths\[2\]=10.0 is a float"):
        mlp_num_params([784, 256, 10.0])


def test_conv_bn_and_residual_refuse_bad_channel_counts():
    with pytest.raises(ValueError, match="c_out=0 must be >= 1"):
        conv_bn(3, 0)
    with pytest.raises(TypeError, match="c_in=3.0 is a float"):
        conv_bn(3.0, 8)
    with pytest.raises(ValueError, match="channels=-4 must be >= 1"):
        Residual(-4)

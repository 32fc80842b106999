"""Bad input to the building blocks of helpers.models.llama raises an error naming the argument."""

import pytest
import torch

from helpers.models.llama import (Attention, Block, LlamaConfig, RMSNorm, SwiGLU, apply_rope, kv_cache_bytes,
                                  llama_num_params, read_safetensors, repeat_kv, rope_cos_sin, rope_frequencies,
                                  rotate_half, swiglu_hidden_size)


def _config():
    return LlamaConfig(vocab_size=10, n_embd=16, n_layer=1, n_head=2, n_kv_head=1, intermediate_size=32,
                       max_seq_len=8)


def test_swiglu_hidden_size_refuses_bad_widths():
    with pytest.raises(ValueError, match="n_embd=0 must be >= 1"):
        swiglu_hidden_size(0)
    with pytest.raises(TypeError, match="multiple_of=2.5 is a float"):
        swiglu_hidden_size(64, multiple_of=2.5)


def test_llama_num_params_and_kv_cache_bytes_refuse_a_dict_and_bad_sizes():
    config = _config()
    with pytest.raises(TypeError, match="config is a dict; pass a helpers.models.LlamaConfig"):
        llama_num_params(vars(config))
    with pytest.raises(TypeError, match="config is a dict"):
        kv_cache_bytes(vars(config), tokens=4)
    with pytest.raises(ValueError, match="tokens=-1 must be >= 0"):
        kv_cache_bytes(config, tokens=-1)
    with pytest.raises(ValueError, match="batch=0 must be >= 1"):
        kv_cache_bytes(config, tokens=4, batch=0)


def test_modules_refuse_a_dict_config_and_bad_widths():
    config = _config()
    with pytest.raises(TypeError, match="config is a dict"):
        Attention(vars(config))
    with pytest.raises(TypeError, match="config is a dict"):
        Block(vars(config))
    with pytest.raises(ValueError, match="intermediate_size=0 must be >= 1"):
        SwiGLU(16, 0)
    with pytest.raises(ValueError, match="dim=0 must be >= 1"):
        RMSNorm(0)
    with pytest.raises(ValueError, match="eps=-1e-06 must be >= 0"):
        RMSNorm(8, eps=-1e-6)


def test_rope_functions_refuse_odd_head_dims_and_bad_positions():
    with pytest.raises(ValueError, match="head_dim=7 must be even"):
        rope_frequencies(7)
    with pytest.raises(ValueError, match="theta=1.0 must be > 1.0"):
        rope_frequencies(8, theta=1.0)
    with pytest.raises(TypeError, match="positions is a range"):
        rope_cos_sin(range(4), 8)
    with pytest.raises(ValueError, match=r"positions must be a 1-D tensor \(T,\), got shape \(1, 4\)"):
        rope_cos_sin(torch.arange(4)[None], 8)
    with pytest.raises(ValueError, match=r"shape \(2, 3\); its last dimension must be even"):
        rotate_half(torch.zeros(2, 3))
    cos, sin = rope_cos_sin(torch.arange(4), 8)
    with pytest.raises(ValueError, match="head_dim"):
        apply_rope(torch.zeros(1, 2, 4, 6), cos, sin)
    with pytest.raises(ValueError, match="cos .* and sin .* must have one shape"):
        apply_rope(torch.zeros(1, 2, 4, 8), cos, sin[:, :4])
    with pytest.raises(TypeError, match="cos is a list"):
        apply_rope(torch.zeros(1, 2, 4, 8), cos.tolist(), sin)


def test_repeat_kv_refuses_bad_n_rep_and_shapes():
    with pytest.raises(ValueError, match="n_rep=0 must be >= 1"):
        repeat_kv(torch.zeros(1, 2, 3, 4), 0)
    with pytest.raises(ValueError, match=r"x must be \(B, n_kv_head, T, head_dim\), got shape \(2, 3, 4\)"):
        repeat_kv(torch.zeros(2, 3, 4), 2)


def test_read_safetensors_refuses_a_folder_without_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither model.safetensors nor model.safetensors.index.json"):
        read_safetensors(tmp_path)

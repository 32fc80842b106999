"""Bad input to helpers.models.attention and helpers.models.tiled_attention raises an error naming the argument."""

import pytest

from helpers.models.attention import attention_flops
from helpers.models.tiled_attention import peak_memory_bytes, visited_blocks


@pytest.mark.parametrize("args,match", [((0, 16), "T=0 must be a positive int"),
                                        ((8, 16.0), "n_embd=16.0 must be a positive int")])
def test_attention_flops_refuses(args, match):
    with pytest.raises(ValueError, match=match):
        attention_flops(*args)


def test_visited_blocks_refuses_bad_sizes():
    with pytest.raises(ValueError, match="block_k=0 must be a positive int"):
        visited_blocks(4, 4, 2, 0)
    with pytest.raises(ValueError, match="T_q=5 queries but only T_k=4 keys"):
        visited_blocks(5, 4, 2, 2, causal=True)


def test_peak_memory_bytes_refuses_a_non_callable():
    with pytest.raises(TypeError, match="fn is a int"):
        peak_memory_bytes(3)

"""Models of the book, one module per architecture."""

from .attention import (LearnedPositionalEmbedding, MultiHeadAttention, SinusoidalPositionalEncoding, attention_flops,
                        causal_mask, scaled_dot_product_attention, sinusoidal_positional_encoding)
from .mlp import MLP, mlp_num_params, num_params

__all__ = ["MLP", "mlp_num_params", "num_params",
           "LearnedPositionalEmbedding", "MultiHeadAttention", "SinusoidalPositionalEncoding", "attention_flops",
           "causal_mask", "scaled_dot_product_attention", "sinusoidal_positional_encoding"]

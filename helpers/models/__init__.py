"""Models of the book, one module per architecture."""

from .attention import (LearnedPositionalEmbedding, MultiHeadAttention, SinusoidalPositionalEncoding, attention_flops,
                        causal_mask, scaled_dot_product_attention, sinusoidal_positional_encoding)
from .cnn import CifarResNet, SimpleCNN, articles_cnn
from .gpt import GPT, GPTClassifier, GPTConfig, gpt_num_params
from .mlp import MLP, mlp_num_params, num_params
from .resnet import ResNet9
from .tiled_attention import (online_softmax, peak_memory_bytes, sliding_window_mask, tiled_attention,
                              visited_blocks)

__all__ = ["CifarResNet", "MLP", "ResNet9", "SimpleCNN", "articles_cnn", "mlp_num_params", "num_params",
           "GPT", "GPTClassifier", "GPTConfig", "gpt_num_params",
           "LearnedPositionalEmbedding", "MultiHeadAttention", "SinusoidalPositionalEncoding", "attention_flops",
           "causal_mask", "scaled_dot_product_attention", "sinusoidal_positional_encoding",
           "online_softmax", "peak_memory_bytes", "sliding_window_mask", "tiled_attention", "visited_blocks"]

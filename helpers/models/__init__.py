"""Models of the book, one module per architecture.

``helpers.models.tiled_attention`` (online softmax, tiled attention) is imported by its
full name: its function ``tiled_attention`` would otherwise hide the module here.
"""

from .attention import (LearnedPositionalEmbedding, MultiHeadAttention, SinusoidalPositionalEncoding, attention_flops,
                        causal_mask, scaled_dot_product_attention, sinusoidal_positional_encoding)
from .cnn import CifarResNet, SimpleCNN, articles_cnn
from .gpt import GPT, GPTClassifier, GPTConfig, gpt_num_params
from .llama import (Llama, LlamaConfig, download_pretrained, kv_cache_bytes, llama_num_params,
                    load_pretrained)
from .mlp import MLP, mlp_num_params, num_params
from .resnet import ResNet9

__all__ = ["CifarResNet", "MLP", "ResNet9", "SimpleCNN", "articles_cnn", "mlp_num_params", "num_params",
           "GPT", "GPTClassifier", "GPTConfig", "gpt_num_params",
           "Llama", "LlamaConfig", "download_pretrained", "kv_cache_bytes", "llama_num_params", "load_pretrained",
           "LearnedPositionalEmbedding", "MultiHeadAttention", "SinusoidalPositionalEncoding", "attention_flops",
           "causal_mask", "scaled_dot_product_attention", "sinusoidal_positional_encoding"]

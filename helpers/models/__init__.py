"""Models of the book, one module per architecture."""

from .gpt import GPT, GPTClassifier, GPTConfig, gpt_num_params
from .mlp import MLP, mlp_num_params, num_params

__all__ = ["GPT", "GPTClassifier", "GPTConfig", "MLP", "gpt_num_params", "mlp_num_params", "num_params"]

"""Models of the book, one module per architecture."""

from .cnn import CifarResNet, SimpleCNN, articles_cnn, conv_output_size
from .mlp import MLP, mlp_num_params, num_params

__all__ = ["CifarResNet", "MLP", "SimpleCNN", "articles_cnn", "conv_output_size", "mlp_num_params", "num_params"]

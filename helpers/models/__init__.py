"""Models of the book, one module per architecture."""

from .mlp import MLP, mlp_num_params, num_params

__all__ = ["MLP", "mlp_num_params", "num_params"]

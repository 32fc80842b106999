"""helpers: the code behind 《大模型原理与应用》.

One module per concept:

- ``helpers.env``         seeding, device selection, run scale (``setup``)
- ``helpers.data``        deterministic splits, standardisation, DataLoaders
- ``helpers.augment``     image augmentation for training batches (crop, flip)
- ``helpers.datasets``    real datasets bundled in installed packages (offline)
- ``helpers.models``      model architectures (``MLP`` ...)
- ``helpers.train``       ``fit`` / ``evaluate`` and the ``History`` they return
- ``helpers.optim``       SGD (momentum, Nesterov), Adam, AdamW from their update equations
- ``helpers.metrics``     accuracy, precision, recall, F1, confusion matrix
- ``helpers.plot``        the book's figure style, training curves, confusion matrices
- ``helpers.checkpoint``  atomic ``save_checkpoint`` / safe ``load_checkpoint``
"""

__version__ = "0.1.0"

from . import augment, optim
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .data import Standardizer, make_loader, train_val_test_split
from .datasets import MissingDataError, load_mnist_subset, load_peoples_daily, load_review_sentiment
from .env import Env, get_device, get_scale, seed_everything, setup
from .metrics import accuracy, confusion_matrix, f1_score, precision_score, recall_score
from .models import MLP, mlp_num_params, num_params
from .plot import plot_confusion_matrix, plot_history, use_book_style
from .train import History, evaluate, fit, logits_to_labels

__all__ = [
    "Env", "History", "MLP", "MissingDataError", "Standardizer",
    "accuracy", "confusion_matrix", "evaluate", "f1_score", "fit", "get_device", "get_scale",
    "load_checkpoint", "load_mnist_subset", "load_peoples_daily", "load_review_sentiment", "logits_to_labels", "read_checkpoint", "make_loader", "mlp_num_params", "num_params",
    "plot_confusion_matrix", "plot_history", "precision_score", "recall_score",
    "save_checkpoint", "seed_everything", "setup", "train_val_test_split", "use_book_style",
]

"""helpers: the code behind 《大模型原理与应用》.

One module per concept:

- ``helpers.env``         seeding, device selection, run scale (``setup``)
- ``helpers.data``        deterministic splits, standardisation, DataLoaders
- ``helpers.augment``     image augmentation for training batches (crop, flip)
- ``helpers.datasets``    real datasets bundled in installed packages (offline)
- ``helpers.downloads``   full-scale MNIST, Fashion-MNIST, CIFAR-10: downloaded, checked, parsed
- ``helpers.models``      model architectures (``MLP``, ``SimpleCNN``, ``CifarResNet``, ``MultiHeadAttention`` ...)
- ``helpers.scratch``     a NumPy MLP with hand-written backprop, finite-difference gradient check
- ``helpers.conv``        conv2d by loops and by im2col, output-size rule, pooling
- ``helpers.train``       ``fit`` / ``evaluate`` and the ``History`` they return
- ``helpers.metrics``     accuracy, precision, recall, F1, confusion matrix
- ``helpers.plot``        the book's figure style, training curves, confusion matrices
- ``helpers.checkpoint``  atomic ``save_checkpoint`` / safe ``load_checkpoint``
- ``helpers.logistic``    logistic regression from scratch in NumPy (loss, gradient, GD)
- ``helpers.text_features`` bag-of-characters features for Chinese text (``CharVocab``)
- ``helpers.cost``        training/inference compute and cost (6·N·D, 2·N per token), break-even
- ``helpers.recommend``   matrix-factorisation recommender and synthetic low-rank ratings
- ``helpers.anomaly``     rolling z-score anomaly detection for 1-D signals
"""

__version__ = "0.1.0"

from . import anomaly, augment, conv, cost, downloads, recommend, scratch
from .conv import conv_output_size
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .data import Standardizer, make_loader, train_val_test_split
from .datasets import MissingDataError, load_mnist_subset, load_peoples_daily, load_review_sentiment
from .downloads import DownloadError, load_cifar10, load_fashion_mnist, load_mnist
from .env import Env, get_device, get_scale, seed_everything, setup
from .metrics import accuracy, confusion_matrix, f1_score, precision_score, recall_score
from .models import MLP, CifarResNet, MultiHeadAttention, SimpleCNN, articles_cnn, mlp_num_params, num_params
from .plot import plot_confusion_matrix, plot_history, use_book_style
from .train import History, evaluate, fit, logits_to_labels
from .datasets import load_peoples_daily_tagged
from .logistic import LogisticRegressionGD, bce_grad, bce_loss, sigmoid
from .plot import plot_decision_boundary
from .text_features import CharVocab, bag_of_chars

__all__ = [
    "Env", "History", "MLP", "MissingDataError", "Standardizer",
    "DownloadError", "load_cifar10", "load_fashion_mnist", "load_mnist",
    "CifarResNet", "SimpleCNN", "articles_cnn", "conv_output_size",
    "MultiHeadAttention", "conv", "scratch",
    "accuracy", "confusion_matrix", "evaluate", "f1_score", "fit", "get_device", "get_scale",
    "load_checkpoint", "load_mnist_subset", "load_peoples_daily", "load_review_sentiment", "logits_to_labels", "read_checkpoint", "make_loader", "mlp_num_params", "num_params",
    "plot_confusion_matrix", "plot_history", "precision_score", "recall_score",
    "save_checkpoint", "seed_everything", "setup", "train_val_test_split", "use_book_style",
    # binary and text classification (part 5)
    "CharVocab", "LogisticRegressionGD", "bag_of_chars", "bce_grad", "bce_loss",
    "load_peoples_daily_tagged", "plot_decision_boundary", "sigmoid",
]

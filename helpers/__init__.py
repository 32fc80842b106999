"""helpers: the code behind 《大模型原理与应用》.

One module per concept:

- ``helpers.env``           seeding, device selection, run scale (``setup``)
- ``helpers.threads``       CPU thread settings that stay fast on a busy machine (``thread_setting``)
- ``helpers.data``          deterministic splits, standardisation, DataLoaders
- ``helpers.datasets``      real datasets bundled in installed packages (offline)
- ``helpers.downloads``     full-scale MNIST, Fashion-MNIST, CIFAR-10: downloaded, checked, parsed
- ``helpers.corpora``       downloadable text corpora for language modelling (chinese-poetry)
- ``helpers.augment``       image augmentation for training batches (crop, flip)
- ``helpers.models``        architectures: ``MLP``, ``SimpleCNN``, ``CifarResNet``, ``ResNet9``, ``MultiHeadAttention``, ``GPT``
- ``helpers.models.llama``  the Llama/Qwen decoder (``Llama``): RMSNorm, RoPE, SwiGLU, GQA; real-weight loader
- ``helpers.models.tiled_attention`` online softmax and tiled (FlashAttention-style) attention, sliding windows
- ``helpers.scratch``       a NumPy MLP with hand-written backprop, finite-difference gradient check
- ``helpers.conv``          conv2d by loops and by im2col, output-size rule, pooling
- ``helpers.optim``         SGD (momentum, Nesterov), Adam, AdamW from their update equations
- ``helpers.train``         ``fit`` / ``evaluate`` and the ``History`` they return
- ``helpers.metrics``       accuracy, precision, recall, F1, confusion matrix
- ``helpers.logistic``      logistic regression from scratch in NumPy (loss, gradient, GD)
- ``helpers.text_features`` bag-of-characters features for Chinese text (``CharVocab``)
- ``helpers.text``          character tokenizer and language-model batches
- ``helpers.lm``            n-gram baselines and the GPT training loop (``train_lm``)
- ``helpers.lora``          LoRA adapters for linear layers
- ``helpers.recommend``     matrix-factorisation recommender and synthetic low-rank ratings
- ``helpers.anomaly``       rolling z-score anomaly detection for 1-D signals
- ``helpers.cost``          training/inference compute and cost (6·N·D, 2·N per token), break-even
- ``helpers.scaling``       scaling laws: non-embedding parameters, power-law fits, Chinchilla-optimal N and D
- ``helpers.plot``          the book's figure style, training curves, confusion matrices, decision boundaries
- ``helpers.checkpoint``    atomic ``save_checkpoint`` / safe ``load_checkpoint``
- ``helpers.atomic``        a file appears complete or not at all (``atomic_path``)
- ``helpers.privacy``       client splits, federated averaging (``fedavg``), DP-SGD (``dp_sgd_step``)
- ``helpers.interpret``     saliency maps: gradient, gradient x input, integrated gradients
- ``helpers.recipes``       full-scale CIFAR-10 training recipe with a JSON log (``train_cifar10``)
- ``helpers.compress``      magnitude pruning, int8 quantisation, knowledge-distillation loss
- ``helpers.distributed``   data-parallel training in real processes (``launch``, gloo, DDP)
- ``helpers.efficiency``    timing, saved-activation bytes, gradient accumulation, activation checkpointing
- ``helpers.deploy``        ONNX export (atomic) and an ONNX Runtime predictor with input validation
- ``helpers.llm``           the chat-model lifecycle in reading order: ``llm.bpe`` byte-level BPE tokenizer (``ByteBPE``)
"""

__version__ = "0.1.0"

# First, before anything imports torch: OpenMP threads that sleep when idle (see helpers.threads).
from . import threads  # noqa: I001  (import order matters)
from .threads import thread_setting
from . import (anomaly, augment, compress, conv, corpora, cost, deploy, distributed, downloads, efficiency,
               interpret, llm, optim, privacy, recipes, recommend, scaling, scratch)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .compress import (distillation_loss, global_magnitude_prune, quantize_linear_int8, remove_pruning, sparsity,
                       state_dict_bytes)
from .conv import conv_output_size
from .corpora import download_chinese_poetry, load_chinese_poetry
from .data import Standardizer, make_loader, train_val_test_split
from .deploy import OnnxPredictor, check_input, export_onnx, max_abs_diff
from .efficiency import (accumulate_gradients, accumulated_step, run_blocks, saved_activation_bytes,
                         time_per_call)
from .datasets import (MissingDataError, load_mnist_subset, load_peoples_daily, load_peoples_daily_tagged,
                       load_review_sentiment)
from .distributed import all_reduce_mean, get_rank, get_world_size, is_main_process, launch
from .downloads import DownloadError, load_cifar10, load_fashion_mnist, load_mnist
from .env import Env, find_upwards, get_device, get_scale, seed_everything, setup
from .llm import ByteBPE, PretrainedTokenizer, load_qwen_tokenizer
from .lm import BigramLM, UnigramLM, train_lm
from .logistic import LogisticRegressionGD, bce_grad, bce_loss, sigmoid
from .lora import LoRALinear, apply_lora, merge_lora, unmerge_lora
from .metrics import accuracy, confusion_matrix, f1_score, precision_score, recall_score
from .models import (GPT, MLP, CifarResNet, GPTClassifier, GPTConfig, MultiHeadAttention, ResNet9, SimpleCNN,
                     articles_cnn, gpt_num_params, mlp_num_params, num_params)
from .models.llama import (Llama, LlamaConfig, download_pretrained, kv_cache_bytes, llama_num_params,
                           load_pretrained)
from .models.tiled_attention import online_softmax, sliding_window_mask, tiled_attention
from .scaling import chinchilla_optimal, fit_power_law, fit_power_law_offset, non_embedding_params
from .plot import plot_confusion_matrix, plot_decision_boundary, plot_history, use_book_style
from .recipes import CifarRun, cifar10_data, train_cifar10
from .text import CharTokenizer, get_batch
from .text_features import CharVocab, bag_of_chars
from .train import History, evaluate, fit, logits_to_labels
from .interpret import gradient_times_input, integrated_gradients, randomized_copy, saliency
from .privacy import (clip_per_sample, dp_sgd_step, fedavg, label_histogram, local_train, per_sample_grads,
                      per_sample_norms, split_clients, weighted_average)

__all__ = [
    # modules used by name (helpers.conv.conv2d_loops, ...)
    "anomaly", "augment", "compress", "conv", "corpora", "cost", "deploy", "distributed", "downloads", "efficiency",
    "interpret", "optim", "privacy", "recipes", "recommend", "scaling", "scratch", "threads", "thread_setting",
    # environment, data
    "Env", "find_upwards", "get_device", "get_scale", "seed_everything", "setup",
    "Standardizer", "make_loader", "train_val_test_split",
    "MissingDataError", "load_mnist_subset", "load_peoples_daily", "load_peoples_daily_tagged", "load_review_sentiment",
    "DownloadError", "load_cifar10", "load_fashion_mnist", "load_mnist",
    "download_chinese_poetry", "load_chinese_poetry",
    # models
    "MLP", "mlp_num_params", "num_params", "CifarResNet", "ResNet9", "SimpleCNN", "articles_cnn", "conv_output_size",
    "MultiHeadAttention", "GPT", "GPTClassifier", "GPTConfig", "gpt_num_params",
    "Llama", "LlamaConfig", "download_pretrained", "kv_cache_bytes", "llama_num_params", "load_pretrained",
    "online_softmax", "sliding_window_mask", "tiled_attention",
    # training, metrics, plots, checkpoints
    "History", "evaluate", "fit", "logits_to_labels", "CifarRun", "cifar10_data", "train_cifar10",
    "accuracy", "confusion_matrix", "f1_score", "precision_score", "recall_score",
    "plot_confusion_matrix", "plot_decision_boundary", "plot_history", "use_book_style",
    "load_checkpoint", "read_checkpoint", "save_checkpoint",
    # data-parallel training
    "launch", "all_reduce_mean", "get_rank", "get_world_size", "is_main_process",
    # classification from scratch, text features
    "LogisticRegressionGD", "bce_grad", "bce_loss", "sigmoid", "CharVocab", "bag_of_chars",
    # language models
    "BigramLM", "UnigramLM", "train_lm", "CharTokenizer", "get_batch",
    "LoRALinear", "apply_lora", "merge_lora", "unmerge_lora",
    # privacy and interpretability
    "split_clients", "label_histogram", "weighted_average", "local_train", "fedavg",
    "per_sample_grads", "per_sample_norms", "clip_per_sample", "dp_sgd_step",
    "saliency", "gradient_times_input", "integrated_gradients", "randomized_copy",
    # scaling laws
    "chinchilla_optimal", "fit_power_law", "fit_power_law_offset", "non_embedding_params",
    # model compression
    "distillation_loss", "global_magnitude_prune", "quantize_linear_int8", "remove_pruning", "sparsity",
    "state_dict_bytes",
    # efficient training, deployment
    "accumulate_gradients", "accumulated_step", "run_blocks", "saved_activation_bytes", "time_per_call",
    "OnnxPredictor", "check_input", "export_onnx", "max_abs_diff",
    # tokenizers
    "llm", "ByteBPE", "PretrainedTokenizer", "load_qwen_tokenizer",
]

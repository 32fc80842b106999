"""helpers.llm: the chat-model lifecycle, one module per stage, in reading order.

- ``helpers.llm.bpe``     byte-level BPE tokenizer written from scratch (``ByteBPE``), export to the
                          ``tokenizers`` library, and the Qwen production vocabulary read offline
- ``helpers.llm.classify`` a classification head on a pretrained decoder (``SequenceClassifier``: pooled
                          hidden states -> linear), padding with a mask, training and prediction

Later stages (the book model, SFT, preference tuning, evaluation, retrieval, serving)
add their modules here in the order a reader meets them.
"""

from .bpe import SPECIAL_TOKENS, SPLIT_PATTERN, ByteBPE, PretrainedTokenizer, load_qwen_tokenizer
from .classify import SequenceClassifier, pad_batch, pooled_features, predict, train_classifier

__all__ = ["ByteBPE", "PretrainedTokenizer", "SPECIAL_TOKENS", "SPLIT_PATTERN", "load_qwen_tokenizer",
           "SequenceClassifier", "pad_batch", "pooled_features", "predict", "train_classifier"]

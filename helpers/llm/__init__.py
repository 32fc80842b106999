"""helpers.llm: the chat-model lifecycle, one module per stage, in reading order.

- ``helpers.llm.bpe``        byte-level BPE tokenizer written from scratch (``ByteBPE``), export to the
                             ``tokenizers`` library, and the Qwen production vocabulary read offline
- ``helpers.llm.corpus``     the pretraining corpus: cleaning, deduplication, held-out split by document
- ``helpers.llm.ngram``      an interpolated Kneser-Ney character n-gram (the baseline to beat)
- ``helpers.llm.pretrain``   token streams, random training windows, held-out nats per character
- ``helpers.llm.book_model`` the shipped book model: save, verify checksums, load (Hugging Face layout)
- ``helpers.llm.classify``   a classification head on a pretrained decoder (``SequenceClassifier``)
- ``helpers.llm.chat``       the ChatML chat template: ids and the mask of the assistant's tokens
- ``helpers.llm.tasks``      instruction tasks with answers a program checks, split by source item
- ``helpers.llm.sft``        supervised fine-tuning on the replies only, and greedy replies to prompts
- ``helpers.llm.dpo``        direct preference optimisation: sequence log-probabilities, the DPO loss
- ``helpers.llm.grpo``       GRPO: group-relative advantages, clipped surrogate with a KL penalty, one step
- ``helpers.llm.evaluate``   exact match, multiple choice by log-likelihood, error bars, contamination

Later stages (retrieval, tools, serving) add their modules here in the
order a reader meets them.
"""

from .bpe import SPECIAL_TOKENS, SPLIT_PATTERN, ByteBPE, PretrainedTokenizer, load_qwen_tokenizer
from .chat import CHAT_TEMPLATE, decode_reply, encode_chat, format_chat, prompt_ids
from .classify import SequenceClassifier, pad_batch, pooled_features, predict, train_classifier
from .dpo import dpo_loss, sequence_logprobs, train_dpo
from .evaluate import bootstrap_ci, choice_logprobs, exact_match, ngram_overlap, standard_error
from .grpo import group_advantages, grpo_loss, grpo_step
from .sft import collate, generate_replies, sft_example, sft_examples, sft_loss, train_sft
from .tasks import TaskItem, build_tasks, check_disjoint, conversation, task_items

__all__ = ["ByteBPE", "PretrainedTokenizer", "SPECIAL_TOKENS", "SPLIT_PATTERN", "load_qwen_tokenizer",
           "SequenceClassifier", "pad_batch", "pooled_features", "predict", "train_classifier",
           "CHAT_TEMPLATE", "decode_reply", "encode_chat", "format_chat", "prompt_ids",
           "TaskItem", "build_tasks", "check_disjoint", "conversation", "task_items",
           "collate", "generate_replies", "sft_example", "sft_examples", "sft_loss", "train_sft",
           "dpo_loss", "sequence_logprobs", "train_dpo", "group_advantages", "grpo_loss", "grpo_step",
           "bootstrap_ci", "choice_logprobs", "exact_match", "ngram_overlap", "standard_error"]

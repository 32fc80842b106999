"""Evaluating language models honestly: exact match, multiple choice by likelihood, error bars, contamination.

    exact_match(["yin2 hang2", "bei3"], ["yin2 hang2", "bei3 jing1"])        # 0.5
    choice_logprobs(model, tok, "中国的首都是", ["北京", "上海"])              # tensor([-1.2, -5.3])
    low, high = bootstrap_ci(correct, confidence=0.95, seed=0)                # interval of the mean
    ngram_overlap(test_text, train_texts, n=8)                                # share of test n-grams seen

- **Exact match**: the reply equals the reference after the same light normalisation on both sides
  (surrounding blanks removed); anything else is wrong, so it is strict and unambiguous.
- **Multiple choice by log-likelihood** (how C-Eval/CMMLU-style benchmarks score base models): the
  model does not write an answer; each option's tokens are scored after the prompt, and the option
  with the highest total log-probability is the model's choice (``normalize=True`` divides by the
  number of tokens, so long options are not penalised for their length).
- **Error bars**: an accuracy measured on ``n`` questions has standard error ``sqrt(p(1-p)/n)``;
  :func:`bootstrap_ci` gives a percentile bootstrap interval for any mean.
- **Contamination**: the share of the test text's character n-grams that also occur in the
  training text; a high share means the "held-out" questions were seen in training.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_float, check_int, check_type


def _texts(name: str, values) -> list[str]:
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a list of strings, got {type(values).__name__}")
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(v).__name__}")
    return values


def exact_match(predictions, references) -> float:
    """Share of ``predictions`` equal to their ``references`` after stripping surrounding whitespace."""
    preds, refs = _texts("predictions", predictions), _texts("references", references)
    if len(preds) != len(refs) or not preds:
        raise ValueError(f"predictions and references must be non-empty and of equal length, "
                         f"got {len(preds)} and {len(refs)}")
    return sum(p.strip() == r.strip() for p, r in zip(preds, refs)) / len(preds)


def standard_error(p: float, n: int) -> float:
    """Standard error ``sqrt(p(1-p)/n)`` of an accuracy ``p`` measured on ``n`` independent questions."""
    check_float("p", p, min=0.0, max=1.0)
    check_int("n", n, min=1)
    return math.sqrt(p * (1 - p) / n)


def bootstrap_ci(values, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. 0/1 per question).

    Draws ``n_resamples`` samples of ``len(values)`` with replacement (NumPy generator seeded by
    ``seed``) and returns the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of their means.
    """
    check_float("confidence", confidence, min=0.0, max=1.0, min_inclusive=False, max_inclusive=False)
    check_int("n_resamples", n_resamples, min=100)
    check_int("seed", seed, min=0)
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.isfinite(x).all():
        raise ValueError(f"values must be a 1-D sequence of at least 2 finite numbers, got shape {x.shape}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


@torch.no_grad()
def choice_logprobs(model, tok, prompt: str, choices, normalize: bool = False) -> torch.Tensor:
    """``(len(choices),)`` total log-probability of each choice's tokens after ``prompt`` (mean per token if ``normalize``).

    ``prompt`` and each choice are encoded separately and concatenated, so every choice is scored
    after exactly the same prompt tokens. ``model(idx) -> (logits, loss)`` (``Llama`` or ``GPT``).
    """
    check_type("prompt", prompt, str)
    options = _texts("choices", choices)
    if len(options) < 2:
        raise ValueError(f"choices must hold at least 2 options, got {len(options)}")
    context = tok.encode(prompt)
    if not context:
        raise ValueError("prompt is empty: a choice's first token needs a context to be scored after")
    scores = []
    was_training = model.training
    model.eval()
    try:
        for i, option in enumerate(options):
            ids = tok.encode(option)
            if not ids:
                raise ValueError(f"choices[{i}] is empty: it has no token to score")
            full = torch.tensor([context + ids])
            if full.shape[1] > model.config.max_seq_len:
                raise ValueError(f"prompt + choices[{i}] is {full.shape[1]} tokens, more than the model's "
                                 f"max_seq_len={model.config.max_seq_len}; shorten the prompt")
            logp = F.log_softmax(model(full[:, :-1])[0][0].float(), dim=-1)        # (T-1, V)
            positions = torch.arange(len(context) - 1, full.shape[1] - 1)
            total = logp[positions, full[0, len(context):]].sum()
            scores.append(total / len(ids) if normalize else total)
    finally:
        model.train(was_training)
    return torch.stack(scores)


def _ngrams(text: str, n: int) -> set[str]:
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def ngram_overlap(test_text: str, train_texts, n: int = 8) -> float:
    """Share of the distinct character ``n``-grams of ``test_text`` that occur in any of ``train_texts``."""
    check_type("test_text", test_text, str)
    check_int("n", n, min=1)
    train = _texts("train_texts", train_texts)
    grams = _ngrams(test_text, n)
    if not grams:
        raise ValueError(f"test_text has {len(test_text)} characters, fewer than n={n}: no n-gram to check")
    seen: set[str] = set()
    for t in train:
        seen |= grams & _ngrams(t, n)
    return len(seen) / len(grams)

"""Evaluating language models honestly: exact match, multiple choice by likelihood, error bars, contamination.

    exact_match(["yin2 hang2", "bei3"], ["yin2 hang2", "bei3 jing1"])        # 0.5
    choice_logprobs(model, tok, "中国的首都是", ["北京", "上海"])              # tensor([-1.2, -5.3])
    low, high = bootstrap_ci(correct, confidence=0.95, seed=0)                # interval of the mean
    ngram_overlap(test_text, train_texts, n=8)                                # share of test n-grams seen
    scores = choice_logprobs_batch(model, tok, prompts, options)              # (N, K), each prompt read once
    complete(base, tok, ["词语：银行\\n字数：2\\n\\n词语：学校\\n字数："])  # greedy plain-text continuation

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



def ngram_overlaps(test_texts, train_texts, n: int = 8) -> list[float]:
    """:func:`ngram_overlap` of each of ``test_texts`` (one float per text), the training n-grams collected once.

    Every test text must have at least ``n`` characters. Use it to find *which* items were seen:
    ``ngram_overlaps(reviews, corpus_train)[i] == 1.0`` means every ``n``-gram of review ``i`` occurs in
    the training text.
    """
    tests = _texts("test_texts", test_texts)
    check_int("n", n, min=1)
    train = _texts("train_texts", train_texts)
    if not tests:
        raise ValueError("test_texts is empty: no text to check")
    grams = [_ngrams(t, n) for t in tests]
    for i, g in enumerate(grams):
        if not g:
            raise ValueError(f"test_texts[{i}] has {len(tests[i])} characters, fewer than n={n}: no n-gram to check")
    wanted = set().union(*grams)
    seen: set[str] = set()
    for t in train:
        seen |= wanted & _ngrams(t, n)
    return [len(g & seen) / len(g) for g in grams]


@torch.no_grad()
def choice_logprobs_batch(model, tok, prompts, choices, normalize: bool = False,
                          batch_size: int = 64) -> torch.Tensor:
    """``(N, K)`` :func:`choice_logprobs` of ``N`` questions with ``K`` options each, the prompt read once.

    ``prompts``: ``N`` strings; ``choices``: ``N`` lists of ``K`` option strings (the same ``K`` for
    every question). Questions whose prompts have the same number of tokens are run together,
    ``batch_size`` at a time: the prompts go through the model once, filling a key/value cache
    (``model.features`` with a cache, as in generation; the output layer is applied to the last
    prompt position only), and the ``K`` options of each question continue
    from a copy of its cache, right-padded to the longest option (the decoder is causal, so the
    padding after an option never changes its scores). The result equals :func:`choice_logprobs`
    question by question, up to floating-point summation order, at a fraction of the cost when the
    prompts are longer than the options. ``model``: a :class:`helpers.models.llama.Llama`.
    """
    from ..models.gpt import KVCache

    prompts = _texts("prompts", prompts)
    check_int("batch_size", batch_size, min=1)
    if not prompts:
        raise ValueError("prompts is empty: no question to score")
    if isinstance(choices, str) or not hasattr(choices, "__len__") or len(choices) != len(prompts):
        got = len(choices) if hasattr(choices, "__len__") and not isinstance(choices, str) else type(choices).__name__
        raise ValueError(f"choices must hold one option list per prompt ({len(prompts)} prompts), got {got}")
    options = [_texts(f"choices[{i}]", c) for i, c in enumerate(choices)]
    k = len(options[0])
    if k < 2 or any(len(c) != k for c in options):
        raise ValueError(f"every question needs the same number (at least 2) of options; "
                         f"got {sorted({len(c) for c in options})} options per question")
    contexts, option_ids = [], []
    for i, (prompt, opts) in enumerate(zip(prompts, options)):
        context = tok.encode(prompt)
        if not context:
            raise ValueError(f"prompts[{i}] is empty: a choice's first token needs a context to be scored after")
        ids = [tok.encode(o) for o in opts]
        for j, o in enumerate(ids):
            if not o:
                raise ValueError(f"choices[{i}][{j}] is empty: it has no token to score")
            if len(context) + len(o) > model.config.max_seq_len:
                raise ValueError(f"prompts[{i}] + choices[{i}][{j}] is {len(context) + len(o)} tokens, more than "
                                 f"the model's max_seq_len={model.config.max_seq_len}; shorten the prompt")
        contexts.append(context)
        option_ids.append(ids)
    by_length: dict[int, list[int]] = {}
    for i, context in enumerate(contexts):
        by_length.setdefault(len(context), []).append(i)
    scores = torch.empty(len(prompts), k)
    was_training = model.training
    model.eval()
    try:
        for length, group in sorted(by_length.items()):
            for b in range(0, len(group), batch_size):
                rows = group[b:b + batch_size]
                cache = KVCache(model.config.n_layer)
                hidden = model.features(torch.tensor([contexts[i] for i in rows]), cache)[:, -1]   # (B, d)
                first = F.log_softmax(model.lm_head(hidden).float(), dim=-1)   # (B, V): only the last position
                opts = [o for i in rows for o in option_ids[i]]                                 # B*K option id lists
                total = first.repeat_interleave(k, dim=0)[torch.arange(len(opts)), [o[0] for o in opts]]
                longest = max(len(o) for o in opts)
                if longest > 1:
                    cache.layers = [(kk.repeat_interleave(k, dim=0), vv.repeat_interleave(k, dim=0))
                                    for kk, vv in cache.layers]
                    x = torch.zeros(len(opts), longest, dtype=torch.long)
                    target = torch.full((len(opts), longest - 1), -1, dtype=torch.long)
                    for r, o in enumerate(opts):
                        x[r, :len(o)] = torch.tensor(o)
                        target[r, :len(o) - 1] = torch.tensor(o[1:])
                    logp = F.log_softmax(model.forward_cached(x[:, :-1], cache).float(), dim=-1)  # (B*K, L-1, V)
                    picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                    total = total + (picked * (target >= 0)).sum(dim=1)
                scores[rows] = total.view(len(rows), k)
    finally:
        model.train(was_training)
    if normalize:
        scores = scores / torch.tensor([[len(o) for o in ids] for ids in option_ids], dtype=torch.float)
    return scores


@torch.no_grad()
def complete(model, tok, prompts, max_new_tokens: int = 8, stop: str = "\n") -> list[str]:
    """Greedy plain-text continuation of each prompt (no chat template), cut before the first ``stop``.

    For base models and few-shot prompts: ``complete(base, tok, ["词语：银行\\n字数：2\\n\\n词语：学校\\n字数："])``
    returns one string per prompt (``["2"]`` from a model that has picked up the pattern). Prompts of
    equal token length are generated together (no padding, so each continuation equals the one
    generated alone); ``prompt + max_new_tokens`` must fit the model's context.
    """
    prompts = _texts("prompts", prompts)
    if not prompts:
        raise ValueError("prompts is empty: nothing to complete")
    check_int("max_new_tokens", max_new_tokens, min=1)
    check_type("stop", stop, str)
    encoded = [tok.encode(p) for p in prompts]
    out: list[str | None] = [None] * len(prompts)
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        if not ids:
            raise ValueError(f"prompts[{i}] is empty: there is nothing to continue")
        if len(ids) + max_new_tokens > model.config.max_seq_len:
            raise ValueError(f"prompts[{i}] is {len(ids)} tokens; with max_new_tokens={max_new_tokens} it exceeds "
                             f"max_seq_len={model.config.max_seq_len}: use fewer examples or tokens")
        by_length.setdefault(len(ids), []).append(i)
    for length, rows in sorted(by_length.items()):
        idx = torch.tensor([encoded[i] for i in rows], dtype=torch.long)
        new = model.generate(idx, max_new_tokens, temperature=0.0)[:, length:]
        for r, i in enumerate(rows):
            text = tok.decode(new[r].tolist())
            out[i] = text.split(stop)[0] if stop else text
    return out

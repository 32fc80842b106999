"""Character n-gram language model with interpolated Kneser–Ney smoothing: the baseline to beat.

    lm = KneserNeyLM.fit(train_text, order=4)
    lm.nats_per_char(held_out_text)          # mean -log p(char | previous order-1 chars)
    lm.prob("民", "中国人")                  # p(民 | 人民 ...) using the last order-1 characters

The estimate (Chen & Goodman 1999, "interpolated Kneser–Ney"), for a context ``h`` of
``k - 1`` characters and the context ``h'`` that drops its first character::

    p_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h •)  +  D_k · N_k(h •) / c_k(h •) · p_{k-1}(w | h')

- at the highest order ``c`` is the ordinary count; at every lower order it is the
  *continuation count* ``N1+(• h w)``, the number of different characters seen before ``h w``
  (a character that follows many contexts is a likely continuation of a new one);
- ``c_k(h •)`` sums ``c_k(h w)`` over ``w``; ``N_k(h •)`` counts the ``w`` with ``c_k(h w) > 0``;
- ``D_k = n1 / (n1 + 2 n2)`` from the number of n-grams of that order seen once and twice;
- a context never seen gives all its mass to the shorter context; below the unigram is the
  uniform distribution over the training characters plus one "unknown" slot, so a character
  never seen in training still has a probability (the slot's) and the loss stays finite.

For every context the probabilities over the vocabulary (training characters + unknown) sum
to one; the tests check it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from .._validate import check_int, check_type


class KneserNeyLM:
    """Interpolated Kneser–Ney over characters. Build with :meth:`fit`."""

    def __init__(self, order: int, counts: list[dict[str, int]], vocab: frozenset[str]):
        self.order = order
        self.vocab = vocab                     # training characters; the unknown slot is extra
        self.counts = counts                   # counts[k]: n-gram (len k) -> count used at order k
        self.context_total: list[dict[str, int]] = [dict() for _ in range(order + 1)]
        self.context_types: list[dict[str, int]] = [dict() for _ in range(order + 1)]
        self.discount = [0.0] * (order + 1)
        for k in range(1, order + 1):
            total, types = defaultdict(int), defaultdict(int)
            for gram, c in counts[k].items():
                total[gram[:-1]] += c
                types[gram[:-1]] += 1
            self.context_total[k], self.context_types[k] = dict(total), dict(types)
            of = Counter(counts[k].values())
            n1, n2 = of.get(1, 0), of.get(2, 0)
            self.discount[k] = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
        self.uniform = 1.0 / (len(vocab) + 1)

    @classmethod
    def fit(cls, text: str, order: int = 4) -> "KneserNeyLM":
        """Count ``text`` (a str; newlines are ordinary characters) up to ``order``-grams."""
        check_type("text", text, str, "str")
        check_int("order", order, min=1, max=10)
        if len(text) < order:
            raise ValueError(f"text has {len(text)} characters, fewer than order={order}; give more text")
        raw = [dict()] + [Counter(text[i:i + k] for i in range(len(text) - k + 1)) for k in range(1, order + 1)]
        counts: list[dict[str, int]] = [dict() for _ in range(order + 1)]
        counts[order] = dict(raw[order])
        for k in range(1, order):
            cont: dict[str, int] = defaultdict(int)
            for gram in raw[k + 1]:
                cont[gram[1:]] += 1            # one more distinct character seen before gram[1:]
            cont[text[:k]] += 1                # the text's start is one more distinct left context
            counts[k] = dict(cont)
        return cls(order, counts, frozenset(raw[1]))

    def prob(self, char: str, context: str = "") -> float:
        """p(``char`` | the last ``order - 1`` characters of ``context``)."""
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"char={char!r} must be one character")
        check_type("context", context, str, "str")
        return self._prob(char, context[len(context) - (self.order - 1):] if self.order > 1 else "")

    def _prob(self, w: str, h: str) -> float:
        p = self.uniform
        for k in range(1, len(h) + 2):         # from the unigram up to the full context
            ctx = h[len(h) - (k - 1):] if k > 1 else ""
            total = self.context_total[k].get(ctx)
            if not total:
                continue                        # unseen context: keep the shorter estimate
            d = self.discount[k]
            c = self.counts[k].get(ctx + w, 0)
            p = max(c - d, 0.0) / total + d * self.context_types[k][ctx] / total * p
        return p

    def nats_per_char(self, text: str, context: str = "\n") -> float:
        """Mean ``-log p`` of each character of ``text`` given the ones before it (``context`` first)."""
        check_type("text", text, str, "str")
        if not text:
            raise ValueError("text is empty; give at least one character to score")
        full = context + text
        start = len(context)
        n = self.order - 1
        total = 0.0
        for i in range(start, len(full)):
            total -= math.log(self._prob(full[i], full[max(0, i - n):i]))
        return total / len(text)

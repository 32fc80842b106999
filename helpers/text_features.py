"""Bag-of-characters features for Chinese text.

Chinese is written without spaces between words, so the simplest useful
features count characters, not words::

    vocab = CharVocab(max_size=1000).fit(train_texts)      # most frequent chars of the TRAINING texts
    X_train = vocab.transform(train_texts)                  # scipy.sparse CSR, (N, 1000) float32 counts
    X_test = vocab.transform(test_texts)                    # same columns; unseen chars are dropped

Fit the vocabulary on the training split only: choosing columns by looking at
the test texts is a (small) leak, like standardising with test statistics.
Whitespace is never a feature. Column ``j`` counts the character
``vocab.chars[j]``; columns are ordered by training frequency (ties: by code point).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp


def _check_texts(texts, name: str = "texts") -> Sequence[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a sequence of strings, got a single str "
                        f"({texts[:20]!r}...); wrap it in a list: [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__}, not str")
    return texts


class CharVocab:
    """The ``max_size`` most frequent characters of a corpus, as feature columns.

    ``fit(texts)`` counts characters (whitespace ignored); ``transform(texts)``
    returns a CSR matrix ``(N, len(vocab))`` of counts (``binary=True``: 0/1
    presence). ``chars`` lists the characters in column order, ``counts`` their
    training frequencies.
    """

    def __init__(self, max_size: int = 1000, min_count: int = 1):
        if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
            raise ValueError(f"max_size={max_size!r} must be a positive int")
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise ValueError(f"min_count={min_count!r} must be a positive int")
        self.max_size, self.min_count = max_size, min_count
        self.chars: list[str] | None = None
        self.counts: list[int] | None = None
        self.index: dict[str, int] = {}

    def fit(self, texts: Iterable[str]) -> "CharVocab":
        texts = _check_texts(texts)
        counter = Counter()
        for t in texts:
            counter.update(t)
        items = [(c, n) for c, n in counter.items() if not c.isspace() and n >= self.min_count]
        if not items:
            raise ValueError("no characters to build a vocabulary from (empty texts?)")
        items.sort(key=lambda cn: (-cn[1], cn[0]))        # most frequent first, ties by code point
        items = items[:self.max_size]
        self.chars = [c for c, _ in items]
        self.counts = [n for _, n in items]
        self.index = {c: j for j, c in enumerate(self.chars)}
        return self

    def __len__(self) -> int:
        self._check_fitted()
        return len(self.chars)

    def _check_fitted(self) -> None:
        if self.chars is None:
            raise RuntimeError("CharVocab is not fitted: call fit(train_texts) first")

    def transform(self, texts: Iterable[str], binary: bool = False) -> sp.csr_matrix:
        """Texts -> ``(N, V)`` float32 CSR matrix of character counts (or 0/1 with ``binary``)."""
        self._check_fitted()
        texts = _check_texts(texts)
        index = self.index
        cols: list[int] = []
        indptr = [0]
        for t in texts:
            cols.extend(index[c] for c in t if c in index)
            indptr.append(len(cols))
        data = np.ones(len(cols), dtype=np.float32)
        X = sp.csr_matrix((data, np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                          shape=(len(texts), len(self.chars)))
        X.sum_duplicates()                                 # repeated characters -> one entry with the count
        if binary:
            X.data[:] = 1.0
        return X

    def fit_transform(self, texts: Iterable[str], binary: bool = False) -> sp.csr_matrix:
        texts = _check_texts(texts)
        return self.fit(texts).transform(texts, binary=binary)

    def coverage(self, texts: Iterable[str]) -> float:
        """Fraction of the non-whitespace characters of ``texts`` that are in the vocabulary."""
        self._check_fitted()
        texts = _check_texts(texts)
        total = sum(1 for t in texts for c in t if not c.isspace())
        if total == 0:
            raise ValueError("coverage: the texts contain no characters")
        known = sum(1 for t in texts for c in t if c in self.index)
        return known / total


def bag_of_chars(texts: Iterable[str], vocab: CharVocab, binary: bool = False) -> sp.csr_matrix:
    """``vocab.transform(texts, binary)``: the ``(N, len(vocab))`` bag-of-characters matrix."""
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab is a {type(vocab).__name__}; pass a fitted CharVocab, e.g. CharVocab().fit(texts)")
    if not isinstance(binary, bool):
        raise TypeError(f"binary={binary!r} is a {type(binary).__name__}; pass True or False")
    return vocab.transform(texts, binary=binary)

"""helpers.text_features against scikit-learn's CountVectorizer and hand-made cases."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from helpers import CharVocab, bag_of_chars

TEXTS = ["这本书很好看，很好", "酒店很差，不推荐", "好 好 好", "物流很快", "不好"]


def test_vocab_is_ordered_by_frequency_then_code_point_and_skips_whitespace():
    vocab = CharVocab(max_size=3).fit(TEXTS)
    # counts: 好 6, 很 4, 不 2, ， 2 -> tie between 不 (U+4E0D) and ， (U+FF0C): 不 first
    assert vocab.chars == ["好", "很", "不"]
    assert vocab.counts == [6, 4, 2]
    assert len(vocab) == 3 and vocab.index == {"好": 0, "很": 1, "不": 2}
    full = CharVocab(max_size=1000).fit(TEXTS)
    assert " " not in full.chars and len(full) == len(set("".join(TEXTS).replace(" ", "")))
    assert CharVocab(max_size=1000, min_count=2).fit(TEXTS).chars == ["好", "很", "不", "，"]


def test_counts_match_sklearn_count_vectorizer():
    rng = np.random.default_rng(0)
    alphabet = list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年")
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(50)]
    vocab = CharVocab(max_size=20).fit(texts[:40])
    ours = vocab.transform(texts[40:]).toarray()
    ref = CountVectorizer(analyzer="char", lowercase=False, vocabulary=vocab.chars).transform(texts[40:])
    np.testing.assert_array_equal(ours, ref.toarray())
    assert ours.dtype == np.float32 and ours.shape == (10, 20)
    binary = bag_of_chars(texts[40:], vocab, binary=True).toarray()
    np.testing.assert_array_equal(binary, (ref.toarray() > 0).astype(np.float32))
    np.testing.assert_array_equal(vocab.fit_transform(texts[:40]).toarray(),
                                  CountVectorizer(analyzer="char", lowercase=False,
                                                  vocabulary=vocab.chars).transform(texts[:40]).toarray())


def test_unknown_characters_are_dropped_and_coverage_counts_them():
    vocab = CharVocab(max_size=2).fit(TEXTS)               # 好, 很
    X = vocab.transform(["很好很好吗", "", "哈哈"])
    np.testing.assert_array_equal(X.toarray(), [[2, 2], [0, 0], [0, 0]])
    assert vocab.coverage(["很好吗 ", "哈"]) == pytest.approx(2 / 4)


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="fit"):
        CharVocab().transform(["好"])
    with pytest.raises(RuntimeError, match="fit"):
        len(CharVocab())
    with pytest.raises(TypeError, match="single str"):
        CharVocab().fit("很好")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        CharVocab().fit(["好", 3])
    with pytest.raises(ValueError, match="max_size=0"):
        CharVocab(max_size=0)
    with pytest.raises(ValueError, match="min_count=0"):
        CharVocab(min_count=0)
    with pytest.raises(ValueError, match="no characters"):
        CharVocab().fit(["", "  "])
    with pytest.raises(ValueError, match="no characters"):
        CharVocab().fit(["好"]).coverage([" "])

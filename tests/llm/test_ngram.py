"""KneserNeyLM against a direct, slow transcription of the interpolated Kneser-Ney formula."""

import math

import pytest

from helpers.llm.ngram import KneserNeyLM

TEXT = "中国人民银行\n中国人民大学\n人民日报\n中国银行\n大学生\n" * 3 + "人民的银行\n"


def reference_prob(text: str, order: int, w: str, h: str) -> float:
    """p_KN(w | h) computed from sets of n-grams each time it is asked (no shared tables)."""
    vocab = set(text)

    def grams(k):
        return [text[i:i + k] for i in range(len(text) - k + 1)]

    def count(k, g):
        if k == order:
            return sum(1 for x in grams(k) if x == g)
        left = {text[i - 1] if i > 0 else None for i in range(len(text) - k + 1) if text[i:i + k] == g}
        return len(left)                      # distinct left neighbours (the text start counts as one)

    def p(k, w, h):
        lower = 1.0 / (len(vocab) + 1) if k == 1 else p(k - 1, w, h[1:])
        ctx_grams = {x for x in grams(k) if x[:-1] == h}
        total = sum(count(k, g) for g in ctx_grams)
        if total == 0:
            return lower
        n1 = sum(1 for g in set(grams(k)) if count(k, g) == 1)
        n2 = sum(1 for g in set(grams(k)) if count(k, g) == 2)
        d = n1 / (n1 + 2 * n2)
        return max(count(k, h + w) - d, 0) / total + d * len(ctx_grams) / total * lower

    return p(len(h) + 1, w, h)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_matches_the_formula_transcribed_directly(order):
    lm = KneserNeyLM.fit(TEXT, order)
    for h in ["", "人", "中国", "民银", "日报", "xx"]:
        h = h[len(h) - (order - 1):] if order > 1 else ""
        for w in ["民", "银", "行", "\n", "学", "猫"]:
            assert lm.prob(w, h) == pytest.approx(reference_prob(TEXT, order, w, h), rel=1e-12), (h, w)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_each_context_is_a_distribution_with_room_for_unseen_characters(order):
    lm = KneserNeyLM.fit(TEXT, order)
    for h in ["", "中国人", "大学", "zz", "银行\n"]:
        total = sum(lm.prob(w, h) for w in lm.vocab) + lm.prob("猫", h)   # 猫: the unknown slot
        assert total == pytest.approx(1.0, abs=1e-12)
        assert lm.prob("猫", h) > 0


def test_more_context_helps_on_repetitive_text_and_scoring_is_the_mean_log_loss():
    held = "中国人民大学\n"
    losses = [KneserNeyLM.fit(TEXT, n).nats_per_char(held) for n in (1, 2, 3)]
    assert losses[0] > losses[1] > losses[2]
    lm = KneserNeyLM.fit(TEXT, 3)
    full = "\n" + held
    manual = -sum(math.log(lm.prob(full[i], full[max(0, i - 2):i])) for i in range(1, len(full))) / len(held)
    assert lm.nats_per_char(held) == pytest.approx(manual, rel=1e-12)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="order=5"):
        KneserNeyLM.fit("abc", 5)
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM.fit("abc", 0)
    with pytest.raises(TypeError, match="text"):
        KneserNeyLM.fit(b"abc", 2)
    lm = KneserNeyLM.fit(TEXT, 2)
    with pytest.raises(ValueError, match="char='ab'"):
        lm.prob("ab", "")
    with pytest.raises(ValueError, match="empty"):
        lm.nats_per_char("")

"""helpers.llm.evaluate: exact match and overlap by hand, bootstrap against SciPy, choices by hand, the batched
and plain-text helpers against their one-at-a-time references; bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from helpers.llm.evaluate import (bootstrap_ci, choice_logprobs, choice_logprobs_batch, complete, exact_match,
                                  ngram_overlap, ngram_overlaps, standard_error)

from .test_sft import TOK, tiny_llama


def test_exact_match_is_strict_after_stripping_blanks():
    assert exact_match(["yin2 hang2 ", "bei3", "好"], ["yin2 hang2", "bei3 jing1", "好"]) == pytest.approx(2 / 3)
    assert exact_match(["Bei3"], ["bei3"]) == 0.0


def test_standard_error_by_hand_and_by_simulation():
    assert standard_error(0.9, 100) == pytest.approx(0.03)
    assert standard_error(1.0, 10) == 0.0
    rng = np.random.default_rng(0)
    accs = rng.binomial(400, 0.7, size=20_000) / 400
    assert standard_error(0.7, 400) == pytest.approx(accs.std(), rel=0.02)


def test_bootstrap_interval_agrees_with_scipy():
    values = (np.random.default_rng(1).random(200) < 0.8).astype(float)
    low, high = bootstrap_ci(values, confidence=0.9, n_resamples=20_000, seed=0)
    ref = stats.bootstrap((values,), np.mean, confidence_level=0.9, n_resamples=20_000, method="percentile",
                          random_state=np.random.default_rng(2)).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.006) and high == pytest.approx(ref.high, abs=0.006)
    assert low < values.mean() < high
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)          # seeded: reproducible


def test_choice_scores_equal_a_hand_computation():
    model = tiny_llama(seed=2)
    prompt, choices = "天空是什么颜色", ["蓝色", "绿色", "你是谁"]
    scores = choice_logprobs(model, TOK, prompt, choices)
    mean = choice_logprobs(model, TOK, prompt, choices, normalize=True)
    context = TOK.encode(prompt)
    with torch.no_grad():
        for k, option in enumerate(choices):
            ids = context + TOK.encode(option)
            logp = F.log_softmax(model(torch.tensor([ids]))[0][0].double(), dim=-1)
            ref = sum(logp[t - 1, ids[t]].item() for t in range(len(context), len(ids)))
            assert scores[k].item() == pytest.approx(ref, rel=1e-5)
            assert mean[k].item() == pytest.approx(ref / len(TOK.encode(option)), rel=1e-5)
    assert model.training                                         # mode restored


def test_ngram_overlap_by_hand():
    assert ngram_overlap("abcdef", ["xxabcyy", "def"], n=3) == pytest.approx(2 / 4)   # abc, def of abc bcd cde def
    assert ngram_overlap("人民日报社论", ["人民日报"], n=2) == pytest.approx(3 / 5)
    assert ngram_overlap("abc", [], n=2) == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="equal length, got 2 and 1"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(TypeError, match=r"predictions\[1\] must be a str"):
        exact_match(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match="references must be a list"):
        exact_match(["a"], "a")
    with pytest.raises(ValueError, match="p=1.5"):
        standard_error(1.5, 10)
    with pytest.raises(ValueError, match="n=0"):
        standard_error(0.5, 0)
    with pytest.raises(ValueError, match="at least 2 finite"):
        bootstrap_ci([1.0])
    with pytest.raises(ValueError, match="confidence=1.0"):
        bootstrap_ci([0, 1], confidence=1.0)
    model = tiny_llama()
    with pytest.raises(ValueError, match="at least 2 options"):
        choice_logprobs(model, TOK, "问", ["答"])
    with pytest.raises(ValueError, match=r"choices\[1\] is empty"):
        choice_logprobs(model, TOK, "问", ["答", ""])
    with pytest.raises(ValueError, match="prompt is empty"):
        choice_logprobs(model, TOK, "", ["a", "b"])
    with pytest.raises(ValueError, match="max_seq_len=8"):
        choice_logprobs(tiny_llama(max_seq_len=8), TOK, "天空是什么颜色天空是什么颜色", ["蓝色", "绿色"])
    with pytest.raises(ValueError, match="fewer than n=5"):
        ngram_overlap("abc", ["abc"], n=5)
    with pytest.raises(TypeError, match="train_texts must be a list"):
        ngram_overlap("abcdef", "abc", n=2)


def test_batched_choices_equal_one_question_at_a_time():
    model = tiny_llama(seed=3)
    prompts = ["天空是什么颜色", "草是什么颜色", "天空是", "你好", "你是谁", "天空是什么颜色"]   # equal lengths share a batch
    choices = [["蓝色", "绿色", "你是谁吗"], ["绿", "蓝色的天空", "黄"], ["蓝", "天", "是"],
               ["你好", "再见了朋友", "嗯"], ["我", "你是谁", "它"], ["绿色", "蓝色", "蓝"]]
    for normalize in (False, True):
        ref = torch.stack([choice_logprobs(model, TOK, p, c, normalize=normalize) for p, c in zip(prompts, choices)])
        for batch_size in (1, 2, 64):
            got = choice_logprobs_batch(model, TOK, prompts, choices, normalize=normalize, batch_size=batch_size)
            assert got.shape == (6, 3)
            assert torch.allclose(got, ref, atol=1e-5, rtol=1e-5)
    assert model.training                                         # mode restored


def test_complete_is_greedy_generation_cut_at_the_stop_string():
    model = tiny_llama(seed=4)
    prompts = ["天空是什么颜色", "你好", "草是"]
    got = complete(model, TOK, prompts, max_new_tokens=6, stop="")
    for p, text in zip(prompts, got):
        ids = torch.tensor([TOK.encode(p)])
        with torch.no_grad():
            for _ in range(6):                                    # greedy by hand, no cache
                ids = torch.cat([ids, model(ids)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
        assert text == TOK.decode(ids[0, len(TOK.encode(p)):].tolist())
    first = got[0][0] if got[0] else "x"
    cut = complete(model, TOK, prompts[:1], max_new_tokens=6, stop=first)
    assert cut == [got[0].split(first)[0]]


def test_ngram_overlaps_equal_one_text_at_a_time():
    train = ["人民日报社论", "今天天气很好", "abcdef"]
    tests = ["人民日报评论", "天气很好啊", "xyzabc", "zzzz"]
    assert ngram_overlaps(tests, train, n=2) == pytest.approx([ngram_overlap(t, train, n=2) for t in tests])
    assert ngram_overlaps(["人民日报"], train, n=4) == [1.0]


def test_batched_helpers_refuse_bad_input():
    model = tiny_llama()
    with pytest.raises(ValueError, match="one option list per prompt"):
        choice_logprobs_batch(model, TOK, ["问", "答"], [["a", "b"]])
    with pytest.raises(ValueError, match="same number"):
        choice_logprobs_batch(model, TOK, ["问", "答"], [["a", "b"], ["a", "b", "c"]])
    with pytest.raises(ValueError, match=r"choices\[1\]\[0\] is empty"):
        choice_logprobs_batch(model, TOK, ["问", "答"], [["a", "b"], ["", "b"]])
    with pytest.raises(ValueError, match=r"prompts\[0\] is empty"):
        choice_logprobs_batch(model, TOK, [""], [["a", "b"]])
    with pytest.raises(ValueError, match="max_seq_len=48"):
        choice_logprobs_batch(model, TOK, ["问" * 60], [["a", "b"]])
    with pytest.raises(ValueError, match="batch_size=0"):
        choice_logprobs_batch(model, TOK, ["问"], [["a", "b"]], batch_size=0)
    with pytest.raises(TypeError, match="prompts must be a list"):
        complete(model, TOK, "问")
    with pytest.raises(ValueError, match="max_new_tokens=0"):
        complete(model, TOK, ["问"], max_new_tokens=0)
    with pytest.raises(ValueError, match="exceeds max_seq_len=48"):
        complete(model, TOK, ["问" * 60], max_new_tokens=4)
    with pytest.raises(ValueError, match="fewer than n=8"):
        ngram_overlaps(["短"], ["很长很长很长的训练文本"], n=8)
    with pytest.raises(ValueError, match="test_texts is empty"):
        ngram_overlaps([], ["abc"], n=2)

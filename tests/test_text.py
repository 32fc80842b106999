"""helpers.text: character tokenizer round trips, unknown characters, batches."""

import pytest
import torch

from helpers.text import CharTokenizer, get_batch


def test_round_trip_and_frequency_order():
    tok = CharTokenizer.from_text("人民日报人民")
    assert tok.vocab_size == len(tok) == 4
    assert tok.itos[:2] == ["人", "民"]          # most frequent first, ties by code point
    ids = tok.encode("日报人民")
    assert ids == [tok.stoi[c] for c in "日报人民"] and tok.decode(ids) == "日报人民"
    assert tok.decode(torch.tensor(ids)) == "日报人民"
    assert tok.unk_id is None and tok.pad_id is None


def test_unknown_character_raises_by_default():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\) at position 2 .*unk_token"):
        tok.encode("abz")


def test_unknown_character_maps_to_unk_when_configured():
    tok = CharTokenizer.from_text("aab", unk_token="<unk>")
    assert tok.unk_id == 0 and tok.vocab_size == 3
    assert tok.encode("abz") == [1, 2, 0]
    assert tok.decode([1, 0]) == "a<unk>"


def test_min_count_and_max_vocab_need_unk():
    text = "aaabbc"
    with pytest.raises(ValueError, match="drop 1 characters.*unk_token"):
        CharTokenizer.from_text(text, min_count=2)
    tok = CharTokenizer.from_text(text, min_count=2, unk_token="<unk>")
    assert tok.itos == ["<unk>", "a", "b"]
    tok = CharTokenizer.from_text(text, max_vocab=3, unk_token="<unk>", pad_token="<pad>")
    assert tok.itos == ["<pad>", "<unk>", "a"] and tok.pad_id == 0 and tok.unk_id == 1
    tok = CharTokenizer.from_text(text, max_vocab=3, unk_token="<unk>")
    assert tok.itos == ["<unk>", "a", "b"]
    with pytest.raises(ValueError, match="max_vocab=1 leaves no room"):
        CharTokenizer.from_text(text, max_vocab=1, unk_token="<unk>")


def test_bad_vocabularies_are_refused():
    with pytest.raises(ValueError, match="single character"):
        CharTokenizer(["ab"])
    with pytest.raises(ValueError, match="duplicates"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="longer than one character"):
        CharTokenizer(["a"], unk_token="?")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        CharTokenizer(["a"]).decode([3])


def test_encode_batch_pads_and_truncates():
    tok = CharTokenizer.from_text("好评差评", pad_token="<pad>")
    batch = tok.encode_batch(["好评", "差评好评差"], length=4)
    assert batch.shape == (2, 4) and batch.dtype == torch.long
    assert batch[0, 2:].tolist() == [tok.pad_id] * 2
    assert tok.decode(batch[0]) == "好评" and tok.decode(batch[1]) == "差评好评"
    with pytest.raises(ValueError, match="pad_token"):
        CharTokenizer.from_text("ab").encode_batch(["a"], 2)


def test_save_load_identical(tmp_path):
    tok = CharTokenizer.from_text("中文，English！\n", unk_token="<unk>", pad_token="<pad>")
    path = tok.save(tmp_path / "tok.json")
    again = CharTokenizer.load(path)
    assert again.itos == tok.itos and again.unk_id == tok.unk_id and again.pad_id == tok.pad_id
    assert "\"中\"" in path.read_text(encoding="utf-8")     # readable UTF-8, not \\u escapes
    assert "vocab_size=" in repr(again)


def test_get_batch_targets_are_shifted_inputs():
    data = torch.arange(100)
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(data, batch_size=5, block_size=8, generator=g)
    assert x.shape == y.shape == (5, 8) and x.dtype == torch.long
    assert torch.equal(y, x + 1)                              # data[i] = i
    assert int(y.max()) <= 99
    x2, _ = get_batch(data, 5, 8, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_get_batch_errors():
    with pytest.raises(ValueError, match="need more than block_size=8"):
        get_batch(torch.arange(8), 2, 8)
    with pytest.raises(ValueError, match="1-D"):
        get_batch(torch.zeros(3, 20, dtype=torch.long), 2, 4)


# --- issue 22: bad input -------------------------------------------------------------------------

def test_unknown_characters_map_to_the_unk_id_not_to_id_zero():
    tok = CharTokenizer.from_text("aab", unk_token="<unk>", pad_token="<pad>")
    assert tok.pad_id == 0 and tok.unk_id == 1
    assert tok.encode("azb") == [tok.stoi["a"], 1, tok.stoi["b"]]
    assert tok.encode_batch(["zz"], 3).tolist() == [[1, 1, 0]]


def test_encode_batch_refuses_a_single_string():
    """Item 7: encode_batch("abc", 4) used to encode three one-character texts."""
    tok = CharTokenizer.from_text("abc", pad_token="<pad>")
    with pytest.raises(TypeError, match="texts is a str.*\\[text\\]"):
        tok.encode_batch("abc", 4)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        tok.encode_batch(["ab", 3], 4)
    with pytest.raises(ValueError, match="length=0"):
        tok.encode_batch(["ab"], 0)
    with pytest.raises(TypeError, match="text is a list"):
        tok.encode(["a", "b"])


def test_decode_names_bad_ids():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(TypeError, match="ids.*integers"):
        tok.decode([0.0, 1.0])
    with pytest.raises(TypeError, match="ids.*integers"):
        tok.decode(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="1-D"):
        tok.decode(torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 3])
    assert tok.decode([]) == "" and tok.decode(torch.tensor([2, 0])) == tok.itos[2] + tok.itos[0]


def test_get_batch_refuses_float_data_and_empty_sizes():
    """Item 7: float/NaN data gave garbage ids; zero batch or block sizes gave empty tensors."""
    data = torch.arange(20)
    with pytest.raises(TypeError, match="data.*integers"):
        get_batch(data.float(), 2, 4)
    with pytest.raises(TypeError, match="data.*integers"):
        get_batch(torch.full((20,), float("nan")), 2, 4)
    with pytest.raises(ValueError, match="batch_size=0"):
        get_batch(data, 0, 4)
    with pytest.raises(ValueError, match="block_size=0"):
        get_batch(data, 2, 0)
    with pytest.raises(ValueError, match="negative id"):
        get_batch(data - 1, 2, 4)


def test_get_batch_draws_every_window_and_none_past_the_end():
    """All N - T start positions occur, the last window ends at the last token, none runs past it."""
    n, T = 12, 4
    data = torch.arange(n)
    x, y = get_batch(data, 2000, T, torch.Generator().manual_seed(0))
    starts = set(x[:, 0].tolist())
    assert starts == set(range(n - T))
    assert int(y.max()) == n - 1 and torch.equal(y[:, :-1], x[:, 1:])


# --- property-based: round trips and windows ---------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_decode_inverts_encode_for_any_text(text):
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert len(ids) == len(text) and tok.decode(ids) == text
    assert sorted(set(ids)) == list(range(tok.vocab_size))      # every id is used, none is missing
    assert CharTokenizer.from_dict(tok.to_dict()).encode(text) == ids


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdef", min_size=1, max_size=30), st.text(alphabet="abcxyz", max_size=20))
def test_unknown_characters_and_only_those_map_to_unk(train, other):
    tok = CharTokenizer.from_text(train, unk_token="<unk>")
    ids = tok.encode(other)
    for c, i in zip(other, ids):
        assert (i == tok.unk_id) == (c not in train)
        if c in train:
            assert tok.itos[i] == c


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_batches_are_contiguous_windows_inside_the_data(n, block_size, batch_size, seed):
    data = torch.arange(100, 100 + n)
    if n <= block_size:
        with pytest.raises(ValueError, match="need more than block_size"):
            get_batch(data, batch_size, block_size)
        return
    x, y = get_batch(data, batch_size, block_size, torch.Generator().manual_seed(seed))
    assert x.shape == y.shape == (batch_size, block_size) and x.dtype == y.dtype == torch.long
    start = x[:, :1] - 100
    assert torch.equal(x, data[start + torch.arange(block_size)])
    assert torch.equal(y, x + 1) and int(y.max()) <= 100 + n - 1


def test_edge_cases_at_the_limits():
    tok = CharTokenizer(list("ab"), unk_token="<u", pad_token="<p")   # two characters: long enough
    assert tok.unk_id == 1 and tok.pad_id == 0
    assert tok.encode_batch(["b"], 1).tolist() == [[tok.stoi["b"]]]   # length 1 is allowed
    assert tok.decode(i for i in [2, 3, 0]) == "ab"                      # any iterable of ids, padding dropped
    with pytest.raises(ValueError, match="longer than one character"):
        CharTokenizer(list("ab"), unk_token="u")

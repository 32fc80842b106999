"""Text as token ids: a character tokenizer and random training windows.

    tok = CharTokenizer.from_text(corpus)            # one id per distinct character
    data = torch.tensor(tok.encode(corpus))          # (N,) int64
    x, y = get_batch(data, batch_size=32, block_size=64, generator=g)   # y is x shifted by one

A character the tokenizer has not seen raises an error by default; build it
with ``unk_token="<unk>"`` to map every unknown character to one id instead
(and ``min_count``/``max_vocab`` to send rare characters there as well).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from ._validate import check_ids, check_int, check_type


class CharTokenizer:
    """``CharTokenizer(chars, unk_token=None, pad_token=None)``: id ``i`` is ``itos[i]``.

    Special tokens (``pad_token`` first, then ``unk_token``) take the first ids,
    then the characters in the given order.
    """

    def __init__(self, chars: Sequence[str], unk_token: str | None = None, pad_token: str | None = None):
        specials = [t for t in (pad_token, unk_token) if t is not None]
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"every vocabulary entry must be a single character, got {c!r}")
        for t in specials:
            if len(t) < 2:
                raise ValueError(f"special token {t!r} must be longer than one character, so that it "
                                 "cannot be confused with a character of the text (e.g. '<unk>')")
        self.itos: list[str] = specials + list(chars)
        if len(set(self.itos)) != len(self.itos):
            raise ValueError("the vocabulary contains duplicates")
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.unk_token, self.pad_token = unk_token, pad_token

    @classmethod
    def from_text(cls, text: str, *, min_count: int = 1, max_vocab: int | None = None,
                  unk_token: str | None = None, pad_token: str | None = None) -> "CharTokenizer":
        """Vocabulary of the characters in ``text``, most frequent first (ties by code point).

        ``min_count``/``max_vocab`` (the latter counting special tokens too)
        drop rare characters; they then need ``unk_token``.
        """
        check_type("text", text, str)
        check_int("min_count", min_count, min=1)
        if max_vocab is not None:
            check_int("max_vocab", max_vocab, min=1)
        counts = Counter(text)
        chars = sorted(counts, key=lambda c: (-counts[c], c))
        n_special = (unk_token is not None) + (pad_token is not None)
        keep = [c for c in chars if counts[c] >= min_count]
        if max_vocab is not None:
            if max_vocab <= n_special:
                raise ValueError(f"max_vocab={max_vocab} leaves no room for characters")
            keep = keep[:max_vocab - n_special]
        if len(keep) < len(chars) and unk_token is None:
            raise ValueError(f"min_count={min_count}/max_vocab={max_vocab} drop {len(chars) - len(keep)} "
                             "characters, which could then not be encoded; pass unk_token='<unk>'")
        return cls(keep, unk_token=unk_token, pad_token=pad_token)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def unk_id(self) -> int | None:
        return None if self.unk_token is None else self.stoi[self.unk_token]

    @property
    def pad_id(self) -> int | None:
        return None if self.pad_token is None else self.stoi[self.pad_token]

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, one per character."""
        check_type("text", text, str)
        stoi, unk = self.stoi, self.unk_id
        if unk is not None:
            return [stoi.get(c, unk) for c in text]
        try:
            return [stoi[c] for c in text]
        except KeyError as err:
            c = err.args[0]
            raise ValueError(f"character {c!r} (U+{ord(c):04X}) at position {text.index(c)} is not in the "
                             f"vocabulary of {self.vocab_size} tokens; build the tokenizer with "
                             "unk_token='<unk>' to map unknown characters to one id") from None

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids`` (list, tensor or array); padding is dropped."""
        if isinstance(ids, str):
            raise TypeError("ids is a str; decode takes token ids (encode turns text into ids)")
        if not isinstance(ids, (torch.Tensor, np.ndarray, list, tuple)):
            ids = list(ids)
        t = check_ids("ids", ids, None, allow_empty=True)
        out = []
        for i in t.tolist():
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside the vocabulary [0, {self.vocab_size})")
            if i != self.pad_id:
                out.append(self.itos[i])
        return "".join(out)

    def encode_batch(self, texts: Sequence[str], length: int) -> torch.Tensor:
        """``(N, length)`` int64: each text truncated to ``length`` characters and right-padded with ``pad_id``."""
        if isinstance(texts, str):
            raise TypeError("texts is a str, which would be read as one text per character; "
                            "pass a list of texts, e.g. [text]")
        texts = list(texts)
        for i, t in enumerate(texts):
            check_type(f"texts[{i}]", t, str)
        check_int("length", length, min=1)
        if self.pad_token is None:
            raise ValueError("encode_batch needs a padding id; build the tokenizer with pad_token='<pad>'")
        out = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        for i, t in enumerate(texts):
            ids = self.encode(t[:length])
            out[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def to_dict(self) -> dict:
        n_special = (self.unk_token is not None) + (self.pad_token is not None)
        return {"chars": self.itos[n_special:], "unk_token": self.unk_token, "pad_token": self.pad_token}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        return cls(d["chars"], unk_token=d.get("unk_token"), pad_token=d.get("pad_token"))

    def save(self, path) -> Path:
        """Write the vocabulary as UTF-8 JSON; :meth:`load` restores an identical tokenizer."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, unk_token={self.unk_token!r}, pad_token={self.pad_token!r})"


def get_batch(data, batch_size: int, block_size: int, generator: torch.Generator | None = None,
              device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Random training windows from a 1-D token array ``data: (N,)``.

    Returns ``x, y: (batch_size, block_size)`` int64 on ``device``, with
    ``y[b, t] = x[b, t + 1]``: at every position the target is the next token.
    """
    check_int("batch_size", batch_size, min=1)
    check_int("block_size", block_size, min=1)
    data = check_ids("data", data)   # integer ids >= 0: float or NaN data would give garbage ids
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[ix[:, None] + offsets].long()
    y = data[ix[:, None] + offsets + 1].long()
    return x.to(device), y.to(device)

"""Pieces of the book model's pretraining, shared by ``scripts/pretrain_book_model.py`` and the lessons.

- :func:`encode_text`: a long text → one stream of token ids, fast (the ``tokenizers`` copy of a ByteBPE);
- :func:`sample_windows`: a batch of training windows drawn from several token streams (a data mixture);
- :func:`nats_per_char`: held-out cross-entropy per *character*, comparable across tokenizers.

Why per character: a model with a bigger vocabulary predicts fewer, longer tokens, so its loss per
token is not comparable with a character-level model's. The total negative log-likelihood of a text
is comparable, whatever the tokenizer; dividing it by the number of characters gives nats/char.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_int, check_type
from .bpe import ByteBPE


def encode_text(tok: ByteBPE, text: str) -> torch.Tensor:
    """``text`` → ``(N,)`` int64 ids, line by line through ``tok.to_tokenizers()`` (same ids as ``tok.encode``).

    Newlines are encoded on their own, so no token spans two lines.
    """
    check_type("tok", tok, ByteBPE, "helpers.llm.bpe.ByteBPE")
    check_type("text", text, str, "str")
    fast = tok.to_tokenizers()
    newline = tok.encode("\n")
    ids: list[int] = []
    for i, enc in enumerate(fast.encode_batch(text.split("\n"), add_special_tokens=False)):
        if i:
            ids.extend(newline)
        ids.extend(enc.ids)
    return torch.tensor(ids, dtype=torch.long)


def sample_windows(streams, weights, batch_size: int, seq_len: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``x, y: (batch_size, seq_len)``: windows of ``seq_len + 1`` consecutive ids, ``y`` shifted by one.

    Each window's stream is drawn with probabilities ``weights`` (one per stream), its start
    uniformly; all randomness comes from ``generator``, so a seed fixes the whole sequence of batches.
    """
    streams = list(streams)
    check_int("batch_size", batch_size, min=1)
    check_int("seq_len", seq_len, min=1)
    check_type("generator", generator, torch.Generator, "torch.Generator")
    w = torch.as_tensor(weights, dtype=torch.float)
    if w.ndim != 1 or len(w) != len(streams) or not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights={list(map(float, w.flatten()))} must be one non-negative number per stream "
                         f"({len(streams)} streams), not all zero")
    for k, s in enumerate(streams):
        if len(s) < seq_len + 2 and w[k] > 0:
            raise ValueError(f"stream {k} has {len(s)} ids; a window needs seq_len + 1 = {seq_len + 1} and a start")
    src = torch.multinomial(w, batch_size, replacement=True, generator=generator)
    rows = []
    for k in src.tolist():
        data = streams[k]
        i = int(torch.randint(len(data) - seq_len - 1, (1,), generator=generator))
        rows.append(data[i: i + seq_len + 1])
    windows = torch.stack(rows)
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def nats_per_char(model: torch.nn.Module, ids: torch.Tensor, n_chars: int, seq_len: int, first_id: int,
                  batch_size: int = 32) -> float:
    """Total negative log-likelihood of ``ids`` (an encoded text) divided by its ``n_chars`` characters.

    ``first_id`` (the newline, which precedes every document in training) is put before the text so
    that its first token is predicted too; the stream is then cut into consecutive windows of
    ``seq_len`` predicted tokens, each seeing only its own window as context. Runs in eval mode.
    """
    check_type("model", model, torch.nn.Module, "torch.nn.Module")
    check_int("n_chars", n_chars, min=1)
    check_int("seq_len", seq_len, min=1)
    check_int("batch_size", batch_size, min=1)
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1 or len(ids) == 0 or ids.is_floating_point():
        raise ValueError("ids must be a non-empty 1-D integer tensor (the encoded text)")
    device = next(model.parameters()).device
    stream = torch.cat([torch.tensor([first_id]), ids.cpu()])
    total = 0.0
    starts = list(range(0, len(ids), seq_len))
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(starts), batch_size):
            xs, ys = [], []
            for s in starts[i:i + batch_size]:
                y = stream[s + 1: s + seq_len + 1]
                pad = seq_len - len(y)
                xs.append(torch.cat([stream[s: s + len(y)], torch.zeros(pad, dtype=torch.long)]))
                ys.append(torch.cat([y, torch.full((pad,), -1, dtype=torch.long)]))
            x, y = torch.stack(xs).to(device), torch.stack(ys).to(device)
            logits, _ = model(x)
            total += F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1,
                                     reduction="sum").item()
    finally:
        model.train(was_training)
    return total / n_chars

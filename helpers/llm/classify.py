"""Sequence classification with a pretrained decoder: pool its hidden states, then one linear layer.

    ids, mask = pad_batch([tok.encode(t) for t in texts], max_len=64, pad_id=0)   # (N, T), (N, T)
    clf = SequenceClassifier(model, n_classes=2, pooling="mean")                  # model: Llama or GPT
    logits = clf(ids, mask)                                                       # (N, 2)
    train_classifier(clf, ids, mask, labels, epochs=3, lr=1e-4)                   # AdamW, cross-entropy
    acc = (predict(clf, ids, mask) == labels).float().mean()

The decoder is causal, so right padding never changes the hidden state of a real token: the
pad id can be any valid id. ``pooling="mean"`` averages the hidden states of the real tokens
(``mask`` True), ``pooling="last"`` takes the state of the last real token (the only one that
has seen the whole text). Texts longer than ``max_len`` are truncated: the first ``max_len``
tokens are kept. Batches are cut to their longest sequence, so a batch of short texts is cheap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_choice, check_float, check_int, check_type, _describe_sequence as _what

POOLINGS = ("mean", "last")


def pad_batch(seqs, max_len: int, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-id lists → ``ids: (N, T)`` int64 and ``mask: (N, T)`` bool, right-padded, truncated to ``max_len``.

    ``T`` is the length of the longest (truncated) sequence. Every sequence must have at least one token.
    """
    check_int("max_len", max_len, min=1)
    check_int("pad_id", pad_id, min=0)
    if isinstance(seqs, (str, torch.Tensor)) or not hasattr(seqs, "__len__") or len(seqs) == 0:
        raise ValueError(f"seqs must be a non-empty list of token-id lists, got {_what(seqs)}")
    seqs = [list(s)[:max_len] for s in seqs]
    for i, s in enumerate(seqs):
        if not s:
            raise ValueError(f"seqs[{i}] is empty: a text with no tokens cannot be classified; drop it first")
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = True
    return ids, mask


def pool(h: torch.Tensor, mask: torch.Tensor, pooling: str = "mean") -> torch.Tensor:
    """Hidden states ``h: (B, T, d)`` and ``mask: (B, T)`` bool → ``(B, d)`` (see the module docstring)."""
    check_choice("pooling", pooling, POOLINGS)
    if pooling == "mean":
        m = mask.to(h.dtype).unsqueeze(-1)                                   # (B, T, 1)
        return (h * m).sum(1) / m.sum(1)
    last = mask.sum(1) - 1                                                   # (B,) index of the last real token
    return h[torch.arange(h.shape[0], device=h.device), last]


def _check_ids_mask(ids, mask) -> torch.Tensor:
    check_type("ids", ids, torch.Tensor, "torch.Tensor of token ids")
    if ids.ndim != 2 or ids.dtype != torch.long:
        raise ValueError(f"ids must be a (B, T) int64 tensor, got {ids.dtype} of shape {tuple(ids.shape)}")
    if mask is None:
        return torch.ones_like(ids, dtype=torch.bool)
    check_type("mask", mask, torch.Tensor, "torch.Tensor")
    if mask.shape != ids.shape or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor of the shape of ids {tuple(ids.shape)}, "
                         f"got {mask.dtype} of shape {tuple(mask.shape)}")
    if not mask[:, 0].all() or (mask[:, 1:] & ~mask[:, :-1]).any():
        raise ValueError("mask must mark a non-empty prefix of each row (right padding): "
                         "use pad_batch to build ids and mask")
    return mask


class SequenceClassifier(nn.Module):
    """``SequenceClassifier(model, n_classes, pooling="mean")``: ``(ids (B, T), mask (B, T)) -> logits (B, n_classes)``.

    ``model`` is any decoder with ``features(idx: (B, T)) -> (B, T, d)`` and ``config.n_embd`` (``Llama``, ``GPT``).
    The new layer is called ``head`` (``apply_lora(..., trainable=["head"])`` keeps it trainable).
    The model's language-model output layer is not used.
    """

    def __init__(self, model: nn.Module, n_classes: int, pooling: str = "mean"):
        super().__init__()
        if not callable(getattr(model, "features", None)) or not hasattr(getattr(model, "config", None), "n_embd"):
            raise TypeError(f"model must have features(idx) and config.n_embd (a Llama or GPT), "
                            f"got {type(model).__name__}")
        check_int("n_classes", n_classes, min=2)
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.model = model
        self.head = nn.Linear(model.config.n_embd, n_classes)

    def pooled(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled hidden state ``(B, n_embd)`` that the head reads."""
        mask = _check_ids_mask(ids, mask)
        return pool(self.model.features(ids), mask, self.pooling)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.pooled(ids, mask))


def _batches(n: int, batch_size: int, generator: torch.Generator | None = None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def _cut(ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor):
    """Rows of ``ids, mask``, cut to their longest sequence."""
    m = mask[rows]
    T = int(m.sum(1).max())
    return ids[rows, :T], m[:, :T]


@torch.no_grad()
def pooled_features(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, pooling: str = "mean",
                    batch_size: int = 128) -> torch.Tensor:
    """Pooled hidden states of a frozen ``model`` (e.g. for a linear probe): ``(N, n_embd)``, in eval mode."""
    check_int("batch_size", batch_size, min=1)
    mask = _check_ids_mask(ids, mask)
    was_training = model.training
    model.eval()
    try:
        out = [pool(model.features(i), m, pooling) for i, m in
               (_cut(ids, mask, rows) for rows in _batches(len(ids), batch_size))]
    finally:
        model.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def predict(clf: SequenceClassifier, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """Predicted classes ``(N,)`` of ``clf`` in eval mode (the mode is restored)."""
    check_int("batch_size", batch_size, min=1)
    mask = _check_ids_mask(ids, mask)
    was_training = clf.training
    clf.eval()
    try:
        out = [clf(i, m).argmax(-1) for i, m in (_cut(ids, mask, rows) for rows in _batches(len(ids), batch_size))]
    finally:
        clf.train(was_training)
    return torch.cat(out)


def train_classifier(clf: SequenceClassifier, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
                     epochs: int = 3, lr: float = 1e-4, head_lr: float | None = None, batch_size: int = 16,
                     weight_decay: float = 0.01, seed: int = 0) -> list[float]:
    """Train the parameters of ``clf`` that require grad with AdamW and cross-entropy; returns the loss per step.

    ``labels: (N,)`` int64 class ids. ``head_lr``: learning rate of the new ``head`` (default ``lr``); a freshly
    initialised head usually wants a larger step than the pretrained body. Batches are shuffled with a
    generator seeded by ``seed``.
    """
    mask = _check_ids_mask(ids, mask)
    check_type("labels", labels, torch.Tensor, "torch.Tensor of class ids")
    if labels.shape != (len(ids),) or labels.dtype != torch.long:
        raise ValueError(f"labels must be an int64 tensor of shape ({len(ids)},), "
                         f"got {labels.dtype} of shape {tuple(labels.shape)}")
    n_classes = clf.head.out_features
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.min().item()}..{labels.max().item()}")
    check_int("epochs", epochs, min=1)
    check_int("batch_size", batch_size, min=1)
    check_float("lr", lr, min=0.0, min_inclusive=False)
    head_lr = lr if head_lr is None else check_float("head_lr", head_lr, min=0.0, min_inclusive=False)
    head = [p for p in clf.head.parameters() if p.requires_grad]
    body = [p for n, p in clf.named_parameters() if p.requires_grad and not n.startswith("head.")]
    if not head and not body:
        raise ValueError("clf has no trainable parameter (everything frozen?)")
    groups = [{"params": ps, "lr": g} for ps, g in ((body, lr), (head, head_lr)) if ps]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    clf.train()
    losses = []
    for _ in range(epochs):
        for rows in _batches(len(ids), batch_size, gen):
            i, m = _cut(ids, mask, rows)
            loss = F.cross_entropy(clf(i, m), labels[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    clf.eval()
    return losses

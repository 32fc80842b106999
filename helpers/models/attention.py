"""Scaled dot-product attention, multi-head self-attention and positional encodings.

Batch-first layout everywhere: ``x: (B, T, C)`` with ``C = n_embd``. Multi-head
attention splits ``C`` into ``n_head`` heads of size ``d_k = C // n_head``:

    Q, K, V   = x W_Q, x W_K, x W_V                     each (B, T, C)  -> (B, h, T, d_k)
    head_i    = softmax(Q_i K_i^T / sqrt(d_k) + M) V_i  (B, h, T, d_k)
    y         = concat(head_1 .. head_h) W_O            (B, T, C)

Masks (``M`` above is 0 where attention is allowed and -inf where it is not):

- ``attn_mask``: bool, **True = may attend** (as in ``F.scaled_dot_product_attention``),
  shape ``(T, T)`` or broadcastable to ``(B, n_head, T, T)``;
- ``causal=True``: position ``t`` attends to positions ``<= t`` only. With fewer queries
  than keys (``T_q < T_k``, decoding with cached keys) the queries are the *last* ``T_q``
  positions: query ``i`` sits at absolute position ``T_k - T_q + i`` and sees keys
  ``0 .. T_k - T_q + i`` (the mask is aligned bottom-right, like PyTorch's
  ``torch.nn.attention.bias.causal_lower_right``; note that ``F.scaled_dot_product_attention(
  is_causal=True)`` aligns it top-left, which is only right for ``T_q == T_k``);
- ``key_padding_mask``: bool ``(B, T)``, **True = padding, ignored** (as in ``nn.MultiheadAttention``).

Without positional information attention is permutation-equivariant:
permuting the tokens of ``x`` permutes the rows of the output the same way.
:func:`sinusoidal_positional_encoding` and :class:`LearnedPositionalEmbedding`
add the position to each token.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def causal_mask(T: int, device=None, T_k: int | None = None) -> torch.Tensor:
    """``(T, T_k)`` bool (``T_k`` defaults to ``T``), True where query ``i`` may see key ``j``.

    The ``T`` queries are the last ``T`` of the ``T_k`` positions (bottom-right alignment):
    query ``i`` sits at position ``T_k - T + i`` and sees keys ``0 .. T_k - T + i``.
    For ``T_k == T`` this is the lower triangle, query ``t`` sees keys ``0..t``.
    """
    T_k = T if T_k is None else T_k
    if T_k < T:
        raise ValueError(f"causal_mask: T_k={T_k} < T={T}; the first {T - T_k} queries would see no key. "
                         f"Pass at least as many keys as queries")
    return torch.ones(T, T_k, dtype=torch.bool, device=device).tril(diagonal=T_k - T)


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 attn_mask: torch.Tensor | None = None, causal: bool = False
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T / sqrt(d_k) + M) v``.

    ``q: (..., T_q, d_k)``, ``k: (..., T_k, d_k)``, ``v: (..., T_k, d_v)``;
    ``attn_mask``: bool broadcastable to ``(..., T_q, T_k)``, True = may attend.
    ``causal=True`` needs ``T_q <= T_k``: the queries are the last ``T_q`` positions, so
    query ``i`` sees keys ``0 .. T_k - T_q + i`` (see :func:`causal_mask`).
    Returns ``(out: (..., T_q, d_v), weights: (..., T_q, T_k))``; each row of weights sums to 1.
    A query whose keys are all masked gets NaN weights: give every query at least one key.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length T_k, got {k.shape[-2]} and {v.shape[-2]}")
    T_q, T_k = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])       # (..., T_q, T_k)
    if causal:
        if T_q > T_k:
            raise ValueError(f"causal=True with T_q={T_q} queries but only T_k={T_k} keys: the queries are the last "
                             f"T_q positions of the key sequence, so T_q must be <= T_k")
        scores = scores.masked_fill(~causal_mask(T_q, q.device, T_k), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype != torch.bool:
            raise TypeError(f"attn_mask must be a bool tensor (True = may attend), got {attn_mask.dtype}")
        try:
            torch.broadcast_shapes(attn_mask.shape, scores.shape)
        except RuntimeError:
            raise ValueError(f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the attention "
                             f"scores of shape {tuple(scores.shape)}; use ({T_q}, {T_k})") from None
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """``MultiHeadAttention(n_embd, n_head, bias=True)``: multi-head self-attention.

    ``forward(x: (B, T, C), causal=False, attn_mask=None, key_padding_mask=None, need_weights=False)``
    returns ``y: (B, T, C)``, or ``(y, weights: (B, n_head, T, T))`` with ``need_weights=True``.
    Four ``nn.Linear(C, C)``: ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` (W_O).
    """

    def __init__(self, n_embd: int, n_head: int, bias: bool = True):
        super().__init__()
        for name, value in (("n_embd", n_embd), ("n_head", n_head)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd={n_embd} is not divisible by n_head={n_head}: each head gets "
                             f"n_embd // n_head dimensions; choose e.g. n_head in "
                             f"{[h for h in range(1, n_embd + 1) if n_embd % h == 0][:8]}")
        self.n_embd, self.n_head, self.head_dim = n_embd, n_head, n_embd // n_head
        self.q_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.k_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.v_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.out_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, _ = t.shape
        return t.view(B, T, self.n_head, self.head_dim).transpose(1, 2)   # (B, h, T, d_k)

    def forward(self, x: torch.Tensor, causal: bool = False, attn_mask: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = False):
        if x.dim() != 3 or x.shape[-1] != self.n_embd:
            raise ValueError(f"x must have shape (B, T, n_embd={self.n_embd}), got {tuple(x.shape)}")
        B, T, C = x.shape
        mask = None
        if attn_mask is not None:
            if attn_mask.dim() == 2 and tuple(attn_mask.shape) != (T, T):
                raise ValueError(f"attn_mask has shape {tuple(attn_mask.shape)} but the sequence has T={T}: "
                                 f"expected ({T}, {T}) or broadcastable to ({B}, {self.n_head}, {T}, {T})")
            mask = attn_mask
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (B, T) or key_padding_mask.dtype != torch.bool:
                raise ValueError(f"key_padding_mask must be bool of shape (B, T) = ({B}, {T}), "
                                 f"got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
            keep = ~key_padding_mask[:, None, None, :]                        # (B, 1, 1, T)
            mask = keep if mask is None else mask & keep
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        out, weights = scaled_dot_product_attention(q, k, v, attn_mask=mask, causal=causal)
        y = self.out_proj(out.transpose(1, 2).reshape(B, T, C))               # concat heads, then W_O
        return (y, weights) if need_weights else y

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (same ``embed_dim``/``num_heads``).

        PyTorch stacks ``W_Q, W_K, W_V`` into ``in_proj_weight: (3C, C)``; we split it.
        """
        if mha.embed_dim != self.n_embd or mha.num_heads != self.n_head:
            raise ValueError(f"nn.MultiheadAttention has embed_dim={mha.embed_dim}, num_heads={mha.num_heads}; "
                             f"this layer has n_embd={self.n_embd}, n_head={self.n_head}")
        if mha.in_proj_weight is None:
            raise ValueError("nn.MultiheadAttention with kdim/vdim != embed_dim is not supported")
        for proj, w in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_weight.chunk(3)):
            proj.weight.copy_(w)
        if self.q_proj.bias is not None:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        return self


def attention_flops(T: int, n_embd: int) -> dict[str, int]:
    """Multiply-adds x 2 of one self-attention layer on one sequence of length ``T``.

    ``projections``: 4 products (T, C) @ (C, C) -> ``8 T C^2``; ``scores`` Q K^T and
    ``mix`` weights @ V: ``2 T^2 C`` each, summed over heads.
    """
    for name, value in (("T", T), ("n_embd", n_embd)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")
    return {"projections": 8 * T * n_embd ** 2, "scores": 2 * T * T * n_embd, "mix": 2 * T * T * n_embd}


def sinusoidal_positional_encoding(T: int, n_embd: int, base: float = 10000.0) -> torch.Tensor:
    """``(T, n_embd)``: ``PE[t, 2i] = sin(t / base^(2i/n_embd))``, ``PE[t, 2i+1] = cos(...)`` (Vaswani et al.)."""
    if n_embd % 2 != 0:
        raise ValueError(f"n_embd={n_embd} must be even for sinusoidal encodings (sin/cos pairs)")
    pos = torch.arange(T, dtype=torch.float64)[:, None]                      # (T, 1)
    freq = base ** (-torch.arange(0, n_embd, 2, dtype=torch.float64) / n_embd)   # (n_embd/2,)
    pe = torch.zeros(T, n_embd, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Adds fixed sinusoidal encodings: ``x: (B, T, C) -> x + PE[:T]`` (no parameters)."""

    def __init__(self, block_size: int, n_embd: int):
        super().__init__()
        self.block_size = block_size
        self.register_buffer("pe", sinusoidal_positional_encoding(block_size, n_embd), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_positions(x, self.block_size, self.pe.shape[1])
        return x + self.pe[: x.shape[1]].to(x.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trained vector per position (GPT-2 style ``wpe``): ``x: (B, T, C) -> x + wpe(arange(T))``."""

    def __init__(self, block_size: int, n_embd: int):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_positions(x, self.block_size, self.wpe.embedding_dim)
        return x + self.wpe(torch.arange(x.shape[1], device=x.device))


def _check_positions(x: torch.Tensor, block_size: int, n_embd: int) -> None:
    if x.dim() != 3 or x.shape[-1] != n_embd:
        raise ValueError(f"x must have shape (B, T, n_embd={n_embd}), got {tuple(x.shape)}")
    if x.shape[1] > block_size:
        raise ValueError(f"sequence length T={x.shape[1]} exceeds block_size={block_size}")

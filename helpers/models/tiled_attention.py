"""Attention without the ``T x T`` matrix: online softmax and tiled (FlashAttention-style) attention.

- :func:`online_softmax`       softmax over the last dimension in one streaming pass over blocks
                               (running max ``m`` and running sum ``l``, Milakov & Gimelshein 2018)
- :func:`sliding_window_mask`  ``(T_q, T_k)`` bool: causal, each query sees its last ``window`` keys
- :func:`visited_blocks`       the (query block, key block) pairs tiled attention has to compute
- :func:`tiled_attention`      ``softmax(q k^T / sqrt(d_k) + M) v`` block by block (Dao et al. 2022)
- :func:`peak_memory_bytes`    the largest total size of the tensors alive at once while ``fn`` runs

The recurrence behind both: for scores ``s`` seen in blocks, keep ``m`` (max so far),
``l = sum exp(s - m)`` and ``acc = sum exp(s - m) v``. A new block with maximum ``m_b``:

    m_new = max(m, m_b);  alpha = exp(m - m_new)
    l     = alpha * l   + sum exp(s_b - m_new)
    acc   = alpha * acc + exp(s_b - m_new) @ v_b
    at the end: out = acc / l

Masks follow :mod:`helpers.models.attention` (True = may attend). With ``causal=True``
the ``T_q`` queries are the *last* ``T_q`` of the ``T_k`` positions (bottom-right
alignment, as in KV-cache decoding): query ``i`` sits at position ``T_k - T_q + i``.
A block whose entries are all masked is skipped, never computed.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int")


def online_softmax(x: torch.Tensor, block_size: int = 1) -> torch.Tensor:
    """Softmax over the last dimension of ``x: (..., N)``, reading ``x`` in blocks of ``block_size``.

    One pass keeps the running max ``m`` and the running sum ``l = sum exp(x - m)``,
    rescaling ``l`` by ``exp(m_old - m_new)`` whenever the max grows; a second pass
    writes ``exp(x - m) / l``. Equal to ``torch.softmax(x, -1)`` up to rounding.
    """
    _check_positive_int("block_size", block_size)
    if x.dim() < 1 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last dimension, got shape {tuple(x.shape)}")
    m = torch.full(x.shape[:-1] + (1,), float("-inf"), dtype=x.dtype, device=x.device)
    l = torch.zeros_like(m)
    for start in range(0, x.shape[-1], block_size):
        block = x[..., start:start + block_size]
        m_new = torch.maximum(m, block.amax(-1, keepdim=True))
        l = l * torch.exp(m - m_new) + torch.exp(block - m_new).sum(-1, keepdim=True)
        m = m_new
    return torch.exp(x - m) / l


def sliding_window_mask(T_q: int, window: int, T_k: int | None = None, device=None) -> torch.Tensor:
    """``(T_q, T_k)`` bool, True where query ``i`` may see key ``j``: ``p - window < j <= p``.

    ``p = T_k - T_q + i`` is the query's position (``T_k`` defaults to ``T_q``): causal,
    and each query sees itself and the ``window - 1`` keys before it.
    """
    T_k = T_q if T_k is None else T_k
    _check_positive_int("T_q", T_q)
    _check_positive_int("T_k", T_k)
    _check_positive_int("window", window)
    if T_k < T_q:
        raise ValueError(f"T_k={T_k} < T_q={T_q}: the queries are the last T_q positions, so T_q must be <= T_k")
    pos = torch.arange(T_k - T_q, T_k, device=device)[:, None]              # (T_q, 1) query positions
    key = torch.arange(T_k, device=device)[None, :]                          # (1, T_k)
    return (key <= pos) & (key > pos - window)


def _block_state(r0: int, r1: int, c0: int, c1: int, offset: int, causal: bool, window: int | None) -> str:
    """'skip', 'full' or 'partial' for queries ``r0:r1`` (positions shifted by ``offset``) and keys ``c0:c1``."""
    if not causal:
        return "full"
    p_lo, p_hi = r0 + offset, r1 - 1 + offset                                # first and last query position
    if c0 > p_hi:                                                            # every key is in every query's future
        return "skip"
    if window is not None and c1 - 1 <= p_lo - window:                       # every key is too far in the past
        return "skip"
    if c1 - 1 <= p_lo and (window is None or c0 > p_hi - window):
        return "full"
    return "partial"


def visited_blocks(T_q: int, T_k: int, block_q: int, block_k: int, causal: bool = False,
                   window: int | None = None) -> list[tuple[int, int, str]]:
    """``[(i, j, state)]``: query block ``i`` meets key block ``j``; state is ``"full"`` or ``"partial"``.

    Blocks with no allowed entry are left out (tiled attention skips them);
    ``"full"`` blocks need no mask. ``window`` implies ``causal``.
    """
    for name, value in (("T_q", T_q), ("T_k", T_k), ("block_q", block_q), ("block_k", block_k)):
        _check_positive_int(name, value)
    if window is not None:
        _check_positive_int("window", window)
        causal = True
    if causal and T_q > T_k:
        raise ValueError(f"causal attention with T_q={T_q} queries but only T_k={T_k} keys: "
                         f"the queries are the last T_q positions, so T_q must be <= T_k")
    out = []
    for i, r0 in enumerate(range(0, T_q, block_q)):
        for j, c0 in enumerate(range(0, T_k, block_k)):
            state = _block_state(r0, min(r0 + block_q, T_q), c0, min(c0 + block_k, T_k), T_k - T_q, causal, window)
            if state != "skip":
                out.append((i, j, state))
    return out


def tiled_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_q: int = 64, block_k: int = 64,
                    causal: bool = False, window: int | None = None) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d_k) + M) v`` one ``(block_q, block_k)`` tile at a time.

    ``q: (..., T_q, d_k)``, ``k: (..., T_k, d_k)``, ``v: (..., T_k, d_v)`` -> ``(..., T_q, d_v)``.
    ``causal=True``: query ``i`` (position ``T_k - T_q + i``) sees keys up to its position;
    ``window=w``: causal and only the last ``w`` keys (:func:`sliding_window_mask`).
    The largest intermediates are ``(..., block_q, block_k)`` scores and the
    ``(..., block_q, d_v)`` running output; the ``T_q x T_k`` matrix never exists.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length T_k, got {k.shape[-2]} and {v.shape[-2]}")
    T_q, T_k = q.shape[-2], k.shape[-2]
    blocks = visited_blocks(T_q, T_k, block_q, block_k, causal, window)     # validates the sizes and the mask
    causal = causal or window is not None
    scale = 1.0 / math.sqrt(q.shape[-1])
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    out = q.new_empty(batch + (T_q, v.shape[-1]))
    by_row: dict[int, list[tuple[int, str]]] = {}
    for i, j, state in blocks:
        by_row.setdefault(i, []).append((j, state))
    for i, row in by_row.items():
        r0, r1 = i * block_q, min((i + 1) * block_q, T_q)
        q_blk = q[..., r0:r1, :] * scale
        m = q.new_full(batch + (r1 - r0, 1), float("-inf"))                 # running max
        l = q.new_zeros(batch + (r1 - r0, 1))                               # running sum of exp(s - m)
        acc = q.new_zeros(batch + (r1 - r0, v.shape[-1]))                   # running sum of exp(s - m) v
        for j, state in row:
            c0, c1 = j * block_k, min((j + 1) * block_k, T_k)
            s = q_blk @ k[..., c0:c1, :].transpose(-2, -1)                  # (..., bq, bk)
            if state == "partial":
                allowed = _tile_mask(r0, r1, c0, c1, T_k - T_q, window, q.device)
                s = s.masked_fill(~allowed, float("-inf"))
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))
            m_safe = m_new.masked_fill(m_new == float("-inf"), 0.0)       # a row with nothing allowed yet
            p = torch.exp(s - m_safe)
            alpha = torch.exp(m - m_safe)
            l = alpha * l + p.sum(-1, keepdim=True)
            acc = alpha * acc + p @ v[..., c0:c1, :]
            m = m_new
        out[..., r0:r1, :] = acc / l
    return out


def _tile_mask(r0: int, r1: int, c0: int, c1: int, offset: int, window: int | None, device) -> torch.Tensor:
    pos = torch.arange(r0 + offset, r1 + offset, device=device)[:, None]
    key = torch.arange(c0, c1, device=device)[None, :]
    allowed = key <= pos
    return allowed if window is None else allowed & (key > pos - window)


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of the storages created by PyTorch operations that are alive, and their peak."""

    def __init__(self):
        super().__init__()
        self.live, self.peak = 0, 0
        self._refs: dict[int, list[int]] = {}                               # storage pointer -> [bytes, #tensors]

    def _release(self, ptr: int) -> None:
        entry = self._refs[ptr]
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self._refs[ptr]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {a.untyped_storage().data_ptr() for a in tree_flatten((args, kwargs))[0]
                  if isinstance(a, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            ptr = t.untyped_storage().data_ptr()
            if ptr in inputs and ptr not in self._refs:                      # a view of a tensor made outside
                continue
            if ptr not in self._refs:
                self._refs[ptr] = [t.untyped_storage().nbytes(), 0]
                self.live += self._refs[ptr][0]
                self.peak = max(self.peak, self.live)
            self._refs[ptr][1] += 1
            weakref.finalize(t, self._release, ptr)
        return out


def peak_memory_bytes(fn: Callable, *args, **kwargs) -> tuple[object, int]:
    """Run ``fn(*args, **kwargs)`` and return ``(result, peak bytes)``.

    The peak is the largest total size of the tensors created by PyTorch operations
    inside ``fn`` that were alive at the same moment (the inputs are not counted;
    a storage shared by views counts once; scratch buffers inside a single kernel
    are invisible). Python frees a tensor as soon as its last reference goes, so
    the number is the same on every run. Run under ``torch.no_grad()`` to leave out
    what autograd would keep for backward.
    """
    if not callable(fn):
        raise TypeError(f"fn is a {type(fn).__name__}; pass the function to measure, then its arguments")
    mode = _LiveBytes()
    with mode:
        result = fn(*args, **kwargs)
    return result, mode.peak

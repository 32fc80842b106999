"""A Llama/Qwen-family decoder (Llama 2, Qwen2/Qwen2.5, Qwen3), readable top to bottom::

    idx: (B, T) token ids
      -> token embedding                                                  (B, T, d)     no position embedding
      -> n_layer x Block:  x = x + attn(attn_norm(x));  x = x + mlp(mlp_norm(x))   (pre-RMSNorm)
           attn: grouped-query attention, rotary position embedding (RoPE) on q and k,
                 optional RMSNorm of q and k per head (Qwen3), optional q/k/v bias (Qwen2)
           mlp:  SwiGLU, down(silu(gate(x)) * up(x))
      -> norm -> lm_head (tied to the embedding or not) -> logits: (B, T, vocab_size)

What changed since GPT-2 (``helpers.models.gpt``): RMSNorm instead of LayerNorm
(no mean, no bias), rotary instead of learned absolute positions, SwiGLU instead
of a GELU MLP, fewer key/value heads than query heads (GQA), no biases. The
model has the interface of :class:`helpers.models.GPT`:
``forward(idx, targets=None) -> (logits, loss)``, ``generate(...)`` with a
key/value cache, ``num_params()``; :func:`llama_num_params` is the closed form.

Real weights: :func:`load_pretrained` reads a Hugging Face folder
(``config.json``, ``model.safetensors`` or its sharded index,
``tokenizer.json``) and returns the model and its tokenizer;
:func:`download_pretrained` fetches such a folder from the Hub into the book's
cache. :func:`convert_hf_state_dict` is the one place where Hugging Face
parameter names become the names used here, so the tests that compare this
model with ``transformers`` copy weights through the same mapping as the loader.
The rotary embedding uses the "rotate-half" layout of Hugging Face checkpoints
(dimension ``i`` is paired with ``i + head_dim/2``).
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_float, check_int, check_type
from .gpt import KVCache, _check_generate_args, _check_token_ids, _sample


@dataclass
class LlamaConfig:
    """Architecture of a :class:`Llama`.

    ``n_embd``: hidden size d; ``n_head`` query heads of ``head_dim`` dimensions
    each (default ``n_embd // n_head``; Qwen3 sets it independently);
    ``n_kv_head`` key/value heads (``n_head``: multi-head attention, 1: multi-query,
    in between: grouped-query); ``intermediate_size``: width of the SwiGLU MLP;
    ``max_seq_len``: the longest sequence (the rotary tables are precomputed up to it);
    ``qk_norm``: RMSNorm of q and k per head (Qwen3); ``attention_bias``: the q, k, v
    projections have a bias (Qwen2/Qwen2.5).
    """

    vocab_size: int
    n_embd: int
    n_layer: int
    n_head: int
    n_kv_head: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    max_seq_len: int = 2048
    tie_word_embeddings: bool = False
    qk_norm: bool = False
    attention_bias: bool = False

    def __post_init__(self):
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        for name in ("vocab_size", "n_embd", "n_layer", "n_head", "n_kv_head", "max_seq_len"):
            _check_positive_int(name, getattr(self, name))
        if self.head_dim is None:
            if self.n_embd % self.n_head != 0:
                raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                                 "pick n_embd as a multiple of n_head or set head_dim explicitly")
            self.head_dim = self.n_embd // self.n_head
        _check_positive_int("head_dim", self.head_dim)
        if self.head_dim % 2 != 0:
            raise ValueError(f"head_dim={self.head_dim} must be even: RoPE rotates pairs of dimensions")
        if self.n_head % self.n_kv_head != 0:
            raise ValueError(f"n_head={self.n_head} is not divisible by n_kv_head={self.n_kv_head}; each key/value "
                             "head must serve the same number of query heads (use a divisor of n_head)")
        if self.intermediate_size is None:
            self.intermediate_size = swiglu_hidden_size(self.n_embd)
        _check_positive_int("intermediate_size", self.intermediate_size)
        for name in ("rope_theta", "rms_norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"LlamaConfig.{name}={value!r} must be a positive number")
        if self.rope_theta <= 1:
            raise ValueError(f"rope_theta={self.rope_theta!r} must be > 1 (10000 in Llama 2, 1e6 in Qwen3)")
        for name in ("tie_word_embeddings", "qk_norm", "attention_bias"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"LlamaConfig.{name}={getattr(self, name)!r} must be True or False")

    def to_dict(self) -> dict:
        return asdict(self)


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"LlamaConfig.{name}={value!r} must be a positive int")


def swiglu_hidden_size(n_embd: int, multiple_of: int = 256) -> int:
    """Width of a SwiGLU MLP with the parameters of a ``4 * n_embd`` GELU MLP: ``8/3 * n_embd``,
    rounded up to a multiple of ``multiple_of`` (Llama's rule; ``multiple_of=1`` gives the exact value when
    ``n_embd`` is a multiple of 3)."""
    check_int("n_embd", n_embd, min=1)
    check_int("multiple_of", multiple_of, min=1)
    hidden = math.ceil(8 * n_embd / 3)
    return multiple_of * math.ceil(hidden / multiple_of)


def llama_num_params(config: LlamaConfig, non_embedding: bool = False) -> int:
    """Closed-form parameter count of ``Llama(config)``.

    With V = vocab_size, d = n_embd, L = n_layer, h = n_head, g = n_kv_head,
    h_d = head_dim, f = intermediate_size:

        V*d  +  L * (2*d*h*h_d + 2*d*g*h_d  +  3*d*f  +  2*d  [+ 2*h_d if qk_norm]
                     [+ h*h_d + 2*g*h_d if attention_bias])  +  d   (+ V*d if not tied)

    per block: q and o projections d*h*h_d each, k and v d*g*h_d each, the SwiGLU
    MLP three d x f matrices, two RMSNorm weights; the final RMSNorm d.
    ``non_embedding=True`` leaves out the token embedding (and an untied output layer).
    """
    check_type("config", config, LlamaConfig, "helpers.models.LlamaConfig")
    V, d, L, f = config.vocab_size, config.n_embd, config.n_layer, config.intermediate_size
    h, g, hd = config.n_head, config.n_kv_head, config.head_dim
    block = 2 * d * h * hd + 2 * d * g * hd + 3 * d * f + 2 * d
    if config.qk_norm:
        block += 2 * hd
    if config.attention_bias:
        block += h * hd + 2 * g * hd
    body = L * block + d
    if non_embedding:
        return body
    return body + V * d * (1 if config.tie_word_embeddings else 2)


def kv_cache_bytes(config: LlamaConfig, tokens: int, batch: int = 1, bytes_per_value: int = 2) -> int:
    """Memory of the key/value cache: ``2 * n_layer * batch * tokens * n_kv_head * head_dim * bytes_per_value``
    (keys and values; 2 bytes per value in bfloat16/float16, 4 in float32)."""
    check_type("config", config, LlamaConfig, "helpers.models.LlamaConfig")
    check_int("tokens", tokens, min=0)
    check_int("batch", batch, min=1)
    check_int("bytes_per_value", bytes_per_value, min=1)
    return 2 * config.n_layer * batch * tokens * config.n_kv_head * config.head_dim * bytes_per_value


# ---------------------------------------------------------------------------------------------
# Building blocks

class RMSNorm(nn.Module):
    """Root-mean-square normalisation: ``y = x / sqrt(mean(x^2) + eps) * weight`` over the last dimension.

    Unlike LayerNorm it does not subtract the mean and has no bias. Computed in
    float32 and cast back, as the Llama/Qwen references do. ``x: (..., dim) -> (..., dim)``.
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        check_int("dim", dim, min=1)
        check_float("eps", eps, min=0.0)
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def _check_head_dim(head_dim) -> None:
    check_int("head_dim", head_dim, min=2)
    if head_dim % 2:
        raise ValueError(f"head_dim={head_dim} must be even: RoPE rotates pairs of dimensions")


def rope_frequencies(head_dim: int, theta: float = 10000.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Angular frequencies ``theta ** (-2i / head_dim)`` for ``i = 0 .. head_dim/2 - 1``: ``(head_dim/2,)``.

    Pair ``i`` of a query or key at position ``m`` is rotated by the angle ``m * freq_i``.
    """
    _check_head_dim(head_dim)
    check_float("theta", theta, min=1.0, min_inclusive=False)
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=dtype) / head_dim))


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float = 10000.0,
                 dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos, sin: (T, head_dim)`` for integer ``positions: (T,)``, each angle written twice ("rotate-half" layout).

    Computed in ``dtype`` (float32, as the Hugging Face models do; float64 for exact checks).
    """
    check_type("positions", positions, torch.Tensor, "1-D tensor of positions, e.g. torch.arange(T)")
    if positions.dim() != 1:
        raise ValueError(f"positions must be a 1-D tensor (T,), got shape {tuple(positions.shape)}; "
                         "pass e.g. torch.arange(T)")
    angles = positions.to(dtype)[:, None] * rope_frequencies(head_dim, theta, dtype).to(positions.device)[None, :]
    angles = torch.cat([angles, angles], dim=-1)                     # (T, head_dim)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) -> (-x2, x1)`` where x1, x2 are the two halves of the last dimension."""
    check_type("x", x, torch.Tensor, "tensor")
    if x.dim() == 0 or x.shape[-1] % 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; its last dimension must be even (two halves)")
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate every pair ``(x[i], x[i + head_dim/2])`` of ``x: (B, n_head, T, head_dim)`` by its angle.

    ``cos, sin: (T, head_dim)`` from :func:`rope_cos_sin`. Per pair this is
    ``(a, b) -> (a cos - b sin, a sin + b cos)``, a 2-D rotation.
    """
    _check_rope_args(x, cos, sin)
    return x * cos + rotate_half(x) * sin


def _check_rope_args(x, cos, sin) -> None:
    for name, t in (("x", x), ("cos", cos), ("sin", sin)):
        check_type(name, t, torch.Tensor, "tensor")
    if cos.shape != sin.shape or cos.dim() == 0 or x.dim() == 0 or cos.shape[-1] != x.shape[-1]:
        raise ValueError(f"cos {tuple(cos.shape)} and sin {tuple(sin.shape)} must have one shape whose last "
                         f"dimension is x's head_dim {tuple(x.shape)[-1:]}; make them with rope_cos_sin(positions, "
                         "head_dim)")


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """``(B, n_kv_head, T, head_dim) -> (B, n_kv_head * n_rep, T, head_dim)``: each key/value head serves
    ``n_rep`` consecutive query heads."""
    check_int("n_rep", n_rep, min=1)
    check_type("x", x, torch.Tensor, "tensor")
    if x.dim() != 4:
        raise ValueError(f"x must be (B, n_kv_head, T, head_dim), got shape {tuple(x.shape)}")
    if n_rep == 1:
        return x
    B, g, T, hd = x.shape
    return x[:, :, None, :, :].expand(B, g, n_rep, T, hd).reshape(B, g * n_rep, T, hd)


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE: ``x: (B, T, d) -> (B, T, d)``.

    ``n_head`` query heads share ``n_kv_head`` key/value heads. The cache stores
    keys and values before they are repeated, so its size scales with ``n_kv_head``.
    """

    def __init__(self, config: LlamaConfig):
        check_type("config", config, LlamaConfig, "helpers.models.LlamaConfig")
        super().__init__()
        d, h, g, hd = config.n_embd, config.n_head, config.n_kv_head, config.head_dim
        self.n_head, self.n_kv_head, self.head_dim = h, g, hd
        self.q_proj = nn.Linear(d, h * hd, bias=config.attention_bias)
        self.k_proj = nn.Linear(d, g * hd, bias=config.attention_bias)
        self.v_proj = nn.Linear(d, g * hd, bias=config.attention_bias)
        self.o_proj = nn.Linear(h * hd, d, bias=False)
        if config.qk_norm:
            self.q_norm = RMSNorm(hd, config.rms_norm_eps)
            self.k_norm = RMSNorm(hd, config.rms_norm_eps)
        else:
            self.q_norm = self.k_norm = None

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim)
        k = self.k_proj(x).view(B, T, self.n_kv_head, self.head_dim)
        v = self.v_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)   # (B, g, T, hd)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q = apply_rope(q.transpose(1, 2), cos, sin)                                    # (B, h, T, hd)
        k = apply_rope(k.transpose(1, 2), cos, sin)                                    # (B, g, T, hd)
        if cache is not None:
            past = cache.layers[layer]
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
            cache.layers[layer] = (k, v)
        Tk = k.shape[2]
        n_rep = self.n_head // self.n_kv_head
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)                                # (B, h, Tk, hd)
        if T == Tk:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:   # new queries at positions Tk - T .. Tk - 1 see every key up to their own position
            mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=Tk - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim))


class SwiGLU(nn.Module):
    """Gated MLP: ``down(silu(gate(x)) * up(x))``, ``x: (B, T, d) -> (B, T, d)``, hidden width ``intermediate_size``."""

    def __init__(self, n_embd: int, intermediate_size: int):
        check_int("n_embd", n_embd, min=1)
        check_int("intermediate_size", intermediate_size, min=1)
        super().__init__()
        self.gate_proj = nn.Linear(n_embd, intermediate_size, bias=False)
        self.up_proj = nn.Linear(n_embd, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm block: ``x + attn(attn_norm(x))``, then ``x + mlp(mlp_norm(x))``."""

    def __init__(self, config: LlamaConfig):
        check_type("config", config, LlamaConfig, "helpers.models.LlamaConfig")
        super().__init__()
        self.attn_norm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.mlp = SwiGLU(config.n_embd, config.intermediate_size)

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, cache, layer)
        return x + self.mlp(self.mlp_norm(x))


# ---------------------------------------------------------------------------------------------
# The model

class Llama(nn.Module):
    """``Llama(config)``: the decoder of Llama 2 / Qwen2 / Qwen3 (see the module docstring).

    ``forward(idx: (B, T) int64, targets: (B, T) | None) -> (logits: (B, T, V), loss | None)``;
    targets equal to ``-1`` are ignored by the loss.
    """

    def __init__(self, config: LlamaConfig):
        super().__init__()
        if not isinstance(config, LlamaConfig):
            raise TypeError(f"Llama expects a LlamaConfig, got {type(config).__name__}")
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.n_embd)
        self.layers = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.norm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        # Rotary tables for positions 0 .. max_seq_len - 1 (not parameters, not saved).
        cos, sin = rope_cos_sin(torch.arange(config.max_seq_len), config.head_dim, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)   # (max_seq_len, head_dim)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = False) -> int:
        """Number of parameters (a tied matrix counted once); ``non_embedding`` leaves out the embedding
        (and an untied output layer)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.embed_tokens.weight.numel()
            if not self.config.tie_word_embeddings:
                n -= self.lm_head.weight.numel()
        return n

    def _check_idx(self, idx: torch.Tensor, past: int = 0, name: str = "idx", ignore: int | None = None) -> None:
        _check_token_ids(idx, self.config.vocab_size, "max_seq_len", self.config.max_seq_len, past, name, ignore)

    def features(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Final hidden states after ``norm``: ``idx: (B, T) -> (B, T, n_embd)``.

        With ``cache``, ``idx`` holds only the new tokens; their positions continue
        after the ``cache.length`` tokens already cached.
        """
        past = cache.length if cache is not None else 0
        self._check_idx(idx, past)
        x = self.embed_tokens(idx)
        cos = self.rope_cos[past: past + idx.shape[1]].to(x.dtype)
        sin = self.rope_sin[past: past + idx.shape[1]].to(x.dtype)
        for i, block in enumerate(self.layers):
            x = block(x, cos, sin, cache, i)
        return self.norm(x)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.lm_head(self.features(idx))
        loss = None
        if targets is not None:
            if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, "
                                 f"got {type(targets).__name__} {tuple(getattr(targets, 'shape', ()))}")
            self._check_idx(targets, name="targets", ignore=-1)   # -1 = ignored by the loss
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def forward_cached(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits ``(B, T, V)`` of the new tokens ``idx: (B, T)``, reusing and extending ``cache``."""
        return self.lm_head(self.features(idx, cache))

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None, stop_tokens=()) -> torch.Tensor:
        """Append up to ``max_new_tokens`` sampled tokens to ``idx: (B, T)``; returns ``(B, T + n_new)``.

        ``temperature`` (0 = greedy), ``top_k``, ``top_p`` (nucleus: the smallest set of
        tokens whose probabilities sum to at least ``top_p``) and ``generator`` as in
        :meth:`helpers.models.GPT.generate`. ``use_cache=False`` recomputes the whole
        sequence at every step (same tokens, slower). ``stop_tokens``: ids that end
        generation once every sequence of the batch has produced one (e.g. ``<|im_end|>``).
        The total length may not exceed ``max_seq_len``. Runs in eval mode and restores the mode.
        """
        _check_generate_args(idx, max_new_tokens, temperature, top_k, top_p)
        if idx.shape[1] + max_new_tokens > self.config.max_seq_len:
            raise ValueError(f"{idx.shape[1]} prompt tokens + max_new_tokens={max_new_tokens} exceed "
                             f"max_seq_len={self.config.max_seq_len}; ask for fewer tokens")
        stop = torch.tensor(sorted(set(stop_tokens)), dtype=torch.long, device=idx.device)
        done = torch.zeros(idx.shape[0], dtype=torch.bool, device=idx.device)
        was_training = self.training
        self.eval()
        cache = KVCache(self.config.n_layer) if use_cache else None
        try:
            for _ in range(max_new_tokens):
                # Only the last position's logits are needed: the output layer (V x d) is skipped elsewhere.
                h = self.features(idx[:, cache.length:], cache) if cache is not None else self.features(idx)
                logits = self.lm_head(h[:, -1, :])
                nxt = _sample(logits.float(), temperature, top_k, generator, top_p)
                idx = torch.cat([idx, nxt], dim=1)
                done |= torch.isin(nxt[:, 0], stop)
                if done.all():
                    break
        finally:
            self.train(was_training)
        return idx

    @classmethod
    def from_pretrained(cls, path, dtype: torch.dtype = torch.float32) -> Llama:
        """The model stored in the Hugging Face folder ``path`` (see :func:`load_pretrained`), without tokenizer."""
        return load_pretrained(path, dtype=dtype, tokenizer=False)[0]


# ---------------------------------------------------------------------------------------------
# Hugging Face checkpoints: config, parameter names, files

SUPPORTED_MODEL_TYPES = ("llama", "qwen2", "qwen3")


def config_from_hf(hf: dict, max_seq_len: int | None = None) -> LlamaConfig:
    """A :class:`LlamaConfig` from the dict of a Hugging Face ``config.json`` (``model_type`` llama, qwen2, qwen3).

    ``max_seq_len`` defaults to the checkpoint's ``max_position_embeddings``.
    Features this model does not have (sliding-window attention, RoPE scaling,
    biases on the output projection or the MLP) raise a ``ValueError`` instead of
    giving a model that silently computes something else.
    """
    model_type = hf.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(f"model_type={model_type!r} is not supported; this loader reads {SUPPORTED_MODEL_TYPES} "
                         "checkpoints (Llama 2, Qwen2/Qwen2.5, Qwen3)")
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act={hf['hidden_act']!r}: only SwiGLU with silu is implemented")
    if hf.get("use_sliding_window"):
        raise ValueError("use_sliding_window=True: sliding-window attention is not implemented")
    rope = dict(hf.get("rope_parameters") or {})
    scaling = hf.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", scaling.get("rope_type", scaling.get("type", "default")))
    if rope_type != "default":
        raise ValueError(f"rope_type={rope_type!r}: only plain RoPE is implemented (no context-extension scaling)")
    theta = rope.get("rope_theta", hf.get("rope_theta", 10000.0))
    if model_type == "qwen2":
        attention_bias = True                      # Qwen2 always has q/k/v biases and no o_proj bias
    else:
        if hf.get("attention_bias") or hf.get("mlp_bias"):
            raise ValueError(f"{model_type} with attention_bias/mlp_bias=True (biases on every projection) "
                             "is not implemented")
        attention_bias = False
    return LlamaConfig(
        vocab_size=hf["vocab_size"], n_embd=hf["hidden_size"], n_layer=hf["num_hidden_layers"],
        n_head=hf["num_attention_heads"], n_kv_head=hf.get("num_key_value_heads") or hf["num_attention_heads"],
        head_dim=hf.get("head_dim"), intermediate_size=hf["intermediate_size"], rope_theta=float(theta),
        rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
        max_seq_len=max_seq_len or hf.get("max_position_embeddings", 2048),
        tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
        qk_norm=model_type == "qwen3", attention_bias=attention_bias)


# Hugging Face name -> name in this module ({i} is the layer number).
_HF_RENAMES = [
    (r"model\.embed_tokens\.", "embed_tokens."),
    (r"model\.layers\.(\d+)\.input_layernorm\.", r"layers.\1.attn_norm."),
    (r"model\.layers\.(\d+)\.post_attention_layernorm\.", r"layers.\1.mlp_norm."),
    (r"model\.layers\.(\d+)\.self_attn\.", r"layers.\1.attn."),
    (r"model\.layers\.(\d+)\.mlp\.", r"layers.\1.mlp."),
    (r"model\.norm\.", "norm."),
    (r"lm_head\.", "lm_head."),
]


def hf_key_to_book(name: str) -> str:
    """``model.layers.3.self_attn.q_proj.weight -> layers.3.attn.q_proj.weight``; unknown names raise ``KeyError``."""
    for pattern, repl in _HF_RENAMES:
        if re.match(pattern, name):
            return re.sub(pattern, repl, name, count=1)
    raise KeyError(f"unexpected parameter {name!r} in the checkpoint: not part of a Llama/Qwen decoder")


def convert_hf_state_dict(hf_state: dict, model: Llama) -> dict:
    """Map a Hugging Face state dict onto ``model``'s parameter names and check it fits exactly.

    Every checkpoint tensor must be used and every parameter of ``model`` filled,
    with the same shape; otherwise ``ValueError`` lists the differences. With tied
    embeddings the checkpoint may omit ``lm_head.weight`` (``save_pretrained`` does);
    if it has one it must equal the embedding. Returns ``{book_name: tensor}``.
    """
    expected = {name: p.shape for name, p in model.named_parameters()}    # a tied matrix appears once
    out, unexpected = {}, []
    for name, tensor in hf_state.items():
        if name.endswith("rotary_emb.inv_freq"):
            continue                               # old checkpoints store the RoPE frequencies; we recompute them
        try:
            book = hf_key_to_book(name)
        except KeyError:
            unexpected.append(name)
            continue
        if book == "lm_head.weight" and model.config.tie_word_embeddings:
            emb = hf_state.get("model.embed_tokens.weight")
            if emb is not None and not torch.equal(emb, tensor):
                raise ValueError("the config ties the output layer to the embedding (tie_word_embeddings=True) but "
                                 "the checkpoint's lm_head.weight differs from model.embed_tokens.weight")
            continue
        if book not in expected:
            unexpected.append(name)
            continue
        if tuple(tensor.shape) != tuple(expected[book]):
            raise ValueError(f"{name}: shape {tuple(tensor.shape)} in the checkpoint, {tuple(expected[book])} "
                             "expected from config.json; the weights do not belong to this config")
        out[book] = tensor
    missing = sorted(set(expected) - set(out))
    if unexpected or missing:
        raise ValueError(f"checkpoint does not fit the model: unexpected {unexpected[:5]}"
                         f"{' ...' if len(unexpected) > 5 else ''}, missing {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    return out


def read_safetensors(path) -> dict:
    """All tensors of a Hugging Face folder: ``model.safetensors``, or the shards named in
    ``model.safetensors.index.json``. Returns ``{name: tensor}`` on the CPU."""
    from safetensors.torch import load_file

    path = Path(path)
    single, index = path / "model.safetensors", path / "model.safetensors.index.json"
    if single.is_file():
        return load_file(single)
    if not index.is_file():
        raise FileNotFoundError(f"{path} has neither model.safetensors nor model.safetensors.index.json; "
                                "download the checkpoint with download_pretrained(repo)")
    shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    state = {}
    for shard in shards:
        if not (path / shard).is_file():
            raise FileNotFoundError(f"{path / shard} (named in {index.name}) is missing; download it again")
        state.update(load_file(path / shard))
    return state


def load_pretrained(path, dtype: torch.dtype = torch.float32, tokenizer: bool = True,
                    max_seq_len: int | None = None):
    """``(model, tokenizer)`` from a Hugging Face folder: ``config.json``, the safetensors weights, ``tokenizer.json``.

    ``dtype``: ``torch.float32`` or ``torch.bfloat16`` (half the memory).
    ``tokenizer=False`` returns ``(model, None)``. The tokenizer is a
    ``tokenizers.Tokenizer`` (``encode(text).ids``, ``decode(ids)``). The model is
    in eval mode on the CPU; move it with ``.to(device)``.
    """
    path = Path(path)
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype={dtype}: use torch.float32, torch.bfloat16 or torch.float16")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} is missing: {path} is not a Hugging Face model folder")
    config = config_from_hf(json.loads(config_file.read_text()), max_seq_len)
    tok = None
    if tokenizer:
        if not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{path / 'tokenizer.json'} is missing; pass tokenizer=False to load only "
                                    "the model")
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    with torch.device("meta"):
        model = Llama(config)                      # shapes only: no memory, no random initialisation
    state = convert_hf_state_dict(read_safetensors(path), model)
    model = model.to_empty(device="cpu").to(dtype)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.embed_tokens.weight
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, tensor in state.items():         # convert_hf_state_dict checked: every parameter, right shapes
            params[name].copy_(tensor)
    model.rope_cos, model.rope_sin = rope_cos_sin(torch.arange(config.max_seq_len), config.head_dim,
                                                  config.rope_theta)
    return model.eval(), tok


# ---------------------------------------------------------------------------------------------
# Downloads from the Hugging Face Hub (full scale only)

HF_ENDPOINT_ENV_VAR = "HF_ENDPOINT"
DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


def download_pretrained(repo: str, revision: str = "main", root=None, endpoint: str | None = None) -> Path:
    """Download the files :func:`load_pretrained` needs from a Hub repo (e.g. ``"Qwen/Qwen3-0.6B"``).

    Files go to ``<cache>/hf/<owner>--<name>/`` (``<cache>``: ``root``, else
    ``$LLMBOOK_DATA``, else ``~/.cache/llm-book``), fetched from
    ``{endpoint}/{repo}/resolve/{revision}/{file}``; ``endpoint`` defaults to
    ``$HF_ENDPOINT`` (a mirror such as ``https://hf-mirror.com``), else
    ``https://huggingface.co``. Each file is written atomically (a temporary file
    renamed once the byte count matches the server's Content-Length), so an
    interrupted download leaves nothing that looks complete; files already in
    the cache are not fetched again, and once every file is there (listed in
    ``download_complete.json``) no request is made at all. The Hub publishes no checksum the book could
    pin for every revision, so the content is not hashed; the safetensors header
    is checked when the weights are read. Returns the folder.
    """
    from ..atomic import write_text_atomic
    from ..downloads import DownloadError, data_root, download_verified

    if not isinstance(repo, str) or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ValueError(f"repo={repo!r} must look like 'owner/name', e.g. 'Qwen/Qwen3-0.6B'")
    base = (endpoint or os.environ.get(HF_ENDPOINT_ENV_VAR) or DEFAULT_ENDPOINT).rstrip("/")
    folder = data_root(root) / "hf" / repo.replace("/", "--")
    done = folder / "download_complete.json"
    if done.is_file() and all((folder / name).is_file() for name in json.loads(done.read_text())):
        return folder

    def get(name: str, required: bool = True) -> Path | None:
        target = folder / name
        if target.is_file():
            return target
        url = f"{base}/{repo}/resolve/{revision}/{name}"
        print(f"downloading {url} -> {target}", flush=True)
        try:
            # weights: save_pretrained writes shards of at most 5 GB; other files are small
            cap = WEIGHT_FILE_MAX_BYTES if name.endswith(".safetensors") else None
            return download_verified(url, target, checksum=None, max_bytes=cap)
        except urllib.error.HTTPError as e:
            if e.code == 404 and not required:
                return None
            raise DownloadError(f"{url}: HTTP {e.code}; check the repo name {repo!r} and the revision "
                                f"{revision!r}, or set ${HF_ENDPOINT_ENV_VAR} to a mirror") from e
        except (urllib.error.URLError, OSError) as e:
            raise DownloadError(f"{url}: {e}; nothing was kept under {target}. Retry, or set "
                                f"${HF_ENDPOINT_ENV_VAR} to a mirror") from e

    files = [get(name, required=name in ("config.json", "tokenizer.json")) for name in HUB_FILES]
    weights = get("model.safetensors", required=False)
    if weights is None:
        index = get("model.safetensors.index.json")
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        files += [index] + [get(shard) for shard in shards]
    write_text_atomic(done, json.dumps(sorted(f.name for f in files + [weights] if f is not None), indent=1))
    return folder


WEIGHT_FILE_MAX_BYTES = 16 << 30   # a single safetensors file (or shard) larger than this is refused


def chat_prompt(user: str, system: str | None = None) -> str:
    """The ChatML prompt of Qwen chat models for one user turn, ending where the assistant starts::

        <|im_start|>system\\n{system}<|im_end|>\\n      (only if ``system`` is given)
        <|im_start|>user\\n{user}<|im_end|>\\n<|im_start|>assistant\\n

    (Qwen3 models add a thinking block by default; see their model cards.)
    """
    if not isinstance(user, str) or not user:
        raise ValueError(f"user={user!r} must be a non-empty string")
    head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return f"{head}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"

"""A small GPT (decoder-only Transformer language model), after nanoGPT's ``model.py``.

    idx: (B, T) token ids
      -> token embedding + learned position embedding         (B, T, C)
      -> n_layer x Block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))   (pre-LayerNorm)
      -> ln_f -> lm_head (by default tied to the token embedding) -> logits: (B, T, vocab_size)

``forward(idx, targets)`` returns ``(logits, loss)`` with the next-token
cross-entropy when ``targets: (B, T)`` (``idx`` shifted by one) is given.
``generate`` samples with temperature and top-k, optionally with a key/value
cache. Two switches exist only for teaching: ``explicit_attention=True``
computes softmax(QK^T/sqrt(d_k) + M)V by hand (and can return the attention
maps), ``causal=False`` removes the causal mask, so every position sees the
future - the bug the book shows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_float, check_int, check_type


@dataclass
class GPTConfig:
    """Architecture of a :class:`GPT`.

    ``block_size``: the longest context (number of positions); ``n_embd`` must be
    divisible by ``n_head`` (each head has ``n_embd // n_head`` dimensions).
    ``tie_weights=False`` gives the output layer its own ``(vocab_size, n_embd)``
    matrix instead of reusing the token embedding (GPT-2 ties them).
    """

    vocab_size: int
    block_size: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name}={value!r} must be a positive int")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                             f"pick n_embd as a multiple of n_head (e.g. {self.n_head * max(1, self.n_embd // self.n_head)})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout!r} must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


def gpt_num_params(config: GPTConfig, non_embedding: bool = False) -> int:
    """Closed-form parameter count of ``GPT(config)``.

    With V = vocab_size, T = block_size, L = n_layer, d = n_embd, b = 1 if bias else 0:

        V*d + T*d  +  L * (12*d^2 + 2*d + 11*b*d)  +  d + b*d  (+ V*d if the output layer is not tied)

    per block: attention 4*d^2 (+4d bias), MLP 8*d^2 (+5d bias), two LayerNorms
    2d (+2d bias); the final LayerNorm d (+d). ``non_embedding=True`` leaves out
    the position embedding T*d (the token embedding stays: it is also the output layer),
    as nanoGPT does.
    """
    check_type("config", config, GPTConfig, "helpers.models.GPTConfig")
    V, T, L, d, b = config.vocab_size, config.block_size, config.n_layer, config.n_embd, int(config.bias)
    total = V * d + T * d + L * (12 * d * d + 2 * d + 11 * b * d) + d + b * d
    if not config.tie_weights:
        total += V * d
    return total - T * d if non_embedding else total


class KVCache:
    """Keys and values of the tokens seen so far, one ``(k, v)`` pair per layer.

    ``k, v: (B, n_head, length, head_size)``. Filled by :meth:`GPT.forward_cached`.
    """

    def __init__(self, n_layer: int):
        check_int("n_layer", n_layer, min=1)
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        first = self.layers[0]
        return 0 if first is None else first[0].shape[2]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention: ``x: (B, T, C) -> (B, T, C)``.

    One linear layer makes Q, K and V (``c_attn: C -> 3C``); heads of size
    ``C // n_head`` attend in parallel; ``c_proj`` mixes the concatenated heads.
    """

    def __init__(self, config: GPTConfig, causal: bool = True, explicit: bool = False):
        check_type("config", config, GPTConfig, "helpers.models.GPTConfig")
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.causal = causal        # False: the missing-mask bug (teaching only)
        self.explicit = explicit    # True: softmax(QK^T / sqrt(d_k) + M) V written out
        self.store_attn = False     # with explicit: keep the weights in .attn (B, n_head, T, T)
        self.attn: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if cache is not None:
            past = cache.layers[layer]
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
            cache.layers[layer] = (k, v)
        Tk = k.shape[2]
        # Query i (absolute position Tk - T + i) may see keys 0 .. Tk - T + i.
        mask = None
        if self.causal and T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=Tk - T)
        p = self.dropout if self.training else 0.0
        if self.explicit:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)               # (B, nh, T, Tk)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            att = F.softmax(att, dim=-1)
            self.attn = att.detach() if self.store_attn else None
            y = self.attn_dropout(att) @ v                                 # (B, nh, T, hs)
        else:
            if mask is not None and Tk == T:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)                   # concatenate the heads
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward network: ``C -> 4C -> GELU -> C``."""

    def __init__(self, config: GPTConfig):
        check_type("config", config, GPTConfig, "helpers.models.GPTConfig")
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPTConfig, causal: bool = True, explicit: bool = False):
        check_type("config", config, GPTConfig, "helpers.models.GPTConfig")
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, causal, explicit)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """``GPT(config, causal=True, explicit_attention=False)``.

    ``forward(idx: (B, T) int64, targets: (B, T) | None) -> (logits: (B, T, V), loss | None)``;
    targets equal to ``-1`` are ignored by the loss.
    """

    def __init__(self, config: GPTConfig, causal: bool = True, explicit_attention: bool = False):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT expects a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config, causal, explicit_attention) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight   # weight tying: one matrix, two uses
        self.apply(self._init_weights)
        # GPT-2: residual projections scaled so the residual stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = False) -> int:
        """Number of parameters (a tied matrix counted once); ``non_embedding`` leaves out ``wpe``."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def _check_idx(self, idx: torch.Tensor, past: int = 0, name: str = "idx", ignore: int | None = None) -> None:
        _check_token_ids(idx, self.config.vocab_size, "block_size", self.config.block_size, past, name, ignore,
                         hint="crop the input to its last {n} tokens (generate() does this) or ")

    def features(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Final hidden states after ``ln_f``: ``idx: (B, T) -> (B, T, n_embd)``.

        With ``cache``, ``idx`` holds only the new tokens; their positions continue
        after the ``cache.length`` tokens already cached.
        """
        past = cache.length if cache is not None else 0
        self._check_idx(idx, past)
        pos = torch.arange(past, past + idx.shape[1], device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, cache, i)
        return self.transformer.ln_f(x)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.lm_head(self.features(idx))
        loss = None
        if targets is not None:
            if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape or targets.dtype != torch.long:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)} and dtype int64, "
                                 f"got {type(targets).__name__} {tuple(getattr(targets, 'shape', ()))} "
                                 f"{getattr(targets, 'dtype', '')}")
            self._check_idx(targets, name="targets", ignore=-1)
            # cross_entropy wants (N, V) logits and (N,) targets: flatten batch and time.
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def forward_cached(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits ``(B, T, V)`` of the new tokens ``idx: (B, T)``, reusing and extending ``cache``."""
        return self.lm_head(self.features(idx, cache))

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every layer: a list of ``n_layer`` tensors ``(B, n_head, T, T)``.

        Runs the explicit (hand-written) attention path in eval mode; row ``i``
        of a map is the distribution of position ``i`` over the positions it attends to.
        """
        was_training = self.training
        self.eval()
        layers = [block.attn for block in self.transformer.h]
        saved = [(a.explicit, a.store_attn) for a in layers]
        try:
            for a in layers:
                a.explicit, a.store_attn = True, True
            self.features(idx)
            return [a.attn for a in layers]
        finally:
            for a, (explicit, store) in zip(layers, saved):
                a.explicit, a.store_attn, a.attn = explicit, store, None
            self.train(was_training)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx: (B, T)``; returns ``(B, T + max_new_tokens)``.

        - ``temperature``: logits are divided by it (< 1 sharper, > 1 flatter);
          ``0`` means greedy (argmax).
        - ``top_k``: sample only among the ``k`` most likely tokens.
        - ``use_cache``: keep each layer's keys and values instead of recomputing
          the whole context at every step. Same tokens as ``use_cache=False``.
          With learned absolute positions, once the context is longer than
          ``block_size`` the window slides and every position changes, so from
          then on each step recomputes the window (no saving).
        - ``generator``: a ``torch.Generator`` on ``idx``'s device, for reproducible samples.

        Runs in eval mode (no dropout) and restores the previous mode.
        """
        _check_generate_args(idx, max_new_tokens, temperature, top_k)
        self._check_idx(idx[:, -self.config.block_size:])
        was_training = self.training
        self.eval()
        bs = self.config.block_size
        cache = KVCache(self.config.n_layer) if use_cache else None
        try:
            for _ in range(max_new_tokens):
                if cache is not None and idx.shape[1] <= bs:
                    logits = self.forward_cached(idx[:, cache.length:], cache)[:, -1, :]
                else:
                    logits = self(idx[:, -bs:])[0][:, -1, :]
                idx = torch.cat([idx, _sample(logits, temperature, top_k, generator)], dim=1)
        finally:
            self.train(was_training)
        return idx


def _check_token_ids(idx, vocab_size: int, len_name: str, max_len: int, past: int = 0, name: str = "idx",
                     ignore: int | None = None, hint: str = "shorten the input or ") -> None:
    """Token ids ``idx: (B, T)`` fit a language model: int64, non-empty, ``0 <= id < vocab_size``
    (``ignore``, e.g. -1 in targets, allowed) and ``past + T <= max_len``; else a clear error."""
    if not isinstance(idx, torch.Tensor):
        raise TypeError(f"{name} is a {type(idx).__name__}; pass a (B, T) int64 tensor of token ids")
    if idx.dim() != 2 or idx.dtype != torch.long:
        raise ValueError(f"{name} must be a (B, T) int64 tensor of token ids, got shape {tuple(idx.shape)} "
                         f"and dtype {idx.dtype}")
    if idx.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(idx.shape)}); pass at least one token per sequence")
    ids = idx if ignore is None else idx[idx != ignore]
    lo, hi = (int(ids.min()), int(ids.max())) if ids.numel() else (0, 0)
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} holds the id {bad}, outside the vocabulary [0, {vocab_size}); encode with the "
                         "tokenizer this model was built for (or build it with a larger vocab_size)")
    T = idx.shape[1] + past
    if T > max_len:
        raise ValueError(f"sequence length {T} exceeds {len_name}={max_len}; " + hint.format(n=max_len)
                         + f"build the model with a larger {len_name}")


def _check_generate_args(idx: torch.Tensor, max_new_tokens: int, temperature: float, top_k: int | None,
                         top_p: float | None = None) -> None:
    """The checks shared by the ``generate`` methods of the book's language models."""
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.dtype != torch.long or idx.shape[1] < 1:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        dtype = idx.dtype if isinstance(idx, torch.Tensor) else None
        raise ValueError(f"idx must be a non-empty (B, T) int64 tensor, got shape {shape}, dtype {dtype}")
    check_int("max_new_tokens", max_new_tokens, min=0)
    check_float("temperature", temperature, min=0.0)   # NaN and inf refused too; 0 = greedy
    if top_k is not None:
        check_int("top_k", top_k, min=1)
    if top_p is not None:
        check_float("top_p", top_p, min=0.0, max=1.0, min_inclusive=False)


def _sample(logits: torch.Tensor, temperature: float, top_k: int | None,
            generator: torch.Generator | None, top_p: float | None = None) -> torch.Tensor:
    """Next token ids ``(B, 1)`` from last-position logits ``(B, V)``.

    ``top_p`` (nucleus sampling) keeps the most likely tokens until their
    probabilities, after temperature and top-k, sum to at least ``top_p``.
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    if top_p is not None:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs          # mass of the more likely tokens
        sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)  # the first token always stays
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, num_samples=1, generator=generator)


class GPTClassifier(nn.Module):
    """A sequence classifier on top of a (pre-trained) :class:`GPT`.

    ``forward(idx: (B, T)) -> logits: (B, num_classes)``. ``idx`` is right-padded
    with ``pad_id``; the head reads the mean of the final hidden states over the
    real tokens (``pool="mean"``) or the state of the last real token
    (``pool="last"``). With a causal backbone the padding never changes the
    states of real tokens. The language-model head is not used.
    """

    def __init__(self, gpt: GPT, num_classes: int, pad_id: int, pool: str = "mean", dropout: float = 0.0):
        super().__init__()
        if pool not in ("mean", "last"):
            raise ValueError(f"pool={pool!r}: use 'mean' or 'last'")
        if not 0 <= pad_id < gpt.config.vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary [0, {gpt.config.vocab_size})")
        self.gpt, self.pad_id, self.pool = gpt, pad_id, pool
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(gpt.config.n_embd, num_classes)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        h = self.gpt.features(idx)                                   # (B, T, C)
        real = (idx != self.pad_id)                                  # (B, T)
        lengths = real.sum(1).clamp(min=1)                           # (B,)
        if self.pool == "mean":
            pooled = (h * real.unsqueeze(-1)).sum(1) / lengths.unsqueeze(-1)
        else:
            pooled = h[torch.arange(len(idx), device=idx.device), lengths - 1]
        return self.head(self.dropout(pooled))

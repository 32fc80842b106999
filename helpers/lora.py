"""LoRA: low-rank adaptation of linear layers (Hu et al., 2021).

A frozen weight ``W: (out, in)`` gets a trainable low-rank update::

    y = x W^T + b + (alpha / r) * dropout(x) A^T B^T,    A: (r, in), B: (out, r)

``B`` starts at zero, so the adapted model starts exactly as the original one.
Only ``A`` and ``B`` are trained: ``r * (in + out)`` parameters instead of
``in * out``. :meth:`LoRALinear.merge` folds ``(alpha / r) B A`` into ``W`` for
inference (no extra cost); :meth:`LoRALinear.unmerge` takes it out again.

    replaced = apply_lora(model, ["c_attn", "c_proj"], rank=8, alpha=16, trainable=["head"])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._validate import check_float, check_int, check_type


def _check_hyper(rank, alpha, dropout, max_rank: int | None) -> None:
    check_int("rank", rank, min=1)
    check_float("alpha", alpha)
    check_float("dropout", dropout, min=0.0, max=1.0, max_inclusive=False)
    if max_rank is not None and rank > max_rank:
        raise ValueError(f"rank={rank} exceeds min(in_features, out_features)={max_rank}: not a low-rank update")


class LoRALinear(nn.Module):
    """``LoRALinear(base: nn.Linear, rank=8, alpha=16.0, dropout=0.0)``; ``x: (..., in) -> (..., out)``."""

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        _check_hyper(rank, alpha, dropout, min(base.in_features, base.out_features))
        self.base, self.rank, self.alpha = base, rank, alpha
        self.scaling = alpha / rank
        for p in self.base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))   # as nn.Linear initialises its weight
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) B A``: ``(out, in)``."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        return y + self.scaling * (self.dropout(x) @ self.lora_A.T @ self.lora_B.T)

    @torch.no_grad()
    def merge(self) -> None:
        """Add the update into the base weight (inference without the extra matmuls)."""
        if self.merged:
            raise RuntimeError("already merged")
        self.base.weight += self.delta_weight()
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract the update from the base weight again (to continue training)."""
        if not self.merged:
            raise RuntimeError("not merged")
        self.base.weight -= self.delta_weight()
        self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}, merged={self.merged}"


def apply_lora(model: nn.Module, target_names: Sequence[str], rank: int = 8, alpha: float = 16.0,
               dropout: float = 0.0, trainable: Sequence[str] = ()) -> list[str]:
    """Freeze ``model`` and wrap each ``nn.Linear`` whose name ends with one of ``target_names`` in :class:`LoRALinear`.

    ``target_names``: e.g. ``["c_attn"]`` matches ``transformer.h.0.attn.c_attn``.
    ``trainable``: names of submodules to leave trainable as a whole (e.g. a new
    classification ``"head"``). Returns the full names of the wrapped layers.
    A layer whose weight is shared with another module (a tied output layer)
    is refused: merging would change the other module too.
    """
    # Everything is checked before the model is touched: on any error the model is left as it was.
    check_type("model", model, nn.Module, "torch.nn.Module")
    target_names = _names("target_names", target_names)
    trainable = _names("trainable", trainable, allow_empty=True)
    _check_hyper(rank, alpha, dropout, None)
    existing = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    if existing:
        raise ValueError(f"the model already has LoRA adapters on {existing}; apply_lora once per model "
                         "(call it on a fresh copy of the base model to try other targets)")
    counts: dict[int, int] = {}
    for m in model.modules():
        for p in m.parameters(recurse=False):
            counts[id(p)] = counts.get(id(p), 0) + 1
    linear = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    matches = {t: [n for n in linear if n == t or n.endswith("." + t)] for t in target_names}
    unmatched = [t for t, found in matches.items() if not found]
    if unmatched:
        names = sorted({n.rsplit(".", 1)[-1] for n in linear})
        raise ValueError(f"no nn.Linear named {unmatched} in the model (target_names={target_names}); "
                         f"its linear layers are called {names}")
    targets = [(n, linear[n]) for n in linear if any(n in found for found in matches.values())]
    for name, module in targets:
        if counts[id(module.weight)] > 1:
            raise ValueError(f"{name}.weight is shared with another module (tied weights); leave {name!r} out")
        if rank > min(module.in_features, module.out_features):
            raise ValueError(f"rank={rank} exceeds min(in_features, out_features)="
                             f"{min(module.in_features, module.out_features)} of {name}: not a low-rank update")
    subs = []
    for t in trainable:
        try:
            subs.append(model.get_submodule(t))
        except AttributeError:
            raise ValueError(f"trainable={t!r} is not a submodule of the model") from None
    for p in model.parameters():
        p.requires_grad_(False)
    replaced = []
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(module, rank, alpha, dropout))
        replaced.append(name)
    for sub in subs:
        for p in sub.parameters():
            p.requires_grad_(True)
    return replaced


def _names(name: str, value, allow_empty: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} is a {type(value).__name__}; pass a list of layer names, e.g. ['c_attn']")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}]={v!r} is a {type(v).__name__}; pass layer names as strings")
    if not value and not allow_empty:
        raise ValueError(f"{name} is empty; name at least one layer, e.g. ['c_attn']")
    return list(value)


def lora_layers(model: nn.Module) -> list[LoRALinear]:
    check_type("model", model, nn.Module, "torch.nn.Module")
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def merge_lora(model: nn.Module) -> None:
    """Merge every :class:`LoRALinear` of ``model``."""
    for m in lora_layers(model):
        m.merge()


def unmerge_lora(model: nn.Module) -> None:
    """Unmerge every :class:`LoRALinear` of ``model``."""
    for m in lora_layers(model):
        m.unmerge()

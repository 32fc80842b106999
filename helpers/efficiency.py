"""Efficient training: measure time and activation memory, accumulate gradients, checkpoint blocks.

- :func:`time_per_call`          median wall-clock seconds of ``fn()`` after warm-up calls
- :func:`saved_activation_bytes` bytes of the tensors autograd keeps for the backward pass
- :func:`accumulate_gradients`   k micro-batches whose summed gradient equals the full batch's
- :func:`accumulated_step`       one optimizer update from k micro-batches
- :func:`run_blocks`             apply a stack of blocks, optionally with activation checkpointing

Activation memory is counted deterministically: every tensor autograd saves
for backward passes through :func:`torch.autograd.graph.saved_tensors_hooks`;
we add up the bytes of the distinct storages (a tensor saved twice is stored
once) and leave out the parameters, which are in memory anyway.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ._validate import check_type


def time_per_call(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` calls, after ``warmup`` untimed calls."""
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat={repeat!r} must be a positive int")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup={warmup!r} must be a non-negative int")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def saved_activation_bytes(fn: Callable, *args, exclude: Iterable[torch.Tensor] = (), **kwargs):
    """Run ``fn(*args, **kwargs)`` and count the bytes autograd saves for backward.

    Returns ``(fn's result, bytes)``. Tensors whose storage is one of the
    ``exclude`` tensors' storages (pass ``model.parameters()``) are not counted;
    each distinct storage is counted once, with its full size (a saved view
    keeps its whole base alive). Keep the result alive until you call
    ``backward``: the count describes the graph it holds.
    """
    if not callable(fn):
        raise TypeError(f"fn is a {type(fn).__name__}; pass the function to run, then its arguments")
    if isinstance(exclude, torch.Tensor):
        raise TypeError("exclude is a single tensor; pass an iterable of tensors, e.g. model.parameters()")
    exclude = list(exclude)
    for i, t in enumerate(exclude):
        check_type(f"exclude[{i}]", t, torch.Tensor, "tensor (pass model.parameters())")
    excluded = {t.untyped_storage().data_ptr() for t in exclude}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() not in excluded:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args, **kwargs)
    return out, sum(storages.values())


def _split(x: torch.Tensor, y: torch.Tensor, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k={k!r} micro-batches must be a positive int")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}; they must match")
    if len(x) < k:
        raise ValueError(f"cannot split a batch of {len(x)} into k={k} micro-batches; use k <= {len(x)}")
    return list(zip(torch.tensor_split(x, k), torch.tensor_split(y, k)))


def accumulate_gradients(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor,
                         k: int, divide: bool = True) -> float:
    """Zero ``model``'s gradients, then run ``k`` micro-batches and add their gradients up.

    ``loss_fn`` must return the **mean** loss of its micro-batch. Micro-batch
    ``i`` (``n_i`` rows of ``N``) contributes ``loss_i * n_i / N``, so the summed
    gradient is the gradient of the full batch's mean loss; with equal sizes
    that is ``loss_i / k``. ``divide=False`` is the common mistake: adding the
    undivided micro-losses gives a gradient ``k`` times too large (for equal sizes).
    Returns the full batch's mean loss (a float).
    """
    parts = _split(x, y, k)
    model.zero_grad(set_to_none=True)
    total = 0.0
    for xb, yb in parts:
        loss = loss_fn(model(xb), yb)
        weight = len(xb) / len(x)
        (loss * weight if divide else loss).backward()
        total += loss.item() * weight
    return total


def accumulated_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                     x: torch.Tensor, y: torch.Tensor, k: int = 1, divide: bool = True) -> float:
    """One optimizer update on the batch ``(x, y)`` computed as ``k`` micro-batches; returns the mean loss."""
    check_type("optimizer", optimizer, torch.optim.Optimizer, "torch.optim.Optimizer")
    loss = accumulate_gradients(model, loss_fn, x, y, k, divide=divide)
    optimizer.step()
    return loss


def _check_blocks(blocks, x) -> None:
    if isinstance(blocks, torch.Tensor) or not hasattr(blocks, "__iter__"):
        raise TypeError(f"blocks is a {type(blocks).__name__}; pass a list (or nn.ModuleList) of blocks")
    for i, block in enumerate(blocks):
        if not callable(block):
            raise TypeError(f"blocks[{i}] is a {type(block).__name__}; every block must be a module or function")
    check_type("x", x, torch.Tensor, "tensor (B, T, C)")


def run_blocks(blocks: Sequence[Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor,
               checkpointed: bool = False) -> torch.Tensor:
    """``x -> blocks[-1](... blocks[0](x))``; with ``checkpointed``, each block is recomputed in backward.

    ``blocks``: modules (or functions) mapping ``(B, T, C) -> (B, T, C)``, e.g. ``gpt.transformer.h``.

    Activation checkpointing keeps only each block's input during the forward
    pass and recomputes the block's inner activations when backward needs them
    (``torch.utils.checkpoint.checkpoint`` with ``use_reentrant=False``): less
    memory, about one extra forward pass of compute. Same gradients.
    """
    _check_blocks(blocks, x)
    for block in blocks:
        if checkpointed and torch.is_grad_enabled():
            x = checkpoint(block, x, use_reentrant=False)
        else:
            x = block(x)
    return x

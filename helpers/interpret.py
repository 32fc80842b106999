"""Gradient-based explanations of a classifier's prediction (saliency maps).

For a model ``f`` with logits ``f_c(x)`` and an input ``x: (B, ...)``:

- ``saliency(model, x, target)``            ``d f_target(x) / d x``              (Simonyan et al. 2014)
- ``gradient_times_input(model, x, target)`` ``x * d f_target(x) / d x``         (first-order Taylor term)
- ``integrated_gradients(model, x, target)`` ``(x - x0) * mean_a d f_target(x0 + a (x - x0)) / d x``
                                                                                (Sundararajan et al. 2017)

Integrated gradients satisfy *completeness*: the attributions of one input sum to
``f_target(x) - f_target(x0)`` (up to the error of the Riemann sum over ``steps``).
Gradient x input uses the implicit baseline ``x0 = 0``: it only makes sense when
0 means "nothing there" in the space ``x`` lives in (raw pixels, not standardised ones).

``randomized_copy(model, seed)`` re-initialises every layer of a copy, for the
sanity check of Adebayo et al. (2018): an explanation that does not change when
the weights are random does not explain the model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._validate import check_finite, check_int, check_type


def _check(x: torch.Tensor, target, model=None) -> torch.Tensor:
    if model is not None:
        check_type("model", model, nn.Module, "torch.nn.Module")
    check_type("x", x, torch.Tensor, "float tensor (B, ...)")
    if not x.is_floating_point() or x.dim() < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty float tensor (B, ...), got shape {tuple(x.shape)} and dtype "
                         f"{x.dtype}; convert with x.float()")
    check_finite("x", x)
    target = torch.as_tensor(target, device=x.device)
    if target.dim() == 0:
        target = target.expand(len(x))
    if target.shape != (len(x),) or target.is_floating_point():
        raise ValueError(f"target must hold one integer class per input: expected shape ({len(x)},), "
                         f"got {tuple(target.shape)} of dtype {target.dtype}")
    return target.long()


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Gradient of the target logit with respect to the input: ``x: (B, ...)``, ``target: (B,)``
    or an int -> ``(B, ...)``. The model is put in eval mode (and left there)."""
    target = _check(x, target, model)
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    if logits.dim() != 2:
        raise ValueError(f"model must return logits of shape (B, n_classes), got {tuple(logits.shape)}")
    if (target < 0).any() or (target >= logits.shape[1]).any():
        raise ValueError(f"target classes must lie in [0, {logits.shape[1]}), got {target.tolist()}")
    (g,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
    return g


def gradient_times_input(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """``x * saliency(model, x, target)``: (B, ...). Summed over an input it approximates
    ``f_target(x) - f_target(0)`` to first order (exactly for a linear model without bias)."""
    _check(x, target, model)
    return x.detach() * saliency(model, x, target)


def integrated_gradients(model: nn.Module, x: torch.Tensor, target, baseline: torch.Tensor | None = None,
                         steps: int = 32) -> torch.Tensor:
    """Integrated gradients with a midpoint Riemann sum of ``steps`` points: (B, ...).

    ``baseline`` defaults to zeros (a black image for raw pixels).
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive int")
    _check(x, target, model)
    if baseline is not None:
        check_type("baseline", baseline, torch.Tensor, "tensor that broadcasts to x")
        try:
            fits = torch.broadcast_shapes(baseline.shape, x.shape) == x.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"baseline has shape {tuple(baseline.shape)}, which does not broadcast to x's "
                             f"{tuple(x.shape)}; pass one input's shape or x's shape")
        check_finite("baseline", baseline)
    baseline = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
    total = torch.zeros_like(x)
    for k in range(steps):
        a = (k + 0.5) / steps
        total += saliency(model, baseline + a * (x - baseline), target)
    return (x - baseline).detach() * total / steps


def randomized_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` with every layer that has ``reset_parameters`` re-initialised
    (seeded, without touching the global random state)."""
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_int("seed", seed, min=0)
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in clone.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return clone

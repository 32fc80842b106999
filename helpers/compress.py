"""Model compression: magnitude pruning, int8 quantisation, knowledge distillation.

Three ways to make a trained network cheaper to store or run::

    pruning        global_magnitude_prune(model, 0.9)   zero the 90 % smallest |w| (all layers together)
                   sparsity(model), remove_pruning(model), sparse_state_dict(state_dict)
    quantisation   quantize_linear_int8(model)          Linear weights -> int8 + one scale per tensor
                   quantize_per_tensor(x) / dequantize(q, scale, zero_point): the affine rule by hand
    distillation   distillation_loss(student_logits, teacher_logits, targets, T, alpha)

plus two measuring tools, ``state_dict_bytes`` (size of the saved weights) and
``median_latency`` (seconds per forward pass), and ``quiet_quantization_warnings``
(silences torch 2.13's deprecation notices for its int8 API, nothing else).

Pruning uses ``torch.nn.utils.prune``: a pruned module keeps ``weight_orig`` and
a 0/1 buffer ``weight_mask`` and recomputes ``weight = weight_orig * weight_mask``
before every forward pass, until :func:`remove_pruning` makes the zeros permanent.
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import time
import warnings
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from ._validate import check_finite, check_float, check_int, check_type

PRUNABLE = (nn.Linear, nn.Conv2d)

# torch 2.13 marks its eager-mode quantisation (torch.ao.quantization) deprecated in favour of the separate
# torchao package, which the book's pinned environment does not include. The API still works; these are the
# exact warnings it prints, silenced only around our own calls (anything else still warns).
_QUANT_WARNINGS = (
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized tensor"),
)


@contextlib.contextmanager
def quiet_quantization_warnings():
    """Context manager that silences only torch 2.13's deprecation warnings for ``torch.ao.quantization``
    and quantised tensors (see the comment above); every other warning still shows."""
    with warnings.catch_warnings():
        for category, message in _QUANT_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


def _prunable(model: nn.Module, module_types=PRUNABLE) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, module_types)]


# ----------------------------------------------------------------------------- pruning

def global_magnitude_prune(model: nn.Module, amount: float, module_types=PRUNABLE) -> nn.Module:
    """Zero the fraction ``amount`` of weights with the smallest ``|w|``, ranked across all layers together.

    Only the ``weight`` of ``module_types`` layers (Linear, Conv2d) is pruned; biases are kept.
    ``torch.nn.utils.prune.global_unstructured`` with ``L1Unstructured``: a layer whose weights are
    small overall loses more of them than a layer with large weights. Works in place and returns ``model``.
    Pruning an already pruned model prunes ``amount`` of the weights that are still non-zero.
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0.0 <= amount < 1.0:
        raise ValueError(f"amount={amount!r} must be a fraction in [0, 1), e.g. 0.9 to zero 90 % of the weights")
    layers = _prunable(model, module_types)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers of type {module_types} to prune")
    prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured,
                              amount=float(amount))
    return model


def remove_pruning(model: nn.Module) -> nn.Module:
    """Make pruning permanent: ``weight = weight_orig * weight_mask`` becomes a plain parameter again.

    Afterwards the state_dict has the usual keys (``weight``, not ``weight_orig`` + ``weight_mask``) and
    loads into an unpruned copy of the architecture. Modules that were not pruned are left alone.
    """
    check_type("model", model, nn.Module, "torch.nn.Module")
    for m in model.modules():
        if prune.is_pruned(m) and hasattr(m, "weight_mask"):
            prune.remove(m, "weight")
    return model


def sparsity(model: nn.Module, module_types=PRUNABLE) -> float:
    """Fraction of exactly-zero entries among the weights of the ``module_types`` layers (biases excluded).

    Reads ``module.weight``, i.e. the effective weight, whether or not the pruning was made permanent.
    """
    layers = _prunable(model, module_types)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers of type {module_types}")
    zeros = sum(int((m.weight == 0).sum()) for m in layers)
    total = sum(m.weight.numel() for m in layers)
    return zeros / total


def sparse_state_dict(state_dict: dict) -> dict:
    """Copy of ``state_dict`` with every 2-D float tensor stored in CSR form (values + int32 indices).

    CSR keeps, per non-zero, its value (4 bytes in float32) and its column index (4 bytes as int32), plus
    one row pointer per row: it is smaller than the dense matrix only when more than half of the entries
    are zero. ``tensor.to_dense()`` gives the dense matrix back.
    """
    if isinstance(state_dict, nn.Module):
        raise TypeError("state_dict is an nn.Module; pass model.state_dict()")
    check_type("state_dict", state_dict, Mapping, "state_dict (a dict of tensors)")
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict[{key!r}] is a {type(value).__name__}; sparse_state_dict takes a dict of "
                            "tensors such as model.state_dict()")
    out = {}
    with warnings.catch_warnings():
        # torch 2.13 warns once per process that CSR support is "in beta"; conversion and saving work.
        warnings.filterwarnings("ignore", message=r"Sparse CSR tensor support is in beta", category=UserWarning)
        for key, value in state_dict.items():
            if value.dim() == 2 and value.is_floating_point():
                csr = value.to_sparse_csr()
                # clone: col_indices() is a view into a (2, nnz) buffer that torch.save would store whole
                value = torch.sparse_csr_tensor(csr.crow_indices().to(torch.int32), csr.col_indices().to(torch.int32),
                                                csr.values().clone(), value.shape, check_invariants=True)
            out[key] = value
    return out


# ----------------------------------------------------------------------------- measuring

def state_dict_bytes(model_or_state_dict) -> int:
    """Bytes that ``torch.save(model.state_dict())`` writes (accepts a module or a state_dict)."""
    state = model_or_state_dict.state_dict() if isinstance(model_or_state_dict, nn.Module) else model_or_state_dict
    if not isinstance(state, dict):
        raise TypeError(f"expected an nn.Module or a state_dict, got {type(model_or_state_dict).__name__}")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


@torch.no_grad()
def median_latency(model: nn.Module, x: torch.Tensor, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``model(x)`` over ``repeats`` calls (after ``warmup`` calls), in eval mode."""
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats={repeats!r} must be a positive int and warmup={warmup!r} a non-negative int")
    check_type("model", model, nn.Module, "torch.nn.Module")
    was_training = model.training
    model.eval()
    try:   # a forward pass that raises still gives the model its mode back
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return statistics.median(times)


# ----------------------------------------------------------------------------- quantisation

def quantize_linear_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of every ``nn.Linear``: a quantised copy, the float model is untouched.

    Weights are stored as int8 with one (scale, zero_point) per tensor; at run time each input batch is
    quantised with a scale computed from its own range, the matrix product runs in integers and the
    result is rescaled to float (``torch.ao.quantization.quantize_dynamic``, CPU only). The copy is in
    eval mode. Other layers (Conv2d, ...) stay in float32.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError("dynamic int8 quantisation runs on the CPU: call model.cpu() first")
    with quiet_quantization_warnings():
        from torch.ao.quantization import quantize_dynamic
        return quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)


def quantize_per_tensor(x: torch.Tensor, qmin: int = 0, qmax: int = 255,
                        symmetric: bool = False) -> tuple[torch.Tensor, float, int]:
    """Affine quantisation of a float tensor to integers in [qmin, qmax] with one scale and zero point.

    The range [lo, hi] = [min(x, 0), max(x, 0)] is mapped onto [qmin, qmax] (zero stays exactly representable)::

        scale = (hi - lo) / (qmax - qmin),   zero_point = qmin - round(lo / scale)
        q = clamp(round(x / scale) + zero_point, qmin, qmax)            (round half to even)

    ``symmetric=True`` (what PyTorch uses for int8 weights) centres the range on zero instead:
    ``scale = max(|lo|, hi) / ((qmax - qmin) / 2)`` and ``zero_point = (qmin + qmax + 1) // 2`` (0 for qint8).
    Returns ``(q, scale, zero_point)`` with ``q`` an int64 tensor of ``x``'s shape.
    Defaults are PyTorch's ``quint8`` (0..255); use ``qmin=-128, qmax=127`` for ``qint8``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x is a {type(x).__name__}; pass a float tensor")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got {x.dtype}")
    check_finite("x", x)   # inf would make the scale inf and every value the zero point
    check_int("qmin", qmin)
    check_int("qmax", qmax)
    if not qmin < qmax:
        raise ValueError(f"need qmin < qmax, got qmin={qmin}, qmax={qmax}")
    lo, hi = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
    if symmetric:
        scale = max(-lo, hi) / ((qmax - qmin) / 2) or 1.0   # an all-zero tensor: any scale works
        zero_point = (qmin + qmax + 1) // 2
    else:
        scale = (hi - lo) / (qmax - qmin) or 1.0
        zero_point = int(min(max(qmin - round(lo / scale), qmin), qmax))
    q = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax).to(torch.int64)
    return q, scale, zero_point


def dequantize(q: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Inverse of :func:`quantize_per_tensor`: ``x ≈ scale * (q - zero_point)`` (float32)."""
    check_type("q", q, torch.Tensor, "integer tensor (the q of quantize_per_tensor)")
    if q.is_floating_point() or q.is_complex() or q.dtype == torch.bool:
        raise TypeError(f"q has dtype {q.dtype}; pass the integer tensor q returned by quantize_per_tensor")
    check_float("scale", scale, min=0.0, min_inclusive=False)
    check_int("zero_point", zero_point)
    return scale * (q.to(torch.float32) - zero_point)


# ----------------------------------------------------------------------------- distillation

def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      T: float = 4.0, alpha: float = 0.5) -> torch.Tensor:
    """Knowledge-distillation loss of Hinton et al. (2015), averaged over the batch.

    ``student_logits, teacher_logits: (B, C)``, ``targets: (B,)`` class indices::

        loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, targets)

    The soft term's gradient shrinks like 1/T^2 as T grows; the T^2 factor keeps the two terms on the
    same scale when T changes. The teacher is not trained: its logits are detached.
    """
    if isinstance(T, bool) or not isinstance(T, (int, float)) or not T > 0:
        raise ValueError(f"temperature T={T!r} must be a positive number (T=1 is the plain softmax)")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} must be in [0, 1] (weight of the soft-target term)")
    if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student_logits {tuple(student_logits.shape)} and teacher_logits "
                         f"{tuple(teacher_logits.shape)} must both be (B, C) with the same B and C")
    if targets.shape != student_logits.shape[:1]:
        raise ValueError(f"targets must be (B,) = ({student_logits.shape[0]},) class indices, "
                         f"got {tuple(targets.shape)}")
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / T, dim=1)
    soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, targets)
    return alpha * T * T * soft + (1 - alpha) * hard

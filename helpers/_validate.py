"""Argument checks shared by every helpers module (private).

Each check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right
kind, wrong value) with a message that names the argument, shows the value and
says what to pass instead. Call them at the top of a public function, before
anything is changed, so that bad input never leaves a model or a file half-done::

    check_int("batch_size", batch_size, min=1)
    check_float("lr", lr, min=0.0, min_inclusive=False)
    ids = check_ids("idx", idx, vocab_size)
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value, *, min: int | None = None, max: int | None = None) -> int:
    """``value`` must be an int (not a bool; NumPy integers accepted) in ``[min, max]``; returns it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={_show(value)} is a {type(value).__name__}; pass an int")
    value = int(value)
    if min is not None and value < min:
        raise ValueError(f"{name}={value} must be >= {min}")
    if max is not None and value > max:
        raise ValueError(f"{name}={value} must be <= {max}")
    return value


def check_float(name: str, value, *, min: float | None = None, max: float | None = None,
                min_inclusive: bool = True, max_inclusive: bool = True) -> float:
    """``value`` must be a finite real number (not a bool) within the bounds; returns it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={_show(value)} is a {type(value).__name__}; pass a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}={value} must be a finite number")
    if min is not None and (value < min or (value == min and not min_inclusive)):
        raise ValueError(f"{name}={value} must be {'>=' if min_inclusive else '>'} {min}")
    if max is not None and (value > max or (value == max and not max_inclusive)):
        raise ValueError(f"{name}={value} must be {'<=' if max_inclusive else '<'} {max}")
    return value


def _describe_sequence(value) -> str:
    """How an error message names a value that should have been a non-empty sequence: ``an empty list``, ``a str``."""
    if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) and len(value) == 0:
        return f"an empty {type(value).__name__}"
    return f"a {type(value).__name__}"


def check_type(name: str, value, types, what: str | None = None):
    """``isinstance(value, types)`` or a ``TypeError`` naming what to pass."""
    if not isinstance(value, types):
        if what is None:
            kinds = types if isinstance(types, tuple) else (types,)
            what = " or ".join(t.__name__ for t in kinds)
        raise TypeError(f"{name} is a {type(value).__name__}; pass a {what}")
    return value


def check_choice(name: str, value, choices) -> object:
    """``value`` must be one of ``choices``."""
    if value not in tuple(choices):
        raise ValueError(f"{name}={_show(value)}: use one of {list(choices)}")
    return value


def as_tensor(name: str, value) -> torch.Tensor:
    """A tensor from a tensor, NumPy array or (nested) list of numbers; ``TypeError`` naming ``name`` otherwise."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, (dict, set)):
        raise TypeError(f"{name} is a {type(value).__name__}; pass a tensor, NumPy array or list of numbers")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} cannot be read as an array ({e}); pass a tensor, NumPy array or list") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} has elements of type {arr.dtype}; pass numbers (a tensor, NumPy array or list)")
    return torch.as_tensor(arr)


def as_real_array(name: str, value) -> np.ndarray:
    """A NumPy array of ``value`` whose elements are numbers (bool, int, float); else a ``TypeError`` naming ``name``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} cannot be read as an array ({e}); pass a NumPy array or a list of numbers") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}={_show(value)} has elements of type {arr.dtype}; pass numbers "
                        "(a NumPy array or a list of numbers)")
    return arr


def check_finite(name: str, value) -> torch.Tensor:
    """A tensor of ``value`` whose elements are all finite (no NaN, no inf)."""
    t = as_tensor(name, value)
    if t.is_floating_point() or t.is_complex():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            raise ValueError(f"{name} holds {int(bad.sum())} NaN/inf value(s); remove or impute them first")
    return t


def check_ids(name: str, ids, vocab_size: int | None = None, *, ndim: int | None = 1,
              allow_empty: bool = False) -> torch.Tensor:
    """Token ids as an int64 tensor: integer dtype, ``0 <= id < vocab_size``, ``ndim`` dimensions.

    Floats are refused even when whole (a float array of ids means something was
    computed on the wrong array); an empty array is refused unless ``allow_empty``.
    """
    t = as_tensor(name, ids)
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array of token ids, got shape {tuple(t.shape)}")
    if t.numel() == 0:  # an empty list has no integer dtype to check
        if not allow_empty:
            raise ValueError(f"{name} is empty; pass at least one token id")
        return t.long()
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise TypeError(f"{name} has dtype {t.dtype}; token ids must be integers (e.g. torch.long)")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or (vocab_size is not None and hi >= vocab_size):
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} holds the id {bad}, outside the vocabulary [0, {vocab_size}); "
                         "encode with the tokenizer the model was built for" if vocab_size is not None else
                         f"{name} holds the negative id {bad}; token ids are >= 0")
    return t.long()

"""Back-of-the-envelope cost of training and serving a dense Transformer.

The two rules of thumb (Kaplan et al., 2020) count the floating-point operations
(FLOPs) of a model with ``N`` parameters:

- training on ``D`` tokens costs ``C ≈ 6·N·D`` FLOPs (forward 2·N, backward 4·N per token);
- generating or scoring one token costs ``≈ 2·N`` FLOPs (forward pass only).

Hardware turns FLOPs into time: an accelerator with a peak throughput of
``peak_flops`` FLOP/s delivers only ``mfu · peak_flops`` on real work, where the
model-FLOPs utilisation ``mfu`` is in ``(0, 1]``. Time times a rental price per
accelerator-hour gives money::

    hours = training_flops(N, D) / (peak_flops * mfu) / 3600
    cost  = hours * price_per_gpu_hour

Every function accepts Python numbers or NumPy arrays (they broadcast), so a
sensitivity curve is one call with an array argument. Inputs must be positive
and finite; ``mfu`` must lie in ``(0, 1]``.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_HOUR = 3600.0


def _positive(value, name: str, hint: str = ""):
    """``value`` as a float or float array, after checking it is finite and > 0."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()[0]
        raise ValueError(f"{name} must be positive and finite, got {float(bad)!r}{hint}")
    return float(arr) if arr.ndim == 0 else arr


def _fraction(value, name: str):
    """``value`` in (0, 1], e.g. a utilisation: 0.4 means 40 %."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    ok = np.isfinite(arr) & (arr > 0) & (arr <= 1)
    if not np.all(ok):
        bad = arr[~ok].ravel()[0]
        hint = " (pass a fraction, e.g. 0.4 for 40 %)" if bad > 1 else ""
        raise ValueError(f"{name} must be in (0, 1], got {float(bad)!r}{hint}")
    return float(arr) if arr.ndim == 0 else arr


def training_flops(n_params, n_tokens):
    """Training compute ``6·N·D`` in FLOPs for ``N`` parameters and ``D`` training tokens."""
    return 6.0 * _positive(n_params, "n_params") * _positive(n_tokens, "n_tokens")


def inference_flops_per_token(n_params):
    """Forward-pass compute per token, ``2·N`` FLOPs (one multiply and one add per weight)."""
    return 2.0 * _positive(n_params, "n_params")


def accelerator_hours(flops, peak_flops, mfu):
    """Accelerator-hours to perform ``flops`` at ``mfu · peak_flops`` FLOP/s.

    ``peak_flops`` is per accelerator and per second (e.g. ``312e12`` for an A100
    in dense bf16), not in teraFLOPS.
    """
    flops = _positive(flops, "flops")
    peak = _positive(peak_flops, "peak_flops", " (FLOP/s per accelerator, e.g. 312e12)")
    return flops / (peak * _fraction(mfu, "mfu")) / SECONDS_PER_HOUR


def training_cost(n_params, n_tokens, peak_flops, mfu, price_per_hour):
    """Money to train: ``6·N·D / (peak · mfu) / 3600 · price_per_hour``.

    ``price_per_hour`` is the price of one accelerator for one hour; the result is in
    the same currency. The number of accelerators does not change the cost, only
    the wall-clock time (``accelerator_hours / n_accelerators``).
    """
    hours = accelerator_hours(training_flops(n_params, n_tokens), peak_flops, mfu)
    return hours * _positive(price_per_hour, "price_per_hour")


def inference_cost_per_1k_tokens(n_params, peak_flops, mfu, price_per_hour):
    """Compute cost of 1,000 tokens: ``1000 · 2·N / (peak · mfu) / 3600 · price_per_hour``.

    This counts arithmetic only. Serving is often limited by memory bandwidth
    rather than FLOPs, which shows up here as a low ``mfu``.
    """
    hours = accelerator_hours(1000.0 * inference_flops_per_token(n_params), peak_flops, mfu)
    return hours * _positive(price_per_hour, "price_per_hour")


def break_even_units(fixed_cost, price_per_unit, cost_per_unit):
    """Units (users, requests, 1,000-token blocks ...) to sell before revenue covers ``fixed_cost``.

    ``fixed_cost / (price_per_unit - cost_per_unit)``. A price at or below the unit
    cost never breaks even; that is an error, not ``inf``, so it cannot hide in a table.
    """
    fixed = _positive(fixed_cost, "fixed_cost")
    price = _positive(price_per_unit, "price_per_unit")
    unit = _positive(cost_per_unit, "cost_per_unit")
    price_b, unit_b = np.broadcast_arrays(np.asarray(price), np.asarray(unit))
    losing = price_b <= unit_b
    if np.any(losing):
        p, c = price_b[losing].ravel()[0], unit_b[losing].ravel()[0]
        raise ValueError(f"price_per_unit={float(p)!r} does not exceed cost_per_unit={float(c)!r}: every "
                         "unit loses money and there is no break-even; raise the price or lower the cost")
    return fixed / (price - unit)

"""Scaling laws: what to count, how to fit a power law, the compute-optimal split.

Kaplan et al. (2020) found that the test loss of a language model trained long
enough falls as a power law of its number of **non-embedding** parameters ``N``::

    L(N) = (N_c / N) ** alpha          # alpha_N ≈ 0.076, N_c ≈ 8.8e13 (their tokenizer and data)

A power law is a straight line on log-log axes, ``log L = alpha·log N_c − alpha·log N``,
so :func:`fit_power_law` is a least-squares line through ``(log N, log L)``.
:func:`fit_power_law_offset` adds an irreducible loss ``E`` (the entropy of the
text, which no model can beat): ``L(N) = E + (N_c / N) ** alpha``.

Hoffmann et al. (2022, "Chinchilla") asked how to spend a compute budget
``C ≈ 6·N·D`` between parameters ``N`` and training tokens ``D``; their answer,
about 20 tokens per parameter, is :func:`chinchilla_optimal`::

    fit = fit_power_law(n_params, val_losses)   # fit.alpha, fit.n_c, fit.predict(n)
    n_opt, d_opt = chinchilla_optimal(1e21)     # ≈ 2.9e9 parameters, 5.8e10 tokens
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from torch import nn

CHINCHILLA_TOKENS_PER_PARAM = 20.0


def non_embedding_params(model: nn.Module) -> int:
    """Kaplan's ``N``: parameters outside every ``nn.Embedding`` (each tensor counted once).

    For :class:`helpers.models.gpt.GPT` this leaves out the token embedding,
    the output layer (tied to it or not) and the position embedding, and keeps
    the Transformer blocks and the final LayerNorm; it equals
    :func:`gpt_non_embedding_params` of the model's config.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model is a {type(model).__name__}; pass a torch.nn.Module (for a config use "
                        "gpt_non_embedding_params)")
    embedding_ids = {id(p) for m in model.modules() if isinstance(m, nn.Embedding)
                     for p in m.parameters(recurse=False)}
    head = getattr(model, "lm_head", None)
    if isinstance(head, nn.Linear):      # an untied output layer is a vocabulary matrix too
        embedding_ids.add(id(head.weight))
    seen: set[int] = set()
    total = 0
    for p in model.parameters():   # parameters() already yields a shared (tied) tensor once
        if id(p) not in embedding_ids and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def gpt_non_embedding_params(config) -> int:
    """Closed form of :func:`non_embedding_params` for ``GPT(config)``.

    ``L * (12 d^2 + 2 d + 11 b d) + d + b d`` with ``L = n_layer``, ``d = n_embd``,
    ``b = 1`` if the linear layers and LayerNorms have biases: per block the
    attention has ``4 d^2`` weights, the MLP ``8 d^2``; Kaplan's approximation is
    ``N ≈ 12 L d^2``.
    """
    if isinstance(config, nn.Module):
        raise TypeError(f"config is a {type(config).__name__} model; pass its config (model.config) "
                        "or use non_embedding_params(model)")
    for name in ("n_layer", "n_embd", "bias"):
        if not hasattr(config, name):
            raise TypeError(f"config is a {type(config).__name__} without .{name}; pass a GPTConfig")
    for name in ("n_layer", "n_embd"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"config.{name}={value!r} must be a positive int")
    if not isinstance(config.bias, bool):
        raise ValueError(f"config.bias={config.bias!r} must be True or False")
    L, d, b = config.n_layer, config.n_embd, int(config.bias)
    return L * (12 * d * d + 2 * d + 11 * b * d) + d + b * d


def _check_points(n, loss) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(n, dtype=np.float64).ravel()
    loss = np.asarray(loss, dtype=np.float64).ravel()
    if len(n) != len(loss):
        raise ValueError(f"n has {len(n)} values but loss has {len(loss)}; pass one loss per model size")
    if len(n) < 2:
        raise ValueError(f"need at least 2 (n, loss) points to fit a power law, got {len(n)}")
    for name, arr in (("n", n), ("loss", loss)):
        bad = arr[~(np.isfinite(arr) & (arr > 0))]
        if bad.size:
            raise ValueError(f"{name} must be positive and finite (logarithms are taken), got {bad[0]!r}")
    if np.ptp(np.log(n)) == 0:
        raise ValueError(f"all sizes are equal (n={n[0]!r}): a slope needs at least two different sizes")
    return n, loss


@dataclass(frozen=True)
class PowerLawFit:
    """``L(N) = E + (N_c / N) ** alpha``, equivalently ``E + a * N ** -alpha`` with ``a = N_c ** alpha``.

    ``r2`` is the coefficient of determination of the straight-line fit in
    log-log space (of ``log(L - E)`` against ``log N``).
    """

    alpha: float
    a: float
    irreducible: float = 0.0
    r2: float = float("nan")

    def __post_init__(self):
        for name, low in (("alpha", None), ("a", 0.0), ("irreducible", 0.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}={value!r} must be a finite number")
            if low is not None and (value < low or (name == "a" and value == 0)):
                raise ValueError(f"{name}={value!r} must be {'>' if name == 'a' else '>='} {low}")

    @property
    def n_c(self) -> float:
        """``N_c = a ** (1 / alpha)``: the size at which the reducible loss would be 1 nat."""
        if self.alpha == 0:
            return float("inf")
        return float(np.exp(np.log(self.a) / self.alpha))

    def predict(self, n):
        """Loss predicted for size(s) ``n`` (number or array)."""
        n = np.asarray(n, dtype=np.float64)
        return self.irreducible + self.a * n ** -self.alpha


def _loglog_line(n: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``log y = c - alpha log n``; returns ``(alpha, a = e^c, r2)``."""
    x, z = np.log(n), np.log(y)
    xm, zm = x.mean(), z.mean()
    slope = float(((x - xm) * (z - zm)).sum() / ((x - xm) ** 2).sum())
    intercept = float(zm - slope * xm)
    resid = z - (intercept + slope * x)
    ss_tot = float(((z - zm) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return -slope, math.exp(intercept), r2


def fit_power_law(n, loss) -> PowerLawFit:
    """Fit ``L(N) = (N_c / N) ** alpha`` by least squares on ``(log N, log L)``.

    - ``n``: model sizes (e.g. non-embedding parameters), ``loss``: one loss per size;
      both positive, same length, at least 2 points, at least two different sizes.
    - Returns a :class:`PowerLawFit`; ``alpha > 0`` means the loss falls with size.
    """
    n, loss = _check_points(n, loss)
    alpha, a, r2 = _loglog_line(n, loss)
    return PowerLawFit(alpha=alpha, a=a, irreducible=0.0, r2=r2)


def fit_power_law_offset(n, loss, grid: int = 2000) -> PowerLawFit:
    """Fit ``L(N) = E + (N_c / N) ** alpha`` with an irreducible loss ``0 <= E < min(loss)``.

    For each ``E`` on a grid of ``grid`` values the reducible part ``L - E`` is
    fitted by :func:`fit_power_law`'s straight line; the ``E`` with the smallest
    squared error of the predicted losses wins. Needs at least 3 points (three
    unknowns). With few, noisy points ``E`` is poorly determined: read it as a
    rough estimate.
    """
    n, loss = _check_points(n, loss)
    if len(n) < 3:
        raise ValueError(f"fitting E, N_c and alpha needs at least 3 points, got {len(n)}")
    if grid < 2:
        raise ValueError(f"grid={grid} must be >= 2")
    best = None
    for e in np.linspace(0.0, loss.min(), grid, endpoint=False):
        alpha, a, r2 = _loglog_line(n, loss - e)
        sse = float(((e + a * n ** -alpha - loss) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, PowerLawFit(alpha=alpha, a=a, irreducible=float(e), r2=r2))
    return best[1]


def chinchilla_optimal(compute, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM):
    """Compute-optimal ``(n_params, n_tokens)`` for a budget of ``compute`` FLOPs.

    With ``C = 6 N D`` and ``D = r N`` (``r = tokens_per_param``, about 20 in
    Hoffmann et al. 2022): ``N = sqrt(C / (6 r))``, ``D = r N``. Accepts numbers or arrays.
    """
    c = np.asarray(compute, dtype=np.float64)
    if c.size == 0 or not np.all(np.isfinite(c) & (c > 0)):
        raise ValueError(f"compute must be positive and finite FLOPs, got {compute!r}")
    if not (math.isfinite(tokens_per_param) and tokens_per_param > 0):
        raise ValueError(f"tokens_per_param={tokens_per_param!r} must be positive")
    n = np.sqrt(c / (6.0 * tokens_per_param))
    d = tokens_per_param * n
    return (float(n), float(d)) if n.ndim == 0 else (n, d)

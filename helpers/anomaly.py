"""Anomaly detection on a 1-D signal with a trailing (causal) rolling z-score::

    z[t] = (x[t] - mean(x[t-w : t])) / std(x[t-w : t])

Each point is compared only with the ``window`` points before it, so the score
of time ``t`` uses no future values and the point itself cannot inflate the
statistics it is judged by. A point is flagged when ``|z| > threshold``. The
first ``window`` points have no full history: their score is NaN and they are
never flagged.
"""

from __future__ import annotations

import numpy as np


def rolling_zscore(x, window: int, *, min_std: float = 1e-12) -> np.ndarray:
    """Trailing z-score of each point of ``x``: (T,) -> (T,) float64, NaN for ``t < window``.

    The standard deviation is the population one (``ddof=0``), floored at ``min_std``
    so that a perfectly flat history does not divide by zero.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D signal of shape (T,), got shape {x.shape}")
    if not isinstance(window, int) or isinstance(window, bool) or window < 2:
        raise ValueError(f"window must be an int >= 2, got {window!r}")
    if window >= len(x):
        raise ValueError(f"window={window} leaves no point to score in a signal of length {len(x)}; "
                         "use a shorter window")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf; fill or drop missing readings first")
    history = np.lib.stride_tricks.sliding_window_view(x[:-1], window)     # (T - window, window)
    mean, std = history.mean(1), np.maximum(history.std(1), min_std)
    z = np.full(len(x), np.nan)
    z[window:] = (x[window:] - mean) / std
    return z


def detect_anomalies(x, window: int, threshold: float = 4.0) -> np.ndarray:
    """Labels (T,) int64: 1 where ``|rolling_zscore(x, window)| > threshold``, else 0."""
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold!r}")
    z = rolling_zscore(x, window)
    return (np.nan_to_num(np.abs(z), nan=0.0) > threshold).astype(np.int64)

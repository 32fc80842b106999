"""helpers.anomaly: rolling z-score against pandas, causality, detection, errors."""

import numpy as np
import pandas as pd
import pytest

from helpers.anomaly import detect_anomalies, rolling_zscore


def test_matches_pandas_trailing_window():
    x = np.random.default_rng(0).normal(size=200).cumsum()
    w = 15
    s = pd.Series(x)
    mean, std = s.rolling(w).mean().shift(1), s.rolling(w).std(ddof=0).shift(1)
    expected = ((s - mean) / std).to_numpy()
    z = rolling_zscore(x, w)
    assert np.isnan(z[:w]).all()
    np.testing.assert_allclose(z[w:], expected[w:], rtol=1e-9, atol=1e-9)


def test_score_does_not_use_the_future():
    x = np.random.default_rng(1).normal(size=100)
    y = x.copy()
    y[60:] += 100.0                                   # change the future only
    np.testing.assert_array_equal(rolling_zscore(x, 10)[:60], rolling_zscore(y, 10)[:60])


def test_detects_spikes_in_noise_and_flat_history():
    x = np.random.default_rng(2).normal(size=500)
    x[[100, 300]] += 10.0
    flags = detect_anomalies(x, window=30, threshold=5.0)
    assert flags.dtype == np.int64 and set(np.flatnonzero(flags)) == {100, 300}
    flat = np.zeros(20)
    flat[15] = 1.0
    assert np.flatnonzero(detect_anomalies(flat, window=5)).tolist() == [15]


@pytest.mark.parametrize("x, window, match", [
    (np.zeros((3, 3)), 2, "1-D"), (np.zeros(10), 1, "window must be"), (np.zeros(10), 10, "no point to score"),
    (np.array([1.0, np.nan, 2.0, 3.0]), 2, "NaN"), (np.zeros(10), True, "window must be")])
def test_errors(x, window, match):
    with pytest.raises(ValueError, match=match):
        rolling_zscore(x, window)


def test_threshold_must_be_positive():
    with pytest.raises(ValueError, match="threshold"):
        detect_anomalies(np.zeros(10), 3, threshold=0)

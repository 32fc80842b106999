"""helpers.models.tiled_attention against torch.softmax and F.scaled_dot_product_attention."""

import importlib
import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.attention.bias import causal_lower_right
from torch.utils.flop_counter import FlopCounterMode

from helpers.models.attention import scaled_dot_product_attention
from helpers.models.tiled_attention import (online_softmax, peak_memory_bytes, sliding_window_mask, tiled_attention,
                                            visited_blocks)


def _window_reference(T_q, T_k, window):
    """The sliding-window mask by brute force over (i, j)."""
    offset = T_k - T_q
    return torch.tensor([[offset + i - window < j <= offset + i for j in range(T_k)] for i in range(T_q)])


def _qkv(T_q, T_k, d_k=8, d_v=6, batch=(2, 3), seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*batch, T_q, d_k, generator=g, dtype=dtype),
            torch.randn(*batch, T_k, d_k, generator=g, dtype=dtype),
            torch.randn(*batch, T_k, d_v, generator=g, dtype=dtype))


@pytest.mark.parametrize("block_size", [1, 3, 7, 64])
def test_online_softmax_equals_torch(block_size):
    x = torch.randn(4, 5, 37, dtype=torch.float64) * 10
    torch.testing.assert_close(online_softmax(x, block_size), torch.softmax(x, -1), atol=1e-12, rtol=1e-12)


def test_online_softmax_is_stable_for_huge_scores():
    x = torch.tensor([[1000.0, 999.0, -1000.0, 1001.0]])
    assert torch.isfinite(online_softmax(x, 1)).all()
    torch.testing.assert_close(online_softmax(x, 1), torch.softmax(x, -1))


def test_sliding_window_mask_matches_brute_force_and_causal_limit():
    for T_q, T_k, window in [(6, 6, 1), (6, 6, 3), (4, 9, 2), (1, 5, 10), (7, 7, 7)]:
        assert torch.equal(sliding_window_mask(T_q, window, T_k), _window_reference(T_q, T_k, window))
    # a window at least as long as the sequence is the plain (bottom-right) causal mask; window 1 is the diagonal
    assert torch.equal(sliding_window_mask(3, 8, 8), torch.ones(3, 8, dtype=torch.bool).tril(5))
    assert torch.equal(sliding_window_mask(5, 1), torch.eye(5, dtype=torch.bool))


GRID = list(itertools.product([(1, 1), (5, 5), (16, 16), (13, 13), (3, 11), (1, 9), (10, 17)],
                              [(1, 1), (4, 4), (3, 5), (16, 16), (64, 64)]))


@pytest.mark.parametrize("shape, blocks", GRID)
def test_tiled_equals_sdpa_on_a_grid(shape, blocks):
    T_q, T_k = shape
    q, k, v = _qkv(T_q, T_k)
    bq, bk = blocks
    torch.testing.assert_close(tiled_attention(q, k, v, bq, bk), F.scaled_dot_product_attention(q, k, v),
                               atol=1e-5, rtol=1e-5)
    ref_causal = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(T_q, T_k))
    torch.testing.assert_close(tiled_attention(q, k, v, bq, bk, causal=True), ref_causal, atol=1e-5, rtol=1e-5)
    for window in (1, 2, 5):
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=_window_reference(T_q, T_k, window))
        torch.testing.assert_close(tiled_attention(q, k, v, bq, bk, window=window), ref, atol=1e-5, rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(T_q=st.integers(1, 20), extra=st.integers(0, 12), bq=st.integers(1, 9), bk=st.integers(1, 9),
       mode=st.sampled_from(["none", "causal", "window"]), window=st.integers(1, 25), seed=st.integers(0, 10**6))
def test_tiled_equals_sdpa_property(T_q, extra, bq, bk, mode, window, seed):
    T_k = T_q + extra
    q, k, v = _qkv(T_q, T_k, batch=(2,), seed=seed, dtype=torch.float64)
    if mode == "none":
        ours, mask = tiled_attention(q, k, v, bq, bk), None
    elif mode == "causal":
        ours, mask = tiled_attention(q, k, v, bq, bk, causal=True), _window_reference(T_q, T_k, T_k)
    else:
        ours, mask = tiled_attention(q, k, v, bq, bk, window=window), _window_reference(T_q, T_k, window)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("T_q, T_k, bq, bk, window", [(16, 16, 4, 4, None), (13, 13, 4, 3, None), (5, 12, 2, 5, None),
                                                       (16, 16, 4, 4, 4), (20, 20, 3, 7, 6), (6, 15, 4, 4, 3)])
def test_visited_blocks_are_exactly_the_blocks_with_an_allowed_entry(T_q, T_k, bq, bk, window):
    mask = _window_reference(T_q, T_k, window or T_k)
    expected = []
    for i in range((T_q + bq - 1) // bq):
        for j in range((T_k + bk - 1) // bk):
            tile = mask[i * bq:(i + 1) * bq, j * bk:(j + 1) * bk]
            if tile.any():
                expected.append((i, j, "full" if tile.all() else "partial"))
    assert visited_blocks(T_q, T_k, bq, bk, causal=True, window=window) == expected
    n_all = ((T_q + bq - 1) // bq) * ((T_k + bk - 1) // bk)
    assert len(visited_blocks(T_q, T_k, bq, bk)) == n_all
    assert all(state == "full" for _, _, state in visited_blocks(T_q, T_k, bq, bk))


def test_same_matmul_flops_as_naive_without_mask_and_fewer_with_causal_skipping():
    q, k, v = _qkv(64, 64, d_k=16, d_v=16, batch=(1,))
    counts = {}
    for name, fn in [("naive", lambda: scaled_dot_product_attention(q, k, v)),
                     ("tiled", lambda: tiled_attention(q, k, v, 16, 16)),
                     ("tiled_causal", lambda: tiled_attention(q, k, v, 16, 16, causal=True))]:
        with FlopCounterMode(display=False) as counter:
            fn()
        counts[name] = counter.get_total_flops()
    assert counts["naive"] == counts["tiled"] == 2 * 2 * 64 * 64 * 16
    assert counts["tiled_causal"] == counts["tiled"] * 10 // 16              # 10 of the 4 x 4 tiles are visited


def test_peak_memory_quadratic_for_naive_and_linear_for_tiled():
    peaks = {}
    with torch.no_grad():
        for T in (64, 128, 256):
            q = torch.randn(1, 1, T, 16)
            peaks[T] = (peak_memory_bytes(scaled_dot_product_attention, q, q, q)[1],
                        peak_memory_bytes(tiled_attention, q, q, q, 32, 32)[1])
    for T in (64, 128, 256):
        naive, tiled = peaks[T]
        assert naive >= 2 * T * T * 4                       # scores and weights, float32, both alive at once
        assert tiled < T * 16 * 4 + 8 * 32 * 32 * 4         # output + a few tiles
    # doubling T: naive grows ~4x, tiled by ~T * d * 4 bytes (the output)
    assert peaks[256][0] / peaks[128][0] > 3.5
    assert peaks[256][1] - peaks[128][1] == 128 * 16 * 4
    # the result is returned and the count is deterministic
    q = torch.randn(1, 1, 32, 16)
    (out, p1), (_, p2) = peak_memory_bytes(tiled_attention, q, q, q, 8, 8), peak_memory_bytes(tiled_attention, q, q, q, 8, 8)
    assert p1 == p2 and out.shape == (1, 1, 32, 16)


def test_peak_memory_counts_views_once_and_frees():
    def fn(x):
        y = x * 2                           # 400 bytes
        z = y[:50]                          # a view: no new storage
        del y
        w = z + 1                           # 200 bytes, while y's storage is still alive through z
        return w

    _, peak = peak_memory_bytes(fn, torch.zeros(100))
    assert peak == 600
    _, peak = peak_memory_bytes(lambda x: x[:10], torch.zeros(100))  # a view of the input is not counted
    assert peak == 0


def test_errors_name_the_values():
    q, k, v = _qkv(4, 6)
    with pytest.raises(ValueError, match="block_size=0 must be a positive int"):
        online_softmax(torch.zeros(3), 0)
    with pytest.raises(ValueError, match="non-empty last dimension"):
        online_softmax(torch.zeros(3, 0))
    with pytest.raises(ValueError, match="window=0 must be a positive int"):
        sliding_window_mask(4, 0)
    with pytest.raises(ValueError, match="T_k=3 < T_q=4"):
        sliding_window_mask(4, 2, 3)
    with pytest.raises(ValueError, match="block_q=0 must be a positive int"):
        tiled_attention(q, k, v, block_q=0)
    with pytest.raises(ValueError, match="block_k=2.5 must be a positive int"):
        tiled_attention(q, k, v, block_k=2.5)
    with pytest.raises(ValueError, match="window=-1 must be a positive int"):
        tiled_attention(q, k, v, window=-1)
    with pytest.raises(ValueError, match="same last dimension d_k, got 8 and 7"):
        tiled_attention(q, k[..., :7], v)
    with pytest.raises(ValueError, match="same length T_k, got 6 and 5"):
        tiled_attention(q, k, v[..., :5, :])
    with pytest.raises(ValueError, match="T_q=6 queries but only T_k=4 keys"):
        tiled_attention(k, q, q, causal=True)


def test_public_api_is_reexported():
    import helpers
    module = importlib.import_module("helpers.models.tiled_attention")

    for name in ("online_softmax", "sliding_window_mask", "tiled_attention"):
        assert getattr(helpers, name) is getattr(module, name) and name in helpers.__all__

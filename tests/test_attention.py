"""helpers.models.attention against torch.nn.MultiheadAttention and F.scaled_dot_product_attention."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from helpers.models.attention import (LearnedPositionalEmbedding, MultiHeadAttention, SinusoidalPositionalEncoding,
                                      attention_flops, causal_mask, scaled_dot_product_attention,
                                      sinusoidal_positional_encoding)


def _pair(n_embd=16, n_head=4, bias=True, seed=0):
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(n_embd, n_head, bias=bias, batch_first=True)
    with torch.no_grad():                       # non-zero biases so that copying them is tested
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return MultiHeadAttention(n_embd, n_head, bias=bias).load_from_torch(ref), ref


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_equals_torch(causal):
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
    out, w = scaled_dot_product_attention(q, k, v, causal=causal)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=causal), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))
    mask = torch.rand(5, 5, generator=g) > 0.4
    mask.fill_diagonal_(True)
    out, _ = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5, rtol=1e-5)


def test_sdpa_by_hand_tiny_case():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    out, w = scaled_dot_product_attention(q, k, v)
    p = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    torch.testing.assert_close(w, torch.tensor([[p, 1 - p]]))
    torch.testing.assert_close(out, torch.tensor([[10 * p + 20 * (1 - p)]]))


@pytest.mark.parametrize("n_embd, n_head, bias", [(16, 4, True), (12, 3, False), (8, 1, True)])
@pytest.mark.parametrize("causal", [False, True])
def test_mha_equals_nn_multihead_attention(n_embd, n_head, bias, causal):
    ours, ref = _pair(n_embd, n_head, bias)
    x = torch.randn(3, 7, n_embd)
    mask_ref = nn.Transformer.generate_square_subsequent_mask(7) if causal else None
    y_ref, w_ref = ref(x, x, x, attn_mask=mask_ref, need_weights=True, average_attn_weights=False)
    y, w = ours(x, causal=causal, need_weights=True)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, w_ref, atol=1e-5, rtol=1e-5)
    # the same with F.scaled_dot_product_attention on our projections
    B, T, C = x.shape
    split = lambda t: t.view(B, T, n_head, C // n_head).transpose(1, 2)
    o = F.scaled_dot_product_attention(split(ours.q_proj(x)), split(ours.k_proj(x)), split(ours.v_proj(x)),
                                       is_causal=causal)
    torch.testing.assert_close(y, ours.out_proj(o.transpose(1, 2).reshape(B, T, C)), atol=1e-5, rtol=1e-5)


def test_explicit_attn_mask_equals_causal_flag():
    ours, _ = _pair()
    x = torch.randn(2, 6, 16)
    torch.testing.assert_close(ours(x, attn_mask=causal_mask(6)), ours(x, causal=True))


def test_key_padding_mask_equals_torch():
    ours, ref = _pair()
    x = torch.randn(2, 6, 16)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[0, 4:] = True
    pad[1, 5:] = True
    y_ref, _ = ref(x, x, x, key_padding_mask=pad)
    torch.testing.assert_close(ours(x, key_padding_mask=pad), y_ref, atol=1e-5, rtol=1e-5)
    # combined with the causal mask
    y_ref, _ = ref(x, x, x, key_padding_mask=pad, attn_mask=~causal_mask(6))
    torch.testing.assert_close(ours(x, key_padding_mask=pad, attn_mask=causal_mask(6)), y_ref, atol=1e-5, rtol=1e-5)


def test_causal_mask_future_tokens_never_change_the_past():
    ours, _ = _pair()
    x = torch.randn(1, 8, 16)
    y = ours(x, causal=True)
    for t in range(7):
        x2 = x.clone()
        x2[:, t + 1:] = torch.randn(1, 7 - t, 16)
        y2 = ours(x2, causal=True)
        torch.testing.assert_close(y2[:, :t + 1], y[:, :t + 1], atol=0, rtol=0)
        assert not torch.allclose(y2[:, t + 1:], y[:, t + 1:])
    # without the mask the past does change
    assert not torch.allclose(ours(x2)[:, :7], ours(x)[:, :7])


def test_permutation_equivariance_without_positions_and_broken_with_them():
    ours, _ = _pair()
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)
    torch.testing.assert_close(ours(x[:, perm]), ours(x)[:, perm], atol=1e-6, rtol=1e-5)
    pe = SinusoidalPositionalEncoding(16, 16)
    assert not torch.allclose(ours(pe(x[:, perm])), ours(pe(x))[:, perm], atol=1e-3)


def test_sinusoidal_encoding_formula_and_modules():
    pe = sinusoidal_positional_encoding(50, 8)
    assert pe.shape == (50, 8)
    t, i = 7, 3
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(t / 10000 ** (2 * i / 8)), abs=1e-6)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(t / 10000 ** (2 * i / 8)), abs=1e-6)
    x = torch.zeros(2, 5, 8)
    torch.testing.assert_close(SinusoidalPositionalEncoding(10, 8)(x), pe[:5].expand(2, 5, 8))
    learned = LearnedPositionalEmbedding(10, 8)
    torch.testing.assert_close(learned(x), learned.wpe.weight[:5].expand(2, 5, 8))
    assert sum(p.numel() for p in learned.parameters()) == 80


def test_flops_formula():
    f = attention_flops(T=128, n_embd=64)
    assert f == {"projections": 8 * 128 * 64 ** 2, "scores": 2 * 128 ** 2 * 64, "mix": 2 * 128 ** 2 * 64}


def test_errors_name_the_values():
    with pytest.raises(ValueError, match="n_embd=100 is not divisible by n_head=3"):
        MultiHeadAttention(100, 3)
    with pytest.raises(ValueError, match="n_head=0 must be a positive int"):
        MultiHeadAttention(16, 0)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 5, 16)
    with pytest.raises(ValueError, match=r"attn_mask has shape \(4, 4\) but the sequence has T=5"):
        mha(x, attn_mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"does not broadcast .* use \(5, 5\)"):
        mha(x, attn_mask=torch.ones(3, 4, 5, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="must be a bool tensor"):
        mha(x, attn_mask=torch.zeros(5, 5))
    with pytest.raises(ValueError, match=r"key_padding_mask must be bool of shape \(B, T\) = \(2, 5\)"):
        mha(x, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, n_embd=16\), got \(2, 5, 8\)"):
        mha(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match="embed_dim=8, num_heads=2"):
        mha.load_from_torch(nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match="kdim/vdim"):
        MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, kdim=4, vdim=4))
    with pytest.raises(ValueError, match="same last dimension d_k, got 4 and 3"):
        scaled_dot_product_attention(torch.zeros(2, 4), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="same length T_k, got 2 and 3"):
        scaled_dot_product_attention(torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="n_embd=7 must be even"):
        sinusoidal_positional_encoding(4, 7)
    with pytest.raises(ValueError, match="T=11 exceeds block_size=10"):
        LearnedPositionalEmbedding(10, 8)(torch.zeros(1, 11, 8))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, n_embd=8\)"):
        SinusoidalPositionalEncoding(10, 8)(torch.zeros(1, 3, 4))


@pytest.mark.parametrize("T_q", [1, 2, 5])
def test_causal_with_fewer_queries_than_keys_is_aligned_bottom_right(T_q):
    # KV-cache decoding: the last T_q positions of a length-5 sequence query all 5 cached keys.
    # Reference: full causal attention over the whole sequence, keeping its last T_q rows.
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
    full_out, full_w = scaled_dot_product_attention(q, k, v, causal=True)
    out, w = scaled_dot_product_attention(q[..., -T_q:, :], k, v, causal=True)
    torch.testing.assert_close(out, full_out[..., -T_q:, :])
    torch.testing.assert_close(w, full_w[..., -T_q:, :])
    # PyTorch's own lower-right causal bias (the KV-cache convention) passed to its fused kernel
    ref = F.scaled_dot_product_attention(q[..., -T_q:, :], k, v, attn_mask=causal_lower_right(T_q, 5))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # one query over five keys sees all five
    assert (w[..., -1, :] > 0).all()


def test_causal_mask_rectangular():
    assert causal_mask(2, T_k=4).tolist() == [[True, True, True, False], [True, True, True, True]]
    torch.testing.assert_close(causal_mask(4), causal_mask(4, T_k=4))
    with pytest.raises(ValueError, match=r"T_q=5 queries but only T_k=3 keys"):
        scaled_dot_product_attention(torch.zeros(5, 4), torch.zeros(3, 4), torch.zeros(3, 4), causal=True)
    with pytest.raises(ValueError, match=r"T_k=2 < T=3"):
        causal_mask(3, T_k=2)

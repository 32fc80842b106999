"""helpers.conv against torch.nn.functional on many shapes; error paths."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.conv import (avg_pool2d, conv2d_loops, conv2d_num_params, conv2d_unfold, conv_output_size, im2col,
                          max_pool2d)

CONV_CASES = [  # (B, C_in, H, W, C_out, kH, kW, stride, padding)
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 3, 1, 1),
    (2, 2, 8, 9, 3, 3, 2, 2, 0),
    (1, 4, 6, 6, 2, 1, 1, 1, 0),
    (3, 3, 9, 7, 5, 5, 3, 2, 2),
    (1, 2, 4, 4, 3, 4, 4, 3, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("impl", [conv2d_loops, conv2d_unfold])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_equals_torch(case, impl, use_bias):
    B, c_in, H, W, c_out, kh, kw, s, p = case
    g = torch.Generator().manual_seed(sum(case))
    x = torch.randn(B, c_in, H, W, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in, kh, kw, generator=g, dtype=torch.float64)
    b = torch.randn(c_out, generator=g, dtype=torch.float64) if use_bias else None
    expected = F.conv2d(x, w, b, stride=s, padding=p)
    got = impl(x, w, b, stride=s, padding=p)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_conv_float32_and_gradients_flow():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    y = conv2d_unfold(x, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(y, conv(x), rtol=1e-5, atol=1e-5)
    (g_ours,) = torch.autograd.grad(y.square().sum(), x)
    (g_ref,) = torch.autograd.grad(conv(x).square().sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-4, atol=1e-4)


def test_im2col_equals_f_unfold():
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64)
    for kh, kw, s, p in [(3, 3, 1, 1), (2, 3, 2, 0), (4, 2, 3, 2)]:
        torch.testing.assert_close(im2col(x, kh, kw, s, p), F.unfold(x, (kh, kw), padding=p, stride=s))


def test_output_size_matches_torch_on_many_shapes():
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 12), range(1, 6), range(1, 4), range(0, 3), range(1, 3)):
        if n + 2 * p < d * (k - 1) + 1:
            with pytest.raises(ValueError, match="does not fit"):
                conv_output_size(n, k, s, p, d)
            continue
        out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
        assert conv_output_size(n, k, s, p, d) == out, (n, k, s, p, d)
        checked += 1
    assert checked > 500
    assert conv_output_size(32, 3, 1, 1) == 32 and conv_output_size(28, 5) == 24 and conv_output_size(7, 3, 2) == 3


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1), (4, 3, 2)])
def test_pooling_equals_torch(kernel, stride, padding):
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    torch.testing.assert_close(max_pool2d(x, kernel, stride, padding),
                               F.max_pool2d(x, kernel, stride, padding))
    torch.testing.assert_close(avg_pool2d(x, kernel, stride, padding),
                               F.avg_pool2d(x, kernel, stride, padding))


def test_num_params_equals_nn_conv2d():
    for c_in, c_out, k, bias in [(1, 1, 3, True), (3, 16, 5, True), (64, 128, 3, False)]:
        layer = nn.Conv2d(c_in, c_out, k, bias=bias)
        assert conv2d_num_params(c_in, c_out, k, bias) == sum(p.numel() for p in layer.parameters())


def test_errors_name_the_bad_values():
    x = torch.zeros(1, 3, 5, 5)
    with pytest.raises(ValueError, match=r"x has C_in=3 channels but weight \(4, 2, 3, 3\) expects C_in=2"):
        conv2d_loops(x, torch.zeros(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(B, C_in, H, W\), got \(3, 5, 5\)"):
        conv2d_unfold(x[0], torch.zeros(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"weight must have shape \(C_out, C_in, kH, kW\), got \(4, 3, 3\)"):
        conv2d_unfold(x, torch.zeros(4, 3, 3))
    with pytest.raises(ValueError, match=r"bias must have shape \(C_out,\) = \(4,\), got \(3,\)"):
        conv2d_unfold(x, torch.zeros(4, 3, 3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="does not fit an input of length 5"):
        conv2d_unfold(x, torch.zeros(4, 3, 7, 7))
    with pytest.raises(ValueError, match="stride=0 must be an int >= 1"):
        conv_output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match="padding=-1"):
        conv_output_size(5, 3, padding=-1)
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\)"):
        max_pool2d(x[0], 2)
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\)"):
        im2col(x[0], 2, 2)
    with pytest.raises(ValueError, match="padding=2 must be an int between 0 and kernel // 2 = 1"):
        avg_pool2d(x, 2, padding=2)

"""helpers.models.resnet: shapes, a parameter count worked out by hand, the residual identity, errors."""

import pytest
import torch
from torch import nn

from helpers import ResNet9, num_params
from helpers.models.resnet import Residual, conv_bn


def _conv_bn(c_in, c_out):
    return c_in * c_out * 3 * 3 + 2 * c_out          # bias-free 3x3 kernel, BatchNorm weight and bias


def _by_hand(c_in=3, n_classes=10, w=64):
    return (_conv_bn(c_in, w) + _conv_bn(w, 2 * w) + 2 * _conv_bn(2 * w, 2 * w) + _conv_bn(2 * w, 4 * w)
            + _conv_bn(4 * w, 8 * w) + 2 * _conv_bn(8 * w, 8 * w) + 8 * w * n_classes + n_classes)


def test_parameter_count_by_hand():
    assert _by_hand() == 6_573_130
    assert num_params(ResNet9()) == _by_hand()
    assert num_params(ResNet9(in_channels=1, n_classes=5, width=8)) == _by_hand(1, 5, 8)


def test_shapes_through_the_stages():
    model = ResNet9(width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    h = model.prep(x)
    assert h.shape == (2, 4, 32, 32)
    h = model.layer1(h)
    assert h.shape == (2, 8, 16, 16)
    h = model.layer2(h)
    assert h.shape == (2, 16, 8, 8)
    h = model.layer3(h)
    assert h.shape == (2, 32, 4, 4)
    assert model(x).shape == (2, 10)
    assert ResNet9(width=4)(torch.randn(3, 3, 8, 8)).shape == (3, 10)     # smallest input: 8 -> 4 -> 2 -> 1
    assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules()) == 9


def test_residual_is_identity_when_its_branch_is_zeroed():
    torch.manual_seed(0)
    block = Residual(6)
    last_bn = block.branch[-1][1]
    assert isinstance(last_bn, nn.BatchNorm2d)
    nn.init.zeros_(last_bn.weight)
    nn.init.zeros_(last_bn.bias)
    x = torch.randn(4, 6, 5, 5)
    for mode in (True, False):
        block.train(mode)
        torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    nn.init.ones_(last_bn.weight)
    assert not torch.allclose(block(x), x)


def test_scale_multiplies_the_logits():
    torch.manual_seed(0)
    a = ResNet9(width=2, scale=1.0).eval()
    b = ResNet9(width=2, scale=0.125).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(b(x), a(x) * 0.125)


def test_conv_bn_matches_torch_layers():
    torch.manual_seed(0)
    block = conv_bn(2, 3).eval()
    x = torch.randn(1, 2, 6, 6)
    conv, bn = block[0], block[1]
    ref = torch.relu((conv(x) - bn.running_mean[None, :, None, None])
                     / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps))
    torch.testing.assert_close(block(x), ref)
    assert conv.bias is None


def test_errors_name_the_bad_shape():
    model = ResNet9(width=2)
    with pytest.raises(ValueError, match=r"got \(2, 32, 32, 3\); convert channels-last"):
        model(torch.randn(2, 32, 32, 3))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) with H, W >= 8, got \(2, 3, 4, 4\)"):
        model(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"got \(3, 32, 32\)"):
        model(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="width=0"):
        ResNet9(width=0)
    with pytest.raises(ValueError, match="n_classes=True"):
        ResNet9(n_classes=True)
    with pytest.raises(ValueError, match="scale=0"):
        ResNet9(scale=0)

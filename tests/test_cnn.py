"""helpers.models.cnn: shapes, parameter counts worked out by hand, and error paths."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import CifarResNet, SimpleCNN, articles_cnn, conv_output_size, num_params
from helpers.models.cnn import BasicBlock


def _conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def _linear(a, b):
    return a * b + b


@pytest.mark.parametrize("size, k, s, p", [(28, 5, 1, 0), (32, 5, 1, 0), (28, 3, 1, 1), (7, 3, 2, 1),
                                           (24, 2, 2, 0), (9, 2, 2, 0), (5, 5, 1, 0)])
def test_conv_output_size_matches_torch(size, k, s, p):
    out = nn.Conv2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, size, size))
    assert conv_output_size(size, k, s, p) == out.shape[-1]
    if p == 0:
        assert conv_output_size(size, k, s) == F.max_pool2d(torch.zeros(1, 1, size, size), k, s).shape[-1]


def test_simple_cnn_default_shapes_and_parameters():
    model = SimpleCNN()
    x = torch.randn(4, 1, 28, 28)
    assert model(x).shape == (4, 10)
    # 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4
    assert model.feature_size == 4 and model.features(x).shape == (4, 32, 4, 4)
    expected = _conv(1, 16, 5) + _conv(16, 32, 5) + _linear(32 * 4 * 4, 128) + _linear(128, 10)
    assert expected == 80_202
    assert num_params(model) == expected


def test_articles_cnn_on_cifar_and_on_mnist():
    cifar = articles_cnn()
    assert cifar.feature_size == 5                  # the articles' hard-coded 64 * 5 * 5
    assert cifar(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert num_params(cifar) == _conv(3, 32, 5) + _conv(32, 64, 5) + _linear(64 * 5 * 5, 1024) + _linear(1024, 10)
    assert num_params(cifar) == 1_703_370
    mnist = articles_cnn(in_channels=1, image_size=28)
    assert mnist.feature_size == 4                  # 64 * 4 * 4, not 64 * 5 * 5
    assert mnist(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert num_params(mnist) == _conv(1, 32, 5) + _conv(32, 64, 5) + _linear(64 * 4 * 4, 1024) + _linear(1024, 10)


def test_hard_coded_view_mixes_images_where_flatten_does_not():
    """The articles' x.view(-1, 64*5*5) on 28x28 inputs silently changes the batch size."""
    features = articles_cnn(in_channels=1, image_size=28).features(torch.randn(25, 1, 28, 28))
    assert features.view(-1, 64 * 5 * 5).shape == (16, 1600)     # 25 images became 16 rows
    assert features.flatten(1).shape == (25, 1024)


def test_simple_cnn_variants():
    binary = SimpleCNN(n_classes=1, hidden=None)
    assert binary(torch.randn(3, 1, 28, 28)).shape == (3, 1)
    assert num_params(binary) == _conv(1, 16, 5) + _conv(16, 32, 5) + _linear(512, 1)
    padded = SimpleCNN(in_channels=3, image_size=32, channels=(8, 8), kernel_size=3, padding=1, dropout=0.5)
    assert padded.feature_size == 8 and padded(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert any(isinstance(m, nn.Dropout) for m in padded.modules())
    assert not any(isinstance(m, nn.Dropout) for m in SimpleCNN().modules())


def test_simple_cnn_errors():
    with pytest.raises(ValueError, match="image_size=8 is too small"):
        SimpleCNN(image_size=8)
    with pytest.raises(ValueError, match=r"channels=\(16,\)"):
        SimpleCNN(channels=(16,))
    with pytest.raises(ValueError, match="channels\\[1\\]=0"):
        SimpleCNN(channels=(16, 0))
    with pytest.raises(ValueError, match="hidden=0"):
        SimpleCNN(hidden=0)
    with pytest.raises(ValueError, match="n_classes=True"):
        SimpleCNN(n_classes=True)
    with pytest.raises(ValueError, match="dropout=1.0"):
        SimpleCNN(dropout=1.0)
    model = SimpleCNN()
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\), got \(4, 28, 28\); add a channel axis"):
        model(torch.randn(4, 28, 28))
    with pytest.raises(ValueError, match=r"got \(4, 3, 28, 28\)$"):
        model(torch.randn(4, 3, 28, 28))


def _resnet_params(depth, c_in=3, w=16, n_classes=10):
    """Counted by hand: 3x3 convs without bias, BatchNorm has 2 parameters per channel."""
    n = (depth - 2) // 6
    total = _conv(c_in, w, 3, bias=False) + 2 * w
    c = w
    for c_out in (w, 2 * w, 4 * w):
        for i in range(n):
            total += _conv(c, c_out, 3, bias=False) + 2 * c_out + _conv(c_out, c_out, 3, bias=False) + 2 * c_out
            c = c_out
    return total + _linear(4 * w, n_classes)


def test_resnet20_has_the_published_parameter_count():
    model = CifarResNet(20)
    assert num_params(model) == _resnet_params(20) == 269_722      # "0.27M" in He et al. (2016), Table 6
    assert num_params(CifarResNet(56)) == _resnet_params(56)
    assert 0.85e6 < num_params(CifarResNet(56)) < 0.86e6            # "0.85M"
    assert len([m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]) == 20


def test_resnet_shapes():
    model = CifarResNet(20, in_channels=1, n_classes=7, width=8).eval()
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 7)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 7)        # global pooling: any size works
    features = model.blocks(model.stem(torch.randn(2, 1, 32, 32)))
    assert features.shape == (2, 32, 8, 8)


def test_basic_block_against_functional_reference():
    torch.manual_seed(0)
    block = BasicBlock(4, 8, stride=2).eval()
    for bn in (block.bn1, block.bn2):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 4, 6, 6)

    def bn(z, m):
        return F.batch_norm(z, m.running_mean, m.running_var, m.weight, m.bias, training=False)

    out = F.relu(bn(F.conv2d(x, block.conv1.weight, stride=2, padding=1), block.bn1))
    out = bn(F.conv2d(out, block.conv2.weight, padding=1), block.bn2)
    shortcut = torch.zeros(2, 8, 3, 3)
    shortcut[:, 2:6] = x[:, :, ::2, ::2]                             # zero channels on both sides
    torch.testing.assert_close(block(x), F.relu(out + shortcut))
    same = BasicBlock(4, 4).eval()
    assert torch.equal(same.shortcut(x), x)


def test_resnet_errors():
    with pytest.raises(ValueError, match="depth=21: a CIFAR ResNet has depth 6n \\+ 2"):
        CifarResNet(21)
    with pytest.raises(ValueError, match="depth=2"):
        CifarResNet(2)
    with pytest.raises(ValueError, match="width=0"):
        CifarResNet(width=0)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\), got \(3, 32, 32\)"):
        CifarResNet()(torch.randn(3, 32, 32))

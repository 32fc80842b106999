"""helpers.scratch: backprop vs finite differences and vs torch.autograd; errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import scratch
from helpers.scratch import NumpyMLP, gradient_check, numerical_gradient, relative_error, to_torch, train_sgd


def _data(widths, loss, n=7, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, widths[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, widths[-1], n)
    else:
        y = rng.uniform(size=(n, widths[-1]))
    return X, y


CASES = [
    ([3, 5, 4], "sigmoid", "cross_entropy", "identity"),
    ([4, 6, 5, 3], "tanh", "cross_entropy", "identity"),
    ([2, 3], "relu", "cross_entropy", "identity"),                   # no hidden layer: softmax regression
    ([3, 8, 7, 6, 2], "relu", "mse", "identity"),
    ([4, 5, 2], "sigmoid", "mse", "sigmoid"),
    ([3, 4, 3, 1], "tanh", "mse", "tanh"),
]


@pytest.mark.parametrize("widths, act, loss, out_act", CASES)
def test_backprop_matches_finite_differences(widths, act, loss, out_act):
    model = NumpyMLP(widths, activation=act, loss=loss, out_activation=out_act, seed=3)
    for p in model.params[1::2]:
        p += np.random.default_rng(5).normal(scale=0.1, size=p.shape)   # non-zero biases
    X, y = _data(widths, loss)
    errors = gradient_check(model, X, y)
    assert list(errors) == [f"{k}{i}" for i in range(1, len(widths)) for k in "Wb"]
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("widths, act, loss, out_act", CASES)
def test_backprop_matches_torch_autograd(widths, act, loss, out_act):
    model = NumpyMLP(widths, activation=act, loss=loss, out_activation=out_act, seed=4)
    X, y = _data(widths, loss, n=9, seed=2)
    ours_loss, grads = model.loss_and_grads(X, y)
    net = to_torch(model)
    out = net(torch.from_numpy(X))
    if loss == "cross_entropy":
        ref = F.cross_entropy(out, torch.from_numpy(y))
    else:
        ref = F.mse_loss(out, torch.from_numpy(y))
    ref.backward()
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert ours_loss == pytest.approx(ref.item(), rel=1e-12)
    for layer, lin in enumerate(linears):
        np.testing.assert_allclose(grads[2 * layer], lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(grads[2 * layer + 1], lin.bias.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.predict(X), out.argmax(1).numpy() if loss == "cross_entropy"
                               else out.detach().numpy(), rtol=1e-12)


def test_numerical_gradient_of_known_function_and_restores_input():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    x0 = x.copy()
    g = numerical_gradient(lambda: float(np.sum(np.sin(x)) + np.sum(x ** 3)), x)
    np.testing.assert_allclose(g, np.cos(x0) + 3 * x0 ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, x0)


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == pytest.approx(1.0)


def test_float32_model_is_refused_by_gradient_check():
    model = NumpyMLP([3, 4, 2]).astype(np.float32)
    assert model.dtype == np.float32 and all(p.dtype == np.float32 for p in model.params)
    X, y = _data([3, 4, 2], "cross_entropy")
    with pytest.raises(TypeError, match="needs a float64 model, got float32"):
        gradient_check(model, X, y)


def test_float32_finite_differences_are_misleading():
    """Why the check insists on float64: the same correct gradient looks wrong in float32."""
    model64 = NumpyMLP([4, 6, 3], activation="tanh", seed=0)
    model32 = model64.astype(np.float32)
    X, y = _data([4, 6, 3], "cross_entropy", n=16)
    _, g32 = model32.loss_and_grads(X, y)
    err32 = relative_error(g32[0], numerical_gradient(lambda: model32.loss(X, y), model32.params[0], 1e-6))
    assert err32 > 1e-3
    assert gradient_check(model64, X, y)["W1"] < 1e-7


def test_training_reduces_loss_and_learns_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    model = NumpyMLP([2, 8, 2], activation="tanh", seed=0)
    history = train_sgd(model, np.repeat(X, 8, 0), np.repeat(y, 8), epochs=300, lr=0.5, batch_size=8)
    assert history[-1] < 0.05 < history[0]
    np.testing.assert_array_equal(model.predict(X), y)


def test_softmax_helpers_are_stable_and_match_torch():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(scratch.log_softmax(z), torch.log_softmax(torch.from_numpy(z), 1).numpy())
    np.testing.assert_allclose(scratch.softmax(z).sum(1), 1.0)
    np.testing.assert_allclose(scratch.sigmoid(np.array([-800.0, 0.0, 800.0])), [0.0, 0.5, 1.0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(widths=[3]), "at least the input and output"),
    (dict(widths=[3, 0, 2]), r"widths\[1\]=0"),
    (dict(widths=[3, 2], activation="swish"), "unknown activation 'swish'"),
    (dict(widths=[3, 2], out_activation="swish"), "unknown out_activation 'swish'"),
    (dict(widths=[3, 2], loss="hinge"), "unknown loss 'hinge'"),
    (dict(widths=[3, 2], out_activation="sigmoid"), "must be 'identity'"),
])
def test_bad_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NumpyMLP(**kwargs)


def test_bad_inputs():
    ce = NumpyMLP([3, 2])
    with pytest.raises(ValueError, match=r"expects X of shape \(B, 3\), got \(4, 5\)"):
        ce.forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"integer labels of shape \(4,\)"):
        ce.loss(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\], got 0..2"):
        ce.loss(np.zeros((3, 3)), np.array([0, 1, 2]))
    mse = NumpyMLP([3, 2], loss="mse")
    with pytest.raises(ValueError, match=r"targets of shape \(4, 2\), got \(4,\)"):
        mse.loss(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size=0"):
        train_sgd(mse, np.zeros((4, 3)), np.zeros((4, 2)), epochs=1, lr=0.1, batch_size=0)
    with pytest.raises(ValueError, match="no 'identity' activation"):
        to_torch(NumpyMLP([3, 4, 2], activation="identity"))


def test_relative_error_refuses_mismatched_shapes():
    """Item 10: (3,) against (3, 1) used to broadcast to a (3, 3) difference."""
    with pytest.raises(ValueError, match=r"a has shape \(3,\) but b has shape \(3, 1\)"):
        relative_error(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="NaN"):
        relative_error(np.array([np.nan]), np.array([1.0]))
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0

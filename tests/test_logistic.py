"""helpers.logistic against finite differences, torch autograd and scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from helpers import LogisticRegressionGD, bce_grad, bce_loss, sigmoid


def _data(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ np.array([1.5, -2.0, 0.5])[:d] + 0.3 + rng.normal(size=n) > 0).astype(np.int64)
    return X, y


def test_sigmoid_is_stable_and_matches_torch():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 40.0, 1000.0])
    with np.errstate(over="raise"):
        s = sigmoid(z)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12, atol=0)
    assert s[0] == 0.0 and s[-1] == 1.0


def test_loss_and_gradient_match_torch_autograd():
    X, y = _data()
    w, b = np.array([0.3, -0.1, 0.2]), -0.4
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ wt + bt, torch.tensor(y, dtype=torch.float64))
    loss.backward()
    assert bce_loss(w, b, X, y) == pytest.approx(loss.item(), rel=1e-12)
    gw, gb = bce_grad(w, b, X, y)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-10)


def test_gradient_matches_central_finite_differences():
    X, y = _data(seed=1)
    w, b, h = np.array([0.5, 0.2, -0.7]), 0.1, 1e-6
    gw, gb = bce_grad(w, b, X, y)
    fd_w = [(bce_loss(w + h * e, b, X, y) - bce_loss(w - h * e, b, X, y)) / (2 * h) for e in np.eye(3)]
    fd_b = (bce_loss(w, b + h, X, y) - bce_loss(w, b - h, X, y)) / (2 * h)
    np.testing.assert_allclose(gw, fd_w, rtol=1e-6)
    assert gb == pytest.approx(fd_b, rel=1e-6)


def test_gradient_descent_reaches_the_sklearn_optimum():
    X, y = _data(n=200, d=2, seed=2)
    model = LogisticRegressionGD(lr=1.0, epochs=3000).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.w, ref.coef_[0], atol=1e-4)
    assert model.b == pytest.approx(ref.intercept_[0], abs=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X)[:, 1], atol=1e-5)
    assert np.array_equal(model.predict(X), ref.predict(X))
    assert model.predict(X).dtype == np.int64
    losses = model.loss_history
    assert len(losses) == 3000 and all(a >= b - 1e-15 for a, b in zip(losses, losses[1:]))
    np.testing.assert_allclose(model.decision_function(X), X @ model.w + model.b)


def test_fit_starts_from_given_weights():
    X, y = _data(seed=3)
    one_step = LogisticRegressionGD(lr=0.5, epochs=1).fit(X, y, w0=[1.0, 1.0, 1.0], b0=2.0)
    gw, gb = bce_grad(np.ones(3), 2.0, X, y)
    np.testing.assert_allclose(one_step.w, np.ones(3) - 0.5 * gw)
    assert one_step.b == pytest.approx(2.0 - 0.5 * gb)


def test_errors_name_the_bad_value():
    X, y = _data()
    with pytest.raises(ValueError, match=r"w must have shape \(3,\)"):
        bce_loss(np.zeros(2), 0.0, X, y)
    with pytest.raises(ValueError, match=r"X must have shape \(N, D\)"):
        bce_loss(np.zeros(3), 0.0, X[0], y)
    with pytest.raises(ValueError, match=r"y must have shape \(60,\)"):
        bce_grad(np.zeros(3), 0.0, X, y[:5])
    with pytest.raises(ValueError, match="0/1 labels"):
        bce_loss(np.zeros(3), 0.0, X, y * 2)
    with pytest.raises(ValueError, match="b must be a scalar"):
        bce_loss(np.zeros(3), np.zeros(2), X, y)
    with pytest.raises(ValueError, match="lr=0"):
        LogisticRegressionGD(lr=0)
    with pytest.raises(ValueError, match="epochs=0"):
        LogisticRegressionGD(epochs=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        LogisticRegressionGD().predict(X)

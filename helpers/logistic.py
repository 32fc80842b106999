"""Logistic regression from scratch in NumPy: one neuron with a sigmoid.

For inputs ``X: (N, D)``, labels ``y: (N,)`` in {0, 1}, weights ``w: (D,)`` and bias ``b``::

    z = X @ w + b                       logits, (N,)
    p = sigmoid(z)                      P(y = 1 | x), (N,)
    L = mean(-y log p - (1 - y) log(1 - p))          binary cross-entropy
    dL/dw = X.T @ (p - y) / N,   dL/db = mean(p - y)

``bce_loss`` computes L without forming ``log p`` (stable for large ``|z|``):
``-y log p - (1-y) log(1-p) = log(1 + e^z) - y z``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array


def sigmoid(z) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow for large ``|z|``."""
    z = as_real_array("z", z).astype(np.float64)
    e = np.exp(-np.abs(z))                      # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _check(w, b, X, y=None):
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got {X.shape}")
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must have shape ({X.shape[1]},) to match X: (N, {X.shape[1]}), got {w.shape}")
    if not np.ndim(b) == 0:
        raise ValueError(f"b must be a scalar, got shape {np.shape(b)}")
    if y is None:
        return w, float(b), X, None
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) like X's rows, got {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold 0/1 labels, got values {np.unique(y)[:5].tolist()}")
    return w, float(b), X, y


def bce_loss(w, b, X, y) -> float:
    """Mean binary cross-entropy of ``sigmoid(X @ w + b)`` against ``y``."""
    w, b, X, y = _check(w, b, X, y)
    z = X @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def bce_grad(w, b, X, y) -> tuple[np.ndarray, float]:
    """Gradient of :func:`bce_loss`: ``(dL/dw: (D,), dL/db: float)``."""
    w, b, X, y = _check(w, b, X, y)
    residual = sigmoid(X @ w + b) - y           # (N,): p - y
    return X.T @ residual / len(y), float(residual.mean())


class LogisticRegressionGD:
    """Logistic regression trained by full-batch gradient descent.

    ``fit(X: (N, D), y: (N,))`` runs ``epochs`` steps ``w -= lr * dL/dw``,
    ``b -= lr * dL/db`` from ``w0``/``b0`` (default zeros) and records the loss
    before each step in ``loss_history``. Then ``predict_proba(X) -> (N,)``
    gives P(y=1) and ``predict(X) -> (N,)`` 0/1 labels at ``threshold``.
    """

    def __init__(self, lr: float = 0.1, epochs: int = 1000):
        if not lr > 0:
            raise ValueError(f"lr={lr!r} must be > 0")
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"epochs={epochs!r} must be a positive int")
        self.lr, self.epochs = lr, epochs
        self.w: np.ndarray | None = None
        self.b: float | None = None
        self.loss_history: list[float] = []

    def fit(self, X, y, w0=None, b0: float = 0.0) -> "LogisticRegressionGD":
        X = np.asarray(X, dtype=np.float64)
        w = np.zeros(X.shape[1] if X.ndim == 2 else 0) if w0 is None else np.array(w0, dtype=np.float64)
        w, b, X, y = _check(w, b0, X, y)
        self.loss_history = []
        for _ in range(self.epochs):
            self.loss_history.append(bce_loss(w, b, X, y))
            grad_w, grad_b = bce_grad(w, b, X, y)
            w, b = w - self.lr * grad_w, b - self.lr * grad_b
        self.w, self.b = w, b
        return self

    def decision_function(self, X) -> np.ndarray:
        """Logits ``X @ w + b``: (N,)."""
        if self.w is None:
            raise RuntimeError("LogisticRegressionGD is not fitted: call fit(X, y) first")
        w, b, X, _ = _check(self.w, self.b, X)
        return X @ w + b

    def predict_proba(self, X) -> np.ndarray:
        """P(y = 1 | x): (N,)."""
        return sigmoid(self.decision_function(X))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """0/1 labels: (N,) int64, 1 where P(y = 1 | x) > threshold."""
        return (self.predict_proba(X) > threshold).astype(np.int64)

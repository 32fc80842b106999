"""A multilayer perceptron in plain NumPy, with a hand-written backward pass.

Row-major batches, as in PyTorch: ``X: (B, d_0)``. Layer ``l = 1..L`` computes

    z_l = a_{l-1} @ W_l + b_l          W_l: (d_{l-1}, d_l),  b_l: (d_l,)
    a_l = act(z_l)                     (hidden layers; the last layer returns z_L)

with ``a_0 = X``. Backpropagation runs the recursion

    delta_L     = dLoss/dz_L                              (from the loss, below)
    dW_l        = a_{l-1}.T @ delta_l                     (sums over the batch)
    db_l        = delta_l.sum(axis=0)
    delta_{l-1} = (delta_l @ W_l.T) * act'(z_{l-1})

Losses (both averaged over the batch, like PyTorch's defaults):

- ``"cross_entropy"``: softmax over the ``d_L`` logits, integer labels ``y: (B,)``;
  ``delta_L = (softmax(z_L) - onehot(y)) / B``.
- ``"mse"``: ``mean((yhat - y)**2)`` over all ``B * d_L`` entries, ``y: (B, d_L)``,
  with ``yhat = out_act(z_L)`` (identity by default, or e.g. ``"sigmoid"``);
  ``delta_L = 2 (yhat - y) * out_act'(z_L) / (B * d_L)``.

:func:`gradient_check` compares the backward pass with central finite
differences (:func:`numerical_gradient`); it insists on float64, because in
float32 the rounding error of the differences swamps the comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._validate import as_real_array, check_float, check_int

# name -> (f(z), f'(z)); derivatives written from the formulas, not from autograd.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),            # = 1/(1+e^-z), overflow-free
                lambda z: 0.25 * (1.0 - np.tanh(0.5 * z) ** 2)),     # = s(1-s)
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
}
LOSSES = ("cross_entropy", "mse")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow."""
    return ACTIVATIONS["sigmoid"][0](as_real_array("z", z))


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(z))`` along ``axis``, stable for large logits (subtracts the max first)."""
    z = as_real_array("z", z)
    if z.ndim == 0 or z.size == 0:
        raise ValueError(f"z must be a non-empty array of logits, got shape {z.shape}")
    check_int("axis", axis, min=-z.ndim, max=z.ndim - 1)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, stable for large logits."""
    z = as_real_array("z", z)
    return np.exp(log_softmax(z, axis))


class NumpyMLP:
    """``NumpyMLP(widths, activation="sigmoid", loss="cross_entropy", out_activation="identity", seed=0)``.

    ``widths = [d_0, d_1, ..., d_L]`` (at least two); weights are drawn with
    Xavier/Glorot scaling from ``np.random.default_rng(seed)``, biases start at 0.
    ``params`` is the list ``[W_1, b_1, ..., W_L, b_L]`` (float64 unless ``dtype`` says otherwise).
    """

    def __init__(self, widths: Sequence[int], activation: str = "sigmoid", loss: str = "cross_entropy",
                 out_activation: str = "identity", seed: int = 0, dtype=np.float64):
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"widths={widths!r}: give at least the input and output widths, e.g. [4, 8, 3]")
        for i, w in enumerate(widths):
            if not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 1:
                raise ValueError(f"widths[{i}]={w!r}: layer widths must be positive ints")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
        if out_activation not in ACTIVATIONS:
            raise ValueError(f"unknown out_activation {out_activation!r}; use one of {sorted(ACTIVATIONS)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {LOSSES}")
        if loss == "cross_entropy" and out_activation != "identity":
            raise ValueError(f"loss='cross_entropy' applies softmax to the logits itself; "
                             f"out_activation={out_activation!r} must be 'identity'")
        self.widths, self.activation, self.loss_name, self.out_activation = widths, activation, loss, out_activation
        rng = np.random.default_rng(seed)
        self.params: list[np.ndarray] = []
        for d_in, d_out in zip(widths[:-1], widths[1:]):
            bound = np.sqrt(6.0 / (d_in + d_out))
            self.params.append(rng.uniform(-bound, bound, size=(d_in, d_out)).astype(dtype))
            self.params.append(np.zeros(d_out, dtype=dtype))

    @property
    def dtype(self) -> np.dtype:
        return self.params[0].dtype

    @property
    def n_layers(self) -> int:
        return len(self.widths) - 1

    def astype(self, dtype) -> "NumpyMLP":
        """A copy of the model with every parameter cast to ``dtype``."""
        clone = NumpyMLP(self.widths, self.activation, self.loss_name, self.out_activation, dtype=dtype)
        clone.params = [p.astype(dtype) for p in self.params]
        return clone

    # ----- forward ---------------------------------------------------------------------------
    def _check_x(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.widths[0]:
            raise ValueError(f"NumpyMLP expects X of shape (B, {self.widths[0]}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """``X: (B, d_0) -> (z_L: (B, d_L), cache)``; ``cache[l] = (a_{l}, z_{l+1})`` for the backward pass."""
        f, _ = ACTIVATIONS[self.activation]
        a = self._check_x(X)
        cache = []
        for layer in range(self.n_layers):
            W, b = self.params[2 * layer], self.params[2 * layer + 1]
            z = a @ W + b
            cache.append((a, z))
            a = f(z) if layer < self.n_layers - 1 else z
        return a, cache

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels ``(B,)`` for cross-entropy, outputs ``out_act(z_L): (B, d_L)`` for MSE."""
        z, _ = self.forward(X)
        if self.loss_name == "cross_entropy":
            return z.argmax(axis=1)
        return ACTIVATIONS[self.out_activation][0](z)

    def _check_y(self, y: np.ndarray, B: int) -> np.ndarray:
        y = np.asarray(y)
        if self.loss_name == "cross_entropy":
            if y.shape != (B,) or y.dtype.kind not in "iu":
                raise ValueError(f"cross-entropy needs integer labels of shape ({B},), got {y.dtype} {y.shape}")
            if y.min() < 0 or y.max() >= self.widths[-1]:
                raise ValueError(f"labels must lie in [0, {self.widths[-1] - 1}], got {y.min()}..{y.max()}")
            return y
        if y.shape != (B, self.widths[-1]):
            raise ValueError(f"MSE needs targets of shape ({B}, {self.widths[-1]}), got {y.shape}")
        return y.astype(self.dtype, copy=False)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over the batch."""
        return self.loss_and_grads(X, y, need_grads=False)[0]

    # ----- backward --------------------------------------------------------------------------
    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, need_grads: bool = True
                       ) -> tuple[float, list[np.ndarray]]:
        """Loss and its gradients ``[dW_1, db_1, ..., dW_L, db_L]`` (same shapes as ``params``)."""
        z_out, cache = self.forward(X)
        B = z_out.shape[0]
        y = self._check_y(y, B)
        if self.loss_name == "cross_entropy":
            logp = log_softmax(z_out, axis=1)
            loss = -logp[np.arange(B), y].mean()
            delta = np.exp(logp)
            delta[np.arange(B), y] -= 1.0                        # p - onehot(y)
            delta /= B
        else:
            g, dg = ACTIVATIONS[self.out_activation]
            err = g(z_out) - y
            loss = np.mean(err ** 2)
            delta = 2.0 * err * dg(z_out) / err.size
        if not need_grads:
            return float(loss), []
        _, dact = ACTIVATIONS[self.activation]
        grads: list[np.ndarray] = [None] * len(self.params)      # type: ignore[list-item]
        for layer in reversed(range(self.n_layers)):
            a_prev, _ = cache[layer]
            grads[2 * layer] = a_prev.T @ delta                  # (d_{l-1}, B) @ (B, d_l)
            grads[2 * layer + 1] = delta.sum(axis=0)
            if layer > 0:
                _, z_prev = cache[layer - 1]
                delta = (delta @ self.params[2 * layer].T) * dact(z_prev)
        return float(loss), grads

    def sgd_step(self, grads: Sequence[np.ndarray], lr: float) -> None:
        """In place: ``p <- p - lr * grad`` for every parameter."""
        for p, g in zip(self.params, grads):
            p -= lr * g


def train_sgd(model: NumpyMLP, X: np.ndarray, y: np.ndarray, epochs: int, lr: float,
              batch_size: int = 32, seed: int = 0) -> list[float]:
    """Mini-batch SGD with a reshuffle per epoch; returns the mean training loss of each epoch."""
    if batch_size < 1 or epochs < 0:
        raise ValueError(f"batch_size={batch_size} must be >= 1 and epochs={epochs} >= 0")
    rng = np.random.default_rng(seed)
    n = len(X)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.loss_and_grads(X[idx], y[idx])
            model.sgd_step(grads, lr)
            total += loss * len(idx)
        history.append(total / n)
    return history


# ----- gradient checking -----------------------------------------------------------------------
def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of ``x``.

    ``f`` takes no argument and reads ``x``, which is perturbed in place and restored.
    Works for any float dtype; the error is O(eps^2) plus rounding of order ``machine_eps * |f| / eps``.
    """
    if not callable(f):
        raise TypeError(f"f is a {type(f).__name__}; pass a function of no argument, e.g. lambda: model.loss(X, y)")
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x is a {type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
                        + "; pass the float NumPy array that f reads (it is perturbed in place)")
    check_float("eps", eps, min=0.0, min_inclusive=False)
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        try:   # if f raises, x still gets its value back
            x[i] = old + eps
            f_plus = f()
            x[i] = old - eps
            f_minus = f()
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)`` (0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:  # a (3,) and a (3, 1) array would broadcast to a (3, 3) difference
        raise ValueError(f"a has shape {a.shape} but b has shape {b.shape}; compare arrays of the same shape")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a or b holds NaN/inf; the relative error is undefined")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def gradient_check(model: NumpyMLP, X: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> dict[str, float]:
    """Relative error between backprop and finite differences, per parameter: ``{"W1": ..., "b1": ..., ...}``.

    Raises ``TypeError`` unless the model is float64.
    """
    if model.dtype != np.float64:
        raise TypeError(f"gradient_check needs a float64 model, got {model.dtype}: in float32 the rounding "
                        f"error of finite differences (~1e-7 * |loss| / eps) hides real bugs; "
                        f"use model.astype(np.float64)")
    X = np.asarray(X, dtype=np.float64)
    _, grads = model.loss_and_grads(X, y)
    errors = {}
    for k, (p, g) in enumerate(zip(model.params, grads)):
        name = f"{'W' if k % 2 == 0 else 'b'}{k // 2 + 1}"
        errors[name] = relative_error(g, numerical_gradient(lambda: model.loss(X, y), p, eps))
    return errors


def to_torch(model: NumpyMLP):
    """The same network as a float64 ``torch.nn.Module`` (``helpers.MLP``), weights copied.

    NumPy stores ``W: (d_in, d_out)`` for ``a @ W``; ``nn.Linear`` stores ``(d_out, d_in)``, hence the transpose.
    With ``out_activation != "identity"`` the activation is appended as a module.
    """
    import torch
    from torch import nn

    from .models.mlp import MLP

    if model.activation == "identity":
        raise ValueError("to_torch: helpers.MLP has no 'identity' activation; use sigmoid, tanh or relu")
    net = MLP(model.widths[0], model.widths[1:-1], model.widths[-1], activation=model.activation).double()
    linears = [m for m in net.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, lin in enumerate(linears):
            lin.weight.copy_(torch.from_numpy(model.params[2 * layer].T.astype(np.float64)))
            lin.bias.copy_(torch.from_numpy(model.params[2 * layer + 1].astype(np.float64)))
    if model.out_activation == "identity":
        return net
    out = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[model.out_activation]()
    return nn.Sequential(net, out)

"""Matrix factorisation for rating prediction (Koren, Bell & Volinsky, 2009)::

    r̂(u, i) = μ + b_u + b_i + p_u · q_i

``μ`` is the global mean rating, ``b_u`` and ``b_i`` learn how generous a user is
and how well liked an item is, and the rank-``k`` vectors ``p_u``, ``q_i`` learn
tastes. With ``rank=0`` the model is the classic bias baseline.

Ratings come as three aligned 1-D tensors ``users``, ``items`` (int64 ids) and
``ratings`` (float), one entry per observed rating::

    model = MatrixFactorization(n_users, n_items, rank=5, global_mean=ratings.mean())
    losses = train_mf(model, users, items, ratings, epochs=200, weight_decay=1e-4)
    rmse(ratings_test, model(users_test, items_test))

``low_rank_ratings`` makes synthetic data with a known rank and noise level, so
that a reader can see what the model recovers and where the noise floor is.
"""

from __future__ import annotations

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """``r̂ = μ + b_u + b_i + p_u·q_i`` for ``n_users`` users and ``n_items`` items.

    rank: length ``k`` of the factor vectors (0 gives the bias-only baseline).
    bias: learn ``b_u`` and ``b_i``; ``global_mean`` is the fixed ``μ``.
    init_std: standard deviation of the initial factors (biases start at 0).
    """

    def __init__(self, n_users: int, n_items: int, rank: int, *, bias: bool = True,
                 global_mean: float = 0.0, init_std: float = 0.1):
        super().__init__()
        for name, value, low in (("n_users", n_users, 1), ("n_items", n_items, 1), ("rank", rank, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        self.n_users, self.n_items, self.rank = n_users, n_items, rank
        self.user_factors = nn.Embedding(n_users, rank)          # P: (n_users, k)
        self.item_factors = nn.Embedding(n_items, rank)          # Q: (n_items, k)
        nn.init.normal_(self.user_factors.weight, std=init_std)
        nn.init.normal_(self.item_factors.weight, std=init_std)
        self.user_bias = nn.Embedding(n_users, 1) if bias else None
        self.item_bias = nn.Embedding(n_items, 1) if bias else None
        if bias:
            nn.init.zeros_(self.user_bias.weight)
            nn.init.zeros_(self.item_bias.weight)
        self.register_buffer("global_mean", torch.tensor(float(global_mean)))

    def _check_ids(self, ids: torch.Tensor, n: int, name: str) -> None:
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{name} must be an integer tensor of ids, got dtype {ids.dtype}")
        if ids.dim() != 1:
            raise ValueError(f"{name} must be 1-D of shape (B,), got shape {tuple(ids.shape)}")
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n):
            bad = int(ids.max()) if int(ids.max()) >= n else int(ids.min())
            raise IndexError(f"{name} contains id {bad}, outside 0..{n - 1}; "
                             f"build the model with at least {bad + 1} {name}")

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """users, items: (B,) int ids -> predicted ratings (B,)."""
        self._check_ids(users, self.n_users, "users")
        self._check_ids(items, self.n_items, "items")
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape, got {tuple(users.shape)} "
                             f"and {tuple(items.shape)}")
        pred = (self.user_factors(users) * self.item_factors(items)).sum(-1) + self.global_mean
        if self.user_bias is not None:
            pred = pred + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1)
        return pred

    def full_matrix(self) -> torch.Tensor:
        """All predictions as a ``(n_users, n_items)`` matrix."""
        pred = self.user_factors.weight @ self.item_factors.weight.T + self.global_mean
        if self.user_bias is not None:
            pred = pred + self.user_bias.weight + self.item_bias.weight.T
        return pred


def rmse(y_true, y_pred) -> float:
    """Root-mean-square error of two equally long 1-D float tensors (or arrays)."""
    t = torch.as_tensor(y_true, dtype=torch.float64).reshape(-1)
    p = torch.as_tensor(y_pred.detach() if isinstance(y_pred, torch.Tensor) else y_pred,
                        dtype=torch.float64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred have different lengths: {len(t)} != {len(p)}")
    if len(t) == 0:
        raise ValueError("y_true and y_pred are empty")
    return float(((t - p) ** 2).mean().sqrt())


def train_mf(model: MatrixFactorization, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor,
             *, epochs: int = 200, lr: float = 0.05, weight_decay: float = 0.0,
             dense_max_cells: int = 4_000_000) -> list[float]:
    """Full-batch Adam on the mean squared error; returns the training MSE before each step.

    weight_decay: L2 penalty ``λ`` on the factors and biases (as ``λ·‖θ‖²/2`` per step,
    via Adam's ``weight_decay``); it keeps factors of rarely rated users and items small.
    dense_max_cells: when ``n_users · n_items`` is at most this, each step computes the
    whole prediction matrix with one matrix product and picks the observed cells (same
    result, several times faster on a CPU than embedding look-ups); above it, only the
    observed pairs are computed, as in ``forward``.
    """
    if not ratings.is_floating_point():
        raise TypeError(f"ratings must be a float tensor, got dtype {ratings.dtype}; use ratings.float()")
    if ratings.shape != users.shape:
        raise ValueError(f"ratings has shape {tuple(ratings.shape)} but users has shape {tuple(users.shape)}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    model._check_ids(users, model.n_users, "users")
    model._check_ids(items, model.n_items, "items")
    dense = model.n_users * model.n_items <= dense_max_cells
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    model.train()
    for _ in range(epochs):
        pred = model.full_matrix()[users, items] if dense else model(users, items)    # (M,)
        loss = ((pred - ratings) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def low_rank_ratings(n_users: int, n_items: int, rank: int, *, density: float = 0.1, noise_std: float = 0.5,
                     global_mean: float = 3.5, bias_std: float = 0.5, seed: int = 0):
    """Synthetic ratings ``μ + b_u + b_i + p_u·q_i + ε`` observed at a random ``density`` of cells.

    Factors are Gaussian with standard deviation ``1/rank**0.25`` so that ``p_u·q_i``
    has unit variance; ``ε ~ N(0, noise_std²)`` is the irreducible noise: no model
    can beat an RMSE of ``noise_std`` on fresh ratings.

    Returns ``(users, items, ratings, clean)``: (M,) int64, (M,) int64, (M,) float32
    and the noise-free ratings (M,) float32 of the ``M`` observed cells.
    """
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank!r}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    g = torch.Generator().manual_seed(seed)
    scale = rank ** -0.25
    p = torch.randn(n_users, rank, generator=g) * scale
    q = torch.randn(n_items, rank, generator=g) * scale
    bu = torch.randn(n_users, generator=g) * bias_std
    bi = torch.randn(n_items, generator=g) * bias_std
    observed = torch.rand(n_users, n_items, generator=g) < density
    users, items = observed.nonzero(as_tuple=True)
    clean = global_mean + bu[users] + bi[items] + (p[users] * q[items]).sum(-1)
    ratings = clean + noise_std * torch.randn(len(users), generator=g)
    return users, items, ratings.float(), clean.float()

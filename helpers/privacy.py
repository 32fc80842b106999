"""Privacy-preserving training: federated averaging and DP-SGD.

Federated averaging (FedAvg, McMahan et al. 2017)::

    clients = split_clients(labels, n_clients=10, scheme="shards", seed=0)   # list of index arrays
    loaders = [make_loader(X[idx], y[idx], batch_size=32, shuffle=True, seed=k) for k, idx in enumerate(clients)]
    model, history = fedavg(lambda: MLP(784, [128], 10), loaders, rounds=20, local_epochs=1, lr=0.05,
                            eval_fn=lambda m: {"acc": ...})

Each round every client starts from the global weights, trains ``local_epochs``
epochs of plain SGD on its own data, and the server replaces the global
weights by the average of the client weights, weighted by the number of
samples ``n_k`` of each client: ``w <- sum_k n_k w_k / sum_k n_k``.

DP-SGD (Abadi et al. 2016), one step on a batch of ``B`` samples::

    g_i   = grad of loss(x_i, y_i)                    per sample, (B, *param.shape)
    g_i  <- g_i / max(1, ||g_i|| / C)                 clip each sample's whole gradient to norm <= C
    g     = (sum_i g_i + N(0, sigma^2 C^2 I)) / B      Gaussian noise, then the mean
    optimizer.step() with g as the gradient

Per-sample gradients come from ``torch.func``: ``vmap(grad(loss of one sample))``.
This module does not compute the privacy budget epsilon: that needs an
accountant (moments / Renyi DP) and Poisson-sampled batches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from ._validate import check_float, check_int, check_type

SCHEMES = ("iid", "shards", "dirichlet")


# ---------------------------------------------------------------- client splits
def split_clients(labels, n_clients: int, scheme: str = "iid", seed: int = 0,
                  shards_per_client: int = 2, alpha: float = 0.5) -> list[np.ndarray]:
    """Partition the indices ``0..N-1`` of ``labels: (N,)`` among ``n_clients`` clients.

    - ``"iid"``: a random permutation cut into ``n_clients`` near-equal parts;
    - ``"shards"``: indices sorted by label, cut into ``n_clients * shards_per_client``
      equal shards, each client gets ``shards_per_client`` random shards (with 2,
      most clients see only two digits: McMahan et al.'s pathological non-IID split);
    - ``"dirichlet"``: for each class, its samples are shared among the clients in
      proportions drawn from ``Dirichlet(alpha)`` (small ``alpha``: strong label skew).

    Returns a list of ``n_clients`` sorted int64 arrays; every index appears in exactly one.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
    if not isinstance(n_clients, int) or isinstance(n_clients, bool) or not 1 <= n_clients <= len(y):
        raise ValueError(f"n_clients={n_clients!r} must be an int between 1 and the number of samples ({len(y)})")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {SCHEMES}")
    rng = np.random.default_rng(seed)
    n = len(y)
    if scheme == "iid":
        parts = np.array_split(rng.permutation(n), n_clients)
    elif scheme == "shards":
        n_shards = n_clients * shards_per_client
        if not isinstance(shards_per_client, int) or shards_per_client < 1 or n_shards > n:
            raise ValueError(f"shards_per_client={shards_per_client!r} must be a positive int with "
                             f"n_clients * shards_per_client <= {n} samples")
        perm = rng.permutation(n)                           # random order inside each class
        by_label = perm[np.argsort(y[perm], kind="stable")]
        shards = np.array_split(by_label, n_shards)
        order = rng.permutation(n_shards)
        parts = [np.concatenate([shards[s] for s in order[k::n_clients]]) for k in range(n_clients)]
    else:
        if not alpha > 0:
            raise ValueError(f"alpha={alpha!r} must be > 0 (small alpha = strong label skew)")
        for _ in range(100):   # redraw until every client holds at least one sample
            buckets: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
            for c in np.unique(y):
                idx = rng.permutation(np.flatnonzero(y == c))
                cuts = (np.cumsum(rng.dirichlet(alpha * np.ones(n_clients)))[:-1] * len(idx)).astype(int)
                for k, part in enumerate(np.split(idx, cuts)):
                    buckets[k].append(part)
            parts = [np.concatenate(b) for b in buckets]
            if min(len(p) for p in parts) > 0:
                break
        else:
            raise ValueError(f"alpha={alpha} leaves some of the {n_clients} clients empty in 100 draws; "
                             "use a larger alpha or fewer clients")
    return [np.sort(p).astype(np.int64) for p in parts]


def label_histogram(labels, clients: Sequence[np.ndarray], n_classes: int | None = None) -> np.ndarray:
    """``H[k, c]`` = number of samples of class ``c`` held by client ``k``: (n_clients, n_classes)."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0 or y.dtype.kind not in "iu" or y.min() < 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class ids >= 0, got shape {y.shape}, "
                         f"dtype {y.dtype}")
    if isinstance(clients, (str, bytes)) or not isinstance(clients, Sequence) or len(clients) == 0:
        raise TypeError(f"clients is a {type(clients).__name__}; pass the list of index arrays from split_clients")
    for k, idx in enumerate(clients):
        idx = np.asarray(idx)
        if idx.ndim != 1 or (idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= len(y))):
            raise ValueError(f"clients[{k}] must be a 1-D array of indices in [0, {len(y)}), "
                             f"got shape {idx.shape}, dtype {idx.dtype}")
    if n_classes is None:
        n_classes = int(y.max()) + 1
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes <= y.max():
        raise ValueError(f"n_classes={n_classes!r} must be an int > the largest label {int(y.max())}; "
                         "or pass None to use largest label + 1")
    return np.stack([np.bincount(y[idx], minlength=n_classes) for idx in clients])


# ---------------------------------------------------------------- federated averaging
def weighted_average(state_dicts: Sequence[Mapping[str, torch.Tensor]],
                     weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """``sum_k w_k * state_k / sum_k w_k`` for every floating-point tensor.

    Integer tensors (e.g. BatchNorm's ``num_batches_tracked``) are taken from the first state.
    """
    if len(state_dicts) == 0 or len(state_dicts) != len(weights):
        raise ValueError(f"need one weight per state dict and at least one: got {len(state_dicts)} state dicts "
                         f"and {len(weights)} weights")
    w = torch.as_tensor([float(v) for v in weights], dtype=torch.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights={list(weights)} must be non-negative with a positive sum")
    w = w / w.sum()
    out = {}
    for key, first in state_dicts[0].items():
        if first.is_floating_point():
            total = sum(wk * sd[key].double() for wk, sd in zip(w, state_dicts))
            out[key] = total.to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def local_train(model: nn.Module, loader, epochs: int, lr: float,
                loss_fn: Callable = nn.functional.cross_entropy) -> nn.Module:
    """Plain SGD (no momentum) on ``loader`` for ``epochs`` epochs, in place; returns ``model``."""
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_int("epochs", epochs, min=1)
    check_float("lr", lr, min=0.0, min_inclusive=False)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    return model


def fedavg(model_fn: Callable[[], nn.Module], client_loaders: Sequence, rounds: int, local_epochs: int = 1,
           lr: float = 0.05, loss_fn: Callable = nn.functional.cross_entropy,
           eval_fn: Callable[[nn.Module], Mapping[str, float]] | None = None
           ) -> tuple[nn.Module, list[dict[str, float]]]:
    """Federated averaging with every client taking part in every round.

    ``model_fn()`` builds the initial global model (seed it inside for a fixed start);
    ``client_loaders[k]`` yields client ``k``'s batches ``(x, y)``. Each round: every
    client copies the global model, runs :func:`local_train`, and the server sets the
    global weights to :func:`weighted_average` of the client weights with weights ``n_k``
    (the client's number of samples). Returns ``(global_model, history)`` where
    ``history[r]`` is ``{"round": r + 1, **eval_fn(global_model)}`` after round ``r + 1``.
    """
    for name, value in (("rounds", rounds), ("local_epochs", local_epochs)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")
    if len(client_loaders) == 0:
        raise ValueError("client_loaders is empty: give at least one client")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0")
    global_model = model_fn()
    sizes = [len(loader.dataset) for loader in client_loaders]
    history = []
    for r in range(rounds):
        states = []
        for loader in client_loaders:
            local = copy.deepcopy(global_model)
            local_train(local, loader, local_epochs, lr, loss_fn)
            states.append(local.state_dict())
        global_model.load_state_dict(weighted_average(states, sizes))
        row = {"round": r + 1}
        if eval_fn is not None:
            row.update(eval_fn(global_model))
        history.append(row)
    return global_model, history


# ---------------------------------------------------------------- DP-SGD
def per_sample_grads(model: nn.Module, loss_fn: Callable, x: torch.Tensor,
                     y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gradient of ``loss_fn(model(x_i[None]), y_i[None])`` for every sample ``i``.

    ``x: (B, ...)``, ``y: (B, ...)`` -> ``{name: (B, *param.shape)}`` for every parameter
    that requires grad. Uses ``torch.func``: ``vmap`` over ``grad`` of a one-sample loss,
    one batched computation instead of ``B`` backward passes.
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same, non-zero number of samples: {len(x)} vs {len(y)}")
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_sample_loss(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    return vmap(grad(one_sample_loss), in_dims=(None, 0, 0))(params, x, y)


def _check_grads(grads) -> None:
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads is a {type(grads).__name__}; pass the dict {{name: (B, *param.shape)}} "
                        "from per_sample_grads")
    if len(grads) == 0:
        raise ValueError("grads is empty; pass the dict from per_sample_grads of a model with trainable parameters")
    sizes = set()
    for name, g in grads.items():
        if not isinstance(g, torch.Tensor) or g.dim() < 1:
            raise ValueError(f"grads[{name!r}] must be a tensor of shape (B, *param.shape), got "
                             f"{tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__}")
        sizes.add(g.shape[0])
    if len(sizes) != 1:
        raise ValueError(f"grads hold different batch sizes {sorted(sizes)}; every entry needs the same B")


def per_sample_norms(grads: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """L2 norm of each sample's whole gradient (all parameters together): (B,)."""
    _check_grads(grads)
    per_param = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads.values()])  # (P, B)
    return torch.linalg.vector_norm(per_param, dim=0)


def clip_per_sample(grads: Mapping[str, torch.Tensor], max_grad_norm: float) -> dict[str, torch.Tensor]:
    """Scale each sample's gradient by ``1 / max(1, ||g_i|| / C)`` so that its norm is at most ``C``."""
    if not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm={max_grad_norm!r} must be > 0 (math.inf: no clipping)")
    _check_grads(grads)
    factor = 1.0 / torch.clamp(per_sample_norms(grads) / max_grad_norm, min=1.0)     # (B,)
    return {k: g * factor.view(-1, *([1] * (g.dim() - 1))) for k, g in grads.items()}


def dp_sgd_step(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor,
                optimizer: torch.optim.Optimizer, max_grad_norm: float, noise_multiplier: float,
                generator: torch.Generator | None = None) -> dict[str, float]:
    """One DP-SGD step: per-sample gradients, clip to ``C = max_grad_norm``, sum, add
    ``N(0, (noise_multiplier * C)^2)`` to every coordinate, divide by the batch size ``B``,
    write the result to ``p.grad`` and call ``optimizer.step()``.

    ``loss_fn`` must average over its batch (like ``F.cross_entropy``): with
    ``noise_multiplier=0`` and ``max_grad_norm=math.inf`` the step equals ordinary SGD.
    Returns ``{"clipped": fraction of samples whose gradient was clipped, "mean_norm": their mean norm}``
    (norms before clipping).
    """
    if not noise_multiplier >= 0:
        raise ValueError(f"noise_multiplier={noise_multiplier!r} must be >= 0")
    if noise_multiplier > 0 and math.isinf(max_grad_norm):
        raise ValueError("noise_multiplier > 0 needs a finite max_grad_norm: the noise scale is "
                         "noise_multiplier * max_grad_norm")
    if not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm={max_grad_norm!r} must be > 0 (math.inf: no clipping)")
    model.train()   # only after the checks: a refused call leaves the model's mode alone
    grads = per_sample_grads(model, loss_fn, x, y)
    norms = per_sample_norms(grads)
    factor = 1.0 / torch.clamp(norms / max_grad_norm, min=1.0)          # (B,), as in clip_per_sample
    batch = len(x)
    for name, p in model.named_parameters():
        if name not in grads:
            continue
        g = torch.tensordot(factor, grads[name], dims=1)                  # sum_i factor_i g_i, no (B, ...) copy
        if noise_multiplier > 0:
            g = g + noise_multiplier * max_grad_norm * torch.randn(g.shape, generator=generator,
                                                                   dtype=g.dtype, device=g.device)
        p.grad = g / batch
    optimizer.step()
    return {"clipped": float((norms > max_grad_norm).float().mean()), "mean_norm": float(norms.mean())}

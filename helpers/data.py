"""Data plumbing: deterministic splits, standardisation and DataLoaders.

Everything random takes an explicit ``seed``, so the same call gives the same
split and the same batch order on every run.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ._validate import as_tensor, check_finite, check_float, check_int


def _to_numpy(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def train_val_test_split(*arrays, val_size: float = 0.2, test_size: float = 0.2,
                         seed: int = 0, stratify=None):
    """Split arrays of equal length ``N`` into train / validation / test parts.

    ``val_size`` and ``test_size`` are fractions of ``N`` (``val_size=0`` gives
    no validation part). With ``stratify`` (labels of shape ``(N,)``) every part
    keeps the class proportions. Returns
    ``[a_train, a_val, a_test, b_train, b_val, b_test, ...]`` in the input types'
    NumPy form (tensors stay tensors).
    """
    if not arrays:
        raise ValueError("train_val_test_split needs at least one array")
    n = len(arrays[0])
    for i, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(f"array {i} has length {len(a)}, expected {n} like array 0")
    check_float("val_size", val_size)
    check_float("test_size", test_size)
    check_int("seed", seed)
    if not (0 <= val_size < 1 and 0 < test_size < 1 and val_size + test_size < 1):
        raise ValueError(f"need 0 <= val_size, 0 < test_size and val_size + test_size < 1; "
                         f"got val_size={val_size}, test_size={test_size}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [rng.permutation(n)]
    else:
        y = _to_numpy(stratify)
        if len(y) != n:
            raise ValueError(f"stratify has length {len(y)}, expected {n}")
        groups = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    parts = {"train": [], "val": [], "test": []}
    for idx in groups:
        k = len(idx)
        n_test = int(round(k * test_size))
        n_val = int(round(k * val_size))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    index = {name: np.sort(np.concatenate(p)) for name, p in parts.items()}
    if min(len(index["train"]), len(index["test"])) == 0:
        raise ValueError(f"a split is empty for N={n}; use more data or other sizes")
    out = []
    for a in arrays:
        for name in ("train", "val", "test"):
            idx = index[name]
            out.append(a[torch.as_tensor(idx)] if isinstance(a, torch.Tensor) else np.asarray(a)[idx])
    return out


class Standardizer:
    """Per-feature standardisation ``(x - mean) / std`` with statistics from training data only.

    ``fit(X: (N, D))`` then ``transform(X: (M, D)) -> (M, D)`` float32 tensor.
    Constant features (std 0) are left centred, not divided by zero.
    ``state_dict()`` / ``load_state_dict()`` let a checkpoint carry it.
    """

    def __init__(self):
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def fit(self, X) -> "Standardizer":
        X = check_finite("X", as_tensor("X", _to_numpy(X))).to(torch.float64)
        if X.dim() != 2 or len(X) < 2:
            raise ValueError(f"fit expects X of shape (N, D) with N >= 2, got {tuple(X.shape)}")
        self.mean = X.mean(0)
        std = X.std(0, unbiased=False)
        self.std = torch.where(std > 0, std, torch.ones_like(std))
        return self

    def transform(self, X) -> torch.Tensor:
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted: call fit(X_train) first")
        X = check_finite("X", as_tensor("X", _to_numpy(X))).to(torch.float64)
        if X.dim() != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"transform expects X of shape (N, {len(self.mean)}), got {tuple(X.shape)}")
        return ((X - self.mean) / self.std).float()

    def fit_transform(self, X) -> torch.Tensor:
        return self.fit(X).transform(X)

    def state_dict(self) -> dict:
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted")
        return {"mean": self.mean.clone(), "std": self.std.clone()}

    def load_state_dict(self, state: dict) -> "Standardizer":
        self.mean, self.std = state["mean"].double(), state["std"].double()
        return self


class _BatchIndexedDataset(TensorDataset):
    """A ``TensorDataset`` that hands out a whole batch with one indexing operation.

    ``DataLoader`` calls ``__getitems__(indices)`` when a dataset has it: one ``X[idx]`` per batch
    instead of ``batch_size`` single-sample reads and a ``torch.stack`` (the same batches, faster).
    """

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return [t[idx] for t in self.tensors]


def _as_batch(tensors):
    return tensors


def make_loader(X, y, batch_size: int = 64, shuffle: bool = False, seed: int = 0,
                drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` over ``(X: (N, ...), y: (N, ...))`` with a seeded shuffle.

    Floats become float32, integer labels int64. ``shuffle=True`` draws batch
    order from its own ``torch.Generator(seed)``: the same order every run,
    independent of anything else that uses the global generator. Batches
    are read with one indexing operation each (``_BatchIndexedDataset``):
    the same batches, in the same order, as a plain ``TensorDataset``.
    """
    check_int("batch_size", batch_size, min=1)
    check_int("seed", seed)
    Xt = as_tensor("X", _to_numpy(X))
    yt = as_tensor("y", _to_numpy(y))
    if len(Xt) != len(yt):
        raise ValueError(f"X and y have different lengths: {len(Xt)} != {len(yt)}")
    if len(Xt) == 0:
        raise ValueError("cannot build a loader over an empty dataset")
    Xt = Xt.float() if Xt.is_floating_point() else Xt
    yt = yt.float() if yt.is_floating_point() else yt.long()
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(_BatchIndexedDataset(Xt, yt), batch_size=batch_size, shuffle=shuffle,
                      generator=generator, drop_last=drop_last, collate_fn=_as_batch)

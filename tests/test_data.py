"""helpers.data: splits, standardisation, loaders."""

import numpy as np
import pytest
import torch

from helpers.data import Standardizer, make_loader, train_val_test_split


def test_split_is_a_deterministic_partition():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    a = train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=3)
    b = train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    Xtr, Xva, Xte, ytr, yva, yte = a
    assert (len(ytr), len(yva), len(yte)) == (30, 10, 10)
    assert sorted(np.concatenate([ytr, yva, yte]).tolist()) == list(range(50))
    np.testing.assert_array_equal(Xtr[:, 0], 2 * ytr)  # rows stay aligned
    other = train_val_test_split(X, y, seed=4)
    assert not np.array_equal(other[3], ytr)


def test_stratified_split_keeps_class_proportions_and_tensors():
    y = torch.tensor([0] * 60 + [1] * 40)
    X = torch.randn(100, 3)
    Xtr, Xva, Xte, ytr, yva, yte = train_val_test_split(X, y, val_size=0.1, test_size=0.3, stratify=y, seed=0)
    assert isinstance(Xtr, torch.Tensor)
    assert (yte == 1).sum().item() == 12 and (yte == 0).sum().item() == 18
    assert (yva == 1).sum().item() == 4 and len(ytr) == 60


def test_split_errors():
    with pytest.raises(ValueError, match="array 1 has length 3, expected 4"):
        train_val_test_split(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="val_size"):
        train_val_test_split(np.zeros(4), val_size=0.6, test_size=0.5)
    with pytest.raises(ValueError, match="at least one array"):
        train_val_test_split()
    with pytest.raises(ValueError, match="stratify has length"):
        train_val_test_split(np.zeros(4), stratify=[0, 1])
    with pytest.raises(ValueError, match="a split is empty"):
        train_val_test_split(np.zeros(2), test_size=0.1, val_size=0.0)


def test_standardizer_matches_sklearn_and_uses_train_statistics():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    Xtr, Xte = rng.normal(5, 3, (40, 4)), rng.normal(5, 3, (10, 4))
    Xtr[:, 3] = 2.0  # a constant feature
    s = Standardizer().fit(Xtr)
    ref = StandardScaler().fit(Xtr)
    np.testing.assert_allclose(s.transform(Xte).numpy(), ref.transform(Xte), rtol=1e-5, atol=1e-5)
    restored = Standardizer().load_state_dict(s.state_dict())
    assert torch.equal(restored.transform(Xte), s.transform(Xte))
    assert torch.equal(Standardizer().fit_transform(Xtr), s.transform(Xtr))


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().state_dict()
    with pytest.raises(ValueError, match=r"shape \(N, D\) with N >= 2"):
        Standardizer().fit(np.zeros(5))
    with pytest.raises(ValueError, match=r"expects X of shape \(N, 3\), got \(2, 2\)"):
        Standardizer().fit(np.zeros((4, 3))).transform(np.zeros((2, 2)))


def test_loader_dtypes_and_seeded_order():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20)
    order = [torch.cat([yb for _, yb in make_loader(X, y, 6, shuffle=True, seed=s)]) for s in (1, 1, 2)]
    assert torch.equal(order[0], order[1]) and not torch.equal(order[0], order[2])
    assert sorted(order[0].tolist()) == list(range(20))
    xb, yb = next(iter(make_loader(X, y, 6)))
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64 and torch.equal(yb, torch.arange(6))
    _, yf = next(iter(make_loader(X, y.astype(np.float64), 4)))
    assert yf.dtype == torch.float32
    assert len(make_loader(X, y, 6, drop_last=True)) == 3


def test_loader_errors():
    with pytest.raises(ValueError, match="different lengths: 3 != 2"):
        make_loader(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="empty dataset"):
        make_loader(np.zeros((0, 1)), np.zeros(0))
    with pytest.raises(ValueError, match="batch_size=0"):
        make_loader(np.zeros((3, 1)), np.zeros(3), batch_size=0)


# --- issue 22: bad input -------------------------------------------------------------------------

def test_standardizer_refuses_nan_and_inf():
    X = np.random.default_rng(0).normal(size=(10, 3))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X holds 1 NaN/inf"):
        Standardizer().fit(bad)
    s = Standardizer().fit(X)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="NaN/inf"):
        s.transform(bad)
    with pytest.raises(TypeError, match="X"):
        s.transform("abc")


def test_loader_and_split_name_bad_arguments():
    X, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(TypeError, match="batch_size"):
        make_loader(X, y, batch_size=2.5)
    with pytest.raises(TypeError, match="seed"):
        make_loader(X, y, shuffle=True, seed="0")
    with pytest.raises(ValueError, match="val_size=nan"):
        train_val_test_split(X, val_size=float("nan"))


@pytest.mark.parametrize("val_size, test_size", [(1.0, 0.2), (0.2, 1.0), (0.0, 0.0), (0.5, 0.5), (-0.1, 0.2)])
def test_split_sizes_at_the_limits_are_refused(val_size, test_size):
    with pytest.raises(ValueError, match="val_size"):
        train_val_test_split(np.arange(20), val_size=val_size, test_size=test_size)


def test_smallest_allowed_inputs_work():
    parts = train_val_test_split(np.arange(10), val_size=0.0, test_size=0.5)
    assert [len(p) for p in parts] == [5, 0, 5]
    assert Standardizer().fit(np.array([[0.0], [2.0]])).transform(np.array([[1.0]])).tolist() == [[0.0]]
    assert [len(b[0]) for b in make_loader(np.zeros((2, 1)), np.zeros(2), batch_size=1)] == [1, 1]


def test_stratified_split_with_three_classes_keeps_each_class_proportion():
    """With two classes, a split that swapped the classes' groups would look right; three tell them apart."""
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    (yte,) = train_val_test_split(y, val_size=0.0, test_size=0.5, stratify=y, seed=0)[2:]
    assert [(yte == c).sum() for c in (0, 1, 2)] == [25, 15, 10]


def test_standardizer_scales_features_with_a_small_spread():
    X = torch.tensor([[0.0, 10.0], [0.5, 10.0], [1.0, 10.0]])      # std 0.41 and 0 (constant)
    Z = Standardizer().fit(X).transform(X)
    assert torch.allclose(Z[:, 0], torch.tensor([-1.2247, 0.0, 1.2247]), atol=1e-4)
    assert torch.equal(Z[:, 1], torch.zeros(3))                       # a constant feature is centred, not divided


@pytest.mark.parametrize("shuffle, drop_last", [(False, False), (True, False), (True, True)])
def test_loader_batches_equal_a_plain_tensor_dataset_loader(shuffle, drop_last):
    from torch.utils.data import DataLoader, TensorDataset

    X = np.random.default_rng(0).normal(size=(50, 3, 2))
    y = np.arange(50) % 4
    ours = make_loader(X, y, 8, shuffle=shuffle, seed=5, drop_last=drop_last)
    plain = DataLoader(TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y)), batch_size=8,
                       shuffle=shuffle, generator=torch.Generator().manual_seed(5) if shuffle else None,
                       drop_last=drop_last)
    for _ in range(2):                                    # two epochs: the generator advances the same way
        got, ref = list(ours), list(plain)
        assert len(got) == len(ref) == len(ours)
        for (xb, yb), (xr, yr) in zip(got, ref):
            assert torch.equal(xb, xr) and torch.equal(yb, yr) and yb.dtype == torch.long

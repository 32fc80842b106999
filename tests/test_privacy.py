"""helpers.privacy: client splits, FedAvg and DP-SGD against hand-written references."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import MLP, make_loader
from helpers.privacy import (clip_per_sample, dp_sgd_step, fedavg, label_histogram, local_train,
                             per_sample_grads, per_sample_norms, split_clients, weighted_average)


def _data(n=60, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    X = torch.randn(n, d, generator=g) + y[:, None].float()
    return X, y


def _model(seed=0, d=5, k=3):
    torch.manual_seed(seed)
    return MLP(d, [7], k)


@pytest.mark.parametrize("scheme", ["iid", "shards", "dirichlet"])
def test_split_partitions_every_index_exactly_once(scheme):
    labels = np.repeat(np.arange(10), 30)
    clients = split_clients(labels, 6, scheme=scheme, seed=1, alpha=0.3)
    assert len(clients) == 6 and all(len(c) > 0 for c in clients)
    np.testing.assert_array_equal(np.sort(np.concatenate(clients)), np.arange(300))
    assert split_clients(labels, 6, scheme=scheme, seed=1, alpha=0.3)[0].tolist() == clients[0].tolist()
    hist = label_histogram(labels, clients)
    assert hist.shape == (6, 10) and hist.sum() == 300


def test_split_schemes_have_the_promised_label_skew():
    labels = np.repeat(np.arange(10), 50)
    iid = label_histogram(labels, split_clients(labels, 10, "iid", seed=0))
    shards = label_histogram(labels, split_clients(labels, 10, "shards", seed=0))
    assert (iid > 0).sum(1).min() >= 8                       # IID: (almost) every digit everywhere
    assert (shards > 0).sum(1).max() <= 2                    # 2 shards of 50 sorted samples: <= 2 digits
    assert [len(c) for c in split_clients(labels, 10, "shards", seed=0)] == [50] * 10


def test_split_errors():
    labels = np.arange(10) % 2
    with pytest.raises(ValueError, match="scheme"):
        split_clients(labels, 2, scheme="random")
    with pytest.raises(ValueError, match="n_clients"):
        split_clients(labels, 11)
    with pytest.raises(ValueError, match="n_clients"):
        split_clients(labels, 0)
    with pytest.raises(ValueError, match="1-D"):
        split_clients(np.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="shards_per_client"):
        split_clients(labels, 5, "shards", shards_per_client=3)
    with pytest.raises(ValueError, match="alpha"):
        split_clients(labels, 2, "dirichlet", alpha=0)
    with pytest.raises(ValueError, match="empty"):
        split_clients(np.zeros(10, dtype=int), 10, "dirichlet", alpha=1e-3)


def test_weighted_average_by_hand():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([4.0, 8.0]), "n": torch.tensor(5)}
    avg = weighted_average([a, b], [1, 2])
    torch.testing.assert_close(avg["w"], torch.tensor([3.0, 6.0]))
    assert avg["n"].item() == 3
    with pytest.raises(ValueError, match="one weight per state"):
        weighted_average([a, b], [1])
    with pytest.raises(ValueError, match="non-negative"):
        weighted_average([a, b], [1, -1])


def test_fedavg_with_one_client_equals_ordinary_training():
    X, y = _data()
    model, hist = fedavg(lambda: _model(0), [make_loader(X, y, 8, shuffle=True, seed=3)], rounds=3,
                         local_epochs=2, lr=0.1, eval_fn=lambda m: {"loss": F.cross_entropy(m(X), y).item()})
    reference = local_train(_model(0), make_loader(X, y, 8, shuffle=True, seed=3), epochs=6, lr=0.1)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert [h["round"] for h in hist] == [1, 2, 3] and hist[-1]["loss"] < hist[0]["loss"]


def test_fedavg_round_is_the_size_weighted_mean_of_local_models():
    X, y = _data()
    parts = [slice(0, 20), slice(20, 60)]
    loaders = [make_loader(X[s], y[s], 10) for s in parts]
    model, _ = fedavg(lambda: _model(1), loaders, rounds=1, lr=0.05)
    locals_ = [local_train(_model(1), make_loader(X[s], y[s], 10), 1, 0.05) for s in parts]
    for name, p in model.named_parameters():
        expected = (20 * dict(locals_[0].named_parameters())[name] + 40 * dict(locals_[1].named_parameters())[name]) / 60
        torch.testing.assert_close(p, expected, rtol=0, atol=1e-6)


def test_fedavg_errors():
    X, y = _data()
    loaders = [make_loader(X, y, 8)]
    with pytest.raises(ValueError, match="rounds"):
        fedavg(_model, loaders, rounds=0)
    with pytest.raises(ValueError, match="local_epochs"):
        fedavg(_model, loaders, rounds=1, local_epochs=1.5)
    with pytest.raises(ValueError, match="empty"):
        fedavg(_model, [], rounds=1)
    with pytest.raises(ValueError, match="lr"):
        fedavg(_model, loaders, rounds=1, lr=0)


def test_per_sample_grads_equal_a_loop_of_backward_passes():
    X, y = _data(n=9)
    model = _model(2)
    grads = per_sample_grads(model, F.cross_entropy, X, y)
    for i in range(len(X)):
        model.zero_grad()
        F.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            assert grads[name].shape == (9, *p.shape)
            torch.testing.assert_close(grads[name][i], p.grad, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="same"):
        per_sample_grads(model, F.cross_entropy, X, y[:3])


def test_clipping_bounds_each_norm_and_keeps_small_ones():
    X, y = _data(n=16)
    grads = per_sample_grads(_model(3), F.cross_entropy, X, y)
    norms = per_sample_norms(grads)
    C = float(norms.median())
    clipped = clip_per_sample(grads, C)
    new = per_sample_norms(clipped)
    assert (new <= C * (1 + 1e-5)).all()
    small = norms <= C
    torch.testing.assert_close(new[small], norms[small])
    torch.testing.assert_close(new[~small], torch.full_like(new[~small], C))
    flat = torch.cat([g.flatten(1) for g in grads.values()], 1)
    torch.testing.assert_close(norms, flat.norm(dim=1))
    with pytest.raises(ValueError, match="max_grad_norm"):
        clip_per_sample(grads, 0)


def test_dp_sgd_without_noise_and_clipping_is_sgd():
    X, y = _data(n=12)
    model, reference = _model(4), _model(4)
    info = dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=0.3),
                       max_grad_norm=math.inf, noise_multiplier=0.0)
    opt = torch.optim.SGD(reference.parameters(), lr=0.3)
    F.cross_entropy(reference(X), y).backward()
    opt.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert info["clipped"] == 0.0 and info["mean_norm"] > 0


def test_dp_sgd_noise_has_the_stated_scale():
    X, y = _data(n=4)
    C, sigma = 0.5, 2.0
    model = nn.Linear(5, 3)
    nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
    before = copy.deepcopy(model)
    grads = per_sample_grads(model, F.cross_entropy, X, y)
    clean = {k: g.sum(0) for k, g in clip_per_sample(grads, C).items()}
    dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=1.0), C, sigma,
                generator=torch.Generator().manual_seed(0))
    noise = torch.cat([(-(p - before_p) * 4 - clean[n]).flatten()          # lr=1, B=4: p = p0 - g / 4
                       for (n, p), before_p in zip(model.named_parameters(), before.parameters())])
    assert abs(noise.std().item() / (sigma * C) - 1) < 0.5             # 18 draws of N(0, (sigma C)^2)
    with pytest.raises(ValueError, match="finite max_grad_norm"):
        dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=1.0), math.inf, 1.0)
    with pytest.raises(ValueError, match="max_grad_norm"):
        dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=1.0), 0.0, 0.0)
    with pytest.raises(ValueError, match="noise_multiplier"):
        dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=1.0), 1.0, -1.0)


def test_dp_sgd_skips_frozen_parameters():
    X, y = _data(n=6)
    model = _model(5)
    model.net[0].weight.requires_grad_(False)
    frozen = model.net[0].weight.clone()
    dp_sgd_step(model, F.cross_entropy, X, y, torch.optim.SGD(model.parameters(), lr=0.1), 1.0, 0.5,
                generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(model.net[0].weight, frozen, rtol=0, atol=0)

"""helpers.recommend: shapes, agreement with a direct formula, recovery of low-rank data, errors."""

import numpy as np
import pytest
import torch

from helpers.recommend import MatrixFactorization, low_rank_ratings, rmse, train_mf


def test_forward_matches_the_formula_and_the_full_matrix():
    torch.manual_seed(0)
    m = MatrixFactorization(4, 3, rank=2, global_mean=3.0)
    with torch.no_grad():
        m.user_bias.weight.normal_()
        m.item_bias.weight.normal_()
    users, items = torch.tensor([0, 3, 1, 2]), torch.tensor([2, 0, 1, 2])
    p, q = m.user_factors.weight, m.item_factors.weight
    expected = 3.0 + m.user_bias.weight[users, 0] + m.item_bias.weight[items, 0] + (p[users] * q[items]).sum(1)
    out = m(users, items)
    assert out.shape == (4,)
    torch.testing.assert_close(out, expected)
    full = m.full_matrix()
    assert full.shape == (4, 3)
    torch.testing.assert_close(full[users, items], out)


def test_without_bias_and_rank_zero():
    m = MatrixFactorization(3, 3, rank=2, bias=False)
    assert m.user_bias is None
    torch.testing.assert_close(m.full_matrix(), m.user_factors.weight @ m.item_factors.weight.T)
    base = MatrixFactorization(3, 3, rank=0, global_mean=2.5)
    torch.testing.assert_close(base(torch.tensor([0, 1]), torch.tensor([2, 2])), torch.tensor([2.5, 2.5]))
    empty = MatrixFactorization(2, 2, rank=0, bias=False, global_mean=1.0)
    losses = train_mf(empty, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1.0, 3.0]), epochs=3)
    assert losses == [2.0, 2.0, 2.0]                   # nothing to learn: mean of 0 and 4


def test_loss_reaches_zero_on_exact_low_rank_data():
    users, items, ratings, clean = low_rank_ratings(30, 20, rank=2, density=1.0, noise_std=0.0, seed=1)
    torch.testing.assert_close(ratings, clean)
    torch.manual_seed(0)
    m = MatrixFactorization(30, 20, rank=2, global_mean=float(ratings.mean()))
    losses = train_mf(m, users, items, ratings, epochs=600, lr=0.05)
    assert losses[-1] < 1e-3 * losses[0]
    assert rmse(ratings, m(users, items)) < 0.03


def test_noisy_data_training_error_reaches_the_noise_floor():
    users, items, ratings, clean = low_rank_ratings(40, 30, rank=2, density=1.0, noise_std=0.3, seed=2)
    assert abs(rmse(ratings, clean) - 0.3) < 0.03                      # the noise floor itself
    torch.manual_seed(0)
    m = MatrixFactorization(40, 30, rank=2, global_mean=float(ratings.mean()))
    train_mf(m, users, items, ratings, epochs=400, lr=0.05, weight_decay=1e-4)
    train_rmse, clean_rmse = rmse(ratings, m(users, items)), rmse(clean, m(users, items))
    assert 0.2 < train_rmse < 0.33
    assert clean_rmse < 0.2                                             # closer to the truth than the noise


def test_dense_and_lookup_training_paths_agree():
    users, items, ratings, _ = low_rank_ratings(20, 15, rank=2, density=0.5, seed=3)
    runs = []
    for dense_max_cells in (0, 10**9):                    # look-ups only / whole matrix
        torch.manual_seed(0)
        m = MatrixFactorization(20, 15, rank=2, global_mean=float(ratings.mean()))
        runs.append((train_mf(m, users, items, ratings, epochs=30, weight_decay=1e-3,
                              dense_max_cells=dense_max_cells), m.full_matrix().detach()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    torch.testing.assert_close(runs[0][1], runs[1][1], rtol=1e-4, atol=1e-5)
    with pytest.raises(IndexError, match="users contains id 20"):
        train_mf(m, torch.tensor([20]), torch.tensor([0]), torch.tensor([1.0]))


def test_low_rank_ratings_density_and_shapes():
    users, items, ratings, clean = low_rank_ratings(100, 50, rank=3, density=0.2, seed=0)
    assert users.dtype == torch.int64 and ratings.dtype == torch.float32
    assert users.shape == items.shape == ratings.shape == clean.shape
    assert abs(len(users) / 5000 - 0.2) < 0.03
    again = low_rank_ratings(100, 50, rank=3, density=0.2, seed=0)
    torch.testing.assert_close(ratings, again[2])


def test_rmse_against_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20), rng.normal(size=20)
    assert rmse(a, b) == pytest.approx(np.sqrt(np.mean((a - b) ** 2)))
    assert rmse(torch.tensor(a), torch.tensor(b, requires_grad=True)) == pytest.approx(rmse(a, b))


@pytest.mark.parametrize("kwargs", [dict(n_users=0, n_items=3, rank=1), dict(n_users=3, n_items=3, rank=-1),
                                    dict(n_users=3.0, n_items=3, rank=1)])
def test_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be an int"):
        MatrixFactorization(**kwargs)


def test_bad_ids_and_shapes():
    m = MatrixFactorization(3, 2, rank=1)
    with pytest.raises(IndexError, match="items contains id 2, outside 0..1"):
        m(torch.tensor([0]), torch.tensor([2]))
    with pytest.raises(IndexError, match="users contains id -1"):
        m(torch.tensor([-1]), torch.tensor([0]))
    with pytest.raises(TypeError, match="integer tensor"):
        m(torch.tensor([0.0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="1-D"):
        m(torch.tensor([[0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="same shape"):
        m(torch.tensor([0, 1]), torch.tensor([0]))


def test_bad_training_inputs():
    m = MatrixFactorization(2, 2, rank=1)
    u, i = torch.tensor([0, 1]), torch.tensor([1, 0])
    with pytest.raises(TypeError, match="ratings.float"):
        train_mf(m, u, i, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="shape"):
        train_mf(m, u, i, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="epochs"):
        train_mf(m, u, i, torch.tensor([1.0, 2.0]), epochs=0)
    with pytest.raises(ValueError, match="different lengths"):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        rmse([], [])
    for kwargs, match in ((dict(density=0.0), "density"), (dict(rank=0), "rank"), (dict(noise_std=-1), "noise_std")):
        args = dict(n_users=3, n_items=3, rank=1) | kwargs
        with pytest.raises(ValueError, match=match):
            low_rank_ratings(**args)

"""helpers.distributed and fit under DDP: two real gloo processes against single-process references."""

import copy

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from helpers import MLP, evaluate, fit, load_checkpoint
from helpers import distributed as D
from helpers.metrics import accuracy


def _data(n=32, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = torch.randn(n, d, generator=g) + (2 * y[:, None] - 1)
    return X, y


def _fit_without_sampler(rank, world_size):  # importable from this module by the spawned processes
    X, y = _data()
    model = nn.parallel.DistributedDataParallel(MLP(3, [], 2))
    fit(model, DataLoader(TensorDataset(X, y), batch_size=8), epochs=1, loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False)


def _sgd_and_adam(rank, world_size, model, X, y, steps):
    return {opt: D.ddp_train_steps(rank, world_size, copy.deepcopy(model), X, y, steps, opt, lr)
            for opt, lr in [("sgd", 0.5), ("adam", 0.05)]}


def test_ddp_equals_single_process_on_the_combined_batch():
    steps, B = 4, 8
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(steps, B, 3, generator=g), torch.randint(0, 2, (steps, B), generator=g)
    torch.manual_seed(0)
    init = MLP(3, [5], 2)
    results = D.launch(_sgd_and_adam, 2, args=(init, X, y, steps))  # each rank trains on 4 of the 8 rows
    for optimizer, lr in [("sgd", 0.5), ("adam", 0.05)]:
        model = copy.deepcopy(init)
        opt = D.make_optimizer(optimizer, model.parameters(), lr)
        for s in range(steps):  # one process, the whole batch of 8
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[s]), y[s]).backward()
            opt.step()
        for rank_result in results:
            for k, v in model.state_dict().items():
                assert (rank_result[optimizer][k] - v).abs().max().item() <= 1e-6, (optimizer, k)
                assert (v - init.state_dict()[k]).abs().max().item() > 1e-3  # training did move the weights


def test_fit_under_ddp_logs_the_single_process_history_and_only_rank0_prints(tmp_path, capsys):
    X, y = _data(n=32)
    torch.manual_seed(0)
    model = MLP(3, [4], 2)
    path = tmp_path / "best.pt"
    res = D.launch(D.ddp_fit, 2, args=(copy.deepcopy(model), X, y, 4, 3, 0.2, False,
                                       {"metrics": {"acc": accuracy}, "checkpoint": str(path)}))
    out = capsys.readouterr().out.strip().splitlines()
    assert out and all(line.startswith("[rank 0] ") for line in out)
    assert out[-1].startswith("[rank 0] trained 3 epochs")

    # Single process, combined batch 2 * 4 = 8: DistributedSampler(shuffle=False) deals rows r, r+2, ...
    hist = fit(model, DataLoader(TensorDataset(X, y), batch_size=8), epochs=3, loss_fn=nn.CrossEntropyLoss(),
               optimizer=torch.optim.SGD(model.parameters(), lr=0.2), metrics={"acc": accuracy}, verbose=False)
    for r in res:
        assert r["history"]["history"]["train_acc"] == hist["train_acc"]
        assert r["history"]["history"]["train_loss"] == pytest.approx(hist["train_loss"], rel=1e-6)
        for k, v in model.state_dict().items():
            torch.testing.assert_close(r["state"][k], v, rtol=0, atol=1e-6)
    fresh = MLP(3, [4], 2)
    load_checkpoint(path, fresh)  # written by rank 0, without DDP's "module." prefix
    assert load_checkpoint(path, fresh)["history"] is not None


def test_sampler_pitfalls_in_two_processes():
    good, bad = D.launch(D.sampler_pitfalls, 2, args=(8, 2))
    assert sorted(good["correct"][0] + bad["correct"][0]) == list(range(8))  # the ranks split the data
    assert good["correct"][0] != good["correct"][1]  # set_epoch: a new shuffle each epoch
    # no DistributedSampler: both ranks see everything, in the same order
    assert good["no_sampler"] == bad["no_sampler"] and len(good["no_sampler"][0]) == 8
    assert good["no_set_epoch"][0] == good["no_set_epoch"][1]  # no set_epoch: the same order every epoch
    # The sampler needs only (rank, world_size): computed here for each rank, the same orders (as the lesson does).
    assert [D.sampler_pitfalls(r, 2, 8, 2) for r in range(2)] == [good, bad]


def test_run_each_runs_several_workers_in_one_launch(tmp_path):
    calls = [(D.seen_indices, (6, 1)), (D.sampler_pitfalls, (4, 2))]
    D.run_rank(0, D.run_each, 1, str(tmp_path), (calls,))
    got = torch.load(tmp_path / "result_0.pt")
    assert got == [D.seen_indices(0, 1, 6, 1), D.sampler_pitfalls(0, 1, 4, 2)]
    assert D.run_each(0, 1, []) == []
    with pytest.raises(TypeError, match="calls"):
        D.run_each(0, 1, D.seen_indices)
    with pytest.raises(ValueError, match=r"calls\[1\].*\(fn, args\) pair"):
        D.run_each(0, 1, [(D.seen_indices, (6, 1)), (D.seen_indices, 6)])
    with pytest.raises(ValueError, match="rank=1 must be < world_size=1"):
        D.run_each(1, 1, calls)


def test_worker_errors_surface_in_the_parent():
    with pytest.raises(RuntimeError, match=r"(?s)rank \d of 2 raised.*DistributedSampler"):
        D.launch(_fit_without_sampler, 2)
    with pytest.raises(ValueError, match="world_size=0"):
        D.launch(D.seen_indices, 0)
    with pytest.raises(ValueError, match="cannot import it"):
        D.launch(lambda rank, world_size: None, 2)


def test_one_rank_in_process(tmp_path, capsys):
    # Outside a group the helpers describe a single process.
    assert (D.get_rank(), D.get_world_size(), D.is_main_process(), D.is_distributed()) == (0, 1, True, False)
    t = torch.tensor([1.0, 3.0])
    assert torch.equal(D.all_reduce_mean(t), t)
    # The per-rank steps of launch, run here with world_size=1 (seen by coverage).
    (tmp_path / "ok").mkdir()
    D.run_rank(0, D.seen_indices, 1, str(tmp_path / "ok"), (6, 1))
    assert sorted(torch.load(tmp_path / "ok" / "result_0.pt")[0]) == list(range(6))
    assert not dist.is_initialized()  # the group was destroyed
    (tmp_path / "bad").mkdir()
    with pytest.raises(ValueError, match="'rmsprop'"):
        D.run_rank(0, D.ddp_train_steps, 1, str(tmp_path / "bad"),
                   (MLP(3, [], 2), torch.zeros(1, 3, 3), torch.zeros(1, 3).long(), 1, "rmsprop"))
    assert "'rmsprop' is not" in (tmp_path / "bad" / "error_0.txt").read_text()
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="not a multiple"):
        D.ddp_train_steps(0, 2, MLP(3, [], 2), torch.zeros(1, 3, 3), torch.zeros(1, 3).long(), 1)
    D._echo(["a\nb", ""])
    assert capsys.readouterr().out == "[rank 0] a\n[rank 0] b\n"


def test_helpers_inside_a_one_process_group(tmp_path):
    dist.init_process_group("gloo", init_method=(tmp_path / "store").as_uri(), rank=0, world_size=1)
    try:
        assert (D.get_rank(), D.get_world_size(), D.is_main_process(), D.is_distributed()) == (0, 1, True, True)
        t = torch.tensor([2.0, 4.0])
        assert torch.equal(D.all_reduce_mean(t), t)
        X, y = _data(n=8)
        res = D.ddp_fit(0, 1, MLP(3, [], 2), X, y, batch_size=4, epochs=2,
                        fit_kwargs={"verbose": False, "checkpoint": tmp_path / "ck.pt"})
        assert len(res["history"]["history"]["train_loss"]) == 2 and (tmp_path / "ck.pt").exists()
        state = D.ddp_train_steps(0, 1, MLP(3, [], 2), X.reshape(2, 4, 3), y.reshape(2, 4), 2)
        assert set(state) == {"net.0.weight", "net.0.bias"}
        ds, model = TensorDataset(X, y), MLP(3, [], 2)  # evaluate combines the ranks' parts of a sharded loader
        sharded = DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, 1, 0, shuffle=False))
        got = evaluate(model, sharded, nn.CrossEntropyLoss(), {"acc": accuracy})
        want = evaluate(model, DataLoader(ds, batch_size=3), nn.CrossEntropyLoss(), {"acc": accuracy})
        assert got == pytest.approx(want, rel=1e-6)
        pitfalls = D.sampler_pitfalls(0, 1, 4, 2)
        assert pitfalls["correct"][0] != pitfalls["correct"][1] and pitfalls["no_set_epoch"][0] == pitfalls["no_set_epoch"][1]
    finally:
        dist.destroy_process_group()

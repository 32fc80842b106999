"""helpers.checkpoint: round trip, weights_only loading, atomic writes, mismatch errors."""

import os

import pytest
import torch

from helpers import MLP, History, Standardizer, load_checkpoint, read_checkpoint, save_checkpoint
from helpers import checkpoint as ck


def _trained(seed=0):
    torch.manual_seed(seed)
    model = MLP(3, [5], 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 3)).pow(2).mean().backward()
        opt.step()
    return model, opt


def test_round_trip_restores_model_optimizer_history_and_extra(tmp_path):
    model, opt = _trained()
    hist = History(history={"epoch": [1.0, 2.0], "train_loss": [0.9, 0.5]}, best_epoch=2, stopped_epoch=2, monitor="val_loss")
    scaler = Standardizer().fit(torch.randn(10, 3))
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", model, opt, hist, extra={"scaler": scaler.state_dict(), "note": "x"})
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]

    torch.manual_seed(99)
    fresh = MLP(3, [5], 2)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.1)
    out = load_checkpoint(path, fresh, fresh_opt)
    x = torch.randn(4, 3)
    assert torch.equal(fresh(x), model(x))
    assert fresh_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    torch.testing.assert_close(fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert out["history"].to_dict() == hist.to_dict()
    assert torch.equal(Standardizer().load_state_dict(out["extra"]["scaler"]).transform(x), scaler.transform(x))
    assert out["extra"]["note"] == "x"


def test_file_loads_with_weights_only(tmp_path):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "m.pt", model)
    state = torch.load(path, weights_only=True)
    assert state["model_class"] == "MLP" and state["history"] is None


def test_interrupted_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "m.pt", model)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(ck.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _trained(seed=1)[0])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.pt"]  # no temporary file left behind


def test_different_model_is_rejected_with_details(tmp_path):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "m.pt", model)
    with pytest.raises(ValueError, match=r"different MLP architecture: shape mismatch .*net.0.weight: saved \(5, 3\) vs model \(6, 3\)"):
        load_checkpoint(path, MLP(3, [6], 2))
    with pytest.raises(ValueError, match=r"missing \['net.4.bias', 'net.4.weight'\]"):
        load_checkpoint(path, MLP(3, [5, 4], 2))
    with pytest.raises(ValueError, match=r"unexpected \['net.2.bias', 'net.2.weight'\]"):
        load_checkpoint(path, MLP(3, [], 2))
    with pytest.raises(ValueError, match="holds a MLP, not a Linear"):
        load_checkpoint(path, torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="holds no optimizer state"):
        m = MLP(3, [5], 2)
        load_checkpoint(path, m, torch.optim.SGD(m.parameters(), lr=0.1))


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", MLP(3, [5], 2))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(bad, MLP(3, [5], 2))
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(ValueError, match="not written by helpers.save_checkpoint"):
        load_checkpoint(foreign, MLP(3, [5], 2))


def test_extra_with_numpy_values_is_rejected_at_save_time(tmp_path):
    import numpy as np

    model, _ = _trained()
    with pytest.raises(TypeError, match=r"extra\['names'\]\[0\] is a numpy.str_.*\.tolist\(\)"):
        save_checkpoint(tmp_path / "m.pt", model, extra={"names": list(np.array(["a", "b"]))})
    with pytest.raises(TypeError, match="key of type tuple"):
        save_checkpoint(tmp_path / "m.pt", model, extra={(1, 2): 3})
    assert not (tmp_path / "m.pt").exists()


def test_read_checkpoint_gives_config_before_the_model_exists(tmp_path):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "m.pt", model, extra={"config": {"hidden": [5], "in": 3, "out": 2}})
    state = read_checkpoint(path)
    cfg = state["extra"]["config"]
    rebuilt = MLP(cfg["in"], cfg["hidden"], cfg["out"])
    load_checkpoint(path, rebuilt)
    x = torch.randn(2, 3)
    assert torch.equal(rebuilt(x), model(x)) and state["model_class"] == "MLP"

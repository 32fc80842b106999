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


# --- issue 22: bad input -------------------------------------------------------------------------

def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_untied_gpt_checkpoint_is_refused_by_a_tied_model(tmp_path):
    """Item 3: the saved lm_head overwrote the shared embedding and the saved embedding was lost."""
    from helpers.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    untied = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8, tie_weights=False))
    path = save_checkpoint(tmp_path / "untied.pt", untied)
    tied = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8))
    before = _state(tied)
    with pytest.raises(ValueError, match=r"shares .*lm_head.weight.*transformer.wte.weight.*differ"):
        load_checkpoint(path, tied)
    assert _same(before, _state(tied))
    # the other direction loses nothing: both copies of a tied matrix are equal
    torch.manual_seed(1)
    source = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8))
    load_checkpoint(save_checkpoint(tmp_path / "tied.pt", source), untied)
    assert torch.equal(untied.lm_head.weight, source.transformer.wte.weight)


def test_optimizer_mismatch_leaves_model_and_optimizer_unchanged(tmp_path):
    """Item 3: the model's weights used to be overwritten before the optimizer load failed."""
    model, opt = _trained(seed=0)
    path = save_checkpoint(tmp_path / "ckpt.pt", model, opt)
    other, _ = _trained(seed=1)
    before = _state(other)
    wrong_opt = torch.optim.Adam(list(other.parameters())[:2], lr=0.1)   # fewer parameters than saved
    with pytest.raises(ValueError, match="optimizer"):
        load_checkpoint(path, other, wrong_opt)
    assert _same(before, _state(other)) and wrong_opt.state_dict()["state"] == {}
    no_opt_path = save_checkpoint(tmp_path / "no_opt.pt", model)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(no_opt_path, other, torch.optim.Adam(other.parameters()))
    assert _same(before, _state(other))


def test_history_with_numpy_scalars_round_trips(tmp_path):
    """Item 4: NumPy scalars in a History produced a file that weights_only loading refused."""
    import numpy as np

    model, opt = _trained()
    hist = History(history={"train_loss": [np.float64(0.5), np.float32(0.25)]}, best_epoch=np.int64(2),
                   stopped_epoch=np.int64(2), monitor="train_loss")
    path = save_checkpoint(tmp_path / "ckpt.pt", model, opt, hist)
    loaded = load_checkpoint(path, model, opt)["history"]
    assert loaded.history == {"train_loss": [0.5, 0.25]} and loaded.best_epoch == 2
    assert type(loaded.best_epoch) is int and type(loaded["train_loss"][0]) is float


def test_history_with_objects_is_refused_before_writing(tmp_path):
    model, _ = _trained()
    hist = History(history={"train_loss": [object()]})
    with pytest.raises(TypeError, match=r"history.*\['train_loss'\]\[0\] is a builtins.object"):
        save_checkpoint(tmp_path / "ckpt.pt", model, history=hist)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="model"):
        save_checkpoint(tmp_path / "ckpt.pt", "model")
    with pytest.raises(TypeError, match="history"):
        save_checkpoint(tmp_path / "ckpt.pt", model, history={"a": [1.0]})
    with pytest.raises(TypeError, match="optimizer"):
        save_checkpoint(tmp_path / "ckpt.pt", model, optimizer=model)
    with pytest.raises(TypeError, match="model"):
        load_checkpoint(tmp_path / "ckpt.pt", None)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_malicious_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    model, _ = _trained()
    state = {"format_version": ck.FORMAT_VERSION, "model_class": "MLP", "model": model.state_dict(),
             "optimizer": None, "history": None, "extra": {"x": _Evil(str(marker))}}
    path = tmp_path / "evil.pt"
    torch.save(state, path)
    assert not marker.exists()
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path, model)
    assert not marker.exists()


def test_save_creates_missing_parent_folders(tmp_path):
    model, opt = _trained()
    path = save_checkpoint(tmp_path / "a" / "b" / "ckpt.pt", model, opt)
    assert path.is_file()
    assert save_checkpoint(path, model, opt) == path      # and overwrites into an existing folder


def test_an_unforeseen_failure_of_the_optimizer_load_restores_both(tmp_path, monkeypatch):
    """The except branch of load_checkpoint: the optimizer is put back too (mutation survivor checkpoint.py:101)."""
    model, opt = _trained(seed=0)
    path = save_checkpoint(tmp_path / "ckpt.pt", model, opt)
    other, other_opt = _trained(seed=1)
    before_model = _state(other)
    before_opt = {k: v["exp_avg"].clone() for k, v in other_opt.state_dict()["state"].items()}
    original = type(other_opt).load_state_dict
    calls = []

    def half_then_fail(self, state):                 # applies the saved state, then fails, once
        calls.append(1)
        original(self, state)
        if len(calls) == 1:
            raise RuntimeError("simulated failure after a partial load")

    monkeypatch.setattr(type(other_opt), "load_state_dict", half_then_fail)
    with pytest.raises(ValueError, match="nothing was changed"):
        load_checkpoint(path, other, other_opt)
    assert _same(before_model, _state(other))
    after_opt = other_opt.state_dict()["state"]
    assert all(torch.equal(after_opt[k]["exp_avg"], v) for k, v in before_opt.items())

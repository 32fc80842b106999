"""helpers.train: fit/evaluate against hand-written references."""

import copy

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score as sk_f1
from torch import nn

from helpers import MLP, History, evaluate, fit, logits_to_labels, make_loader
from helpers.metrics import accuracy, f1_score


def _blobs(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = torch.randn(n, 2, generator=g) + 1.5 * (2 * y[:, None] - 1)
    return X, y


def test_fit_equals_a_hand_written_loop():
    X, y = _blobs()
    torch.manual_seed(0)
    model = MLP(2, [4], 2)
    reference = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, make_loader(X, y, 16, shuffle=True, seed=5), epochs=3,
        loss_fn=nn.CrossEntropyLoss(), optimizer=opt, progress=False)

    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    loader = make_loader(X, y, 16, shuffle=True, seed=5)
    for _ in range(3):
        for xb, yb in loader:
            ref_opt.zero_grad()
            nn.functional.cross_entropy(reference(xb), yb).backward()
            ref_opt.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_history_records_losses_metrics_on_whole_epoch():
    X, y = _blobs()
    torch.manual_seed(0)
    model = MLP(2, [4], 2)
    hist = fit(model, make_loader(X, y, 10), epochs=4, loss_fn=nn.CrossEntropyLoss(),
               optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
               val_loader=make_loader(X, y, 7), metrics={"acc": accuracy, "f1": f1_score}, progress=False)
    assert len(hist) == 4 and hist["epoch"] == [1, 2, 3, 4]
    assert set(hist.history) == {"epoch", "train_loss", "train_acc", "train_f1", "val_loss", "val_acc", "val_f1", "lr"}
    with torch.no_grad():
        logits = model(X)
    assert hist["val_loss"][-1] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert hist["val_f1"][-1] == pytest.approx(sk_f1(y.numpy(), logits.argmax(1).numpy()))
    assert hist.best_epoch is not None and hist.stopped_epoch == 4


def test_evaluate_weights_batches_by_size_and_restores_mode():
    X, y = _blobs(n=23)
    torch.manual_seed(1)
    model = MLP(2, [3], 2, dropout=0.5)
    model.train()
    out = evaluate(model, make_loader(X, y, 5), nn.CrossEntropyLoss(), {"acc": accuracy})
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        logits = model(X)
    assert out["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert out["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert set(evaluate(model, make_loader(X, y, 5), metrics={"acc": accuracy})) == {"acc"}


def test_binary_model_with_one_logit_and_float_targets():
    X, y = _blobs()
    torch.manual_seed(0)
    model = MLP(2, [], 1)
    hist = fit(model, make_loader(X, y.float()[:, None], 16), epochs=30, loss_fn=nn.BCEWithLogitsLoss(),
               optimizer=torch.optim.SGD(model.parameters(), lr=0.5), metrics={"acc": accuracy}, progress=False)
    assert hist["train_acc"][-1] > 0.9


def test_early_stopping_restores_the_best_weights():
    # Overfitting set-up: a wide network on few noisy points; validation loss rises.
    g = torch.Generator().manual_seed(0)
    Xtr, ytr = torch.randn(20, 5, generator=g), torch.randint(0, 2, (20,), generator=g)
    Xva, yva = torch.randn(200, 5, generator=g), torch.randint(0, 2, (200,), generator=g)
    torch.manual_seed(0)
    model = MLP(5, [64], 2)
    init = copy.deepcopy(model.state_dict())
    hist = fit(model, make_loader(Xtr, ytr, 20), epochs=200, loss_fn=nn.CrossEntropyLoss(),
               optimizer=torch.optim.Adam(model.parameters(), lr=0.01), val_loader=make_loader(Xva, yva, 200),
               patience=5, progress=False)
    best = hist.best_epoch
    assert hist.stopped_epoch == best + 5 < 200
    assert hist["val_loss"][best - 1] == min(hist["val_loss"])
    # Re-train from the same start for exactly `best` epochs: the same weights.
    replay = MLP(5, [64], 2)
    replay.load_state_dict(init)
    fit(replay, make_loader(Xtr, ytr, 20), epochs=best, loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(replay.parameters(), lr=0.01), progress=False)
    for p, q in zip(model.parameters(), replay.parameters()):
        torch.testing.assert_close(p, q)
    # Monitoring a metric maximises it.
    torch.manual_seed(0)
    m2 = MLP(5, [64], 2)
    h2 = fit(m2, make_loader(Xtr, ytr, 20), epochs=200, loss_fn=nn.CrossEntropyLoss(),
             optimizer=torch.optim.Adam(m2.parameters(), lr=0.01), val_loader=make_loader(Xva, yva, 200),
             metrics={"acc": accuracy}, patience=3, monitor="val_acc", progress=False)
    assert h2["val_acc"][h2.best_epoch - 1] == max(h2["val_acc"])


def test_schedulers_are_stepped_once_per_epoch():
    X, y = _blobs()
    model = MLP(2, [], 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    hist = fit(model, make_loader(X, y, 64), epochs=4, loss_fn=nn.CrossEntropyLoss(), optimizer=opt,
               scheduler=torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), progress=False)
    assert hist["lr"] == [1.0, 0.5, 0.25, 0.125]
    opt2 = torch.optim.SGD(model.parameters(), lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=0, factor=0.1)
    fit(model, make_loader(X, y, 64), epochs=3, loss_fn=nn.CrossEntropyLoss(), optimizer=opt2,
        scheduler=plateau, monitor="train_loss", progress=False)
    assert plateau.last_epoch == 3   # stepped once per epoch (direction: see the test below)


def test_summary_table_is_compact_and_bar_mode_runs(capsys):
    X, y = _blobs()
    model = MLP(2, [], 2)
    fit(model, make_loader(X, y, 64), epochs=50, loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False, max_rows=5)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["epoch", "train_loss"]
    assert [int(line.split()[0]) for line in lines[1:-1]] == [1, 10, 20, 30, 40, 50]
    assert lines[-1].startswith("trained 50 epochs in ")
    fit(model, make_loader(X, y, 64), epochs=2, loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=True)
    assert "trained 2 epochs" in capsys.readouterr().out


def test_bad_inputs_get_clear_errors():
    X, y = _blobs()
    model = MLP(2, [], 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw = dict(loss_fn=nn.CrossEntropyLoss(), optimizer=opt, progress=False)
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, make_loader(X[:3], y[:3], 8, drop_last=True), epochs=1, **kw)
    with pytest.raises(ValueError, match="epochs=0"):
        fit(model, make_loader(X, y), epochs=0, **kw)
    with pytest.raises(ValueError, match="needs a val_loader"):
        fit(model, make_loader(X, y), epochs=1, patience=2, monitor="val_loss", **kw)
    with pytest.raises(ValueError, match="patience=0"):
        fit(model, make_loader(X, y), epochs=1, patience=0, val_loader=make_loader(X, y), **kw)
    with pytest.raises(KeyError, match="monitor='val_f1' is not logged"):
        fit(model, make_loader(X, y), epochs=1, val_loader=make_loader(X, y), monitor="val_f1", **kw)
    with pytest.raises(ValueError, match="loader yielded no batches"):
        evaluate(model, [], nn.CrossEntropyLoss())
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="lower the learning rate or check the inputs"):
        fit(model, make_loader(bad, y), epochs=1, **kw)


def test_logits_to_labels_and_history_round_trip():
    assert logits_to_labels(torch.tensor([[0.1, 0.9], [2.0, -1.0]])).tolist() == [1, 0]
    assert logits_to_labels(torch.tensor([[0.3], [-0.2]])).tolist() == [1, 0]
    assert logits_to_labels(torch.tensor([-1.0, 2.0])).tolist() == [0, 1]
    h = History(monitor="val_loss", best_epoch=1, stopped_epoch=2)
    h.append({"epoch": 1, "train_loss": 0.5})
    h.append({"epoch": 2, "train_loss": 0.25})
    assert History.from_dict(h.to_dict()) == h
    assert np.allclose(h["train_loss"], [0.5, 0.25])


def test_verbose_false_prints_nothing(capsys):
    X, y = _blobs()
    model = MLP(2, [], 2)
    fit(model, make_loader(X, y, 64), epochs=3, loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    assert capsys.readouterr().out == ""


def test_float_target_with_a_different_shape_is_rejected():
    X, y = _blobs()
    model = MLP(2, [], 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"output has shape \(64, 1\) but the float target has shape \(64,\)"):
        fit(model, make_loader(X, y.float(), 64), epochs=1, loss_fn=nn.MSELoss(), optimizer=opt, verbose=False)
    with pytest.raises(ValueError, match="broadcasts"):
        evaluate(model, make_loader(X, y.float(), 64), nn.MSELoss())


# --- issue 22: bad input -------------------------------------------------------------------------

def test_integer_regression_targets_are_refused_not_broadcast():
    """Item 1: int targets (B,) against a (B, 1) output used to broadcast to (B, B) in MSE."""
    X = torch.randn(32, 3)
    y = torch.arange(32) % 5                             # integer targets -> make_loader makes them int64
    model = nn.Linear(3, 1)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match=r"integer target.*\(32,\).*float"):
        fit(model, make_loader(X, y, 32), epochs=1, loss_fn=nn.MSELoss(),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False, verbose=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="integer target"):
        evaluate(model, make_loader(X, y, 32), nn.MSELoss())


def test_fit_and_evaluate_name_bad_arguments():
    X, y = _blobs()
    model = MLP(2, [], 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw = dict(loss_fn=nn.CrossEntropyLoss(), optimizer=opt, progress=False, verbose=False)
    with pytest.raises(TypeError, match="epochs"):
        fit(model, make_loader(X, y, 64), epochs=2.5, **kw)
    with pytest.raises(TypeError, match="model"):
        fit("model", make_loader(X, y, 64), epochs=1, **kw)
    with pytest.raises(ValueError, match="min_delta"):
        fit(model, make_loader(X, y, 64), epochs=1, min_delta=float("nan"), **kw)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, make_loader(X, y, 64), epochs=1, loss_fn=nn.CrossEntropyLoss(), optimizer=None)
    with pytest.raises(TypeError, match="model"):
        evaluate(None, make_loader(X, y, 64))


def test_reduce_lr_on_plateau_gets_the_monitored_value_in_the_right_direction():
    X, y = _blobs()
    model = MLP(2, [], 2)
    # improving loss: the plateau scheduler never cuts the learning rate
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hist = fit(model, make_loader(X, y, 64), epochs=4, loss_fn=nn.CrossEntropyLoss(), optimizer=opt,
               scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.1),
               monitor="train_loss", progress=False, verbose=False)
    assert hist["train_loss"] == sorted(hist["train_loss"], reverse=True) and hist["lr"] == [0.5] * 4
    # a constant loss (the optimiser holds a parameter the model does not use): cut after each bad epoch
    dummy = nn.Parameter(torch.zeros(1))
    opt2 = torch.optim.SGD([dummy], lr=1.0)
    frozen = MLP(2, [], 2)
    hist2 = fit(frozen, make_loader(X, y, 64), epochs=3, loss_fn=nn.CrossEntropyLoss(), optimizer=opt2,
                scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=0, factor=0.1),
                monitor="train_loss", progress=False, verbose=False)
    assert hist2["lr"] == pytest.approx([1.0, 1.0, 0.1])

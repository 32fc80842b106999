"""helpers.recipes on a tiny CIFAR-10 archive written in the original format (no download, CPU only)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import helpers
from helpers import MissingDataError, ResNet9, recipes
from helpers.recipes import TensorBatches, cifar10_data, train_cifar10

from cifar_fixture import PALETTE, LocalServer, use_fixture, write_cifar_archive


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder holding the fixture archive: 5 x 8 = 40 training, 20 test images."""
    root = tmp_path / "cache"
    archive, arrays = write_cifar_archive(root)
    use_fixture(monkeypatch, archive)
    return root, arrays


def _linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))


def _normalised(images, mean, std):
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
    return (x - mean[:, None, None]) / std[:, None, None]


def test_data_normalised_with_training_statistics(cache):
    root, arrays = cache
    data = cifar10_data(root, batch_size=8, augment=False)
    x_train = torch.as_tensor(arrays["train"][0]).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(data.mean, x_train.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(data.std, x_train.std(dim=(0, 2, 3)))
    assert (data.n_train, data.n_val, data.n_test) == (40, 0, 20) and data.val is None
    xt = torch.cat([x for x, _ in data.test])
    torch.testing.assert_close(xt, _normalised(arrays["test"][0], data.mean, data.std))
    assert torch.cat([y for _, y in data.test]).tolist() == arrays["test"][1].tolist()
    xtr = torch.cat([x for x, _ in data.train])
    torch.testing.assert_close(xtr.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(xtr.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
    assert data.classes[0] == "airplane" and len(data.classes) == 10


def test_augmentation_only_on_training_batches(cache):
    root, arrays = cache
    data = cifar10_data(root, batch_size=8, augment=True, seed=1)
    plain = _normalised(arrays["train"][0], data.mean, data.std)
    rows = {tuple(r.flatten()[:64].tolist()) for r in plain}
    first = [x for x, _ in data.train]
    second = [x for x, _ in data.train]
    # training images are changed (shifted / mirrored), and differently in each epoch
    changed = sum(tuple(r.flatten()[:64].tolist()) not in rows for x in first for r in x)
    assert changed > 20
    assert not all(torch.equal(a, b) for a, b in zip(first, second))
    # test batches are the same, fixed images every time
    torch.testing.assert_close(torch.cat([x for x, _ in data.test]), torch.cat([x for x, _ in data.test]))
    torch.testing.assert_close(torch.cat([x for x, _ in data.test]),
                               _normalised(arrays["test"][0], data.mean, data.std))
    # a crop never mirrors: every crop of an image overlaps its unflipped version
    torch.testing.assert_close(recipes.crop(torch.ones(2, 3, 32, 32), torch.Generator())[:, :, 4:28, 4:28],
                               torch.ones(2, 3, 24, 24))
    # without augmentation the training batches are exact rows of the normalised images
    data = cifar10_data(root, batch_size=8, augment=False)
    assert all(tuple(r.flatten()[:64].tolist()) in rows for x, _ in data.train for r in x)


def test_recipe_sends_only_training_batches_through_the_augmentation(cache, monkeypatch):
    root, _ = cache
    sizes, original = [], recipes.crop_flip

    def counting(x, generator):
        sizes.append(len(x))
        return original(x, generator)

    monkeypatch.setattr(recipes, "crop_flip", counting)
    run = train_cifar10(_linear(), root, epochs=2, batch_size=8, lr=0.05, val_size=0.25, verbose=False)
    assert sizes == [8] * 6                       # 30 training images -> 3 batches x 2 epochs; val/test never
    assert len(run.lrs) == 6


def test_recipe_end_to_end_and_log(cache, tmp_path, capsys):
    root, _ = cache
    log_path = tmp_path / "logs" / "run.json"
    torch.manual_seed(0)
    run = train_cifar10(ResNet9(width=4), root, epochs=2, batch_size=8, lr=0.05, val_size=0.25,
                        label_smoothing=0.1, log_path=log_path, name="resnet9-test", max_test=10)
    out = capsys.readouterr().out
    assert "resnet9-test epoch   1/2" in out and "test accuracy" in out
    assert len(run.history) == 2 and set(run.history.history) == {"train_loss", "train_acc", "lr", "val_loss",
                                                                  "val_acc", "seconds"}
    assert 0 <= run.test_acc <= 1 and run.test_loss > 0 and run.seconds > 0
    log = json.loads(log_path.read_text())
    assert log == run.log
    for key in ("name", "model", "parameters", "config", "data", "hardware", "software", "started_utc",
                "finished_utc", "train_seconds", "epochs", "test_acc", "test_loss"):
        assert key in log, key
    assert log["finished"] is True and log["model"] == "ResNet9"
    assert log["parameters"] == helpers.num_params(ResNet9(width=4))
    assert log["hardware"]["device"] == "cpu" and log["hardware"]["name"].startswith("cpu: ")
    assert log["software"]["torch"] == torch.__version__
    assert log["config"]["amp"] == "off (float32)" and log["config"]["label_smoothing"] == 0.1
    assert log["config"]["augment"] == "crop_flip" and log["config"]["momentum"].endswith("(one-cycle)")
    assert log["data"] == {**log["data"], "n_train": 30, "n_val": 10, "n_test": 10}
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    assert set(log["epochs"][0]) == {"epoch", "train_loss", "train_acc", "lr", "val_loss", "val_acc", "seconds"}
    assert sorted(p.name for p in log_path.parent.iterdir()) == ["run.json"]     # no temporary files left


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_schedule_peak_and_end(cache, schedule):
    root, _ = cache
    run = train_cifar10(_linear(), root, epochs=4, batch_size=8, lr=0.1, schedule=schedule, augment=False,
                        verbose=False)
    lrs = np.array(run.lrs)
    assert len(lrs) == 4 * 5                       # 40 images / 8 per batch, 4 epochs
    assert lrs.max() == pytest.approx(0.1)
    if schedule == "constant":
        assert np.all(lrs == 0.1)
        return
    assert lrs[-1] < 0.01 * 0.1 and run.history["lr"][-1] == lrs[-1]      # ends near zero
    if schedule == "onecycle":
        assert lrs[0] == pytest.approx(0.1 / 25) and int(lrs.argmax()) == 4   # warm-up over the first quarter
    else:
        assert lrs[0] == pytest.approx(0.1) and np.all(np.diff(lrs) <= 0)


def test_training_loss_decreases_on_learnable_colours(cache):
    """Each class has its own colour: the loss must fall and the test images must be classified."""
    root, arrays = cache
    assert len(PALETTE) == 10 and set(arrays["train"][1]) == set(range(10))
    torch.manual_seed(0)
    model = helpers.SimpleCNN(3, 10, 32, channels=(4, 8), hidden=16)
    run = train_cifar10(model, root, epochs=8, batch_size=8, lr=0.01, optimizer="adam", schedule="onecycle",
                        weight_decay=0.0, augment=True, verbose=False)
    losses = run.history["train_loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert run.test_acc >= 0.5                     # chance is 0.1


def test_channels_last_changes_memory_layout_not_results(cache):
    """Same seed, same batches: the channels-last run agrees with the plain one up to float rounding."""
    root, _ = cache
    runs = {}
    for channels_last in (True, False):
        torch.manual_seed(0)
        model = ResNet9(width=4)
        runs[channels_last] = train_cifar10(model, root, epochs=2, batch_size=8, lr=0.05,
                                            channels_last=channels_last, verbose=False)
        conv = model.prep[0].weight
        assert conv.is_contiguous(memory_format=torch.channels_last) == channels_last
        assert runs[channels_last].log["config"]["channels_last"] is channels_last
    a, b = runs[True], runs[False]
    np.testing.assert_allclose(a.history["train_loss"], b.history["train_loss"], rtol=1e-4)
    assert a.test_loss == pytest.approx(b.test_loss, rel=1e-4)


def test_adam_constant_like_the_articles(cache):
    root, _ = cache
    run = train_cifar10(_linear(), root, epochs=3, batch_size=4, lr=1e-3, optimizer="adam", schedule="constant",
                        weight_decay=0.0, augment="crop", verbose=False)
    assert run.lrs == [1e-3] * 30 and run.log["config"]["momentum"] is None
    assert run.log["config"]["augment"] == "crop"
    assert run.history["train_loss"][-1] < run.history["train_loss"][0]


def test_missing_data_names_the_download_command(tmp_path):
    with pytest.raises(MissingDataError, match=r"python -m helpers.downloads cifar-10 --root .*nowhere"):
        train_cifar10(_linear(), tmp_path / "nowhere", epochs=1)


def test_download_from_a_local_server(tmp_path, monkeypatch):
    from cifar_fixture import archive_bytes

    archive, _ = archive_bytes()
    server = LocalServer()
    try:
        server.files["/cifar-10/cifar-10-python.tar.gz"] = archive
        use_fixture(monkeypatch, archive, f"{server.url}/cifar-10/")
        data = cifar10_data(tmp_path / "fresh", batch_size=8, download=True)
        assert data.n_train == 40 and server.hits == {"/cifar-10/cifar-10-python.tar.gz": 1}
    finally:
        server.close()


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs=0 must be a positive int"),
    ({"epochs": 1.5}, "epochs=1.5"),
    ({"epochs": 1, "lr": 0}, "lr=0 must be > 0"),
    ({"epochs": 1, "schedule": "step"}, "schedule='step'"),
    ({"epochs": 1, "optimizer": "rmsprop"}, "optimizer='rmsprop'"),
    ({"epochs": 1, "amp": "fp8"}, "amp='fp8'"),
    ({"epochs": 1, "label_smoothing": 1.0}, "label_smoothing=1.0"),
    ({"epochs": 1, "batch_size": 64}, "batch_size=64 is larger than the 40 training images"),
    ({"epochs": 1, "val_size": 1.0}, r"val_size=1.0 must be a fraction"),
    ({"epochs": 1, "max_train": 0}, "max_train=0 must be a positive int or None"),
    ({"epochs": 1, "augment": "flip"}, "augment='flip': use one of"),
])
def test_bad_arguments(cache, kwargs, match):
    root, _ = cache
    with pytest.raises(ValueError, match=match):
        train_cifar10(_linear(), root, verbose=False, **{"batch_size": 8, **kwargs})


def test_model_must_be_a_module(cache):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        train_cifar10(lambda x: x, cache[0], epochs=1)


def test_amp_resolution(monkeypatch):
    for amp in (None, "bf16", "fp16", "off", False):
        assert recipes.resolve_amp(amp, "cpu") is None          # a CPU trains in float32 whatever is asked
    assert recipes.resolve_amp("off", "cuda") is None
    assert recipes.resolve_amp("fp16", "cuda") is torch.float16
    assert recipes.resolve_amp("bf16", "cuda") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert recipes.resolve_amp(None, "cuda") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert recipes.resolve_amp(None, "cuda") is torch.float16
    with pytest.raises(ValueError, match="amp='float16'"):
        recipes.resolve_amp("float16", "cpu")


def test_optimizer_and_schedule_factories():
    model = _linear()
    sgd = recipes.make_optimizer(model, "sgd", 0.1, 5e-4)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert isinstance(recipes.make_optimizer(model, "adam", 1e-3, 0.0), torch.optim.Adam)
    with pytest.raises(ValueError, match="optimizer='lion'"):
        recipes.make_optimizer(model, "lion", 0.1, 0.0)
    assert recipes.make_schedule(sgd, "constant", 0.1, 10) is None
    with pytest.raises(ValueError, match="schedule='linear'"):
        recipes.make_schedule(sgd, "linear", 0.1, 10)


def test_tensor_batches():
    X, y = torch.arange(10).float()[:, None], torch.arange(10)
    assert len(TensorBatches(X, y, 4)) == 3 and len(TensorBatches(X, y, 4, drop_last=True)) == 2
    assert [len(b) for b, _ in TensorBatches(X, y, 4)] == [4, 4, 2]
    seen = torch.cat([b for _, b in TensorBatches(X, y, 3, shuffle=True, seed=0)])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        TensorBatches(X, y[:9], 4)


def test_write_json_atomic_keeps_the_old_file_on_failure(tmp_path):
    path = recipes.write_json_atomic(tmp_path / "a" / "log.json", {"ok": 1})
    assert json.loads(path.read_text()) == {"ok": 1}
    with pytest.raises(TypeError):
        recipes.write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in path.parent.iterdir()] == ["log.json"]


def test_hardware_name_on_cpu():
    name = recipes.hardware_name("cpu")
    assert name.startswith("cpu: ") and name.endswith("threads)")

"""scripts/train_cifar.py end to end: download from a local server (fixture archive), train, write the logs."""

import importlib.util
import json
from pathlib import Path

import pytest

from helpers import MissingDataError

from cifar_fixture import LocalServer, archive_bytes, use_fixture

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_cifar.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("train_cifar", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def served(monkeypatch):
    archive, _ = archive_bytes()
    server = LocalServer()
    server.files["/cifar-10/cifar-10-python.tar.gz"] = archive
    use_fixture(monkeypatch, archive, f"{server.url}/cifar-10/")
    yield server
    server.close()


def test_script_downloads_trains_and_writes_logs(served, tmp_path, capsys):
    script = _load_script()
    out = tmp_path / "benchmarks" / "fixture"
    argv = ["--out", str(out), "--root", str(tmp_path / "cache"), "--device", "cpu",
            "--articles-epochs", "1", "--articles-batch-size", "8", "--resnet-epochs", "2",
            "--resnet-batch-size", "8", "--width", "4", "--max-test", "10"]
    assert script.main(argv) == 0
    assert served.hits == {"/cifar-10/cifar-10-python.tar.gz": 1}
    assert (tmp_path / "cache" / "cifar-10" / "cifar-10-python.tar.gz").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["articles_cnn.json", "resnet9.json", "summary.json",
                                                     "summary.md"]
    summary = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["articles_cnn", "resnet9"]
    assert summary["hardware"].startswith("cpu: ") and "--width 4" in summary["command"]
    resnet = json.loads((out / "resnet9.json").read_text())
    assert resnet["finished"] and len(resnet["epochs"]) == 2 and resnet["config"]["schedule"] == "onecycle"
    assert resnet["data"] == {**resnet["data"], "n_train": 40, "n_test": 10}
    articles = json.loads((out / "articles_cnn.json").read_text())
    assert articles["config"]["optimizer"] == "adam" and articles["parameters"] == 1_703_370
    table = (out / "summary.md").read_text()
    assert "| articles_cnn | 1,703,370 | 1 |" in table and "| resnet9 |" in table
    assert "| run | parameters |" in capsys.readouterr().out
    # a second run finds the archive in the cache and downloads nothing; --only selects one recipe
    assert script.main([*argv, "--out", str(tmp_path / "again"), "--only", "articles_cnn"]) == 0
    assert served.hits == {"/cifar-10/cifar-10-python.tar.gz": 1}
    assert [r["name"] for r in json.loads((tmp_path / "again" / "summary.json").read_text())["runs"]] == [
        "articles_cnn"]


def test_script_without_download_names_the_command(served, tmp_path):
    script = _load_script()
    with pytest.raises(MissingDataError, match="python -m helpers.downloads cifar-10 --root"):
        script.main(["--no-download", "--root", str(tmp_path / "empty"), "--out", str(tmp_path / "o"),
                     "--device", "cpu"])
    assert served.hits == {}


def test_default_folder_names_hardware_and_date():
    script = _load_script()
    assert script.slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert script.slug("cpu: Intel(R) Xeon(R) CPU @ 2.20GHz (2 threads)").startswith("cpu-intel-r-xeon-r-cpu")

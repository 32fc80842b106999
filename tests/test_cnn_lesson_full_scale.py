"""The CNN lesson's full-scale CIFAR-10 code, executed as written on a tiny fixture archive.

The cells tagged ``full-scale`` in chapters/05_practice/03_cnn_image_classification.md
run after the page's first two cells (environment, imports) with
``LLMBOOK_SCALE=full``, ``LLMBOOK_DATA`` pointing at a cache folder that holds a
40-image CIFAR-10 archive and ``LLMBOOK_CIFAR_QUICK=1`` (one epoch, batches of
8): a change to those cells that breaks them fails here, without the real
dataset, a network or a GPU.
"""

import json
from pathlib import Path

import jupytext
import pytest

from cifar_fixture import use_fixture, write_cifar_archive

LESSON = Path(__file__).resolve().parents[1] / "chapters" / "05_practice" / "03_cnn_image_classification.md"
TAG = "full-scale"


def _code_cells():
    return [c for c in jupytext.read(LESSON).cells if c.cell_type == "code"]


def test_every_full_scale_branch_is_tagged():
    cells = _code_cells()
    tagged = [c for c in cells if TAG in c.metadata.get("tags", [])]
    untagged_full = [c.source[:60] for c in cells if "env.full" in c.source and c not in tagged]
    assert not untagged_full, f"cells that branch on env.full must be tagged {TAG!r}: {untagged_full}"
    assert len(tagged) >= 3 and all(c.source.startswith("if env.full:") for c in tagged)
    sources = "\n".join(c.source for c in tagged)
    assert "helpers.articles_cnn(" in sources and "helpers.ResNet9()" in sources
    assert sources.count("helpers.train_cifar10(") == 2


def test_full_scale_cells_run_on_fixture_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    archive, _ = write_cifar_archive(data)
    use_fixture(monkeypatch, archive)          # accept the fixture's MD5; nothing is downloaded
    monkeypatch.setenv("LLMBOOK_DATA", str(data))
    monkeypatch.setenv("LLMBOOK_SCALE", "full")
    monkeypatch.setenv("LLMBOOK_CIFAR_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    cells = _code_cells()
    namespace = {}
    for cell in cells[:2] + [c for c in cells if TAG in c.metadata.get("tags", [])]:
        exec(compile(cell.source, f"{LESSON.name}:{TAG}", "exec"), namespace)
    assert namespace["env"].full
    articles, resnet = namespace["articles_run"], namespace["resnet_run"]
    for run, name, model in ((articles, "articles_cnn", "SimpleCNN"), (resnet, "resnet9", "ResNet9")):
        log = json.loads((tmp_path / "cifar10_logs" / f"{name}.json").read_text())
        assert log["finished"] and log["model"] == model and log == run.log
        assert log["data"]["n_train"] == 40 and log["data"]["n_test"] == 20
        assert log["config"]["epochs"] == 1 and 0 <= log["test_acc"] <= 1
    assert articles.log["config"]["optimizer"] == "adam" and articles.log["config"]["augment"] == "crop"
    assert resnet.log["config"]["schedule"] == "onecycle" and resnet.log["config"]["augment"] == "crop_flip"


@pytest.mark.parametrize("quick", ["0", None])
def test_without_the_switch_the_page_uses_the_real_settings(tmp_path, monkeypatch, quick):
    """The setup cell alone: real epochs and batch sizes unless LLMBOOK_CIFAR_QUICK=1."""
    data = tmp_path / "data"
    archive, _ = write_cifar_archive(data)
    use_fixture(monkeypatch, archive)
    monkeypatch.setenv("LLMBOOK_DATA", str(data))
    monkeypatch.setenv("LLMBOOK_SCALE", "full")
    if quick is None:
        monkeypatch.delenv("LLMBOOK_CIFAR_QUICK", raising=False)
    else:
        monkeypatch.setenv("LLMBOOK_CIFAR_QUICK", quick)
    cells = _code_cells()
    namespace = {}
    first_full = next(c for c in cells if TAG in c.metadata.get("tags", []))
    for cell in cells[:2] + [first_full]:
        exec(compile(cell.source, LESSON.name, "exec"), namespace)
    assert namespace["ARTICLES"] == {"epochs": 10, "batch_size": 100}
    assert namespace["RESNET"] == {"epochs": 24, "batch_size": 512}

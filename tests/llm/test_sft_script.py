"""scripts/sft_book_model.py: the tiny configuration end to end, deterministic, and its output folder."""

import json

import pytest

from helpers.llm.book_model import load_book_model, read_training_log

from ._scripts import load_script as _load, run_script


def load_script():
    return _load("sft_book_model")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("chat")
    assert run_script("sft_book_model", ["--config", "tiny", "--out", out]) == 0
    return out


def test_log_has_every_stage_and_the_base_model_scores_zero(tiny_run):
    events = read_training_log(tiny_run)
    kinds = [e["event"] for e in events]
    assert kinds == ["start", "tasks", "eval", "run", "shipped", "run", "run", "done"]
    base = events[2]
    assert base["run"] == "base" and all(s["exact"] == 0.0 for s in base["scores"].values())
    runs = {e["run"]: e for e in events if e["event"] == "run"}
    assert set(runs) == {"full", "prompt", "lora"}
    assert runs["lora"]["trainable"] < runs["full"]["trainable"] / 10 + 6144 * 256   # adapters + embedding
    assert runs["full"]["trainable"] == sum(p.numel() for p in load_book_model()[0].parameters())
    for e in runs.values():
        assert len(e["loss"]) == 2 and all(v > 0 for v in e["loss"])


def test_shipped_folder_is_float16_and_scores_as_logged(tiny_run):
    folder = tiny_run / "chat-model"
    config = json.loads((folder / "config.json").read_text())
    assert config["torch_dtype"] == "float16" and config["book"]["recipe"]["config"] == "tiny"
    model, tok = load_book_model(folder)                          # checksums include the logs
    assert (folder / "log.jsonl").read_text() == (tiny_run / "log.jsonl").read_text()
    shipped = [e for e in read_training_log(folder) if e["event"] == "shipped"][0]["scores"]
    script = load_script()
    from helpers.llm.tasks import build_tasks
    _, test = build_tasks(script.CONFIGS["tiny"]["tasks"], script.CONFIGS["tiny"]["n_train"],
                          script.CONFIGS["tiny"]["n_test"], seed=0)
    again = script.evaluate(model, tok, test)
    assert {t: s["exact"] for t, s in again.items()} == {t: s["exact"] for t, s in shipped.items()}


def test_same_seed_same_losses(tiny_run, tmp_path):
    assert run_script("sft_book_model", ["--config", "tiny", "--out", tmp_path, "--runs", "prompt"]) == 0
    first = [e for e in read_training_log(tiny_run) if e.get("run") == "prompt"][0]
    second = [e for e in read_training_log(tmp_path) if e.get("run") == "prompt"][0]
    assert second["loss"] == first["loss"] and second["scores"] == first["scores"]
    assert not (tmp_path / "chat-model").exists()                  # only the full run is shipped


@pytest.mark.parametrize("argv, match", [
    (["--runs", "dpo"], "--runs 'dpo'"),
    (["--runs", ""], "--runs ''"),
    (["--seed", "-1"], "--seed -1 must be >= 0"),
])
def test_bad_arguments_exit_before_any_work(argv, match, tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script().main(["--config", "tiny", "--out", str(tmp_path / "out"), *argv])
    assert match in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

"""scripts/sft_book_model.py: the tiny configuration end to end, deterministic, and its output folder."""

import json
import shutil

import pytest
import torch

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
    assert kinds == ["start", "tasks", "eval", "run", "shipped", "compare_tasks", "compare", "compare", "compare",
                     "pair_tasks", "pair", "pair", "pair", "done"]
    base = events[2]
    assert base["run"] == "base" and all(s["exact"] == 0.0 for s in base["scores"].values())
    chat = events[3]
    assert chat["run"] == "chat" and set(chat["scores"]) == {"length", "count"}
    assert chat["average"] == "example" and all(e.get("average") == "token" for e in events if e["event"] == "compare")
    assert chat["trainable"] == sum(p.numel() for p in load_book_model()[0].parameters())
    runs = {e["run"]: e for e in events if e["event"] == "compare"}
    assert list(runs) == ["full", "prompt", "lora"]
    assert all(set(e["scores"]) == {"length"} for e in runs.values())          # the comparison task only
    assert runs["full"]["trainable"] == chat["trainable"]
    assert runs["lora"]["trainable"] < chat["trainable"] / 10 + 6144 * 256    # adapters + embedding
    assert len(chat["loss"]) == 2 and all(v > 0 for v in chat["loss"])
    for e in runs.values():
        assert len(e["loss"]) == 3 and all(v > 0 for v in e["loss"])
    # reply-only and prompt losses differ from the first step: they average over different tokens
    assert runs["prompt"]["loss"][0] != runs["full"]["loss"][0]
    pairs = {e["run"]: e for e in events if e["event"] == "pair"}
    assert list(pairs) == ["with_count", "with_sentiment", "with_first_char"]
    for name, e in pairs.items():                     # the comparison task beside one other, twice the steps
        assert set(e["scores"]) == {"length", name[len("with_"):]} and e["trainable"] == chat["trainable"]
        assert len(e["loss"]) == 6 and e["scores"]["length"]["n"] == runs["full"]["scores"]["length"]["n"]
    assert events[9] == {"event": "pair_tasks", "task": "length", "n_train": 12, "steps": 6}


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


def test_appended_runs_repeat_the_same_losses_and_ship_with_the_log(tiny_run, tmp_path):
    out = tmp_path / "chat"
    shutil.copytree(tiny_run, out)
    torch.manual_seed(12345)      # whatever the global random state, --seed alone decides LoRA's random init
    assert run_script("sft_book_model", ["--config", "tiny", "--out", out, "--runs", "lora", "--append"]) == 0
    events = read_training_log(out)
    assert [e["event"] for e in events][13:] == ["done", "start", "tasks", "eval", "compare_tasks", "compare", "done"]
    first, second = [e for e in events if e.get("run") == "lora"]             # same seed, same run
    assert second["loss"] == first["loss"] and second["scores"] == first["scores"]
    assert (out / "chat-model" / "log.jsonl").read_text() == (out / "log.jsonl").read_text()
    model, _ = load_book_model(out / "chat-model")                 # checksums cover the longer log
    config = json.loads((out / "chat-model" / "config.json").read_text())
    assert config["book"]["recipe"]["runs"][:4] == ["chat", "full", "prompt", "lora"]   # the chat run's recipe kept


def test_the_book_configuration_is_the_recipe_of_the_shipped_chat_model():
    from helpers.llm.book_model import CHAT_MODEL_DIR, book_recipe

    shipped = book_recipe(CHAT_MODEL_DIR)["recipe"]
    book = load_script().CONFIGS["book"]
    assert shipped["config"] == "book" and {k: shipped[k] for k in book} == json.loads(json.dumps(book))


@pytest.mark.parametrize("argv, match", [
    (["--runs", "dpo"], "--runs 'dpo'"),
    (["--runs", ""], "--runs ''"),
    (["--seed", "-1"], "--seed -1 must be >= 0"),
    (["--append"], "there is no log.jsonl in"),
])
def test_bad_arguments_exit_before_any_work(argv, match, tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script().main(["--config", "tiny", "--out", str(tmp_path / "out"), *argv])
    assert match in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

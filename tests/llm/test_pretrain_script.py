"""scripts/pretrain_book_model.py: deterministic under its seed, checked against a committed reference run."""

import hashlib
import json
from pathlib import Path

import pytest
import torch

from ._scripts import load_script as _load, run_script

REFERENCE = json.loads((Path(__file__).parent / "data" / "pretrain_tiny_reference.json").read_text(encoding="utf-8"))


def load_script():
    return _load("pretrain_book_model")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    assert run_script("pretrain_book_model", ["--config", "tiny", "--out", out]) == 0
    return out


def test_first_steps_match_the_committed_reference(tiny_run):
    events = [json.loads(line) for line in (tiny_run / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert hashlib.sha256((tiny_run / "tokenizer.json").read_bytes()).hexdigest() == REFERENCE["tokenizer_sha256"]
    assert [e for e in events if e["event"] == "tokens"][0] == REFERENCE["tokens"]
    train = [e for e in events if e["event"] == "train"]
    assert [e["step"] for e in train] == [r["step"] for r in REFERENCE["train"]]
    for got, ref in zip(train, REFERENCE["train"]):
        assert got["loss"] == pytest.approx(ref["loss"], rel=1e-5)
    evals = [e for e in events if e["event"] == "eval"]
    for got, ref in zip(evals, REFERENCE["eval"], strict=True):
        assert got["heldout_nats_per_char"] == pytest.approx(ref["heldout_nats_per_char"], rel=1e-5)
    assert evals[-1]["heldout_nats_per_char"] < evals[0]["heldout_nats_per_char"]   # it learned something


def test_the_exported_folder_reproduces_the_logged_held_out_loss(tiny_run):
    from helpers.llm.book_model import load_book_model, read_training_log
    from helpers.llm.corpus import build_corpus

    from helpers.llm.pretrain import encode_text, nats_per_char

    model, tok = load_book_model(tiny_run / "book-model")
    corpus = build_corpus(("peoples_daily", "reviews"))
    text = "\n".join(corpus.held_out["peoples_daily"][:30])          # the tiny config keeps max_docs // 10
    ids = encode_text(tok, text)
    value = nats_per_char(model, ids, len(text), model.config.max_seq_len, tok.encode("\n")[0])
    final = [e for e in read_training_log(tiny_run / "book-model") if e["event"] == "eval"][-1]
    assert value == pytest.approx(final["heldout_nats_per_char"], rel=1e-6)


def _events(folder: Path, kind: str) -> list[dict]:
    lines = (folder / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_a_run_stopped_and_resumed_equals_the_uninterrupted_run(tiny_run, tmp_path):
    out = tmp_path / "split"
    threads = torch.get_num_threads()
    try:
        assert load_script().main(["--config", "tiny", "--out", str(out), "--stop-at", "6"]) == 0
        assert not (out / "book-model").exists()                       # stopped: nothing exported yet
        assert [e["step"] for e in _events(out, "eval")] == [0, 6]
        assert load_script().main(["--config", "tiny", "--out", str(out), "--resume"]) == 0
    finally:
        torch.set_num_threads(threads)
    for kind, key in (("train", "loss"), ("eval", "heldout_nats_per_char")):
        assert [(e["step"], e[key]) for e in _events(out, kind)] == [(e["step"], e[key]) for e in _events(tiny_run, kind)]
    assert "resumed at step 6" in (out / "train_log.txt").read_text(encoding="utf-8")
    assert (out / "book-model" / "model.safetensors").read_bytes() == (tiny_run / "book-model" / "model.safetensors").read_bytes()


def test_resume_refuses_another_recipe_and_changes_nothing(tiny_run, tmp_path, capsys):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(tiny_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    for extra, named in ((["--max-steps", "24"], "max_steps: 12 -> 24"), (["--seed", "7"], "seed: 1998 -> 7")):
        with pytest.raises(SystemExit):
            load_script().main(["--config", "tiny", "--out", str(out), "--resume", *extra])
        assert named in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("stop_at", [0, 5, 12, 13])
def test_stop_at_must_be_a_checkpoint_before_the_end(tmp_path, capsys, stop_at):
    with pytest.raises(SystemExit):
        load_script().main(["--config", "tiny", "--out", str(tmp_path / "s"), "--stop-at", str(stop_at)])
    assert f"--stop-at={stop_at} must be a multiple of eval_every=6" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_bad_command_lines_fail_before_any_work(tmp_path, capsys):
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(["--config", "tiny", "--out", str(tmp_path / "a"), "--max-steps", "0"])
    assert "--max-steps=0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--config", "tiny", "--out", str(tmp_path / "b"), "--resume"])
    assert "checkpoint.pt does not exist" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()

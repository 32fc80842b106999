"""The book-model folder: Hugging Face layout (transformers loads it), checksums, atomic writes."""

import json
import shutil

import pytest
import torch

from helpers.llm.book_model import (BOOK_MODEL_DIR, CHAT_MODEL_DIR, ChecksumError, book_key_to_hf, hf_config,
                                    load_book_model, load_chat_model, read_training_log, save_book_model,
                                    verify_book_model)
from helpers.llm.bpe import ByteBPE
from helpers.models.llama import Llama, LlamaConfig, hf_key_to_book


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    tok = ByteBPE.train(["人民日报，新年讲话。", "这本书很好看！"] * 20, vocab_size=300)
    model = Llama(LlamaConfig(vocab_size=tok.vocab_size, n_embd=32, n_layer=2, n_head=4, n_kv_head=2,
                              max_seq_len=32, tie_word_embeddings=True))
    logdir = tmp_path_factory.mktemp("run")
    (logdir / "train_log.txt").write_text("step 1 loss 5.0\n", encoding="utf-8")
    (logdir / "log.jsonl").write_text(json.dumps({"event": "eval", "step": 1, "heldout_nats_per_char": 5.0}) + "\n")
    dest = save_book_model(model, tok, tmp_path_factory.mktemp("out") / "book-model", recipe={"lr": 1e-3},
                           logs=[logdir / "train_log.txt", logdir / "log.jsonl"])
    return model, tok, dest


def test_names_map_both_ways():
    model = Llama(LlamaConfig(vocab_size=50, n_embd=16, n_layer=2, n_head=2, max_seq_len=8))
    for name in model.state_dict():
        assert hf_key_to_book(book_key_to_hf(name)) == name
    assert book_key_to_hf("layers.1.attn.q_proj.weight") == "model.layers.1.self_attn.q_proj.weight"
    with pytest.raises(KeyError, match="unexpected parameter"):
        book_key_to_hf("transformer.h.0.weight")


def test_round_trip_and_transformers_give_the_same_logits(saved):
    model, tok, dest = saved
    loaded, tok2 = load_book_model(dest)
    assert tok2.merges == tok.merges
    ids = torch.tensor([tok.encode("人民日报很好看")])
    with torch.no_grad():
        expected = model.eval()(ids)[0]
        assert torch.equal(loaded(ids)[0], expected)
        from transformers import AutoModelForCausalLM
        hf = AutoModelForCausalLM.from_pretrained(dest).eval()
        torch.testing.assert_close(hf(ids).logits, expected, rtol=1e-5, atol=1e-5)
    from tokenizers import Tokenizer
    assert Tokenizer.from_file(str(dest / "tokenizer.json")).encode("人民日报很好看").ids == ids[0].tolist()
    assert read_training_log(dest)[0]["heldout_nats_per_char"] == 5.0
    assert json.loads((dest / "config.json").read_text())["book"]["recipe"] == {"lr": 1e-3}


def test_a_changed_file_is_refused_before_loading(saved, tmp_path):
    _, _, dest = saved
    copy = tmp_path / "m"
    shutil.copytree(dest, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="model.safetensors"):
        load_book_model(copy)
    (copy / "bpe.json").unlink()
    with pytest.raises(FileNotFoundError, match="bpe.json"):
        verify_book_model(copy)
    with pytest.raises(FileNotFoundError, match="SHA256SUMS"):
        verify_book_model(tmp_path)


def test_save_refuses_bad_input_and_leaves_the_old_folder(saved, tmp_path):
    model, tok, dest = saved
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    small = ByteBPE.train(["ab"], vocab_size=260)
    with pytest.raises(ValueError, match="vocab_size"):
        save_book_model(model, small, dest)
    with pytest.raises(TypeError, match="model"):
        save_book_model("model", tok, dest)
    with pytest.raises(ValueError, match="logs"):
        save_book_model(model, tok, dest, logs=[tmp_path / "missing.txt"])
    with pytest.raises(ValueError, match="dtype=torch.bfloat16"):
        save_book_model(model, tok, dest, dtype=torch.bfloat16)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]   # no partial folder left
    qwen = LlamaConfig(vocab_size=10, n_embd=8, n_layer=1, n_head=2, max_seq_len=4, qk_norm=True)
    with pytest.raises(ValueError, match="qk_norm"):
        hf_config(qwen)


@pytest.mark.skipif(not (BOOK_MODEL_DIR / "SHA256SUMS").exists(), reason="book model not shipped yet")
def test_the_shipped_model_loads_offline_and_matches_its_log():
    model, tok = load_book_model()
    assert model.config.vocab_size == tok.vocab_size
    assert (BOOK_MODEL_DIR / "model.safetensors").stat().st_size <= 30 * 2 ** 20
    events = read_training_log()
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"


def test_float16_folder_is_half_the_size_and_loads_back_into_float32(saved, tmp_path):
    model, tok, dest = saved
    half = save_book_model(model, tok, tmp_path / "half", dtype=torch.float16)
    assert json.loads((half / "config.json").read_text())["torch_dtype"] == "float16"
    assert (half / "model.safetensors").stat().st_size < 0.55 * (dest / "model.safetensors").stat().st_size
    loaded, _ = load_book_model(half)
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert q.dtype == torch.float32
        torch.testing.assert_close(q, p.half().float(), rtol=0, atol=0, msg=name)   # exactly the rounded weights
    from transformers import AutoModelForCausalLM
    hf = AutoModelForCausalLM.from_pretrained(half, dtype=torch.float32).eval()
    ids = torch.tensor([tok.encode("人民日报很好看")])
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, loaded(ids)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not (CHAT_MODEL_DIR / "SHA256SUMS").exists(), reason="chat model not shipped yet")
def test_the_shipped_chat_model_loads_and_matches_its_log():
    model, tok = load_chat_model()
    base, base_tok = load_book_model()
    assert tok.merges == base_tok.merges and model.config == base.config
    assert (CHAT_MODEL_DIR / "model.safetensors").stat().st_size <= 15 * 2 ** 20
    assert any((p != q).any() for p, q in zip(model.parameters(), base.parameters()))
    events = read_training_log(CHAT_MODEL_DIR)
    kinds = [e["event"] for e in events]
    assert kinds[:5] == ["start", "tasks", "eval", "run", "shipped"] and kinds[-1] == "done"
    chat = [e for e in events if e["event"] == "run"][0]
    shipped = [e for e in events if e["event"] == "shipped"][0]
    assert chat["run"] == "chat" and chat["trainable"] == model.num_params()
    assert {t: s["exact"] for t, s in shipped["scores"].items()} == {t: s["exact"] for t, s in chat["scores"].items()}
    assert {e["run"] for e in events if e["event"] == "compare"} == {"full", "prompt", "lora"}   # lesson 5.8 reads them
    with pytest.raises(TypeError, match="verify is a str; pass a bool"):
        load_chat_model(verify="yes")

"""helpers.models.llama against the reference implementations in ``transformers`` (built offline, random weights).

The book's model receives the reference's weights through ``convert_hf_state_dict``,
the same mapping the checkpoint loader uses, and must give the same logits and
the same greedy tokens. Checkpoints are written by ``save_pretrained`` into a
temporary folder and served from 127.0.0.1 for the download tests.
"""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from http_fixture import LocalServer, isolate_cache, leftovers
from torch import nn

import helpers
from helpers.downloads import DownloadError
from helpers.models import gpt as gpt_module
from helpers.models.llama import (Llama, LlamaConfig, RMSNorm, apply_rope, chat_prompt, config_from_hf,
                                  convert_hf_state_dict, download_pretrained, hf_key_to_book, kv_cache_bytes,
                                  llama_num_params, load_pretrained, repeat_kv, rope_cos_sin, swiglu_hidden_size)

transformers = pytest.importorskip("transformers")

SMALL = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=64)


def hf_model(kind: str, tie: bool = False, n_kv: int = 2, seed: int = 0):
    """A small random ``transformers`` model; every parameter drawn with a large spread so differences show."""
    torch.manual_seed(seed)
    if kind == "qwen3":
        model = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(
            **SMALL, num_key_value_heads=n_kv, head_dim=24, tie_word_embeddings=tie, rope_theta=1000.0))
    elif kind == "qwen2":
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
            **SMALL, num_key_value_heads=n_kv, tie_word_embeddings=tie))
    else:
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
            **SMALL, num_key_value_heads=n_kv, tie_word_embeddings=tie))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in name else 0.2 * torch.randn_like(p))
    return model.eval()


def book_copy(hf) -> Llama:
    model = Llama(config_from_hf(hf.config.to_dict()))
    state = convert_hf_state_dict(hf.state_dict(), model)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert unexpected == [] and set(missing) <= {"lm_head.weight"}    # tied: the same tensor as the embedding
    return model.eval()


CASES = [("qwen3", True, 2), ("qwen3", False, 2), ("qwen3", False, 4), ("llama", False, 4), ("llama", True, 1),
         ("qwen2", True, 2)]


@pytest.mark.parametrize("kind,tie,n_kv", CASES)
def test_logits_equal_transformers(kind, tie, n_kv):
    hf = hf_model(kind, tie, n_kv)
    model = book_copy(hf)
    assert model.config.n_kv_head == n_kv and model.config.tie_word_embeddings == tie
    idx = torch.randint(0, 97, (3, 17), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, ref = model(idx)[0], hf(idx).logits
    assert ref.abs().max() > 1.0                   # logits large enough that a wrong layout would show
    assert (ours - ref).abs().max().item() < 1e-5
    assert model.num_params() == llama_num_params(model.config) == sum(p.numel() for p in hf.parameters())


@pytest.mark.parametrize("kind,tie,n_kv", [("qwen3", True, 2), ("llama", False, 4)])
def test_generate_equals_transformers_greedy(kind, tie, n_kv):
    hf = hf_model(kind, tie, n_kv, seed=3)
    model = book_copy(hf)
    prompt = torch.randint(0, 97, (1, 6), generator=torch.Generator().manual_seed(2))
    ours = model.generate(prompt, 10, temperature=0)
    ref = hf.generate(prompt, max_new_tokens=10, min_new_tokens=10, do_sample=False)
    assert torch.equal(ours, ref)
    assert torch.equal(model.generate(prompt, 10, temperature=0, use_cache=False), ours)


def test_cached_and_uncached_sampling_agree_and_cache_has_kv_heads():
    config = LlamaConfig(vocab_size=50, n_embd=32, n_layer=3, n_head=4, n_kv_head=2, max_seq_len=40, qk_norm=True)
    model = Llama(config)
    prompt = torch.randint(0, 50, (2, 5), generator=torch.Generator().manual_seed(0))
    runs = [model.generate(prompt, 12, temperature=0.8, top_k=20, top_p=0.9, use_cache=c,
                           generator=torch.Generator().manual_seed(7)) for c in (True, False)]
    assert torch.equal(runs[0], runs[1]) and runs[0].shape == (2, 17)
    cache = gpt_module.KVCache(config.n_layer)
    model.forward_cached(prompt, cache)
    full = model(prompt)[0]
    step = model.forward_cached(torch.tensor([[3], [4]]), cache)
    ref = model(torch.cat([prompt, torch.tensor([[3], [4]])], 1))[0][:, -1:]
    assert torch.allclose(step, ref, atol=1e-5) and full.shape == (2, 5, 50)
    assert cache.length == 6 and cache.layers[0][0].shape == (2, 2, 6, 8)
    nbytes = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in cache.layers)
    assert nbytes == kv_cache_bytes(config, tokens=6, batch=2, bytes_per_value=4)


def test_generate_stops_and_checks_arguments():
    model = Llama(LlamaConfig(vocab_size=20, n_embd=16, n_layer=1, n_head=2, max_seq_len=10))
    prompt = torch.zeros(1, 3, dtype=torch.long)
    greedy = model.generate(prompt, 5, temperature=0)
    first = greedy[0, 3].item()
    stopped = model.generate(prompt, 5, temperature=0, stop_tokens=[first])
    assert stopped.shape == (1, 4) and stopped[0, -1].item() == first
    assert model.training                          # generate restores the mode
    with pytest.raises(ValueError, match="max_seq_len"):
        model.generate(prompt, 8)
    with pytest.raises(ValueError, match="top_p"):
        model.generate(prompt, 1, top_p=0.0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 1, temperature=-1)
    with pytest.raises(ValueError, match="max_seq_len"):
        model(torch.zeros(1, 11, dtype=torch.long))
    with pytest.raises(ValueError, match="int64"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="targets"):
        model(prompt, torch.zeros(1, 2, dtype=torch.long))
    logits, loss = model(prompt, torch.tensor([[1, 2, -1]]))
    ref = nn.functional.cross_entropy(logits[0, :2], torch.tensor([1, 2]))
    assert torch.allclose(loss, ref)
    with pytest.raises(TypeError, match="LlamaConfig"):
        Llama(helpers.GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))


def test_top_p_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    g = torch.Generator().manual_seed(0)
    draws = {gpt_module._sample(logits, 1.0, None, g, top_p=0.8).item() for _ in range(200)}
    assert draws == {0, 1}                          # 0.5 + 0.3 reaches 0.8: tokens 2 and 3 are cut
    assert {gpt_module._sample(logits, 1.0, None, g, top_p=0.1).item() for _ in range(20)} == {0}


def test_rmsnorm_equals_torch():
    x = torch.randn(4, 7, 32) * 3 + 1
    ours, ref = RMSNorm(32, eps=1e-5), nn.RMSNorm(32, eps=1e-5)
    with torch.no_grad():
        ours.weight.copy_(torch.rand(32) + 0.5)
        ref.weight.copy_(ours.weight)
    assert torch.allclose(ours(x), ref(x), atol=1e-6)
    assert ours(x.bfloat16()).dtype == torch.float32       # weight (float32) times the bfloat16 normalised x


def test_rope_is_a_rotation_of_pairs():
    hd = 8
    x = torch.randn(1, 1, 5, hd)
    cos, sin = rope_cos_sin(torch.arange(5), hd, theta=100.0)
    y = apply_rope(x, cos, sin)
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5)     # rotations keep the length
    m, i = 3, 1                                      # pair (i, i + hd/2) at position m, angle m * 100^(-2i/hd)
    angle = torch.tensor(m * 100.0 ** (-2 * i / hd))
    a, b = x[0, 0, m, i], x[0, 0, m, i + hd // 2]
    assert torch.allclose(y[0, 0, m, i], a * angle.cos() - b * angle.sin(), atol=1e-6)
    assert torch.allclose(y[0, 0, m, i + hd // 2], a * angle.sin() + b * angle.cos(), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(0, 200), n=st.integers(0, 200), shift=st.integers(0, 200), seed=st.integers(0, 2**16))
def test_rope_scores_depend_only_on_the_offset(m, n, shift, seed):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    cos, sin = rope_cos_sin(torch.arange(401), 16, dtype=torch.float64)

    def score(a, b):
        return apply_rope(q, cos[a], sin[a]) @ apply_rope(k, cos[b], sin[b])

    assert abs(score(m, n) - score(m + shift, n + shift)) < 1e-9 * (1 + abs(score(m, n)))


def test_repeat_kv_matches_repeat_interleave():
    x = torch.randn(2, 3, 5, 4)
    assert torch.equal(repeat_kv(x, 4), x.repeat_interleave(4, dim=1))
    assert repeat_kv(x, 1) is x


def test_parameter_formula_on_published_configs():
    qwen3_06b = LlamaConfig(vocab_size=151936, n_embd=1024, n_layer=28, n_head=16, n_kv_head=8, head_dim=128,
                            intermediate_size=3072, rope_theta=1e6, max_seq_len=64, tie_word_embeddings=True,
                            qk_norm=True)
    llama2_7b = LlamaConfig(vocab_size=32000, n_embd=4096, n_layer=32, n_head=32, intermediate_size=11008,
                            max_seq_len=64)
    for config in (qwen3_06b, llama2_7b):
        with torch.device("meta"):
            model = Llama(config)
        assert model.num_params() == llama_num_params(config)
        assert model.num_params(non_embedding=True) == llama_num_params(config, non_embedding=True)
    assert llama_num_params(llama2_7b) == 6_738_415_616
    assert llama_num_params(qwen3_06b, non_embedding=True) == 440_467_456
    assert swiglu_hidden_size(4096) == 11008 and swiglu_hidden_size(768, multiple_of=1) == 2048


def test_config_errors():
    base = dict(vocab_size=10, n_embd=16, n_layer=1, n_head=4)
    with pytest.raises(ValueError, match="n_head=4 is not divisible by n_kv_head=3"):
        LlamaConfig(**base, n_kv_head=3)
    with pytest.raises(ValueError, match="n_embd=18 is not divisible by n_head=4"):
        LlamaConfig(**{**base, "n_embd": 18})
    assert LlamaConfig(**{**base, "n_embd": 18}, head_dim=6).head_dim == 6
    with pytest.raises(ValueError, match="head_dim=5 must be even"):
        LlamaConfig(**base, head_dim=5)
    with pytest.raises(ValueError, match="n_layer=0"):
        LlamaConfig(**{**base, "n_layer": 0})
    with pytest.raises(ValueError, match="rope_theta"):
        LlamaConfig(**base, rope_theta=1.0)
    with pytest.raises(ValueError, match="rms_norm_eps"):
        LlamaConfig(**base, rms_norm_eps=0)
    with pytest.raises(TypeError, match="qk_norm"):
        LlamaConfig(**base, qk_norm=1)
    assert LlamaConfig(**base).to_dict()["n_kv_head"] == 4


def test_config_from_hf_errors():
    good = {**SMALL, "model_type": "llama"}
    with pytest.raises(ValueError, match="model_type='gpt2' is not supported"):
        config_from_hf({**good, "model_type": "gpt2"})
    with pytest.raises(ValueError, match="rope_type='llama3'"):
        config_from_hf({**good, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})
    with pytest.raises(ValueError, match="sliding"):
        config_from_hf({**good, "model_type": "qwen2", "use_sliding_window": True})
    with pytest.raises(ValueError, match="attention_bias"):
        config_from_hf({**good, "attention_bias": True})
    with pytest.raises(ValueError, match="hidden_act"):
        config_from_hf({**good, "hidden_act": "gelu"})
    config = config_from_hf({**good, "rope_theta": 5e5}, max_seq_len=16)
    assert config.rope_theta == 5e5 and config.max_seq_len == 16 and config.n_kv_head == 4


def test_state_dict_mapping_errors():
    hf = hf_model("qwen3", tie=False)
    model = book_copy(hf)
    state = hf.state_dict()
    assert hf_key_to_book("model.layers.1.self_attn.k_norm.weight") == "layers.1.attn.k_norm.weight"
    with pytest.raises(KeyError, match="vision"):
        hf_key_to_book("vision.patch.weight")
    with pytest.raises(ValueError, match="missing .'layers.1.mlp.up_proj.weight'"):
        convert_hf_state_dict({k: v for k, v in state.items() if k != "model.layers.1.mlp.up_proj.weight"}, model)
    with pytest.raises(ValueError, match="unexpected .'model.extra.weight'"):
        convert_hf_state_dict({**state, "model.extra.weight": torch.zeros(1)}, model)
    with pytest.raises(ValueError, match="unexpected"):
        convert_hf_state_dict({**state, "model.layers.7.mlp.up_proj.weight": torch.zeros(1)}, model)
    bad = dict(state)
    bad["model.layers.0.self_attn.k_proj.weight"] = torch.zeros(64, 64)
    with pytest.raises(ValueError, match=r"k_proj.weight: shape \(64, 64\)"):
        convert_hf_state_dict(bad, model)
    tied = book_copy(hf_model("qwen3", tie=True))
    tied_state = {**hf_model("qwen3", tie=True).state_dict(), "lm_head.weight": torch.zeros(97, 64)}
    with pytest.raises(ValueError, match="tie_word_embeddings"):
        convert_hf_state_dict(tied_state, tied)
    old = {**hf.state_dict(), "model.layers.0.self_attn.rotary_emb.inv_freq": torch.ones(12)}
    assert set(convert_hf_state_dict(old, model)) == set(convert_hf_state_dict(state, model))


# ---------------------------------------------------------------------------------------------
# Checkpoints on disk and downloads

def write_checkpoint(folder, kind="qwen3", tie=True, shard: bool = False):
    """``save_pretrained`` of a random model plus a BPE ``tokenizer.json`` trained here on a few sentences."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    hf = hf_model(kind, tie)
    hf.save_pretrained(folder, max_shard_size="100KB" if shard else "5GB")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] * 5,
                            trainers.BpeTrainer(vocab_size=90, special_tokens=["<unk>", "<|im_end|>"]))
    tok.save(str(folder / "tokenizer.json"))
    return hf


@pytest.mark.parametrize("kind,tie,shard", [("qwen3", True, False), ("llama", False, True), ("qwen2", True, False)])
def test_load_pretrained_equals_transformers(tmp_path, kind, tie, shard):
    hf = write_checkpoint(tmp_path, kind, tie, shard)
    assert (tmp_path / "model.safetensors.index.json").is_file() == shard
    model, tok = load_pretrained(tmp_path)
    ids = tok.encode("举头望明月").ids
    assert tok.decode(ids) == "举头望明月" and max(ids) < 97
    idx = torch.tensor([ids + [5, 6, 7]])
    with torch.no_grad():
        assert (model(idx)[0] - hf(idx).logits).abs().max().item() < 1e-5
    if tie:
        assert model.lm_head.weight is model.embed_tokens.weight
    reloaded = Llama.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert reloaded.embed_tokens.weight.dtype == torch.bfloat16 and not reloaded.training
    with torch.no_grad():
        diff = (reloaded(idx)[0].float() - hf(idx).logits).abs().max().item()
    assert 0 < diff < 0.1 * hf(idx).logits.abs().max().item()        # bfloat16 rounding, not a different model


def test_load_pretrained_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_pretrained(tmp_path)
    write_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="dtype"):
        load_pretrained(tmp_path, dtype=torch.int8)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_pretrained(tmp_path)
    assert load_pretrained(tmp_path, tokenizer=False)[1] is None
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "intermediate_size": 128}))
    with pytest.raises(ValueError, match="shape"):
        load_pretrained(tmp_path, tokenizer=False)
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "mistral"}))
    with pytest.raises(ValueError, match="model_type='mistral'"):
        load_pretrained(tmp_path, tokenizer=False)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_pretrained(tmp_path, tokenizer=False)
    shard_dir = tmp_path / "sharded"
    write_checkpoint(shard_dir, shard=True)
    index = json.loads((shard_dir / "model.safetensors.index.json").read_text())
    (shard_dir / sorted(set(index["weight_map"].values()))[-1]).unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        load_pretrained(shard_dir)


def serve_folder(srv, folder, repo="owner/tiny", revision="main", skip=()):
    for f in folder.iterdir():
        if f.name not in skip:
            srv.files[f"/{repo}/resolve/{revision}/{f.name}"] = f.read_bytes()


@pytest.mark.parametrize("shard", [False, True])
def test_download_pretrained_from_local_server(tmp_path, monkeypatch, shard):
    source = tmp_path / "source"
    hf = write_checkpoint(source, "qwen3", tie=True, shard=shard)
    cache = tmp_path / "cache"
    isolate_cache(monkeypatch, cache)
    with LocalServer() as srv:
        serve_folder(srv, source)
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        folder = download_pretrained("owner/tiny")
        assert folder == cache / "hf" / "owner--tiny"
        hits = dict(srv.hits)
        assert download_pretrained("owner/tiny", endpoint=srv.url) == folder    # cached: nothing fetched again
        assert srv.hits == hits
    names = sorted(p.name for p in source.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == sorted(names + ["download_complete.json"])
    assert json.loads((folder / "download_complete.json").read_text()) == names
    model, tok = load_pretrained(folder)
    idx = torch.tensor([tok.encode("床前明月光").ids])
    with torch.no_grad():
        assert (model(idx)[0] - hf(idx).logits).abs().max().item() < 1e-5


def test_download_pretrained_errors(tmp_path, monkeypatch):
    source = tmp_path / "source"
    write_checkpoint(source)
    cache = tmp_path / "cache"
    isolate_cache(monkeypatch, cache)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    with pytest.raises(ValueError, match="owner/name"):
        download_pretrained("no-slash")
    with LocalServer() as srv:
        serve_folder(srv, source, skip={"tokenizer.json"})
        with pytest.raises(DownloadError, match="HTTP 404"):
            download_pretrained("owner/tiny", root=cache, endpoint=srv.url)
        serve_folder(srv, source)
        srv.truncate.add("/owner/tiny/resolve/main/model.safetensors")
        with pytest.raises(DownloadError, match="connection closed"):
            download_pretrained("owner/tiny", root=cache, endpoint=srv.url)
        folder = cache / "hf" / "owner--tiny"
        assert "model.safetensors" not in leftovers(folder) and not any(n.endswith(".part")
                                                                         for n in leftovers(folder))
        url = srv.url
    with pytest.raises(DownloadError, match="mirror"):
        download_pretrained("owner/tiny", root=cache, endpoint=url)      # the server is gone


def test_chat_prompt():
    assert chat_prompt("你好") == "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n"
    assert chat_prompt("hi", system="Be brief.").startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    with pytest.raises(ValueError, match="non-empty"):
        chat_prompt("")


def test_exported_from_helpers():
    assert helpers.Llama is Llama and helpers.LlamaConfig is LlamaConfig
    assert helpers.load_pretrained is load_pretrained and helpers.models.llama_num_params is llama_num_params


def test_out_of_vocabulary_ids_and_bad_targets_get_clear_errors():
    model = Llama(LlamaConfig(vocab_size=10, n_embd=16, n_layer=1, n_head=2, n_kv_head=1,
                              intermediate_size=32, max_seq_len=8))
    with pytest.raises(ValueError, match="idx holds the id 10, outside the vocabulary"):
        model(torch.tensor([[1, 10]]))
    with pytest.raises(ValueError, match="idx holds the id -2"):
        model(torch.tensor([[1, -2]]))
    with pytest.raises(ValueError, match="targets holds the id 12"):
        model(torch.tensor([[1, 2]]), torch.tensor([[2, 12]]))
    with pytest.raises(ValueError, match="idx is empty"):
        model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="exceeds max_seq_len=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    _, loss = model(torch.tensor([[1, 2]]), torch.tensor([[2, -1]]))   # -1: ignored
    assert torch.isfinite(loss)

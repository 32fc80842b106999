"""helpers.models.gpt: causality, loss at initialisation, KV cache, parameter formula, errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.models.gpt import GPT, GPTClassifier, GPTConfig, KVCache, gpt_num_params


def tiny(**kw):
    cfg = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    cfg.update(kw)
    return GPTConfig(**cfg)


def test_config_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by n_head=3"):
        GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=3, n_embd=10)
    with pytest.raises(ValueError, match="block_size"):
        GPTConfig(vocab_size=5, block_size=0, n_layer=1, n_head=1, n_embd=4)
    with pytest.raises(ValueError, match="dropout"):
        tiny(dropout=1.0)
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT({"vocab_size": 5})
    assert tiny().to_dict()["n_embd"] == 16


def test_sequence_longer_than_block_size_is_refused():
    model = GPT(tiny())
    with pytest.raises(ValueError, match="sequence length 9 exceeds block_size=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="int64"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="targets must have the shape"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))


@pytest.mark.parametrize("explicit", [False, True])
def test_changing_a_future_token_never_changes_earlier_logits(explicit):
    torch.manual_seed(0)
    model = GPT(tiny(), explicit_attention=explicit).eval()
    idx = torch.randint(0, 11, (3, 8))
    for t in range(8):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1) % 11
        a, b = model(idx)[0], model(changed)[0]
        torch.testing.assert_close(a[:, :t], b[:, :t], rtol=0, atol=1e-6)
        assert not torch.allclose(a[:, t], b[:, t])


def test_without_causal_mask_the_future_leaks():
    torch.manual_seed(0)
    model = GPT(tiny(), causal=False).eval()
    idx = torch.randint(0, 11, (2, 8))
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    assert not torch.allclose(model(idx)[0][:, 0], model(changed)[0][:, 0])


def test_explicit_attention_equals_sdpa_and_maps_are_causal_distributions():
    torch.manual_seed(0)
    fast = GPT(tiny()).eval()
    slow = GPT(tiny(), explicit_attention=True).eval()
    slow.load_state_dict(fast.state_dict())
    idx = torch.randint(0, 11, (2, 8))
    torch.testing.assert_close(fast(idx)[0], slow(idx)[0], rtol=1e-5, atol=1e-5)
    maps = fast.attention_maps(idx)
    assert len(maps) == 2 and maps[0].shape == (2, 2, 8, 8)
    for att in maps:
        torch.testing.assert_close(att.sum(-1), torch.ones(2, 2, 8))
        assert torch.all(att.triu(diagonal=1) == 0)
    assert fast.transformer.h[0].attn.explicit is False and fast.transformer.h[0].attn.attn is None


def test_attention_matches_a_hand_written_reference():
    torch.manual_seed(0)
    cfg = tiny()
    model = GPT(cfg).eval()
    attn = model.transformer.h[0].attn
    x = torch.randn(2, 5, 16)
    q, k, v = attn.c_attn(x).split(16, dim=2)
    heads = []
    for h in range(2):
        sl = slice(8 * h, 8 * h + 8)
        s = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(8)
        s = s.masked_fill(torch.ones(5, 5).triu(1).bool(), float("-inf"))
        heads.append(torch.softmax(s, -1) @ v[..., sl])
    expected = attn.c_proj(torch.cat(heads, -1))
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


def test_untrained_loss_is_about_ln_vocab():
    torch.manual_seed(0)
    cfg = tiny(vocab_size=50, block_size=16)
    model = GPT(cfg)
    idx = torch.randint(0, 50, (8, 16))
    _, loss = model(idx, torch.randint(0, 50, (8, 16)))
    assert abs(loss.item() - math.log(50)) < 0.1


def test_loss_equals_cross_entropy_on_flattened_logits_and_ignores_minus_one():
    torch.manual_seed(0)
    model = GPT(tiny())
    idx = torch.randint(0, 11, (2, 6))
    targets = torch.randint(0, 11, (2, 6))
    targets[0, 0] = -1
    logits, loss = model(idx, targets)
    assert logits.shape == (2, 6, 11)
    mask = targets != -1
    expected = F.cross_entropy(logits[mask], targets[mask])
    torch.testing.assert_close(loss, expected)
    assert model(idx)[1] is None


def test_overfits_a_single_batch():
    torch.manual_seed(0)
    model = GPT(tiny(block_size=16, n_embd=32))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 11, (4, 16), generator=g)
    y = torch.randint(0, 11, (4, 16), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(150):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_weight_tying_and_gpt2_init():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=300, block_size=32, n_layer=8, n_head=4, n_embd=128)
    model = GPT(cfg)
    assert model.lm_head.weight is model.transformer.wte.weight
    std_proj = model.transformer.h[0].attn.c_proj.weight.std().item()
    std_attn = model.transformer.h[0].attn.c_attn.weight.std().item()
    assert abs(std_attn - 0.02) < 0.002
    assert abs(std_proj - 0.02 / math.sqrt(16)) < 0.001
    assert torch.all(model.transformer.h[0].attn.c_attn.bias == 0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 4), (3, 2, 8), (2, 4, 16)])
def test_num_params_equals_closed_form(bias, shape):
    n_layer, n_head, n_embd = shape
    cfg = GPTConfig(vocab_size=37, block_size=13, n_layer=n_layer, n_head=n_head, n_embd=n_embd, bias=bias)
    model = GPT(cfg)
    counted = sum(p.numel() for p in model.parameters())
    assert model.num_params() == counted == gpt_num_params(cfg)
    assert model.num_params(non_embedding=True) == gpt_num_params(cfg, non_embedding=True) == counted - 13 * n_embd


@pytest.mark.parametrize("tie", [True, False])
def test_untied_output_layer_has_its_own_matrix(tie):
    cfg = GPTConfig(vocab_size=37, block_size=13, n_layer=2, n_head=2, n_embd=8, tie_weights=tie)
    model = GPT(cfg)
    shared = model.lm_head.weight is model.transformer.wte.weight
    assert shared == tie
    counted = sum(p.numel() for p in model.parameters())           # a shared tensor is yielded once
    assert counted == gpt_num_params(cfg) == gpt_num_params(GPTConfig(**{**cfg.to_dict(), "tie_weights": True})) + (not tie) * 37 * 8
    if not tie:                                                    # training the head leaves the embedding alone
        before = model.transformer.wte.weight.detach().clone()
        model.lm_head.weight.data.add_(1.0)
        assert torch.equal(model.transformer.wte.weight, before)
        assert abs(model.lm_head.weight.std().item() - 0.02) < 0.02 and not torch.equal(model.lm_head.weight, before + 1.0)


def test_gpt2_small_has_124m_parameters():
    cfg = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    assert gpt_num_params(cfg) == 124_439_808


def test_generation_length_and_determinism():
    torch.manual_seed(0)
    model = GPT(tiny(dropout=0.1)).train()
    idx = torch.zeros(2, 3, dtype=torch.long)
    a = model.generate(idx, 12, top_k=5, generator=torch.Generator().manual_seed(1))
    b = model.generate(idx, 12, top_k=5, generator=torch.Generator().manual_seed(1))
    assert a.shape == (2, 15) and torch.equal(a, b) and torch.equal(a[:, :3], idx)
    assert model.training  # mode restored
    greedy = model.generate(idx, 4, temperature=0)
    assert torch.equal(greedy, model.generate(idx, 4, temperature=0, use_cache=False))


def test_top_k_one_is_greedy():
    torch.manual_seed(0)
    model = GPT(tiny())
    idx = torch.zeros(1, 1, dtype=torch.long)
    sampled = model.generate(idx, 6, temperature=2.0, top_k=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(sampled, model.generate(idx, 6, temperature=0))


@pytest.mark.parametrize("prompt_len,new", [(1, 7), (3, 12), (10, 5)])
def test_kv_cache_gives_the_same_tokens(prompt_len, new):
    torch.manual_seed(0)
    model = GPT(tiny())
    idx = torch.randint(0, 11, (2, prompt_len))
    a = model.generate(idx, new, use_cache=True, generator=torch.Generator().manual_seed(7))
    b = model.generate(idx, new, use_cache=False, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_cached_logits_equal_full_forward():
    torch.manual_seed(0)
    model = GPT(tiny()).eval()
    idx = torch.randint(0, 11, (2, 8))
    full = model(idx)[0]
    cache = KVCache(2)
    parts = [model.forward_cached(idx[:, :3], cache), model.forward_cached(idx[:, 3:5], cache)]
    parts += [model.forward_cached(idx[:, t:t + 1], cache) for t in range(5, 8)]
    torch.testing.assert_close(torch.cat(parts, 1), full, rtol=1e-5, atol=1e-5)
    assert cache.length == 8
    with pytest.raises(ValueError, match="exceeds block_size"):
        model.forward_cached(idx[:, :1], cache)


def test_generate_argument_errors():
    model = GPT(tiny())
    idx = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(idx, 1, temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(idx, 1, top_k=0)
    with pytest.raises(ValueError, match="non-empty"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), 1)


@pytest.mark.parametrize("pool", ["mean", "last"])
def test_classifier_ignores_right_padding(pool):
    torch.manual_seed(0)
    gpt = GPT(tiny())
    clf = GPTClassifier(gpt, num_classes=3, pad_id=0, pool=pool).eval()
    short = torch.tensor([[4, 5, 6, 0, 0, 0]])
    other_pad = torch.tensor([[4, 5, 6, 0, 0, 0, 0, 0]])
    out = clf(short)
    assert out.shape == (1, 3)
    torch.testing.assert_close(out, clf(other_pad), rtol=1e-5, atol=1e-6)
    h = gpt.features(short[:, :3])
    ref = h.mean(1) if pool == "mean" else h[:, -1]
    torch.testing.assert_close(out, clf.head(ref), rtol=1e-5, atol=1e-6)


def test_classifier_errors():
    gpt = GPT(tiny())
    with pytest.raises(ValueError, match="pool"):
        GPTClassifier(gpt, 2, pad_id=0, pool="max")
    with pytest.raises(ValueError, match="pad_id=11"):
        GPTClassifier(gpt, 2, pad_id=11)


# --- issue 22: bad input -------------------------------------------------------------------------

def _tiny():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8))


def test_out_of_vocabulary_ids_are_named():
    """Item 6: used to be 'IndexError: index out of range in self'."""
    model = _tiny()
    with pytest.raises(ValueError, match=r"idx holds the id 10, outside the vocabulary \[0, 10\)"):
        model(torch.tensor([[1, 10]]))
    with pytest.raises(ValueError, match="id -3"):
        model.generate(torch.tensor([[-3]]), 2)
    with pytest.raises(ValueError, match="targets holds the id 11"):
        model(torch.tensor([[1, 2]]), torch.tensor([[2, 11]]))
    _, loss = model(torch.tensor([[1, 2]]), torch.tensor([[2, -1]]))   # -1 is ignored, still allowed
    assert torch.isfinite(loss)


def test_empty_sequence_is_refused_instead_of_a_nan_loss():
    model = _tiny()
    with pytest.raises(ValueError, match="empty"):
        model(torch.zeros(2, 0, dtype=torch.long), torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        model(torch.tensor([[1, 2]]), torch.tensor([[1.0, 2.0]]))


def test_generate_checks_its_sampling_arguments():
    model = _tiny()
    idx = torch.tensor([[1, 2]])
    for kw, exc, match in [(dict(max_new_tokens=-1), ValueError, "max_new_tokens=-1"),
                           (dict(max_new_tokens=2.0), TypeError, "max_new_tokens"),
                           (dict(max_new_tokens=2, temperature=float("nan")), ValueError, "temperature=nan"),
                           (dict(max_new_tokens=2, top_k=True), TypeError, "top_k"),
                           (dict(max_new_tokens=2, top_k=0), ValueError, "top_k=0")]:
        with pytest.raises(exc, match=match):
            model.generate(idx, **kw)
    assert model.generate(idx, 0).tolist() == [[1, 2]]

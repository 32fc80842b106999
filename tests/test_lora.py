"""helpers.lora: identity at start, only LoRA trains, merge == unmerged, errors."""

import pytest
import torch
from torch import nn

from helpers.lora import LoRALinear, apply_lora, lora_layers, merge_lora, unmerge_lora
from helpers.models.gpt import GPT, GPTClassifier, GPTConfig


def _gpt():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=12, block_size=8, n_layer=2, n_head=2, n_embd=16))


def test_lora_linear_starts_as_the_base_layer_and_equals_the_formula():
    torch.manual_seed(0)
    base = nn.Linear(6, 4)
    lora = LoRALinear(base, rank=2, alpha=4.0)
    x = torch.randn(3, 5, 6)
    torch.testing.assert_close(lora(x), base(x))
    with torch.no_grad():
        lora.lora_B.normal_()
    expected = x @ base.weight.T + base.bias + 2.0 * (x @ lora.lora_A.T @ lora.lora_B.T)
    torch.testing.assert_close(lora(x), expected)
    assert lora.delta_weight().shape == (4, 6)
    assert torch.linalg.matrix_rank(lora.delta_weight()) <= 2
    assert "rank=2" in repr(lora)


def test_merge_and_unmerge_give_the_same_outputs():
    torch.manual_seed(0)
    lora = LoRALinear(nn.Linear(6, 4), rank=3, alpha=6.0, dropout=0.5).eval()
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(7, 6)
    before = lora(x)
    w0 = lora.base.weight.clone()
    lora.merge()
    torch.testing.assert_close(lora(x), before, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(lora.base(x), before, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="already merged"):
        lora.merge()
    lora.unmerge()
    torch.testing.assert_close(lora.base.weight, w0, rtol=0, atol=1e-6)
    torch.testing.assert_close(lora(x), before, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="not merged"):
        lora.unmerge()


def test_apply_lora_freezes_everything_else_and_only_lora_changes():
    model = _gpt()
    idx = torch.randint(0, 12, (2, 8))
    before = model(idx)[0].detach()
    frozen = {n: p.detach().clone() for n, p in model.named_parameters()}
    replaced = apply_lora(model, ["c_attn"], rank=2, alpha=4)
    assert replaced == ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]
    torch.testing.assert_close(model(idx)[0], before)                    # identity change at start
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"transformer.h.{i}.attn.c_attn.lora_{m}" for i in range(2) for m in "AB"}
    assert sum(model.get_parameter(n).numel() for n in trainable) == 2 * 2 * (16 + 48)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        _, loss = model(idx, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for n, p in model.named_parameters():
        key = n.replace(".base.", ".")
        if "lora_" not in n:
            assert torch.equal(p, frozen[key]), n
    assert not torch.allclose(model(idx)[0], before)
    after = model(idx)[0].detach()
    merge_lora(model)
    torch.testing.assert_close(model(idx)[0], after, rtol=1e-5, atol=1e-5)
    unmerge_lora(model)
    assert len(lora_layers(model)) == 2


def test_apply_lora_keeps_a_classification_head_trainable():
    clf = GPTClassifier(_gpt(), num_classes=2, pad_id=0)
    apply_lora(clf, "c_attn", rank=1, trainable=["head"])
    trainable = {n for n, p in clf.named_parameters() if p.requires_grad}
    assert {"head.weight", "head.bias"} <= trainable
    assert all("lora_" in n or n.startswith("head.") for n in trainable)


def test_apply_lora_errors():
    with pytest.raises(ValueError, match="no nn.Linear named \\['q_proj'\\].*c_attn"):
        apply_lora(_gpt(), ["q_proj"])
    with pytest.raises(ValueError, match="tied weights"):
        apply_lora(_gpt(), ["lm_head"])
    with pytest.raises(ValueError, match="trainable='nope'"):
        apply_lora(_gpt(), ["c_attn"], trainable=["nope"])
    with pytest.raises(ValueError, match="rank=0"):
        LoRALinear(nn.Linear(4, 4), rank=0)
    with pytest.raises(ValueError, match="exceeds"):
        LoRALinear(nn.Linear(4, 2), rank=3)
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(2, 2, 1))


# --- issue 22: bad input -------------------------------------------------------------------------

def _snapshot(model):
    return ([n for n, _ in model.named_modules()], {n: p.requires_grad for n, p in model.named_parameters()})


def test_a_partly_wrong_target_list_changes_nothing():
    """Item 5: a misspelt target used to raise after freezing the model or inserting adapters."""
    model = _gpt()
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"no nn.Linear named \['c_atn'\].*its linear layers.*c_attn"):
        apply_lora(model, ["c_attn", "c_atn"], rank=2)
    assert _snapshot(model) == before and not lora_layers(model)
    with pytest.raises(ValueError, match="tied"):
        apply_lora(model, ["c_attn", "lm_head"], rank=2)
    assert _snapshot(model) == before
    with pytest.raises(ValueError, match="trainable='nope'"):
        apply_lora(model, ["c_attn"], rank=2, trainable=["nope"])
    assert _snapshot(model) == before


def test_a_second_apply_lora_says_the_model_already_has_adapters():
    model = _gpt()
    apply_lora(model, ["c_attn"], rank=2)
    before = _snapshot(model)
    with pytest.raises(ValueError, match="already has LoRA adapters.*c_attn"):
        apply_lora(model, ["c_attn"], rank=2)
    assert _snapshot(model) == before


def test_lora_hyper_parameters_are_checked():
    with pytest.raises(ValueError, match="dropout=-0.1"):
        LoRALinear(nn.Linear(4, 4), rank=2, dropout=-0.1)
    with pytest.raises(ValueError, match="alpha=nan"):
        LoRALinear(nn.Linear(4, 4), rank=2, alpha=float("nan"))
    with pytest.raises(TypeError, match="rank"):
        LoRALinear(nn.Linear(4, 4), rank=True)
    model = _gpt()
    before = _snapshot(model)
    for kw, exc in [(dict(dropout=1.0), ValueError), (dict(alpha=float("inf")), ValueError),
                    (dict(rank=0), ValueError), (dict(rank=100), ValueError)]:
        with pytest.raises(exc):
            apply_lora(model, ["c_attn"], **kw)
        assert _snapshot(model) == before
    with pytest.raises(TypeError, match="target_names"):
        apply_lora(model, [1], rank=2)
    with pytest.raises(ValueError, match="target_names"):
        apply_lora(model, [], rank=2)
    with pytest.raises(TypeError, match="model"):
        apply_lora("gpt", ["c_attn"])

"""helpers.lm: n-gram baselines against hand-computed cases; the GPT training loop."""

import math

import pytest
import torch
from torch import nn

from helpers.lm import (BigramLM, LMHistory, UnigramLM, configure_optimizer, cosine_lr, evaluate_lm,
                        fixed_windows, train_lm)
from helpers.models.gpt import GPT, GPTConfig


def test_unigram_hand_computed():
    lm = UnigramLM(vocab_size=3, k=1.0).fit([0, 0, 1])
    # counts + 1 = [3, 2, 1], total 6
    torch.testing.assert_close(lm.log_probs().exp(), torch.tensor([3 / 6, 2 / 6, 1 / 6], dtype=torch.float64))
    assert lm.cross_entropy([0, 2]) == pytest.approx(-(math.log(3 / 6) + math.log(1 / 6)) / 2)


def test_bigram_hand_computed():
    # pairs of [0, 1, 0, 1, 1]: (0,1) x2, (1,0) x1, (1,1) x1; V = 2, k = 0.5
    lm = BigramLM(vocab_size=2, k=0.5).fit([0, 1, 0, 1, 1])
    p = {(0, 0): (0 + 0.5) / (2 + 1), (0, 1): (2 + 0.5) / (2 + 1),
         (1, 0): (1 + 0.5) / (2 + 1), (1, 1): (1 + 0.5) / (2 + 1)}
    for (a, b), expected in p.items():
        assert lm.log_prob(torch.tensor([a]), torch.tensor([b])).exp().item() == pytest.approx(expected)
    held_out = [1, 1, 0, 0]
    ce = -(math.log(p[1, 1]) + math.log(p[1, 0]) + math.log(p[0, 0])) / 3
    assert lm.cross_entropy(held_out) == pytest.approx(ce)
    torch.testing.assert_close(lm.next_probs(0), torch.tensor([p[0, 0], p[0, 1]], dtype=torch.float64))


def test_bigram_matches_a_dense_count_table():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 7, (500,), generator=g)
    counts = torch.zeros(7, 7, dtype=torch.float64)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    probs = (counts + 0.1) / (counts + 0.1).sum(1, keepdim=True)
    test = torch.randint(0, 7, (200,), generator=g)
    expected = -probs[test[:-1], test[1:]].log().mean().item()
    assert BigramLM(7, k=0.1).fit(ids).cross_entropy(test) == pytest.approx(expected)


def test_baseline_errors():
    with pytest.raises(ValueError, match="k=0"):
        BigramLM(3, k=0)
    with pytest.raises(ValueError, match="k=-1"):
        UnigramLM(3, k=-1)
    with pytest.raises(RuntimeError, match="fit"):
        BigramLM(3).cross_entropy([0, 1])
    with pytest.raises(RuntimeError, match="fit"):
        UnigramLM(3).log_probs()
    with pytest.raises(ValueError, match="two tokens"):
        BigramLM(3).fit([1])
    with pytest.raises(ValueError, match="1-D"):
        UnigramLM(3).fit(torch.zeros(2, 2, dtype=torch.long))


def test_cosine_schedule():
    kw = dict(lr=1.0, warmup=10, max_iters=110, min_lr=0.1)
    assert cosine_lr(0, **kw) == pytest.approx(0.1)
    assert cosine_lr(9, **kw) == pytest.approx(1.0)
    assert cosine_lr(10, **kw) == pytest.approx(1.0)
    assert cosine_lr(60, **kw) == pytest.approx(0.55)
    assert cosine_lr(110, **kw) == pytest.approx(0.1)
    assert cosine_lr(500, **kw) == pytest.approx(0.1)
    lrs = [cosine_lr(i, **kw) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_weight_decay_groups():
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8))
    opt = configure_optimizer(model, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in decay_ids}
    assert names == {"transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
                     "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_proj.weight"}
    n_total = sum(len(g["params"]) for g in opt.param_groups)
    assert n_total == len(list(model.parameters()))          # tied matrix once, nothing lost
    model.transformer.wte.weight.requires_grad_(False)
    assert sum(len(g["params"]) for g in configure_optimizer(model, 1e-3).param_groups) == n_total - 1


def test_embedding_lr_scale_gets_its_own_group_and_schedule():
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8, tie_weights=False))
    opt = configure_optimizer(model, lr=1e-3, weight_decay=0.1, embedding_lr_scale=5.0)
    decay, no_decay, emb = opt.param_groups
    emb_names = {n for n, p in model.named_parameters() if any(p is q for q in emb["params"])}
    assert emb_names == {"transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight"}
    assert emb["weight_decay"] == 0.0 and emb["lr"] == pytest.approx(5e-3) and decay["lr"] == pytest.approx(1e-3)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    # scale 1: the untied head is not decayed either, and there are two groups as before
    decay, no_decay = configure_optimizer(model, lr=1e-3).param_groups
    assert not any(p is model.lm_head.weight for p in decay["params"])
    with pytest.raises(ValueError, match="embedding_lr_scale"):
        configure_optimizer(model, lr=1e-3, embedding_lr_scale=0)


def test_train_lm_applies_the_embedding_lr_scale():
    # One step of AdamW moves every parameter by about lr (the first step is lr * sign(g)),
    # so the embedding rows that were used move by about 3x as much as the other weights.
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, n_embd=8, tie_weights=False)
    model = GPT(cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    hist = train_lm(model, torch.arange(200) % 12, torch.arange(100) % 12, max_iters=1, batch_size=4, lr=1e-2,
                    warmup=0, weight_decay=0.0, grad_clip=None, embedding_lr_scale=3.0, verbose=False)
    step = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}
    assert step["lm_head.weight"] == pytest.approx(3e-2, rel=1e-3)
    assert step["transformer.h.0.mlp.c_fc.weight"] == pytest.approx(1e-2, rel=1e-3)
    assert hist["lr"][-1] == pytest.approx(1e-2)


def test_fixed_windows_are_contiguous_and_shifted():
    x, y = fixed_windows(torch.arange(50), block_size=8, max_windows=4)
    assert x.shape == (4, 8) and torch.equal(x[1], torch.arange(8, 16)) and torch.equal(y, x + 1)
    assert fixed_windows(torch.arange(20), 8, 10)[0].shape == (2, 8)
    with pytest.raises(ValueError, match="need more than block_size"):
        fixed_windows(torch.arange(8), 8, 1)


def _data():
    # a deterministic "language": the sequence 0 1 2 ... 9 0 1 2 ... repeated
    return torch.arange(2000) % 10


def test_train_lm_learns_a_deterministic_sequence(capsys):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16))
    data = _data()
    hist = train_lm(model, data[:1500], data[1500:], max_iters=60, batch_size=8, lr=1e-2, warmup=5,
                    eval_interval=20, eval_windows=8, progress=False)
    assert isinstance(hist, LMHistory)
    assert hist["iter"] == [20, 40, 60] and len(hist["val_loss"]) == 3
    assert hist["val_loss"][-1] < 0.3 < math.log(10)
    assert hist.tokens_seen == 60 * 8 * 8 and hist.tokens_per_second > 0
    out = capsys.readouterr().out
    assert "ms per 1,000 tokens" in out and "val_loss" in out
    x, y = fixed_windows(data[1500:], 8, 8)
    assert evaluate_lm(model, x, y) == pytest.approx(hist["val_loss"][-1])
    fig = hist.plot()
    assert fig.axes[0].get_xlabel().startswith("迭代")


def test_train_lm_is_reproducible_and_quiet():
    data = _data()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
        runs.append(train_lm(model, data[:1500], data[1500:], max_iters=5, batch_size=4, lr=1e-3, warmup=0,
                             seed=3, verbose=False, grad_clip=None)["val_loss"])
    assert runs[0] == runs[1]


def test_train_lm_progress_bar(capsys):
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
    train_lm(model, _data(), _data(), max_iters=3, batch_size=2, lr=1e-3, warmup=1, progress=True)
    assert "trained 3 iters" in capsys.readouterr().out


def test_train_lm_errors():
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
    data = _data()
    with pytest.raises(ValueError, match="max_iters=0"):
        train_lm(model, data, data, max_iters=0, batch_size=2, lr=1e-3)
    with pytest.raises(ValueError, match="warmup=5"):
        train_lm(model, data, data, max_iters=3, batch_size=2, lr=1e-3, warmup=5)
    with pytest.raises(ValueError, match="amp=True"):
        train_lm(model, data, data, max_iters=3, batch_size=2, lr=1e-3, warmup=1, amp=True)
    with pytest.raises(FloatingPointError, match="lower lr"):
        bad = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
        with torch.no_grad():
            bad.transformer.wte.weight.fill_(float("nan"))
        train_lm(bad, data, data, max_iters=2, batch_size=2, lr=1e-3, warmup=1, verbose=False)


def test_train_lm_works_for_any_next_token_model():
    class Bigram(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Embedding(10, 10)

        def forward(self, idx, targets=None):
            logits = self.table(idx)
            loss = None if targets is None else nn.functional.cross_entropy(logits.view(-1, 10), targets.view(-1))
            return logits, loss

    hist = train_lm(Bigram(), _data(), _data(), max_iters=40, batch_size=4, lr=0.1, warmup=2,
                    block_size=8, verbose=False)
    assert hist["val_loss"][-1] < 1.0


# --- issue 22: bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [UnigramLM, BigramLM])
def test_count_models_refuse_ids_outside_the_vocabulary(cls):
    """Item 2: id 3 with vocab_size=3 used to be counted (bigram probabilities summed to 2)."""
    with pytest.raises(ValueError, match=r"id 3, outside the vocabulary \[0, 3\)"):
        cls(3).fit([0, 1, 2, 3, 1])
    with pytest.raises(ValueError, match="id -1"):
        cls(3).fit([0, 1, -1, 2])
    model = cls(3).fit([0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match="id 5"):
        model.cross_entropy([0, 5, 1])


def test_bigram_probabilities_sum_to_one_for_every_context():
    model = BigramLM(4, k=0.5).fit([0, 1, 2, 3, 1, 1, 0, 2])
    for prev in range(4):
        assert float(model.next_probs(prev).sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="prev"):
        model.next_probs(4)


@pytest.mark.parametrize("cls", [UnigramLM, BigramLM])
def test_count_models_refuse_float_empty_and_nan(cls):
    with pytest.raises(TypeError, match="integers"):
        cls(3).fit([0.0, 1.7, 2.0])
    with pytest.raises(ValueError, match="empty"):
        cls(3).fit([])
    with pytest.raises(ValueError, match="k=nan"):
        cls(3, k=float("nan"))
    with pytest.raises(TypeError, match="vocab_size"):
        cls(3.0)
    with pytest.raises(ValueError, match="vocab_size"):
        cls(0)
    model = cls(3).fit([0, 1, 2, 1])
    with pytest.raises(ValueError, match="empty|at least"):
        model.cross_entropy([])
    with pytest.raises(TypeError, match="integers"):
        model.cross_entropy([0.0, 1.0])


def test_train_lm_names_bad_sizes_before_training():
    """Item 8: batch_size=0 blamed the learning rate, eval_windows=0 the data, eval_interval<0 ran every step."""
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = torch.arange(200) % 10
    kw = dict(max_iters=3, batch_size=2, lr=1e-3, warmup=0, verbose=False)
    for bad, match in [(dict(batch_size=0), "batch_size=0 must be >= 1"),
                       (dict(eval_windows=0), "eval_windows=0 must be >= 1"),
                       (dict(eval_interval=-1), "eval_interval=-1 must be >= 1"),
                       (dict(lr=float("nan")), "lr=nan"),
                       (dict(block_size=5), "block_size=5 .*model.*4"),
                       (dict(grad_clip=0.0), "grad_clip")]:
        with pytest.raises(ValueError, match=match):
            train_lm(model, data, data, **{**kw, **bad})
    with pytest.raises(TypeError, match="max_iters"):
        train_lm(model, data, data, **{**kw, "max_iters": 2.0})
    with pytest.raises(TypeError, match="train_data.*integers"):
        train_lm(model, data.float(), data, **kw)
    with pytest.raises(ValueError, match="val_data holds the id 12"):
        train_lm(model, data, data + 3, **kw)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_windows_and_schedule_name_bad_arguments():
    with pytest.raises(ValueError, match="block_size"):
        fixed_windows(torch.arange(10), 0, 2)
    with pytest.raises(ValueError, match="max_windows"):
        fixed_windows(torch.arange(10), 2, 0)
    with pytest.raises(ValueError, match="warmup"):
        cosine_lr(0, lr=1.0, warmup=-1, max_iters=10, min_lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        configure_optimizer(nn.Linear(2, 2), lr=-1.0)
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8))
    x, y = fixed_windows(torch.arange(20) % 10, 4, 2)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_lm(model, x, y, batch_size=0)
    with pytest.raises(ValueError, match="x and y"):
        evaluate_lm(model, x, y[:1])

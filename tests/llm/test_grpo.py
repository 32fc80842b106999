"""helpers.llm.grpo: advantages, clipping and KL against hand computations; a verifiable reward is learned."""

import copy
import math

import pytest
import torch

from helpers.llm.chat import IM_END, decode_reply, prompt_ids
from helpers.llm.dpo import token_logprobs
from helpers.llm.grpo import (group_advantages, grpo_loss, grpo_step, sample_group, sample_replies,
                              shared_prompt_logprobs)
from helpers.llm.sft import IGNORE, sft_examples, train_sft

from .test_sft import TOK, tiny_llama


def test_advantages_are_standardised_within_each_group():
    adv = group_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 3.0]]))
    assert adv[0].tolist() == pytest.approx([1, -1, -1, 1], abs=1e-3)
    assert adv[1].tolist() == [0, 0, 0, 0]                     # no signal in a group that agrees
    std = math.sqrt(((0 - 0.75) ** 2 * 3 + (3 - 0.75) ** 2) / 4)
    assert adv[2].tolist() == pytest.approx([-0.75 / std] * 3 + [2.25 / std], abs=1e-3)


def test_loss_clipping_and_kl_equal_hand_computations():
    A = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    old = torch.log(torch.tensor([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]))
    ratios = torch.tensor([[1.5, 1.0, 9.0], [0.5, 1.0, 1.1]])
    logp = (old + torch.log(ratios)).requires_grad_(True)
    loss, kl = grpo_loss(logp, old, logp.detach(), A, mask, clip_eps=0.2, beta=0.0)
    # reply 0 (A=+1): min(1.5, 1.2)=1.2 and 1.0 -> mean 1.1; reply 1 (A=-1): min(-0.5, -0.8)=-0.8, -1, -1.1
    expected = -((1.2 + 1.0) / 2 + (-0.8 - 1.0 - 1.1) / 3) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert kl.item() == pytest.approx(0.0, abs=1e-7)            # reference = policy
    loss.backward()
    g = logp.grad
    assert g[0, 0] == 0 and g[1, 0] == 0 and g[0, 2] == 0       # clipped tokens and the masked one: no gradient
    assert g[0, 1].item() == pytest.approx(-1.0 * 1.0 / 2 / 2)   # d(-ratio*A)/dlogp / tokens / replies
    assert g[1, 2].item() == pytest.approx(1.1 / 3 / 2)
    ref = torch.log(torch.tensor([[0.25, 0.5, 0.5], [0.5, 0.5, 0.5]]))
    _, kl = grpo_loss(old, old, ref, A, torch.ones(2, 3, dtype=torch.bool), beta=0.1)
    q = math.log(0.5)                                           # log(pi_ref / pi) of the one differing token
    assert kl.item() == pytest.approx((math.exp(q) - q - 1) / 6, abs=1e-6)


def test_sample_group_targets_only_the_reply_up_to_its_end_marker():
    model = tiny_llama(seed=1)
    x, y, replies = sample_group(model, TOK, "一加一", group_size=4, max_new_tokens=6,
                                 generator=torch.Generator().manual_seed(0))
    end = TOK.special_tokens[IM_END]
    for g in range(4):
        kept = [t for t in y[g].tolist() if t != IGNORE]
        assert kept and TOK.decode([t for t in kept if t != end]) == replies[g]
        assert end not in kept[:-1]                            # nothing after the first <|im_end|>
    with torch.no_grad():
        assert (token_logprobs(model, x, y)[y == IGNORE] == 0).all()


def test_sample_replies_equals_generate_on_the_repeated_prompt():
    model = tiny_llama(seed=1)
    prompts = ["一加一", "天空是什么颜色", "二加二"]            # two prompt lengths: two prefills
    got = sample_replies(model, TOK, prompts, n=3, max_new_tokens=5, generator=torch.Generator().manual_seed(0))
    assert [len(r) for r in got] == [3, 3, 3]
    # the same draws as generate() on each length group with every prompt repeated n times, in order
    gen = torch.Generator().manual_seed(0)
    by_length = {}
    for i, p in enumerate(prompts):
        by_length.setdefault(len(prompt_ids(TOK, p)), []).append(i)
    end = TOK.special_tokens[IM_END]
    for length, rows in sorted(by_length.items()):
        idx = torch.tensor([prompt_ids(TOK, prompts[i]) for i in rows for _ in range(3)])
        out = model.generate(idx, 5, temperature=1.0, generator=gen, stop_tokens=(end,))
        for r, i in enumerate(rows):
            assert got[i] == [decode_reply(TOK, out[r * 3 + j, length:].tolist()) for j in range(3)]


def test_shared_prompt_logprobs_equal_token_logprobs_and_their_gradients():
    model = tiny_llama(seed=2)
    x, y, _ = sample_group(model, TOK, "天空是什么颜色", group_size=4, max_new_tokens=5,
                           generator=torch.Generator().manual_seed(1))
    params = [p for p in model.parameters()]
    full = token_logprobs(model, x, y)
    shared = shared_prompt_logprobs(model, x, y)
    assert torch.allclose(full, shared, atol=1e-5) and (shared[y == IGNORE] == 0).all()
    g_full = torch.autograd.grad(full.sum(), params)
    g_shared = torch.autograd.grad(shared.sum(), params)
    for a, b in zip(g_full, g_shared):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-3)
    # rows that do not share their prompt: computed row by row, the same numbers
    x2, y2, _ = sample_group(model, TOK, "一加一", group_size=4, max_new_tokens=5, generator=torch.Generator().manual_seed(2))
    T = min(x.shape[1], x2.shape[1])
    mixed_x, mixed_y = torch.cat([x[:2, :T], x2[:2, :T]]), torch.cat([y[:2, :T], y2[:2, :T]])
    assert torch.allclose(shared_prompt_logprobs(model, mixed_x, mixed_y), token_logprobs(model, mixed_x, mixed_y))


def test_grpo_learns_a_verifiable_reward():
    prompts = ["一加一", "二加二"]
    # an SFT model that answers 是 or 否 about half of the time each
    convs = [[{"role": "user", "content": p}, {"role": "assistant", "content": a}] for p in prompts for a in "是否"]
    policy = tiny_llama(seed=0)
    train_sft(policy, sft_examples(TOK, convs, max_len=48), steps=60, batch_size=4, lr=1e-2,
              generator=torch.Generator().manual_seed(0))
    reference = copy.deepcopy(policy)
    opt = torch.optim.AdamW(policy.parameters(), lr=2e-3, weight_decay=0.0)   # 2e-2 collapses the policy
    gen = torch.Generator().manual_seed(0)
    reward = lambda prompt, reply: float(reply == "是")          # noqa: E731
    stats = [grpo_step(policy, reference, TOK, prompts, reward, opt, group_size=8, max_new_tokens=4,
                       generator=gen) for _ in range(12)]
    assert 0.2 < stats[0]["reward"] < 0.8 and stats[0]["informative"] == 1.0
    assert sum(s["reward"] for s in stats[-4:]) / 4 > 0.85
    assert stats[-1]["kl"] > 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="G >= 2"):
        group_advantages(torch.ones(3, 1))
    with pytest.raises(TypeError, match="rewards"):
        group_advantages([[1.0, 0.0]])
    z = torch.zeros(2, 3)
    m = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="clip_eps=1.5"):
        grpo_loss(z, z, z, torch.zeros(2), m, clip_eps=1.5)
    with pytest.raises(ValueError, match="ref_logp must have the shape"):
        grpo_loss(z, z, torch.zeros(2, 4), torch.zeros(2), m)
    with pytest.raises(ValueError, match="advantages must be"):
        grpo_loss(z, z, z, torch.zeros(3), m)
    with pytest.raises(ValueError, match="no token in mask"):
        grpo_loss(z, z, z, torch.zeros(2), torch.zeros(2, 3, dtype=torch.bool))
    model = tiny_llama()
    with pytest.raises(ValueError, match="group_size=1"):
        sample_group(model, TOK, "一加一", group_size=1, max_new_tokens=4)
    with pytest.raises(ValueError, match="no room left"):
        sample_group(tiny_llama(max_seq_len=8), TOK, "天空是什么颜色", group_size=2, max_new_tokens=4)
    with pytest.raises(ValueError, match="n=0"):
        sample_replies(model, TOK, ["一加一"], n=0)
    with pytest.raises(ValueError, match="non-empty list of strings"):
        sample_replies(model, TOK, "一加一", n=2)
    with pytest.raises(ValueError, match="no room left"):
        sample_replies(tiny_llama(max_seq_len=8), TOK, ["天空是什么颜色"], n=2)
    with pytest.raises(ValueError, match="must both be"):
        shared_prompt_logprobs(model, torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="generator"):
        sample_replies(model, TOK, ["一加一"], n=2, generator=0)
    with pytest.raises(ValueError, match="no room left"):
        grpo_step(tiny_llama(max_seq_len=8), tiny_llama(max_seq_len=8), TOK, ["天空是什么颜色"], lambda p, r: 0.0,
                  torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="no reply to score"):
        shared_prompt_logprobs(model, torch.zeros(2, 3, dtype=torch.long), torch.full((2, 3), IGNORE))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="reference is the policy itself"):
        grpo_step(model, model, TOK, ["一加一"], lambda p, r: 0.0, opt)
    with pytest.raises(TypeError, match="reward_fn must be callable"):
        grpo_step(model, copy.deepcopy(model), TOK, ["一加一"], 1.0, opt)
    with pytest.raises(ValueError, match="non-empty list of strings"):
        grpo_step(model, copy.deepcopy(model), TOK, "一加一", lambda p, r: 0.0, opt)
    # arguments only used after sampling are checked before anything runs: no gradient, no step
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    calls = []
    for bad in (dict(clip_eps=0.0), dict(beta=-1.0), dict(max_new_tokens=0), dict(group_size=1)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            grpo_step(model, copy.deepcopy(model), TOK, ["一加一"], lambda p, r: calls.append(r) or 1.0, opt, **bad)
    with pytest.raises(TypeError, match="optimizer"):
        grpo_step(model, copy.deepcopy(model), TOK, ["一加一"], lambda p, r: 1.0, "adam")
    assert not calls and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())

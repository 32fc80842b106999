"""helpers.llm.dpo: the loss against a hand computation, log-probabilities by hand, training moves preferences."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.llm.dpo import dpo_loss, preference_batch, sequence_logprobs, token_logprobs, train_dpo
from helpers.llm.sft import IGNORE

from .test_sft import TOK, tiny_llama

ASK = [{"role": "user", "content": "一加一"}]
PAIRS = [(ASK, "二", "三"), ([{"role": "user", "content": "二加二"}], "四", "五"),
         ([{"role": "user", "content": "天空是什么颜色"}], "蓝色", "绿色")]


def test_loss_and_gradient_equal_a_hand_computation():
    pc = torch.tensor([-1.0, -4.0], requires_grad=True)
    pr = torch.tensor([-2.0, -3.0], requires_grad=True)
    rc, rr = torch.tensor([-1.5, -4.0]), torch.tensor([-1.5, -3.0])
    loss, chosen, rejected = dpo_loss(pc, pr, rc, rr, beta=0.1)
    # pair 0: margin = 0.1 * ((-1 + 1.5) - (-2 + 1.5)) = 0.1; pair 1: margin 0
    expected = (math.log1p(math.exp(-0.1)) + math.log(2)) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert chosen.tolist() == pytest.approx([0.05, 0.0]) and rejected.tolist() == pytest.approx([-0.05, 0.0])
    loss.backward()
    sig = 1 / (1 + math.exp(0.1))                      # sigma(-margin) of pair 0
    assert pc.grad.tolist() == pytest.approx([-0.1 * sig / 2, -0.1 * 0.5 / 2], abs=1e-7)
    assert pr.grad.tolist() == pytest.approx([0.1 * sig / 2, 0.1 * 0.5 / 2], abs=1e-7)


def test_sequence_logprobs_sum_the_reply_tokens_by_hand():
    model = tiny_llama().eval()
    x_w, y_w, x_l, y_l = preference_batch(TOK, PAIRS, max_len=48)
    with torch.no_grad():
        got = sequence_logprobs(model, x_w, y_w)
        for b in range(len(PAIRS)):
            logp = F.log_softmax(model(x_w[b:b + 1])[0][0].double(), dim=-1)
            ref = sum(logp[t, y_w[b, t]].item() for t in range(y_w.shape[1]) if y_w[b, t] != IGNORE)
            assert got[b].item() == pytest.approx(ref, rel=1e-5)


def test_training_prefers_the_chosen_replies_and_leaves_the_reference_alone():
    policy = tiny_llama()
    reference = copy.deepcopy(policy)
    before = {n: p.clone() for n, p in reference.state_dict().items()}
    x_w, y_w, x_l, y_l = preference_batch(TOK, PAIRS, max_len=48)
    with torch.no_grad():
        start = sequence_logprobs(policy, x_w, y_w) - sequence_logprobs(policy, x_l, y_l)
    history = train_dpo(policy, reference, TOK, PAIRS, steps=40, batch_size=3, lr=5e-3, beta=0.5,
                        generator=torch.Generator().manual_seed(0))
    assert history["loss"][0] == pytest.approx(math.log(2), abs=1e-6)   # policy = reference: margin 0
    assert history["loss"][-1] < 0.1 and history["accuracy"][-1] == 1.0
    with torch.no_grad():
        end = sequence_logprobs(policy, x_w, y_w) - sequence_logprobs(policy, x_l, y_l)
    assert (end > start + 1).all()
    assert all(torch.equal(p, before[n]) for n, p in reference.state_dict().items())


def test_bad_input_is_refused():
    v = torch.zeros(2)
    with pytest.raises(ValueError, match="beta=0.0"):
        dpo_loss(v, v, v, v, beta=0)
    with pytest.raises(ValueError, match="ref_rejected must be a"):
        dpo_loss(v, v, v, torch.zeros(3))
    with pytest.raises(TypeError, match="policy_rejected"):
        dpo_loss(v, [0.0, 0.0], v, v)
    with pytest.raises(TypeError, match="y is a list; pass a \\(B, T\\) tensor"):
        token_logprobs(tiny_llama(), torch.zeros(1, 3, dtype=torch.long), [[0, 0, 0]])
    with pytest.raises(ValueError, match="x and y must both be"):
        sequence_logprobs(tiny_llama(), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="the chosen and rejected replies are the same"):
        preference_batch(TOK, [(ASK, "二", "二")], max_len=48)
    with pytest.raises(ValueError, match=r"pairs\[0\] must be"):
        preference_batch(TOK, [(ASK, "二")], max_len=48)
    with pytest.raises(ValueError, match="more than max_len=4"):
        preference_batch(TOK, PAIRS, max_len=4)
    model = tiny_llama()
    with pytest.raises(ValueError, match="reference is the policy itself"):
        train_dpo(model, model, TOK, PAIRS, steps=1, batch_size=1, lr=1e-3)
    with pytest.raises(ValueError, match="steps=0"):
        train_dpo(model, None, TOK, PAIRS, steps=0, batch_size=1, lr=1e-3)

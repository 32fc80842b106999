"""helpers.llm.sft: the loss sees exactly the reply tokens; padding changes nothing; training memorises; bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.llm.bpe import ByteBPE
from helpers.llm.chat import IM_END, encode_chat
from helpers.llm.sft import (IGNORE, collate, generate_replies, reply_tokens, sft_example, sft_examples, sft_loss,
                             train_sft)
from helpers.lora import apply_lora
from helpers.models.llama import Llama, LlamaConfig

QA = [("一加一", "二"), ("二加二", "四"), ("三加三", "六"), ("天空是什么颜色", "蓝色"), ("你是谁", "我是书里的模型")]
TOK = ByteBPE.train([q + a for q, a in QA] * 3, vocab_size=300)
CONVS = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in QA]


def tiny_llama(seed=0, max_seq_len=48):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=TOK.vocab_size, n_embd=32, n_layer=2, n_head=4, n_kv_head=2,
                             max_seq_len=max_seq_len, tie_word_embeddings=True))


def test_targets_are_the_reply_and_its_end_marker_only():
    x, y = sft_example(TOK, CONVS[3], max_len=48)
    ids, mask = encode_chat(TOK, CONVS[3])
    assert x == ids[:-1] and len(y) == len(x)
    assert TOK.decode([t for t in y if t != IGNORE]) == "蓝色" + IM_END
    assert [t != IGNORE for t in y] == mask[1:]
    _, y_all = sft_example(TOK, CONVS[3], max_len=48, train_on_prompt=True)
    assert y_all == ids[1:]
    assert reply_tokens([(x, y)]) == sum(mask)


def test_batch_loss_is_the_mean_nll_of_the_reply_tokens_and_padding_changes_nothing():
    model = tiny_llama().eval()
    examples = sft_examples(TOK, CONVS, max_len=48)
    x, y = collate(examples, pad_id=TOK.special_tokens["<|endoftext|>"])
    assert x.shape[0] == 5 and x.shape == y.shape and (y[x == TOK.special_tokens["<|endoftext|>"]] == IGNORE).all()
    with torch.no_grad():
        _, loss = model(x, y)
        nll, count = 0.0, 0
        for xi, yi in examples:                           # each example alone, no padding, by hand
            logp = F.log_softmax(model(torch.tensor([xi]))[0][0].double(), dim=-1)
            for t, target in enumerate(yi):
                if target != IGNORE:
                    nll -= logp[t, target].item()
                    count += 1
    assert count == reply_tokens(examples)
    assert loss.item() == pytest.approx(nll / count, rel=1e-5)


def test_sft_loss_by_token_and_by_example_on_a_hand_computed_case():
    # two examples: one reply token with p = 1/2, three reply tokens with p = 1/4 (uniform over 4 ids)
    logits = torch.zeros(2, 3, 4)
    logits[0, 0] = torch.tensor([math.log(3.0), 0.0, 0.0, 0.0])          # p(id 0) = 3 / 6 = 1/2
    y = torch.tensor([[0, IGNORE, IGNORE], [1, 2, 3]])
    by_token = (math.log(2) + 3 * math.log(4)) / 4                       # 4 reply tokens, each weighs 1/4
    by_example = (math.log(2) + math.log(4)) / 2                         # each example's mean, then the mean
    assert sft_loss(logits, y, "token").item() == pytest.approx(by_token, rel=1e-6)
    assert sft_loss(logits, y, "example").item() == pytest.approx(by_example, rel=1e-6)
    y_empty_row = torch.tensor([[0, IGNORE, IGNORE], [IGNORE] * 3])      # a row with no reply token is left out
    assert sft_loss(logits, y_empty_row, "example").item() == pytest.approx(math.log(2), rel=1e-6)


def test_sft_loss_by_token_is_the_models_own_loss_and_by_example_weighs_each_example_once():
    model = tiny_llama().eval()
    examples = sft_examples(TOK, CONVS, max_len=48)
    x, y = collate(examples, pad_id=0)
    with torch.no_grad():
        logits, loss = model(x, y)
        assert sft_loss(logits, y, "token").item() == pytest.approx(loss.item(), rel=1e-6)
        means = []
        for xi, yi in examples:                           # each example alone, by hand
            out = F.log_softmax(model(torch.tensor([xi]))[0][0].double(), dim=-1)
            nll = [-out[t, target].item() for t, target in enumerate(yi) if target != IGNORE]
            means.append(sum(nll) / len(nll))
    assert sft_loss(logits, y, "example").item() == pytest.approx(sum(means) / len(means), rel=1e-5)


def test_training_by_example_follows_its_own_loss():
    examples = sft_examples(TOK, CONVS, max_len=48)
    losses, weights = {}, {}
    for average in ("token", "example"):
        model = tiny_llama()
        losses[average] = train_sft(model, examples, steps=3, batch_size=5, lr=1e-2, warmup=1, average=average,
                                    generator=torch.Generator().manual_seed(0))
        weights[average] = model.layers[0].attn.q_proj.weight.detach().clone()
    first = tiny_llama().eval()
    x, y = collate(examples, pad_id=0)                     # batch_size = all 5 examples: the first batch
    with torch.no_grad():
        logits = first(x)[0]
    assert losses["example"][0] == pytest.approx(sft_loss(logits, y, "example").item(), rel=1e-5)
    assert losses["token"][0] == pytest.approx(sft_loss(logits, y, "token").item(), rel=1e-5)
    assert not torch.allclose(weights["example"], weights["token"])   # different weights, different gradients


def test_training_memorises_the_replies_deterministically():
    examples = sft_examples(TOK, CONVS, max_len=48)
    runs = []
    for _ in range(2):
        model = tiny_llama()
        losses = train_sft(model, examples, steps=120, batch_size=5, lr=1e-2, warmup=5,
                           generator=torch.Generator().manual_seed(0))
        runs.append(losses)
    assert runs[0] == runs[1]
    assert losses[-1] < 0.05 < losses[0]
    replies = generate_replies(model, TOK, [q for q, _ in QA], max_new_tokens=12)
    assert replies == [a for _, a in QA]
    assert model.training                                 # train_sft and generate restore the mode


def test_batched_replies_equal_one_at_a_time():
    model = tiny_llama(seed=3)
    prompts = ["一加一", "二加二", "你是谁", "天空是什么颜色"]           # two prompts of equal length share a batch
    together = generate_replies(model, TOK, prompts, max_new_tokens=6)
    alone = [generate_replies(model, TOK, [p], max_new_tokens=6)[0] for p in prompts]
    assert together == alone


def test_lora_sft_trains_only_the_adapters():
    model = tiny_llama()
    apply_lora(model, ["q_proj", "v_proj"], rank=4, alpha=8)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    losses = train_sft(model, sft_examples(TOK, CONVS, max_len=48), steps=30, batch_size=5, lr=1e-2,
                       generator=torch.Generator().manual_seed(0))
    assert losses[-1] < losses[0]
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)


def test_bad_input_is_refused_before_training():
    with pytest.raises(ValueError, match="more than max_len=5"):
        sft_example(TOK, CONVS[0], max_len=5)
    with pytest.raises(ValueError, match="conversations\\[1\\].*no assistant message"):
        sft_examples(TOK, [CONVS[0], CONVS[0][:1]], max_len=48)
    with pytest.raises(ValueError, match="non-empty list"):
        sft_examples(TOK, [], max_len=48)
    with pytest.raises(ValueError, match="x has 2 ids but y has 1"):
        collate([([1, 2], [3])], pad_id=0)
    with pytest.raises(ValueError, match="examples is empty"):
        collate([], pad_id=0)
    with pytest.raises(ValueError, match=r"examples\[0\] must be an \(x, y\) pair"):
        reply_tokens([([1, 2], [3])])
    model = tiny_llama()
    before = {n: p.detach().clone() for n, p in model.state_dict().items()}
    examples = sft_examples(TOK, CONVS, max_len=48)
    with pytest.raises(ValueError, match="steps=0"):
        train_sft(model, examples, steps=0, batch_size=2, lr=1e-3)
    with pytest.raises(ValueError, match="lr=-1.0"):
        train_sft(model, examples, steps=1, batch_size=2, lr=-1)
    with pytest.raises(TypeError, match="generator"):
        train_sft(model, examples, steps=1, batch_size=2, lr=1e-3, generator=0)
    with pytest.raises(ValueError, match="examples is empty"):
        train_sft(model, [], steps=1, batch_size=2, lr=1e-3)
    with pytest.raises(ValueError, match="average='sentence' must be 'token'"):
        train_sft(model, examples, steps=1, batch_size=2, lr=1e-3, average="sentence")
    with pytest.raises(ValueError, match="average='mean'"):
        sft_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, dtype=torch.long), "mean")
    with pytest.raises(ValueError, match=r"logits must be \(B, T, V\) and y \(B, T\).*\(1, 2, 3\) and \(1, 3\)"):
        sft_loss(torch.zeros(1, 2, 3), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="no reply token"):
        sft_loss(torch.zeros(1, 2, 3), torch.full((1, 2), IGNORE))
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameter"):
        train_sft(model, examples, steps=1, batch_size=2, lr=1e-3)
    assert all(torch.equal(p, before[n]) for n, p in model.state_dict().items())
    with pytest.raises(ValueError, match="non-empty list of strings, got a str"):
        generate_replies(model, TOK, "一加一")
    with pytest.raises(ValueError, match="non-empty list of strings, got an empty list"):
        generate_replies(model, TOK, [])
    with pytest.raises(ValueError, match="no room left"):
        generate_replies(tiny_llama(max_seq_len=8), TOK, ["天空是什么颜色"])

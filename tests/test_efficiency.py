"""helpers.efficiency: saved-activation bytes vs hand counts, accumulation vs full batch, checkpointing."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import MLP, GPT, GPTConfig
from helpers.efficiency import (accumulate_gradients, accumulated_step, run_blocks, saved_activation_bytes,
                                time_per_call)


def test_saved_bytes_of_linear_relu_match_hand_count():
    torch.manual_seed(0)
    layer = nn.Sequential(nn.Linear(10, 20), nn.ReLU())
    x = torch.randn(8, 10)
    # Linear saves its input (8x10) (and W, a parameter); ReLU saves its output (8x20); float32 = 4 bytes.
    out, n = saved_activation_bytes(layer, x, exclude=layer.parameters())
    assert n == (8 * 10 + 8 * 20) * 4
    assert out.shape == (8, 20)
    _, with_params = saved_activation_bytes(layer, x.requires_grad_())
    assert with_params == n + 10 * 20 * 4   # plus W, needed for dL/dx now that x wants a gradient


def test_saved_bytes_counts_a_storage_once_and_nothing_without_grad():
    w = torch.randn(5, 5, requires_grad=True)
    x = torch.randn(3, 5)
    _, n = saved_activation_bytes(lambda: (x @ w) * (x @ w).detach(), exclude=[w])
    assert n == 3 * 5 * 4 + 3 * 5 * 4   # x (for the matmul) and the detached product (for the mul)
    with torch.no_grad():
        _, zero = saved_activation_bytes(lambda: x @ w)
    assert zero == 0


def _data(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def _grads(model):
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_accumulated_gradients_equal_full_batch_gradients(k):
    torch.manual_seed(0)
    model = MLP(6, [8], 3)
    x, y = _data()
    model.zero_grad()
    full = F.cross_entropy(model(x), y)
    full.backward()
    reference = _grads(model)
    loss = accumulate_gradients(model, F.cross_entropy, x, y, k)   # k=5: unequal sizes 5,5,5,5,4
    assert loss == pytest.approx(full.item(), rel=1e-6)
    for g, r in zip(_grads(model), reference):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


def test_forgetting_to_divide_scales_the_gradient_by_k():
    torch.manual_seed(0)
    model = MLP(6, [8], 3)
    x, y = _data()
    accumulate_gradients(model, F.cross_entropy, x, y, 4)
    right = _grads(model)
    accumulate_gradients(model, F.cross_entropy, x, y, 4, divide=False)
    for g, r in zip(_grads(model), right):
        torch.testing.assert_close(g, 4 * r, rtol=1e-5, atol=1e-6)


def test_accumulated_step_equals_a_large_batch_step():
    x, y = _data()
    models = []
    for k in (1, 4):
        torch.manual_seed(0)
        model = MLP(6, [8], 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        accumulated_step(model, opt, F.cross_entropy, x, y, k)
        models.append(model)
    for a, b in zip(*(m.parameters() for m in models)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k, msg", [(0, "positive int"), (2.0, "positive int"), (True, "positive int"),
                                    (25, "k <= 24")])
def test_bad_k_is_rejected(k, msg):
    x, y = _data()
    with pytest.raises(ValueError, match=msg):
        accumulate_gradients(MLP(6, [8], 3), F.cross_entropy, x, y, k)


def test_mismatched_rows_are_rejected():
    x, y = _data()
    with pytest.raises(ValueError, match="24 rows but y has 23"):
        accumulate_gradients(MLP(6, [8], 3), F.cross_entropy, x, y[:-1], 2)


def test_checkpointed_blocks_give_same_output_and_gradients_with_less_saved_memory():
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=16)
    model = GPT(config)
    h0 = torch.randn(4, 8, 16)
    results = {}
    for ck in (False, True):
        model.zero_grad()
        out, n = saved_activation_bytes(run_blocks, model.transformer.h, h0, checkpointed=ck,
                                        exclude=model.parameters())
        out.pow(2).sum().backward()
        results[ck] = (out.detach(), _grads(model.transformer.h), n)
    torch.testing.assert_close(results[True][0], results[False][0])
    for g, r in zip(results[True][1], results[False][1]):
        torch.testing.assert_close(g, r)
    # checkpointed: only each block's input (4x8x16 float32) is kept
    assert results[True][2] == 3 * 4 * 8 * 16 * 4
    assert results[False][2] > 5 * results[True][2]
    with torch.no_grad():   # no graph: run_blocks skips checkpoint entirely
        torch.testing.assert_close(run_blocks(model.transformer.h, h0, checkpointed=True), results[False][0])


def test_time_per_call_counts_calls_and_rejects_bad_arguments():
    calls = []
    t = time_per_call(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5 and t >= 0.0
    with pytest.raises(ValueError, match="repeat=0"):
        time_per_call(lambda: None, repeat=0)
    with pytest.raises(ValueError, match="warmup=-1"):
        time_per_call(lambda: None, warmup=-1)

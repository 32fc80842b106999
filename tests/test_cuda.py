"""GPU paths of helpers: run where CUDA is present (skipped on CPU-only CI).

Each test compares the CUDA result with the same computation on the CPU.
Run them on a GPU machine with ``python -m pytest tests/test_cuda.py``.
"""

import copy
import math

import pytest
import torch
from torch import nn

import helpers
from helpers import MLP, evaluate, fit, make_loader
from helpers.metrics import accuracy

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def _exact_float32():
    # TF32 matmuls would make CPU and GPU differ by ~1e-3; compare true float32.
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    X = torch.randn(n, 4, generator=g) + y[:, None].float()
    return X, y


def test_setup_picks_cuda_first():
    env = helpers.setup(seed=0, quiet=True)
    assert env.device.type == "cuda"
    assert helpers.get_device("cuda:0") == torch.device("cuda:0")


def test_fit_on_cuda_matches_cpu():
    X, y = _data()
    torch.manual_seed(0)
    cpu_model = MLP(4, [16], 3)
    gpu_model = copy.deepcopy(cpu_model)
    runs = {}
    for name, model, device in [("cpu", cpu_model, "cpu"), ("cuda", gpu_model, "cuda")]:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        runs[name] = fit(model, make_loader(X, y, 32, shuffle=True, seed=1), epochs=5,
                         loss_fn=nn.CrossEntropyLoss(), optimizer=opt, device=device,
                         metrics={"acc": accuracy}, verbose=False)
    assert next(gpu_model.parameters()).device.type == "cuda"
    assert runs["cpu"]["train_loss"] == pytest.approx(runs["cuda"]["train_loss"], rel=1e-4)
    for p, q in zip(cpu_model.parameters(), gpu_model.parameters()):
        torch.testing.assert_close(p, q.cpu(), rtol=1e-4, atol=1e-5)
    res = evaluate(gpu_model, make_loader(X, y, 64), nn.CrossEntropyLoss(), {"acc": accuracy})
    assert res["acc"] == pytest.approx(runs["cuda"]["train_acc"][-1], abs=0.1)


def test_checkpoint_saved_on_cuda_loads_on_cpu(tmp_path):
    torch.manual_seed(0)
    model = MLP(4, [8], 3).cuda()
    helpers.save_checkpoint(tmp_path / "m.pt", model)
    fresh = MLP(4, [8], 3)
    helpers.load_checkpoint(tmp_path / "m.pt", fresh)
    for p, q in zip(model.parameters(), fresh.parameters()):
        assert q.device.type == "cpu"
        torch.testing.assert_close(p.cpu(), q)


def _tiny_gpt(seed=0):
    from helpers.models.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=32, block_size=16, n_layer=2, n_head=2, n_embd=32))


def test_gpt_forward_on_cuda_matches_cpu():
    model = _tiny_gpt()
    idx = torch.randint(0, 32, (3, 16), generator=torch.Generator().manual_seed(1))
    logits_cpu, loss_cpu = model(idx, idx)
    model.cuda()
    logits_gpu, loss_gpu = model(idx.cuda(), idx.cuda())
    torch.testing.assert_close(logits_gpu.cpu(), logits_cpu, rtol=1e-4, atol=1e-4)
    assert loss_gpu.item() == pytest.approx(loss_cpu.item(), rel=1e-5)


def test_kv_cache_generation_on_cuda_gives_the_same_tokens():
    model = _tiny_gpt().cuda()
    start = torch.zeros(2, 1, dtype=torch.long, device="cuda")
    outs = [model.generate(start, 12, temperature=1.0, top_k=10, use_cache=cache,
                           generator=torch.Generator("cuda").manual_seed(3)) for cache in (True, False)]
    assert outs[0].shape == (2, 13)
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("compile_model", [False, True])
def test_train_lm_with_bf16_autocast_on_cuda_learns(compile_model):
    from helpers.lm import train_lm

    text = torch.arange(2000) % 7          # a periodic sequence: easy to learn
    model = _tiny_gpt()
    history = train_lm(model.cuda(), text, text, max_iters=60, batch_size=8, lr=3e-3, warmup=5,
                       amp=True, compile=compile_model, verbose=False)
    losses = history["val_loss"]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0]
    assert history.tokens_per_second > 0

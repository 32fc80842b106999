"""GPU paths of helpers: run where CUDA is present (skipped on CPU-only CI).

Each test compares the CUDA result with the same computation on the CPU.
Run them on a GPU machine with ``python -m pytest tests/test_cuda.py``.
"""

import copy

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

"""helpers.optim: 100 steps of each optimiser equal torch.optim's (float64), and clear errors."""

import copy

import pytest
import torch
from torch import nn

from helpers import optim


def _problem(seed=0):
    """A small float64 regression MLP and a fixed batch."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 5, generator=g, dtype=torch.float64)
    y = torch.randn(32, 1, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    return model, X, y


def _run(model, opt, X, y, steps=100):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.0)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_optim_after_100_steps(name, kwargs):
    model, X, y = _problem()
    reference = copy.deepcopy(model)
    _run(model, getattr(optim, name)(model.parameters(), **kwargs), X, y)
    _run(reference, getattr(torch.optim, name)(reference.parameters(), **kwargs), X, y)
    moved = max((p - q).abs().max().item() for p, q in zip(model.parameters(), _problem()[0].parameters()))
    assert moved > 1e-3  # the parameters really changed
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_every_step_matches_and_defaults_agree():
    for name in ("SGD", "Adam", "AdamW"):
        ours, theirs = getattr(optim, name)([torch.zeros(1)]), getattr(torch.optim, name)([torch.zeros(1)])
        for key in ours.defaults:
            assert ours.defaults[key] == theirs.defaults[key], (name, key)
    model, X, y = _problem(1)
    reference = copy.deepcopy(model)
    opt, ref = optim.Adam(model.parameters(), lr=0.02), torch.optim.Adam(reference.parameters(), lr=0.02)
    for _ in range(20):
        _run(model, opt, X, y, steps=1)
        _run(reference, ref, X, y, steps=1)
        for p, q in zip(model.parameters(), reference.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_param_groups_closure_skipped_params_and_scheduler():
    model, X, y = _problem()
    reference = copy.deepcopy(model)
    frozen = nn.Parameter(torch.ones(3, dtype=torch.float64))       # never gets a gradient
    groups = [{"params": model[0].parameters(), "lr": 0.1}, {"params": [*model[2].parameters(), frozen]}]
    opt = optim.SGD(groups, lr=0.01, momentum=0.5)
    ref = torch.optim.SGD([{"params": reference[0].parameters(), "lr": 0.1},
                           {"params": reference[2].parameters()}], lr=0.01, momentum=0.5)
    sched, ref_sched = (torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5) for o in (opt, ref))

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        return loss

    for _ in range(10):
        loss = opt.step(closure)
        assert isinstance(loss, torch.Tensor)
        _run(reference, ref, X, y, steps=1)
        sched.step()
        ref_sched.step()
    assert torch.equal(frozen, torch.ones(3, dtype=torch.float64))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)
    # Adam also returns the closure's loss
    adam = optim.Adam([*model.parameters(), frozen])
    assert adam.step(lambda: torch.tensor(2.0)).item() == 2.0
    assert frozen not in adam.state


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With a zero gradient Adam's L2 term still moves p by ~lr (sign of p), AdamW's by lr*lambda*p."""
    p1, p2 = (nn.Parameter(torch.full((1,), 2.0, dtype=torch.float64)) for _ in range(2))
    adam, adamw = optim.Adam([p1], lr=0.1, weight_decay=0.01), optim.AdamW([p2], lr=0.1, weight_decay=0.01)
    for p, opt in ((p1, adam), (p2, adamw)):
        p.grad = torch.zeros_like(p)
        opt.step()
    assert p1.item() == pytest.approx(2.0 - 0.1, abs=1e-6)           # normalised: a full lr step
    assert p2.item() == pytest.approx(2.0 * (1 - 0.1 * 0.01))         # only the decay


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr=-0.1"),
    (lambda p: optim.SGD(p, lr="0.1"), "lr='0.1'"),
    (lambda p: optim.SGD(p, lr=float("nan")), "lr=nan"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=1.0), "momentum=1.0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=2), "dampening=2"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay=-1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda p: optim.Adam(p, lr=-1), "lr=-1"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "betas=(0.9, 1.0)"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "two numbers"),
    (lambda p: optim.Adam(p, betas=0.9), "betas=0.9"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps=-1e-08"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay=-0.01"),
])
def test_errors_name_the_bad_value(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        make([torch.zeros(2, requires_grad=True)])

"""helpers.interpret: saliency against finite differences and closed forms."""

import pytest
import torch
from torch import nn

from helpers import MLP, SimpleCNN
from helpers.interpret import gradient_times_input, integrated_gradients, randomized_copy, saliency


def _cnn(seed=0):
    torch.manual_seed(seed)
    return SimpleCNN(in_channels=1, n_classes=10, image_size=12, channels=(3, 4), kernel_size=3, hidden=8).double()


def test_saliency_matches_central_finite_differences():
    model = _cnn()
    x = torch.rand(2, 1, 12, 12, dtype=torch.float64)
    target = torch.tensor([3, 7])
    g = saliency(model, x, target)
    assert g.shape == x.shape
    eps = 1e-6
    for b in range(2):
        for (i, j) in [(2, 3), (5, 5), (9, 1), (11, 11)]:
            e = torch.zeros_like(x)
            e[b, 0, i, j] = eps
            with torch.no_grad():
                fd = (model(x + e)[b, target[b]] - model(x - e)[b, target[b]]) / (2 * eps)
            assert abs(fd.item() - g[b, 0, i, j].item()) < 1e-7


def test_linear_model_closed_forms():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    x = torch.randn(5, 4)
    g = saliency(model, x, 2)                            # int target: the same class for every input
    torch.testing.assert_close(g, model.weight[2].expand(5, 4).detach())
    gx = gradient_times_input(model, x, 2)
    torch.testing.assert_close(gx.sum(1), (model(x)[:, 2] - model.bias[2]).detach())


def test_integrated_gradients_completeness():
    torch.manual_seed(1)
    model = MLP(6, [16], 4, activation="tanh").double()
    x = torch.randn(3, 6, dtype=torch.float64)
    target = torch.tensor([0, 1, 3])
    ig = integrated_gradients(model, x, target, steps=200)
    with torch.no_grad():
        gap = model(x).gather(1, target[:, None])[:, 0] - model(torch.zeros_like(x)).gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(ig.sum(1), gap, rtol=0, atol=1e-4)
    base = torch.ones(1, 6, dtype=torch.float64)
    ig_b = integrated_gradients(model, x, target, baseline=base, steps=200)
    with torch.no_grad():
        gap_b = model(x).gather(1, target[:, None])[:, 0] - model(base.expand_as(x)).gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(ig_b.sum(1), gap_b, rtol=0, atol=1e-4)


def test_randomized_copy_changes_every_layer_but_not_the_original():
    model = _cnn(2)
    before = [p.clone() for p in model.parameters()]
    rand = randomized_copy(model, seed=0)
    state = torch.random.get_rng_state()
    assert all(not torch.equal(p, q) for p, q in zip(model.parameters(), rand.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    again = randomized_copy(model, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(rand.parameters(), again.parameters()))
    assert torch.equal(state, torch.random.get_rng_state())


def test_errors():
    model = nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with pytest.raises(ValueError, match="one integer class per input"):
        saliency(model, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="one integer class per input"):
        saliency(model, x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        saliency(model, x, 3)
    with pytest.raises(ValueError, match="logits of shape"):
        saliency(nn.Flatten(0), x, 0)
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(model, x, 0, steps=0)


def test_saliency_runs_the_model_in_eval_mode():
    """Dropout must be off: with it on, the gradient would be a random mask of the true one."""
    torch.manual_seed(0)
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 3))

        def forward(self, x):
            seen.append(self.training)
            return self.net(x)

    model = Probe().train()
    x = torch.randn(5, 4)
    g1, g2 = saliency(model, x, 1), saliency(model, x, 1)
    assert seen == [False, False] and not model.training
    torch.testing.assert_close(g1, g2)

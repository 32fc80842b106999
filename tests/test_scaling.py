"""helpers.scaling against hand formulas, numpy.polyfit and scipy.optimize.curve_fit."""

import numpy as np
import pytest
from scipy.optimize import curve_fit
from torch import nn

from helpers import scaling
from helpers.models.gpt import GPT, GPTConfig


@pytest.mark.parametrize("n_layer,n_embd,bias", [(1, 8, True), (2, 16, True), (3, 24, False)])
def test_non_embedding_params_match_the_hand_formula(n_layer, n_embd, bias):
    config = GPTConfig(vocab_size=50, block_size=16, n_layer=n_layer, n_head=2, n_embd=n_embd, bias=bias)
    model = GPT(config)
    d, L, b = n_embd, n_layer, int(bias)
    by_hand = L * (4 * d * d + 4 * b * d        # attention: c_attn (3d^2 + 3d) and c_proj (d^2 + d)
                   + 8 * d * d + 5 * b * d      # MLP: c_fc (4d^2 + 4d) and c_proj (4d^2 + d)
                   + 2 * d + 2 * b * d)         # two LayerNorms
    by_hand += d + b * d                        # final LayerNorm
    assert scaling.non_embedding_params(model) == by_hand == scaling.gpt_non_embedding_params(config)
    # everything else is the two embeddings (the output layer is tied to wte)
    total = sum(p.numel() for p in model.parameters())
    assert total - by_hand == 50 * d + 16 * d
    # Kaplan's approximation 12 L d^2 is close for wide models
    assert abs(scaling.gpt_non_embedding_params(config) / (12 * L * d * d) - 1) < 0.35


def test_untied_output_layer_is_not_counted_as_non_embedding():
    tied = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=8))
    untied = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=8, tie_weights=False))
    assert scaling.non_embedding_params(untied) == scaling.non_embedding_params(tied)
    assert sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters()) == 50 * 8


def test_non_embedding_params_counts_shared_tensors_once():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, lin, nn.Embedding(10, 3))
    assert scaling.non_embedding_params(model) == 12


def test_fit_power_law_recovers_a_known_exponent_like_polyfit():
    n = np.array([1e3, 3e3, 1e4, 3e4, 1e5, 3e5])
    loss = (8.8e13 / n) ** 0.076
    fit = scaling.fit_power_law(n, loss)
    assert fit.alpha == pytest.approx(0.076, rel=1e-9)
    assert fit.n_c == pytest.approx(8.8e13, rel=1e-6)
    assert fit.r2 == pytest.approx(1.0)
    np.testing.assert_allclose(fit.predict(n), loss, rtol=1e-12)
    # noisy data: identical to numpy's least-squares line in log-log space
    rng = np.random.default_rng(0)
    noisy = loss * np.exp(rng.normal(0, 0.01, len(n)))
    fit = scaling.fit_power_law(n, noisy)
    slope, intercept = np.polyfit(np.log(n), np.log(noisy), 1)
    assert fit.alpha == pytest.approx(-slope, rel=1e-9)
    assert fit.a == pytest.approx(np.exp(intercept), rel=1e-9)
    assert 0.9 < fit.r2 < 1.0


def test_fit_power_law_accepts_lists_and_a_rising_loss():
    fit = scaling.fit_power_law([1, 10], [2.0, 4.0])           # loss doubles per decade
    assert fit.alpha == pytest.approx(-np.log10(2))
    flat = scaling.fit_power_law([1, 10, 100], [3.0, 3.0, 3.0])
    assert flat.alpha == 0 and flat.n_c == float("inf") and flat.r2 == 1.0


def test_fit_power_law_offset_matches_curve_fit():
    n = np.geomspace(1e3, 1e6, 8)
    true_e, true_alpha, true_nc = 1.7, 0.3, 5e4
    loss = true_e + (true_nc / n) ** true_alpha
    fit = scaling.fit_power_law_offset(n, loss, grid=4000)
    popt, _ = curve_fit(lambda x, e, a, alpha: e + a * x ** -alpha, n, loss, p0=(1.0, 10.0, 0.2), maxfev=20000)
    assert fit.irreducible == pytest.approx(popt[0], abs=0.01)
    assert fit.alpha == pytest.approx(popt[2], rel=0.02)
    assert fit.irreducible == pytest.approx(true_e, abs=0.01)
    assert fit.alpha == pytest.approx(true_alpha, rel=0.02)
    assert fit.n_c == pytest.approx(true_nc, rel=0.1)
    np.testing.assert_allclose(fit.predict(n), loss, rtol=1e-3)


def test_chinchilla_optimal_spends_the_budget_at_twenty_tokens_per_parameter():
    n, d = scaling.chinchilla_optimal(5.76e23)          # Chinchilla's budget: about 70B params, 1.4T tokens
    assert 6 * n * d == pytest.approx(5.76e23)
    assert d / n == pytest.approx(20.0)
    assert 6.5e10 < n < 7.5e10 and 1.3e12 < d < 1.5e12
    ns, ds = scaling.chinchilla_optimal(np.array([6e20, 6e22]), tokens_per_param=10)
    np.testing.assert_allclose(6 * ns * ds, [6e20, 6e22])
    assert ns[1] / ns[0] == pytest.approx(10.0)          # 100x compute -> 10x parameters


@pytest.mark.parametrize("n,loss,match", [
    ([1, 2, 3], [1, 2], "one loss per model size"),
    ([10], [1.0], "at least 2"),
    ([0, 10], [1.0, 2.0], "positive"),
    ([10, 100], [-1.0, 2.0], "positive"),
    ([10, np.nan], [1.0, 2.0], "positive"),
    ([10, 10], [1.0, 2.0], "two different sizes"),
])
def test_fit_power_law_rejects_bad_input(n, loss, match):
    with pytest.raises(ValueError, match=match):
        scaling.fit_power_law(n, loss)


def test_offset_and_chinchilla_reject_bad_input():
    with pytest.raises(ValueError, match="at least 3"):
        scaling.fit_power_law_offset([1, 10], [2.0, 1.0])
    with pytest.raises(ValueError, match="grid"):
        scaling.fit_power_law_offset([1, 10, 100], [3.0, 2.0, 1.5], grid=1)
    with pytest.raises(ValueError, match="compute"):
        scaling.chinchilla_optimal(0)
    with pytest.raises(ValueError, match="compute"):
        scaling.chinchilla_optimal([])
    with pytest.raises(ValueError, match="tokens_per_param"):
        scaling.chinchilla_optimal(1e20, tokens_per_param=-1)


def test_public_api_is_reexported():
    import helpers

    for name in ("non_embedding_params", "fit_power_law", "fit_power_law_offset", "chinchilla_optimal"):
        assert getattr(helpers, name) is getattr(scaling, name)

"""helpers.cost against hand-computed cases and published figures."""

import numpy as np
import pytest

from helpers import cost


def test_gpt3_training_flops_match_the_paper():
    # Brown et al. (2020): 175B parameters, 300B tokens; their Table D.1 reports 3.14e23 FLOPs.
    flops = cost.training_flops(175e9, 300e9)
    assert flops == pytest.approx(3.15e23)
    assert abs(flops / 3.14e23 - 1) < 0.01


def test_inference_flops_per_token_is_two_n():
    assert cost.inference_flops_per_token(7e9) == 1.4e10


def test_accelerator_hours_hand_case():
    # 3.6e18 FLOPs at 1e15 FLOP/s peak and 50 % utilisation: 7200 s = 2 h.
    assert cost.accelerator_hours(3.6e18, 1e15, 0.5) == pytest.approx(2.0)


def test_training_cost_hand_case():
    # 6 * 1e9 * 1e10 = 6e19 FLOPs; at 1e14 * 0.5 FLOP/s: 1.2e6 s = 333.3 h; at 2 per hour: 666.7.
    assert cost.training_cost(1e9, 1e10, 1e14, 0.5, 2.0) == pytest.approx(2000 / 3)


def test_inference_cost_per_1k_tokens_hand_case():
    # 1000 * 2 * 1e9 = 2e12 FLOPs at 1e12 * 0.5 FLOP/s: 4 s = 1/900 h; at 9 per hour: 0.01.
    assert cost.inference_cost_per_1k_tokens(1e9, 1e12, 0.5, 9.0) == pytest.approx(0.01)


def test_break_even_hand_case():
    assert cost.break_even_units(1000.0, 3.0, 1.0) == 500.0


def test_functions_broadcast_over_arrays():
    mfu = np.array([0.25, 0.5, 1.0])
    hours = cost.accelerator_hours(3.6e18, 1e15, mfu)
    np.testing.assert_allclose(hours, [4.0, 2.0, 1.0])
    prices = np.array([2.0, 3.0])
    np.testing.assert_allclose(cost.break_even_units(100.0, prices, 1.0), [100.0, 50.0])
    # doubling the utilisation halves the cost, doubling the price doubles it
    c = cost.training_cost(1e9, 1e10, 1e14, mfu, 2.0)
    np.testing.assert_allclose(c[:-1] / c[1:], [2.0, 2.0])
    assert isinstance(cost.training_flops(1.0, 1.0), float)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
def test_non_positive_inputs_are_rejected_with_their_name(bad):
    with pytest.raises(ValueError, match="n_params"):
        cost.training_flops(bad, 1e9)
    with pytest.raises(ValueError, match="peak_flops"):
        cost.accelerator_hours(1e18, bad, 0.5)
    with pytest.raises(ValueError, match="price_per_hour"):
        cost.training_cost(1e9, 1e9, 1e14, 0.5, bad)


def test_empty_inputs_are_rejected():
    with pytest.raises(ValueError, match="n_tokens is empty"):
        cost.training_flops(1e9, [])
    with pytest.raises(ValueError, match="mfu is empty"):
        cost.accelerator_hours(1e18, 1e14, [])


@pytest.mark.parametrize("mfu", [0.0, -0.1, 1.5, 40])
def test_mfu_must_be_a_fraction(mfu):
    with pytest.raises(ValueError, match=r"mfu must be in \(0, 1\]"):
        cost.accelerator_hours(1e18, 1e14, mfu)


def test_percent_instead_of_fraction_gets_a_hint():
    with pytest.raises(ValueError, match="0.4 for 40 %"):
        cost.inference_cost_per_1k_tokens(1e9, 1e14, 40, 2.0)


def test_no_break_even_when_every_unit_loses_money():
    with pytest.raises(ValueError, match="price_per_unit=1.0 does not exceed cost_per_unit=2.0"):
        cost.break_even_units(100.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="price_per_unit=2.0"):
        cost.break_even_units(100.0, np.array([3.0, 2.0]), 2.0)

"""helpers.compress: pruning, quantisation and distillation against independent references."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import MLP
from helpers import compress
from helpers.compress import (dequantize, distillation_loss, global_magnitude_prune, median_latency,
                              quantize_linear_int8, quantize_per_tensor, quiet_quantization_warnings, remove_pruning,
                              sparse_state_dict, sparsity, state_dict_bytes)


def _model(seed=0):
    torch.manual_seed(seed)
    return MLP(20, [16, 8], 3)


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# ----------------------------------------------------------------------------- pruning

@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 0.99])
def test_pruned_fraction_equals_requested_sparsity(amount):
    model = global_magnitude_prune(_model(), amount)
    n = sum(m.weight.numel() for m in _linears(model))
    assert sparsity(model) == pytest.approx(round(amount * n) / n, abs=1e-12)


def test_global_mask_matches_a_threshold_on_all_weights():
    reference = _model()
    model = global_magnitude_prune(_model(), 0.6)
    all_abs = torch.cat([m.weight.detach().abs().flatten() for m in _linears(reference)])
    tau = all_abs.kthvalue(round(0.6 * all_abs.numel())).values
    for ref, pruned in zip(_linears(reference), _linears(model)):
        torch.testing.assert_close(pruned.weight_mask, (ref.weight.detach().abs() > tau).float())
        torch.testing.assert_close(pruned.weight, ref.weight * pruned.weight_mask)
        torch.testing.assert_close(pruned.bias, ref.bias)          # biases are never pruned


def test_pruning_twice_prunes_the_remaining_weights():
    model = global_magnitude_prune(global_magnitude_prune(_model(), 0.5), 0.5)
    assert sparsity(model) == pytest.approx(0.75, abs=0.01)


def test_remove_pruning_restores_plain_keys_and_keeps_zeros():
    model = global_magnitude_prune(_model(), 0.8)
    assert any(k.endswith("weight_mask") for k in model.state_dict())
    remove_pruning(model)
    assert not any(k.endswith(("weight_mask", "weight_orig")) for k in model.state_dict())
    fresh = _model(seed=1)
    fresh.load_state_dict(model.state_dict())
    assert sparsity(fresh) == pytest.approx(sparsity(model))
    remove_pruning(model)                                        # a second call is a no-op


def test_state_dict_of_a_forgotten_remove_is_twice_as_large():
    dense = _model()
    pruned = global_magnitude_prune(_model(), 0.5)
    assert state_dict_bytes(pruned) > 1.5 * state_dict_bytes(dense)
    assert abs(state_dict_bytes(remove_pruning(pruned)) - state_dict_bytes(dense)) < 100


@pytest.mark.parametrize("amount", [-0.1, 1.0, 1.5, True, "0.5", None])
def test_bad_amount_is_rejected(amount):
    with pytest.raises(ValueError, match="amount"):
        global_magnitude_prune(_model(), amount)


def test_models_without_prunable_layers_are_rejected():
    with pytest.raises(ValueError, match="no layers"):
        global_magnitude_prune(nn.Sequential(nn.ReLU()), 0.5)
    with pytest.raises(ValueError, match="no layers"):
        sparsity(nn.Sequential(nn.ReLU()))


def test_conv_layers_are_pruned_too():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    global_magnitude_prune(model, 0.5)
    n = model[0].weight.numel() + model[2].weight.numel()
    assert sparsity(model) == pytest.approx(round(0.5 * n) / n)
    assert (model[0].weight == 0).any()


def test_sparse_state_dict_round_trip_and_size():
    model = remove_pruning(global_magnitude_prune(MLP(200, [100], 10), 0.9))
    state = model.state_dict()
    sparse = sparse_state_dict(state)
    for key, value in state.items():
        if value.dim() == 2:
            assert sparse[key].layout == torch.sparse_csr
            assert sparse[key].col_indices().dtype == torch.int32
            torch.testing.assert_close(sparse[key].to_dense(), value, rtol=0, atol=0)
        else:
            assert sparse[key] is value
    # 10 % non-zeros at 8 bytes each (value + int32 column) instead of 4 bytes per entry
    assert state_dict_bytes(sparse) < 0.25 * state_dict_bytes(state)


# ----------------------------------------------------------------------------- measuring

def test_state_dict_bytes_equals_torch_save(tmp_path):
    model = _model()
    path = tmp_path / "w.pt"
    torch.save(model.state_dict(), path)
    n_params = sum(p.numel() for p in model.parameters())
    # the same zip archive; only the record names inside it (taken from the file name) differ in length
    assert abs(state_dict_bytes(model) - path.stat().st_size) < 500
    assert state_dict_bytes(model) == state_dict_bytes(model.state_dict()) > 4 * n_params
    with pytest.raises(TypeError, match="state_dict"):
        state_dict_bytes([1, 2, 3])


def test_median_latency_restores_mode_and_checks_arguments():
    model = _model().train()
    seconds = median_latency(model, torch.randn(4, 20), repeats=3, warmup=1)
    assert seconds > 0 and model.training
    for repeats, warmup in [(0, 1), (2.5, 1), (3, -1)]:
        with pytest.raises(ValueError, match="repeats"):
            median_latency(model, torch.randn(4, 20), repeats=repeats, warmup=warmup)


# ----------------------------------------------------------------------------- quantisation

def test_quantized_model_outputs_close_to_float_model():
    model = _model()
    x = torch.randn(64, 20, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qmodel = quantize_linear_int8(model)
    assert not caught, [str(w.message) for w in caught]           # the deprecation warnings are handled
    with torch.no_grad():
        y, yq = model(x), qmodel(x)
    assert (y - yq).abs().max() < 0.05 * y.abs().max()
    assert not qmodel.training
    assert not any(isinstance(m, nn.Linear) for m in qmodel.modules())   # every Linear was replaced
    assert all(isinstance(m, nn.Linear) for m in _linears(model))         # the float model is untouched
    assert state_dict_bytes(MLP(256, [256], 10)) > 3.5 * state_dict_bytes(quantize_linear_int8(MLP(256, [256], 10)))


def test_quantize_linear_int8_checks_arguments():
    with pytest.raises(TypeError, match="nn.Module"):
        quantize_linear_int8(torch.zeros(3))
    with pytest.raises(ValueError, match="CPU"):
        quantize_linear_int8(nn.Linear(2, 2, device="meta"))


def test_quantized_weights_follow_the_symmetric_formula():
    model = _model()
    qmodel = quantize_linear_int8(model)
    with quiet_quantization_warnings():
        packed = qmodel.net[0].weight()
        q, scale, zero_point = quantize_per_tensor(model.net[0].weight.detach(), -128, 127, symmetric=True)
        assert zero_point == packed.q_zero_point() == 0
        assert scale == pytest.approx(packed.q_scale(), rel=1e-6)
        assert torch.equal(packed.int_repr().long(), q)


@pytest.mark.parametrize("dtype, qmin, qmax", [(torch.quint8, 0, 255), (torch.qint8, -128, 127)])
def test_quantize_per_tensor_matches_torch(dtype, qmin, qmax):
    x = torch.randn(5000, generator=torch.Generator().manual_seed(0)) * 3 + 1
    q, scale, zero_point = quantize_per_tensor(x, qmin, qmax)
    with quiet_quantization_warnings():
        reference = torch.quantize_per_tensor(x, scale, zero_point, dtype)
        assert torch.equal(reference.int_repr().long(), q)
        torch.testing.assert_close(reference.dequantize(), dequantize(q, scale, zero_point), rtol=0, atol=0)
    assert (x - dequantize(q, scale, zero_point)).abs().max() <= scale / 2 * (1 + 1e-5)
    assert q.min() == qmin and q.max() == qmax


@pytest.mark.parametrize("symmetric, qscheme", [(False, torch.per_tensor_affine), (True, torch.per_tensor_symmetric)])
def test_quantization_parameters_match_pytorch_observer(symmetric, qscheme):
    from torch.ao.quantization.observer import MinMaxObserver

    x = torch.randn(1000, generator=torch.Generator().manual_seed(2)) + 0.3
    with quiet_quantization_warnings():
        observer = MinMaxObserver(dtype=torch.qint8, qscheme=qscheme)
        observer(x)
        ref_scale, ref_zero_point = observer.calculate_qparams()
    _, scale, zero_point = quantize_per_tensor(x, -128, 127, symmetric=symmetric)
    assert scale == pytest.approx(ref_scale.item(), rel=1e-5)
    assert zero_point == ref_zero_point.item()


def test_quantize_per_tensor_edge_cases_and_errors():
    q, scale, zero_point = quantize_per_tensor(torch.zeros(4))
    assert torch.equal(dequantize(q, scale, zero_point), torch.zeros(4))
    q, scale, zero_point = quantize_per_tensor(torch.tensor([1.0, 2.0]))   # positive only: 0 is in the range
    assert zero_point == 0 and q[0].item() in (127, 128) and q[1].item() == 255
    with pytest.raises(TypeError, match="float"):
        quantize_per_tensor(torch.arange(3))
    with pytest.raises(ValueError, match="qmin < qmax"):
        quantize_per_tensor(torch.randn(3), qmin=5, qmax=5)


# ----------------------------------------------------------------------------- distillation

def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (8.0, 1.0)])
def test_distillation_loss_equals_hand_computed_reference(T, alpha):
    rng = np.random.default_rng(0)
    zs, zt = rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3
    y = rng.integers(0, 5, size=6)
    p_t, p_s = _softmax(zt / T), _softmax(zs / T)
    kl = np.mean(np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=1))
    ce = np.mean(-np.log(_softmax(zs)[np.arange(6), y]))
    expected = alpha * T ** 2 * kl + (1 - alpha) * ce
    got = distillation_loss(torch.tensor(zs), torch.tensor(zt), torch.tensor(y), T=T, alpha=alpha)
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_distillation_loss_limits_and_gradients():
    g = torch.Generator().manual_seed(0)
    zs = torch.randn(4, 3, generator=g, requires_grad=True)
    zt = torch.randn(4, 3, generator=g, requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(distillation_loss(zs, zt, y, T=3.0, alpha=0.0), F.cross_entropy(zs, y))
    assert distillation_loss(zs, zs.detach(), y, T=3.0, alpha=1.0).item() == pytest.approx(0.0, abs=1e-7)
    distillation_loss(zs, zt, y).backward()
    assert zs.grad is not None and zt.grad is None                 # the teacher is not trained


@pytest.mark.parametrize("kwargs, match", [
    ({"T": 0.0}, "T=0.0"), ({"T": -1.0}, "T=-1.0"), ({"T": True}, "T=True"),
    ({"alpha": 1.5}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"alpha": "0.5"}, "alpha"),
])
def test_distillation_loss_rejects_bad_hyper_parameters(kwargs, match):
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=match):
        distillation_loss(z, z, torch.tensor([0, 1]), **kwargs)


def test_distillation_loss_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same B and C"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="same B and C"):
        distillation_loss(torch.zeros(6), torch.zeros(6), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="targets"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([0, 1, 2]))


def test_public_api_is_reexported():
    import helpers

    for name in ["distillation_loss", "global_magnitude_prune", "quantize_linear_int8", "remove_pruning", "sparsity",
                 "state_dict_bytes"]:
        assert getattr(helpers, name) is getattr(compress, name) and name in helpers.__all__


def test_quantize_per_tensor_refuses_inf_and_nan():
    """Item 10: inf used to give scale inf and an all-zero-point tensor."""
    with pytest.raises(ValueError, match="x holds 1 NaN/inf"):
        quantize_per_tensor(torch.tensor([0.5, float("inf")]))
    with pytest.raises(ValueError, match="NaN/inf"):
        quantize_per_tensor(torch.tensor([float("nan"), 1.0]))
    with pytest.raises(TypeError, match="x"):
        quantize_per_tensor([0.5, 1.0])
    with pytest.raises(TypeError, match="qmin"):
        quantize_per_tensor(torch.tensor([0.5]), qmin=0.5)

"""helpers.deploy: ONNX Runtime vs torch outputs, dynamic batch, input validation, atomic export."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers import MLP
from helpers.deploy import OnnxPredictor, _quiet_exporter, check_input, export_onnx, max_abs_diff


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = MLP(6, [16], 3)
    path = export_onnx(model, torch.randn(4, 6), tmp_path_factory.mktemp("onnx") / "mlp.onnx")
    return model, path


def test_onnxruntime_matches_torch_for_any_batch_size(exported):
    model, path = exported
    predictor = OnnxPredictor(path)
    assert predictor.feature_shape == (6,) and predictor.input_name == "x"
    assert [p.name for p in path.parent.iterdir()] == ["mlp.onnx"]   # no temporary file left behind
    for batch in (1, 3, 4, 50):   # exported with batch 4; the batch dimension is symbolic
        x = torch.randn(batch, 6)
        with torch.no_grad():
            expected = model(x)
        out = predictor(x.numpy())
        assert out.shape == (batch, 3) and out.dtype == np.float32
        assert max_abs_diff(out, expected) < 1e-5
        np.testing.assert_array_equal(predictor.predict(x.numpy()), expected.argmax(1).numpy())


def test_static_batch_export_rejects_other_batch_sizes(tmp_path):
    import onnxruntime as ort

    model = MLP(6, [16], 3)
    model.train()
    path = export_onnx(model, torch.randn(1, 6), tmp_path / "static.onnx", dynamic_batch=False)
    assert model.training   # the export put it in eval mode only while exporting
    predictor = OnnxPredictor(path)
    assert predictor(np.zeros((1, 6), np.float32)).shape == (1, 3)
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument):
        predictor(np.zeros((2, 6), np.float32))


def test_export_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="batch of at least 2"):
        export_onnx(MLP(6, [4], 3), torch.randn(1, 6), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="must be a tensor"):
        export_onnx(MLP(6, [4], 3), np.zeros((2, 6)), tmp_path / "m.onnx")


class _Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_failed_export_leaves_no_file_and_keeps_an_existing_one(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(Exception, match="boom"):
        export_onnx(_Broken(), torch.randn(2, 6), target)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous model")
    with pytest.raises(Exception, match="boom"):
        export_onnx(_Broken(), torch.randn(2, 6), target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"] and target.read_bytes() == b"previous model"


def test_interrupted_save_leaves_no_half_written_file(tmp_path, monkeypatch):
    def half_save(self, destination, **kwargs):
        with open(destination, "wb") as f:
            f.write(b"\x08\x09 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(torch.onnx.ONNXProgram, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        export_onnx(MLP(6, [4], 3), torch.randn(2, 6), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_predictor_needs_an_existing_file_with_fixed_feature_dims(tmp_path):
    with pytest.raises(FileNotFoundError, match="export one"):
        OnnxPredictor(tmp_path / "missing.onnx")

    class Flatten(nn.Module):
        def forward(self, x):
            return x.flatten(1).sum(1, keepdim=True)

    dims = ({0: torch.export.Dim("batch"), 1: torch.export.Dim("width")},)
    with torch.no_grad(), _quiet_exporter():
        program = torch.onnx.export(Flatten().eval(), (torch.randn(3, 5),), dynamo=True, verbose=False,
                                    dynamic_shapes=dims)
    program.save(str(tmp_path / "f.onnx"))
    with pytest.raises(ValueError, match="only the batch may be dynamic"):
        OnnxPredictor(tmp_path / "f.onnx")


@pytest.mark.parametrize("x, error, msg", [
    (torch.zeros(2, 6), TypeError, r"torch.Tensor; pass a NumPy array"),
    ([[0.0] * 6], TypeError, r"got list"),
    (np.zeros((2, 6)), TypeError, r"dtype float64, expected float32; convert explicitly"),
    (np.zeros((2, 6), np.int64), TypeError, r"dtype int64, expected float32"),
    (np.zeros(6, np.float32), ValueError, r"shape \(6,\) \(1 dims\), expected \(batch, 6\).*x\[None\]"),
    (np.zeros((2, 2, 3), np.float32), ValueError, r"\(3 dims\), expected \(batch, 6\).*x.reshape\(len\(x\), 6\)"),
    (np.zeros((2, 5), np.float32), ValueError, r"\(5,\) features per sample, expected \(6,\)"),
    (np.zeros((0, 6), np.float32), ValueError, r"empty batch"),
    (np.array([[0, 1, 2, 3, 4, 5], [0, 1, np.nan, 3, 4, 5]], np.float32), ValueError,
     r"1 non-finite value\(s\).*x\[1, 2\] = nan"),
    (np.full((1, 6), np.inf, np.float32), ValueError, r"6 non-finite value\(s\).*x\[0, 0\] = inf"),
])
def test_every_invalid_input_is_rejected_with_a_clear_message(exported, x, error, msg):
    predictor = OnnxPredictor(exported[1])
    with pytest.raises(error, match=msg):
        predictor(x)


def test_check_input_returns_valid_input_unchanged():
    x = np.ones((2, 3, 4), np.float32)
    assert check_input(x, (3, 4)) is x


def test_max_abs_diff():
    assert max_abs_diff(torch.tensor([1.0, -2.0]), np.array([1.5, 1.0])) == 3.0
    assert max_abs_diff(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        max_abs_diff(np.zeros(2), np.zeros(3))

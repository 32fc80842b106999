"""Deployment: export a PyTorch model to ONNX and serve it with ONNX Runtime behind input checks.

- :func:`export_onnx`   ``torch.onnx.export(..., dynamo=True)``, quietly, written atomically
- :class:`OnnxPredictor` an ``onnxruntime.InferenceSession`` that validates every input first
- :func:`check_input`   the validation itself: type, rank, shape, dtype, finite values
- :func:`max_abs_diff`  largest absolute difference of two arrays (torch or NumPy)

The exported file is written to a temporary name in the target folder and then
renamed (``os.replace``): a failed export never leaves a half-written ``.onnx``
under the final name, and an existing file there stays intact.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .atomic import atomic_path


def max_abs_diff(a, b) -> float:
    """``max |a - b|`` over all elements; ``a``, ``b``: tensors or arrays of the same shape."""
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's chatter, which would otherwise reach stdout/stderr of a notebook.

    - progress lines ("[torch.onnx] Obtain model graph ...") go to stdout: redirected and dropped;
    - torch's logger warns once that torchvision is not installed (its detection ops are
      not needed for our models): raised to ERROR for the duration;
    - a FutureWarning from torch's own pytree code (``LeafSpec``), not from our code: ignored.
    """
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model: nn.Module, example: torch.Tensor, path, dynamic_batch: bool = True,
                input_name: str = "x", output_name: str = "logits") -> Path:
    """Export ``model`` (in eval mode) to the ONNX file ``path``; returns the path.

    ``example: (B, *feature_shape)`` fixes everything but the batch size; with
    ``dynamic_batch`` the first dimension is symbolic (named ``"batch"``), so the
    file accepts any batch size. The model is traced with ``torch.export`` and
    converted by the ONNX exporter (``dynamo=True``); the file is written atomically.
    """
    if not isinstance(example, torch.Tensor) or example.dim() < 1:
        raise ValueError(f"example must be a tensor of shape (B, ...), got {type(example).__name__}")
    if dynamic_batch and example.shape[0] < 2:
        raise ValueError(f"example has batch size {example.shape[0]}; use a batch of at least 2 with "
                         "dynamic_batch=True (a size-1 dimension is specialised to the constant 1)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None   # one entry per input
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as tmp, _quiet_exporter():
            program = torch.onnx.export(model, (example,), dynamo=True, verbose=False,
                                        input_names=[input_name], output_names=[output_name],
                                        dynamic_shapes=dynamic_shapes)
            program.save(str(tmp), external_data=False)
    finally:
        model.train(was_training)
    return path


def check_input(x, feature_shape: Sequence[int], dtype=np.float32) -> np.ndarray:
    """Return ``x`` unchanged if it is a valid batch ``(B, *feature_shape)`` of finite ``dtype`` values.

    Raises ``TypeError`` for a non-array or a wrong dtype and ``ValueError`` for
    a wrong rank, a wrong number of features, an empty batch or NaN/inf values;
    each message names the bad value and what was expected. Nothing is cast
    silently: a float64 array is rejected, not rounded behind the caller's back.
    """
    feature_shape = tuple(feature_shape)
    dtype = np.dtype(dtype)
    expected = f"(batch, {', '.join(map(str, feature_shape))})"
    if isinstance(x, torch.Tensor):
        raise TypeError("x is a torch.Tensor; pass a NumPy array (x.detach().cpu().numpy())")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array of shape {expected}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype}, expected {dtype}; convert explicitly with x.astype(np.{dtype})")
    if x.ndim != 1 + len(feature_shape):
        hint = ("a single sample needs a batch axis: x[None]" if x.ndim == len(feature_shape) else
                f"reshape it, e.g. x.reshape(len(x), {', '.join(map(str, feature_shape))})")
        raise ValueError(f"x has shape {x.shape} ({x.ndim} dims), expected {expected} "
                         f"({1 + len(feature_shape)} dims); {hint}")
    if tuple(x.shape[1:]) != feature_shape:
        raise ValueError(f"x has shape {x.shape}: {x.shape[1:]} features per sample, expected {feature_shape}")
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch of shape {x.shape}; pass at least one sample")
    bad = ~np.isfinite(x)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"x has {int(bad.sum())} non-finite value(s) (NaN or inf), first x{list(where)} = "
                         f"{x[where]}; clean or reject these samples before calling the model")
    return x


class OnnxPredictor:
    """``OnnxPredictor(path)``: run an exported model with ONNX Runtime on validated inputs.

    ``predictor(x: (B, *feature_shape) float32) -> logits: (B, n_out)`` (NumPy);
    ``predictor.predict(x) -> (B,)`` class ids. ``feature_shape`` is read from the
    file's input (every dimension after the batch must be fixed).
    """

    def __init__(self, path, threads: int = 1):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX model at {path}; export one with helpers.export_onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        (inp,) = self.session.get_inputs()
        self.input_name = inp.name
        if not all(isinstance(d, int) for d in inp.shape[1:]):
            raise ValueError(f"{path}: input {inp.name!r} has shape {inp.shape}; only the batch may be dynamic")
        self.feature_shape = tuple(inp.shape[1:])
        self.dtype = np.float32

    def __call__(self, x) -> np.ndarray:
        x = check_input(x, self.feature_shape, self.dtype)
        return self.session.run(None, {self.input_name: x})[0]

    def predict(self, x) -> np.ndarray:
        return self(x).argmax(axis=1)

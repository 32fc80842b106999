"""2-D convolution and pooling written out, to compare with ``torch.nn.functional``.

Shapes follow PyTorch: ``x: (B, C_in, H, W)``, ``weight: (C_out, C_in, kH, kW)``,
``bias: (C_out,)``. What deep learning calls convolution is a cross-correlation
(the kernel is not flipped):

    y[n, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v] * xp[n, c, i*s + u, j*s + v]

where ``xp`` is ``x`` zero-padded by ``p`` on every side and ``s`` is the stride.
The output has ``conv_output_size(H, kH, s, p)`` rows and
``conv_output_size(W, kW, s, p)`` columns.

- :func:`conv2d_loops`: the formula above with Python loops over ``(o, i, j)``.
- :func:`conv2d_unfold`: im2col -- copy every receptive field into a column,
  then one matrix product does all the multiply-adds.
- :func:`max_pool2d`, :func:`avg_pool2d`: the same sliding windows, reduced by max or mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: ``floor((n + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1``.

    With ``dilation=1`` this is the familiar ``floor((n + 2p - k) / s) + 1``.
    """
    for name, value, low in (("n", n, 1), ("kernel", kernel, 1), ("stride", stride, 1),
                             ("padding", padding, 0), ("dilation", dilation, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} must be an int >= {low}")
    span = dilation * (kernel - 1) + 1          # extent of the (dilated) kernel
    if n + 2 * padding < span:
        raise ValueError(f"kernel of extent {span} (kernel={kernel}, dilation={dilation}) does not fit an input "
                         f"of length {n} with padding={padding}: use a smaller kernel or more padding")
    return (n + 2 * padding - span) // stride + 1


def _check_conv_args(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, C_in, H, W), got {tuple(x.shape)}; "
                         "for a single image use x[None]")
    if weight.dim() != 4:
        raise ValueError(f"weight must have shape (C_out, C_in, kH, kW), got {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x has C_in={x.shape[1]} channels but weight {tuple(weight.shape)} expects "
                         f"C_in={weight.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape (C_out,) = ({weight.shape[0]},), got {tuple(bias.shape)}")


def _output_hw(x: torch.Tensor, kh: int, kw: int, stride: int, padding: int) -> tuple[int, int]:
    return (conv_output_size(x.shape[2], kh, stride, padding),
            conv_output_size(x.shape[3], kw, stride, padding))


def conv2d_loops(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Convolution by the formula, one output position at a time. ``-> (B, C_out, H_out, W_out)``.

    Slow (three Python loops); meant for small inputs and for reading.
    """
    _check_conv_args(x, weight, bias)
    c_out, _, kh, kw = weight.shape
    h_out, w_out = _output_hw(x, kh, kw, stride, padding)
    xp = F.pad(x, (padding, padding, padding, padding))            # zero padding on all four sides
    y = x.new_zeros(x.shape[0], c_out, h_out, w_out)
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]   # (B, C_in, kH, kW)
                y[:, o, i, j] = (patch * weight[o]).sum(dim=(1, 2, 3))
        if bias is not None:
            y[:, o] += bias[o]
    return y


def im2col(x: torch.Tensor, kh: int, kw: int, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Receptive fields as columns: ``(B, C, H, W) -> (B, C*kH*kW, H_out*W_out)``.

    Same layout as ``F.unfold(x, (kh, kw), padding=padding, stride=stride)``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
    h_out, w_out = _output_hw(x, kh, kw, stride, padding)
    xp = F.pad(x, (padding, padding, padding, padding))
    patches = xp.unfold(2, kh, stride).unfold(3, kw, stride)     # (B, C, H_out, W_out, kH, kW), a view
    patches = patches[:, :, :h_out, :w_out]
    B, C = x.shape[:2]
    return patches.permute(0, 1, 4, 5, 2, 3).reshape(B, C * kh * kw, h_out * w_out)


def conv2d_unfold(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Convolution as one matrix product (im2col). ``-> (B, C_out, H_out, W_out)``.

    ``weight`` viewed as ``(C_out, C_in*kH*kW)`` times the columns ``(B, C_in*kH*kW, L)``.
    """
    _check_conv_args(x, weight, bias)
    c_out, _, kh, kw = weight.shape
    h_out, w_out = _output_hw(x, kh, kw, stride, padding)
    cols = im2col(x, kh, kw, stride, padding)                      # (B, C_in*kH*kW, L)
    y = weight.reshape(c_out, -1) @ cols                           # (B, C_out, L)
    if bias is not None:
        y = y + bias[:, None]
    return y.reshape(x.shape[0], c_out, h_out, w_out)


def _pool(x: torch.Tensor, kernel: int, stride: int | None, padding: int, reduce: str) -> torch.Tensor:
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
    stride = kernel if stride is None else stride
    if not isinstance(padding, int) or padding < 0 or 2 * padding > kernel:
        raise ValueError(f"padding={padding!r} must be an int between 0 and kernel // 2 = {kernel // 2}")
    B, C = x.shape[:2]
    fill = float("-inf") if reduce == "max" else 0.0               # padding never wins a max
    xp = F.pad(x, (padding, padding, padding, padding), value=fill)
    cols = im2col(xp.reshape(B * C, 1, *xp.shape[2:]), kernel, kernel, stride, 0)   # (B*C, k*k, L)
    out = cols.amax(dim=1) if reduce == "max" else cols.mean(dim=1)
    h_out, w_out = _output_hw(x, kernel, kernel, stride, padding)
    return out.reshape(B, C, h_out, w_out)


def max_pool2d(x: torch.Tensor, kernel: int, stride: int | None = None, padding: int = 0) -> torch.Tensor:
    """Maximum over each ``kernel x kernel`` window, channel by channel (stride defaults to ``kernel``)."""
    return _pool(x, kernel, stride, padding, "max")


def avg_pool2d(x: torch.Tensor, kernel: int, stride: int | None = None, padding: int = 0) -> torch.Tensor:
    """Mean over each window; padded zeros count, like PyTorch's ``count_include_pad=True``."""
    return _pool(x, kernel, stride, padding, "avg")


def conv2d_num_params(c_in: int, c_out: int, kernel: int, bias: bool = True) -> int:
    """Parameters of ``nn.Conv2d(c_in, c_out, kernel)``: ``c_out * c_in * k * k (+ c_out)``; independent of image size."""
    for name, value in (("c_in", c_in), ("c_out", c_out), ("kernel", kernel)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} must be an int >= 1")
    if not isinstance(bias, bool):
        raise TypeError(f"bias={bias!r} is a {type(bias).__name__}; pass True or False")
    return c_out * c_in * kernel * kernel + (c_out if bias else 0)

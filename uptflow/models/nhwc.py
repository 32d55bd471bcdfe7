"""Channels-last (NHWC) helpers shared by the UPT-Flow encoder and flow.

The modules keep PyTorch's logical [B, C, H, W] shapes but store activations channels-last: such a tensor is a
contiguous [B, H, W, C] array, so per-pixel layer norms and 1x1 convolutions are plain matrix products over the pixels
(BLAS on CPU, cuBLAS on GPU) without layout copies, and 3x3 and depthwise convolutions use the NHWC kernels of oneDNN
and cuDNN, the fast ones for float32 on CPU and for bf16/fp16 everywhere. Every helper also accepts contiguous NCHW
input (then it copies), so the results never depend on the layout.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["channels_last", "conv1x1", "nchw", "nhwc"]


def channels_last(x: Tensor) -> Tensor:
    """``x`` [B, C, H, W] with channels-last strides (no copy when it already has them)."""
    return x.contiguous(memory_format=torch.channels_last)


def nhwc(x: Tensor) -> Tensor:
    """The [B, H, W, C] view of a [B, C, H, W] tensor (contiguous when ``x`` is channels-last)."""
    return x.permute(0, 2, 3, 1)


def nchw(t: Tensor) -> Tensor:
    """The [B, C, H, W] view of a [B, H, W, C] tensor (channels-last when ``t`` is contiguous)."""
    return t.permute(0, 3, 1, 2)


def conv1x1(x: Tensor, weight: Tensor, bias: Tensor | None = None, residual: Tensor | None = None) -> Tensor:
    """1x1 convolution of ``x`` [B, Ci, H, W] as one matrix product over the pixels; [B, Co, H, W] channels-last.

    Args:
        x: input map.
        weight: [Co, Ci, 1, 1] or [Co, Ci].
        bias: [Co] or None.
        residual: [B, Co, H, W] added to the result inside the matrix product (no extra pass), or None.
    """
    w = weight.reshape(weight.shape[0], -1)
    t = nhwc(x)
    if residual is None:
        # with a bias the convolution kernels add it on the fly; a matrix product would first broadcast it into
        # its output (a full extra pass)
        return nchw(F.linear(t, w)) if bias is None else F.conv2d(channels_last(x), w[:, :, None, None], bias)
    b, h, wd, ci = t.shape
    out = torch.addmm(nhwc(residual).reshape(-1, w.shape[0]), t.reshape(-1, ci), w.t())
    if bias is not None:
        out = out + bias
    return nchw(out.view(b, h, wd, -1))

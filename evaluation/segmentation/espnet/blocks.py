"""ESPNet building blocks (Mehta et al., "ESPNet: Efficient Spatial Pyramid of Dilated Convolutions", ECCV 2018).

Re-implemented from the description of sacmehta/ESPNet ``test/Model.py`` (MIT). Attribute names (``conv``, ``bn``,
``act``, ``c1``, ``d1`` ... ``d16``) are those of the official modules, so the official state dict loads by name;
class names are ours. Every batch norm uses ``eps=1e-3`` and every activation is a per-channel PReLU, as there.
mmcv's ``ConvModule`` is not used: it names its activation ``activate``, which would break the official keys.
"""

from itertools import accumulate

import torch
from torch import nn

__all__ = ["BN_EPS", "Conv", "BNPReLU", "ConvBNPReLU", "ESPBlock", "StridedESPBlock", "InputProjection"]

BN_EPS = 1e-3
_DILATIONS = (1, 2, 4, 8, 16)


class Conv(nn.Module):
    """A bias-free k x k convolution with 'same' padding (official ``C`` / ``CDilated``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size.
        stride: stride.
        dilation: dilation rate.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2 * dilation
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=pad, dilation=dilation,
                              bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]."""
        return self.conv(x)


class BNPReLU(nn.Module):
    """Batch norm then PReLU (official ``BR``).

    Args:
        channels: number of channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, C, H, W]."""
        return self.act(self.bn(x))


class ConvBNPReLU(nn.Module):
    """Bias-free convolution, batch norm, PReLU (official ``CBR``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size ('same' padding).
        stride: stride.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]."""
        return self.act(self.bn(self.conv(x)))


class _SpatialPyramid(nn.Module):
    """Reduce (``c1``), split into five dilated 3x3 branches (``d1`` ... ``d16``), merge hierarchically.

    The first branch takes ``out - 4 * (out // 5)`` channels and the others ``out // 5``, so they concatenate to
    ``out`` channels; branches 2..5 are summed cumulatively before the concatenation (the paper's
    hierarchical feature fusion against gridding artefacts).
    """

    def __init__(self, in_channels: int, out_channels: int, reduce_kernel: int, reduce_stride: int) -> None:
        super().__init__()
        n = out_channels // 5
        self.c1 = Conv(in_channels, n, reduce_kernel, reduce_stride)
        for d in _DILATIONS:
            setattr(self, f"d{d}", Conv(n, out_channels - 4 * n if d == 1 else n, 3, dilation=d))

    def pyramid(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, H / stride, W / stride], before any residual or normalisation."""
        r = self.c1(x)
        first, *rest = (getattr(self, f"d{d}")(r) for d in _DILATIONS)
        return torch.cat([first, *accumulate(rest)], 1)


class ESPBlock(_SpatialPyramid):
    """ESP module with optional identity residual, then BN + PReLU (official ``DilatedParllelResidualBlockB``).

    Args:
        in_channels: input channels (must equal ``out_channels`` when ``add``).
        out_channels: output channels.
        add: add the input to the merged branches.
    """

    def __init__(self, in_channels: int, out_channels: int, add: bool = True) -> None:
        if add and in_channels != out_channels:
            raise ValueError(f"ESPBlock: a residual block needs in_channels == out_channels, "
                             f"got {in_channels} and {out_channels}")
        super().__init__(in_channels, out_channels, reduce_kernel=1, reduce_stride=1)
        self.bn = BNPReLU(out_channels)
        self.add = add

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, H, W]."""
        y = self.pyramid(x)
        return self.bn(x + y if self.add else y)


class StridedESPBlock(_SpatialPyramid):
    """Down-sampling ESP module: strided 3x3 reduction, no residual, BN + PReLU (official ``DownSamplerB``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, reduce_kernel=3, reduce_stride=2)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, H / 2, W / 2]."""
        return self.act(self.bn(self.pyramid(x)))


class InputProjection(nn.Module):
    """Down-sample the input image ``times`` times by 3x3 average pooling, stride 2 (official ``InputProjectionA``).

    Args:
        times: number of poolings (the output is 1 / 2**times of the input size).
    """

    def __init__(self, times: int) -> None:
        super().__init__()
        self.pool = nn.ModuleList(nn.AvgPool2d(3, stride=2, padding=1) for _ in range(times))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, C, H / 2**times, W / 2**times]."""
        for pool in self.pool:
            x = pool(x)
        return x

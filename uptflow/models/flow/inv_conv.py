"""Invertible 1x1 convolution (Glow, without LU decomposition), as in the official code."""

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.models.flow.base import InvertibleModule
from uptflow.registry import FLOWS

__all__ = ["InvConv1x1"]


@FLOWS.register_module()
class InvConv1x1(InvertibleModule):
    """y = W x at every pixel; log-det = H * W * log|det W| (slogdet). W starts as a random orthogonal matrix."""

    def __init__(self, num_channels: int) -> None:
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(num_channels, num_channels, dtype=torch.float64))
        self.weight = nn.Parameter(q.float())

    def _logdet(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.linalg.slogdet(self.weight)[1] * (x.shape[2] * x.shape[3])).to(x.dtype).expand(x.shape[0])

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix channels with W."""
        w = self.weight.to(x.dtype)
        return F.conv2d(x, w.view(*w.shape, 1, 1)), self._logdet(x)

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix channels with W^-1, computed in float64 for accuracy and cast back (as the official code does)."""
        w_inv = torch.linalg.inv(self.weight.double()).to(y.dtype)
        return F.conv2d(y, w_inv.view(*w_inv.shape, 1, 1)), -self._logdet(y)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}"

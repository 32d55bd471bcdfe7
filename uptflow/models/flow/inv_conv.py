"""Invertible 1x1 convolution (Glow, without LU decomposition), as in the official code.

The official code recomputes W^-1 in float64 on every reverse call. Here, when no gradient is needed, the inverse
(and log|det W|) is cached and reused until the weight changes: the cache is keyed on the weight's identity, its
version counter (bumped by every in-place update: optimiser steps, ``load_state_dict``), dtype and device.
"""

import torch
from torch import nn

from uptflow.models.flow.base import InvertibleModule
from uptflow.models.nhwc import conv1x1
from uptflow.registry import FLOWS

__all__ = ["InvConv1x1"]


@FLOWS.register_module()
class InvConv1x1(InvertibleModule):
    """y = W x at every pixel; log-det = H * W * log|det W| (slogdet). W starts as a random orthogonal matrix."""

    def __init__(self, num_channels: int) -> None:
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(num_channels, num_channels, dtype=torch.float64))
        self.weight = nn.Parameter(q.float())
        self._cache: dict[str, tuple[tuple, torch.Tensor]] = {}

    def _cached(self, name: str, dtype: torch.dtype, compute) -> torch.Tensor:
        """``compute()`` (a function of the weight), memoised while the weight is unchanged and grad is off."""
        if torch.is_grad_enabled() and self.weight.requires_grad:
            return compute()  # training: keep the graph, never reuse
        key = (id(self.weight), self.weight._version, self.weight.data_ptr(), self.weight.device, dtype)
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            # a normal tensor even when first computed under inference_mode, so later autograd use stays legal
            with torch.inference_mode(False), torch.no_grad():
                hit = (key, compute())
            self._cache[name] = hit
        return hit[1]

    def _logdet(self, x: torch.Tensor) -> torch.Tensor:
        logabsdet = self._cached("logabsdet", x.dtype, lambda: torch.linalg.slogdet(self.weight)[1])
        return (logabsdet * (x.shape[2] * x.shape[3])).to(x.dtype).expand(x.shape[0])

    def inverse_weight(self, dtype: torch.dtype) -> torch.Tensor:
        """W^-1 [C, C], computed in float64 for accuracy and cast to ``dtype`` (as the official code)."""
        return self._cached("inverse", dtype, lambda: torch.linalg.inv(self.weight.double()).to(dtype))

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix channels with W."""
        return conv1x1(x, self.weight.to(x.dtype)), self._logdet(x)

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix channels with W^-1 (float64 inverse cast back); log-det -H*W*log|det W|."""
        return conv1x1(y, self.inverse_weight(y.dtype)), -self._logdet(y)

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """Mix channels with W^-1 (no log-det)."""
        return conv1x1(y, self.inverse_weight(y.dtype))

    def _apply(self, fn, recurse=True):
        self._cache.clear()  # .to()/.cuda()/.half() may replace the weight storage
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}"

"""The invertible-module contract shared by every flow layer, and a sequential container.

Contract (every class registered in ``uptflow.registry.FLOWS`` follows it):

* ``forward(x, cond=None) -> (y, logdet)``: ``y`` has the shape ``f`` gives it, ``logdet`` is a tensor of
  shape ``[B]`` holding ``log|det df/dx|`` per sample (summed over every channel and pixel).
* ``reverse(y, cond=None) -> x``: the exact inverse, ``reverse(forward(x, c)[0], c) == x``.
* ``reverse_logdet(y, cond=None) -> (x, logdet)``: the inverse and ``log|det df^-1/dy|``, which equals
  ``-forward(x, cond)[1]``. The official code's reverse log-det had a bug in the coupling (it subtracted the
  wrong scale); here it is the exact negative of the forward one.

``cond`` is whatever the layer is conditioned on (a feature map for couplings, a list of per-level maps for a
multi-level flow, ``None`` for unconditional layers, which ignore it).
"""

import torch
from torch import nn

from uptflow.registry import FLOWS

__all__ = ["InvertibleModule", "FlowSequential", "zero_logdet"]


def zero_logdet(x: torch.Tensor) -> torch.Tensor:
    """Return a zero log-det of shape [B] with ``x``'s dtype and device."""
    return x.new_zeros(x.shape[0])


class InvertibleModule(nn.Module):
    """Base class of invertible layers: ``forward`` gives (y, logdet[B]), ``reverse_logdet`` inverts it."""

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``x`` to ``(y, logdet)`` with ``logdet`` of shape [B]."""
        raise NotImplementedError

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Invert ``forward``; return ``(x, logdet)`` where ``logdet = -forward(x, cond)[1]``."""
        raise NotImplementedError

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """Invert ``forward`` and return ``x`` only."""
        return self.reverse_logdet(y, cond)[0]


@FLOWS.register_module()
class FlowSequential(InvertibleModule):
    """Chain of invertible modules sharing one condition; the log-dets are summed into a single [B] tensor."""

    def __init__(self, *layers: InvertibleModule) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> InvertibleModule:
        return self.layers[i]

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the layers in order, summing their log-dets."""
        logdet = zero_logdet(x)
        for layer in self.layers:
            x, ld = layer(x, cond)
            logdet = logdet + ld
        return x, logdet

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Invert the layers in reverse order, summing their reverse log-dets."""
        logdet = zero_logdet(y)
        for layer in reversed(self.layers):
            y, ld = layer.reverse_logdet(y, cond)
            logdet = logdet + ld
        return y, logdet

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """Invert the layers in reverse order without computing log-dets."""
        for layer in reversed(self.layers):
            y = layer.reverse(y, cond)
        return y

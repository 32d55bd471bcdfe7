"""Space-to-depth squeeze (Glow): C x H x W -> 4C x H/2 x W/2, volume preserving."""

import torch

from uptflow.models.flow.base import InvertibleModule, zero_logdet
from uptflow.models.nhwc import nchw, nhwc
from uptflow.registry import FLOWS

__all__ = ["Squeeze", "squeeze2d", "unsqueeze2d"]


def squeeze2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Space-to-depth; new channel index is ``c * factor**2 + factor * i + j`` for block offset (i, j).

    Works on [B, H, W, C] memory: one copy for channels-last input, whose layout the output keeps.
    """
    b, c, h, w = x.shape
    if h % factor or w % factor:
        raise ValueError(f"squeeze needs H and W divisible by {factor}, got {h}x{w}")
    t = nhwc(x).reshape(b, h // factor, factor, w // factor, factor, c)
    return nchw(t.permute(0, 1, 3, 5, 2, 4).reshape(b, h // factor, w // factor, c * factor * factor))


def unsqueeze2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Depth-to-space, the inverse of :func:`squeeze2d` (channels-last output)."""
    b, c, h, w = x.shape
    f2 = factor * factor
    if c % f2:
        raise ValueError(f"unsqueeze needs channels divisible by {f2}, got {c}")
    t = nhwc(x).reshape(b, h, w, c // f2, factor, factor)
    return nchw(t.permute(0, 1, 4, 2, 5, 3).reshape(b, h * factor, w * factor, c // f2))


@FLOWS.register_module()
class Squeeze(InvertibleModule):
    """Squeeze layer (a permutation of values, so its log-det is 0)."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Space-to-depth."""
        return squeeze2d(x, self.factor), zero_logdet(x)

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Depth-to-space."""
        return unsqueeze2d(y, self.factor), zero_logdet(y)

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """Depth-to-space (no log-det)."""
        return unsqueeze2d(y, self.factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"

"""ActNorm (Glow): per-channel affine y = (x + bias) * exp(logs), with explicit data-dependent initialisation.

The official code initialises an ActNorm silently on its first training-mode forward when its bias is still
zero. Here initialisation is explicit: call :meth:`ActNorm.initialize` on a batch, or run a model forward inside
:func:`data_dependent_init` (what ``UPTFlow.init_actnorm`` does). Whether a layer has been initialised is kept
in the persistent buffer ``initialized`` so it survives save/load; official checkpoints have no such key, so
``uptflow.models.checkpoint`` marks every ActNorm initialised when it loads one (they are trained weights).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from uptflow.models.flow.base import InvertibleModule
from uptflow.registry import FLOWS

__all__ = ["ActNorm", "data_dependent_init"]


@FLOWS.register_module()
class ActNorm(InvertibleModule):
    """Per-channel affine normalisation; log-det = H * W * sum(logs)."""

    def __init__(self, num_channels: int, scale: float = 1.0) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.scale = float(scale)
        self.bias = nn.Parameter(torch.zeros(1, num_channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, num_channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))
        self._init_on_forward = False

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set bias/logs so the output of ``x`` has zero mean and unit (biased) std per channel."""
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(0, 2, 3), keepdim=True).sqrt()
        self.bias.copy_(-mean)
        self.logs.copy_(torch.log(self.scale / (std + 1e-6)))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """y = (x + bias) * exp(logs)."""
        if self._init_on_forward and not bool(self.initialized):
            self.initialize(x)
        y = (x + self.bias) * torch.exp(self.logs)
        return y, self._logdet(x)

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """x = y * exp(-logs) - bias."""
        return y * torch.exp(-self.logs) - self.bias, -self._logdet(y)

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """x = y * exp(-logs) - bias (no log-det)."""
        return y * torch.exp(-self.logs) - self.bias

    def _logdet(self, x: torch.Tensor) -> torch.Tensor:
        return (self.logs.sum() * (x.shape[2] * x.shape[3])).expand(x.shape[0])

    def extra_repr(self) -> str:
        return f"{self.num_channels}, initialized={bool(self.initialized)}"


@contextmanager
def data_dependent_init(module: nn.Module) -> Iterator[None]:
    """Within this context, every not-yet-initialised ActNorm in ``module`` initialises on the first input it sees."""
    norms = [m for m in module.modules() if isinstance(m, ActNorm)]
    for m in norms:
        m._init_on_forward = True
    try:
        yield
    finally:
        for m in norms:
            m._init_on_forward = False

"""UPT-Flow's invertible network (official ``FlowUpsamplerNet`` with split disabled), spec §3.1.

Per level: squeeze, ``n_unconditional`` steps (ActNorm, 1x1 conv), ``K`` conditional steps (ActNorm, 1x1 conv,
cross-coupling affine on the level's condition). No split: x [B,3,H,W] -> z [B,3*4^L,H/2^L,W/2^L].
"""

from collections.abc import Sequence

import torch
from torch import nn

from uptflow.models.flow.actnorm import ActNorm
from uptflow.models.flow.base import FlowSequential, InvertibleModule, zero_logdet
from uptflow.models.flow.coupling import CrossCouplingAffine
from uptflow.models.flow.inv_conv import InvConv1x1
from uptflow.models.flow.squeeze import Squeeze
from uptflow.models.nhwc import channels_last, conv1x1
from uptflow.registry import FLOWS

__all__ = ["FlowStep", "FlowLevel", "UPTFlowNet"]


@FLOWS.register_module()
class FlowStep(InvertibleModule):
    """ActNorm -> invertible 1x1 conv -> (optional) cross-coupling affine conditioned on ``cond``."""

    def __init__(self, channels: int, cond_channels: int | None = None, hidden: int = 64, eps: float = 3e-4,
                 reduction: int = 16) -> None:
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv1x1(channels)
        self.coupling = (CrossCouplingAffine(channels, cond_channels, hidden, eps, reduction)
                         if cond_channels is not None else None)

    def forward(self, x: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalise, mix channels, couple."""
        x, logdet = self.actnorm(x)
        x, ld = self.invconv(x)
        logdet = logdet + ld
        if self.coupling is not None:
            x, ld = self.coupling(x, cond)
            logdet = logdet + ld
        return x, logdet

    def reverse_logdet(self, y: torch.Tensor, cond=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo the coupling, the 1x1 conv and the ActNorm."""
        logdet = zero_logdet(y)
        if self.coupling is not None:
            y, logdet = self.coupling.reverse_logdet(y, cond)
        y, ld = self.invconv.reverse_logdet(y)
        y, ld2 = self.actnorm.reverse_logdet(y)
        return y, logdet + ld + ld2

    def reverse(self, y: torch.Tensor, cond=None) -> torch.Tensor:
        """Undo the step without computing log-dets; W^-1 and the ActNorm inverse run as one 1x1 conv."""
        if self.coupling is not None:
            y = self.coupling.reverse(y, cond)
        # ActNorm^-1(W^-1 y) = diag(exp(-logs)) W^-1 y - bias
        weight = self.invconv.inverse_weight(y.dtype) * torch.exp(-self.actnorm.logs).view(-1, 1)
        return conv1x1(y, weight, -self.actnorm.bias.flatten())


@FLOWS.register_module()
class FlowLevel(FlowSequential):
    """One level: squeeze, unconditional steps, conditional steps, all sharing the level's condition."""

    def __init__(self, in_channels: int, cond_channels: int, n_unconditional: int = 2, K: int = 8,
                 hidden: int = 64, eps: float = 3e-4, reduction: int = 16) -> None:
        c = in_channels * 4
        super().__init__(
            Squeeze(2),
            *[FlowStep(c) for _ in range(n_unconditional)],
            *[FlowStep(c, cond_channels, hidden, eps, reduction) for _ in range(K)],
        )


@FLOWS.register_module()
class UPTFlowNet(InvertibleModule):
    """The full multi-level flow; ``cond`` is a list with one feature map per level (finest first).

    The flow always runs without autocast, in float32 (or float64 if given float64), because fp16 errors
    compound over its 30 steps (spec §7.15). Its activations are channels-last (``uptflow.models.nhwc``).
    """

    def __init__(self, in_channels: int = 3, levels: int = 3, n_unconditional: int = 2, K: int = 8,
                 cond_channels: int | Sequence[int] = 288, hidden: int = 64, eps: float = 3e-4,
                 reduction: int = 16) -> None:
        super().__init__()
        conds = [cond_channels] * levels if isinstance(cond_channels, int) else list(cond_channels)
        if len(conds) != levels:
            raise ValueError(f"cond_channels has {len(conds)} entries for {levels} levels")
        self.in_channels = in_channels
        self.n_levels = levels
        self.n_unconditional = n_unconditional
        self.K = K
        self.levels = nn.ModuleList(
            FlowLevel(in_channels * 4**lvl, conds[lvl], n_unconditional, K, hidden, eps, reduction)
            for lvl in range(levels)
        )

    @property
    def subnet_dtype(self) -> torch.dtype | None:
        """Autocast dtype of the coupling sub-networks (None: float32); everything else stays float32."""
        return next(m.subnet_dtype for m in self.modules() if isinstance(m, CrossCouplingAffine))

    @subnet_dtype.setter
    def subnet_dtype(self, dtype: torch.dtype | None) -> None:
        for m in self.modules():
            if isinstance(m, CrossCouplingAffine):
                m.subnet_dtype = dtype

    @property
    def factor(self) -> int:
        """Spatial down-sampling factor between x and z (H and W must be multiples of it)."""
        return 2**self.n_levels

    def latent_shape(self, batch: int, height: int, width: int) -> tuple[int, int, int, int]:
        """Shape of z for an image of ``height`` x ``width``."""
        f = self.factor
        return batch, self.in_channels * f * f, height // f, width // f

    def _prepare(self, x: torch.Tensor, cond: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if cond is None or len(cond) != self.n_levels:
            raise ValueError(f"UPTFlowNet needs a list of {self.n_levels} condition maps (one per level)")
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        # the conditions only feed the coupling sub-networks: under a lower sub-network precision they stay in it
        # (the encoder gives them so) instead of a float32 round trip that autocast would undo in every coupling
        cond_dtype = dtype if self.subnet_dtype is None or dtype == torch.float64 else self.subnet_dtype
        return channels_last(x.to(dtype)), [channels_last(c.to(cond_dtype)) for c in cond]

    def forward(self, x: torch.Tensor, cond: Sequence[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Image -> latent z and the summed log-det (no quantisation constant)."""
        f = self.factor
        if x.shape[2] % f or x.shape[3] % f:
            raise ValueError(f"flow input must have H and W divisible by {f}, got {x.shape[2]}x{x.shape[3]}")
        with torch.autocast(x.device.type, enabled=False):
            x, cond = self._prepare(x, cond)
            logdet = zero_logdet(x)
            for level, c in zip(self.levels, cond, strict=True):
                x, ld = level(x, c)
                logdet = logdet + ld
        return x, logdet

    def reverse_logdet(self, z: torch.Tensor, cond: Sequence[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent -> image, with the exact reverse log-det."""
        with torch.autocast(z.device.type, enabled=False):
            z, cond = self._prepare(z, cond)
            logdet = zero_logdet(z)
            for level, c in zip(reversed(self.levels), reversed(cond), strict=True):
                z, ld = level.reverse_logdet(z, c)
                logdet = logdet + ld
        return z, logdet

    def reverse(self, z: torch.Tensor, cond: Sequence[torch.Tensor] = None) -> torch.Tensor:
        """Latent -> image without log-dets (the inference path)."""
        with torch.autocast(z.device.type, enabled=False):
            z, cond = self._prepare(z, cond)
            for level, c in zip(reversed(self.levels), reversed(cond), strict=True):
                z = level.reverse(z, c)
        return z


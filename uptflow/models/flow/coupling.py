"""UPT-Flow's cross-coupling conditional affine layer (official name ``CondAffineSeparatedAndCond``), spec §3.4.

Forward (x -> z), each sub-step adds sum(log scale) to the log-det:
  (a) z = (z + t_a) * s_a              with (t_a, s_a) from feat_net_1(f)            (all C channels)
  (b) z2 = (z2 + t_b) * s_b            with (t_b, s_b) from coupling_net_1([z1, f])
  (c) z = (z + t_c) * s_c              with (t_c, s_c) from feat_net_2(f)
  (d) z1 = (z1 + t_d) * s_d            with (t_d, s_d) from coupling_net_2([z2, f])  (the "cross" direction)
Every sub-network output is cross-split: shift = even channels, scale = sigmoid(odd channels + 2) + eps.
"""

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.models.flow.actnorm import ActNorm
from uptflow.models.flow.base import InvertibleModule, zero_logdet
from uptflow.models.flow.cbam import CBAM
from uptflow.registry import FLOWS

__all__ = ["CrossCouplingAffine", "AffineNet", "Conv2dZeros"]


class Conv2dZeros(nn.Conv2d):
    """Zero-initialised conv whose output is scaled by exp(logscale_factor * logs) per output channel (Glow)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, logscale_factor: float = 3.0) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.logscale_factor = logscale_factor
        self.logs = nn.Parameter(torch.zeros(out_channels, 1, 1))
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve and rescale."""
        if not torch.is_grad_enabled():  # inference: fold the rescaling into the (small) weight and bias
            scale = torch.exp(self.logs * self.logscale_factor)
            return self._conv_forward(x, self.weight * scale[:, :, :, None], self.bias * scale.flatten())
        return super().forward(x) * torch.exp(self.logs * self.logscale_factor)


def _conv_actnorm(x: torch.Tensor, conv: nn.Conv2d, norm: ActNorm) -> torch.Tensor:
    """ActNorm(conv(x)) for a bias-free conv with the affine folded into the conv: (Wx + b) s = (W s) x + b s."""
    scale = torch.exp(norm.logs).flatten()
    return conv._conv_forward(x, conv.weight * scale[:, None, None, None], norm.bias.flatten() * scale)


class AffineNet(nn.Module):
    """Scale/shift predictor (official ``NN_F``): conv1x1-ActNorm-ReLU, conv3x3-ActNorm-ReLU, CBAM + residual,
    zero-initialised conv1x1. The convs have no bias (ActNorm provides it) and start as N(0, 0.05^2)."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64, reduction: int = 16) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.norm_in = ActNorm(hidden)
        self.conv_hidden = nn.Conv2d(hidden, hidden, 3, padding=1, bias=False)
        self.norm_hidden = ActNorm(hidden)
        self.cbam = CBAM(hidden, reduction)
        self.conv_out = Conv2dZeros(hidden, out_channels)
        for conv in (self.conv_in, self.conv_hidden):
            nn.init.normal_(conv.weight, std=0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict the interleaved (shift, raw scale) channels."""
        if torch.is_grad_enabled() or self.norm_in._init_on_forward:
            h = F.relu(self.norm_in(self.conv_in(x))[0])
            h = F.relu(self.norm_hidden(self.conv_hidden(h))[0])
            h = h + self.cbam(h)
        else:  # inference: ActNorms folded into the convs (two fewer passes over the hidden maps each)
            h = F.relu(_conv_actnorm(x, self.conv_in, self.norm_in), inplace=True)
            h = F.relu(_conv_actnorm(h, self.conv_hidden, self.norm_hidden), inplace=True)
            h += self.cbam(h)
        return self.conv_out(h)


@FLOWS.register_module()
class CrossCouplingAffine(InvertibleModule):
    """Two feature-conditioned affines interleaved with two affine couplings running in opposite directions."""

    def __init__(self, channels: int, cond_channels: int, hidden: int = 64, eps: float = 3e-4,
                 reduction: int = 16) -> None:
        super().__init__()
        self.channels = channels
        self.c1 = channels // 2
        c2 = channels - self.c1
        self.eps = eps
        self.feat_net_1 = AffineNet(cond_channels, 2 * channels, hidden, reduction)
        self.coupling_net_1 = AffineNet(self.c1 + cond_channels, 2 * c2, hidden, reduction)
        self.feat_net_2 = AffineNet(cond_channels, 2 * channels, hidden, reduction)
        # the official code sizes this net's input with C1 although it reads z2: identical here since C is even
        self.coupling_net_2 = AffineNet(c2 + cond_channels, 2 * self.c1, hidden, reduction)

    def _shift_scale(self, net: AffineNet, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = net(inp)
        return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0) + self.eps

    @staticmethod
    def _sum_log(scale: torch.Tensor) -> torch.Tensor:
        return torch.log(scale).sum(dim=(1, 2, 3))

    def forward(self, x: torch.Tensor, cond: torch.Tensor = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply sub-steps (a)-(d)."""
        if cond is None:
            raise ValueError("CrossCouplingAffine needs a condition feature map")
        t, s = self._shift_scale(self.feat_net_1, cond)
        z = (x + t) * s
        logdet = self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = self._shift_scale(self.coupling_net_1, torch.cat([z1, cond], dim=1))
        z2 = (z2 + t) * s
        logdet = logdet + self._sum_log(s)
        t, s = self._shift_scale(self.feat_net_2, cond)
        z = (torch.cat([z1, z2], dim=1) + t) * s
        logdet = logdet + self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = self._shift_scale(self.coupling_net_2, torch.cat([z2, cond], dim=1))
        z1 = (z1 + t) * s
        logdet = logdet + self._sum_log(s)
        return torch.cat([z1, z2], dim=1), logdet

    def reverse_logdet(self, y: torch.Tensor, cond: torch.Tensor = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo (d), (c), (b), (a); the log-det subtracts each step's own scale (fixes the official bug)."""
        return self._reverse(y, cond, with_logdet=True)

    def reverse(self, y: torch.Tensor, cond: torch.Tensor = None) -> torch.Tensor:
        """Undo (d), (c), (b), (a) without the log-det (inference skips its logs and sums)."""
        return self._reverse(y, cond, with_logdet=False)[0]

    def _reverse(self, y: torch.Tensor, cond: torch.Tensor | None,
                 with_logdet: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if cond is None:
            raise ValueError("CrossCouplingAffine needs a condition feature map")
        logdet = zero_logdet(y) if with_logdet else None
        z1, z2 = y[:, :self.c1], y[:, self.c1:]
        t, s = self._shift_scale(self.coupling_net_2, torch.cat([z2, cond], dim=1))
        z1 = z1 / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        t, s = self._shift_scale(self.feat_net_2, cond)
        z = torch.cat([z1, z2], dim=1) / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = self._shift_scale(self.coupling_net_1, torch.cat([z1, cond], dim=1))
        z2 = z2 / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        t, s = self._shift_scale(self.feat_net_1, cond)
        x = torch.cat([z1, z2], dim=1) / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        return x, logdet

    def extra_repr(self) -> str:
        return f"channels={self.channels}, eps={self.eps}"

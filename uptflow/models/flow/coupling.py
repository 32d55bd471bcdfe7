"""UPT-Flow's cross-coupling conditional affine layer (official name ``CondAffineSeparatedAndCond``), spec §3.4.

Forward (x -> z), each sub-step adds sum(log scale) to the log-det:
  (a) z = (z + t_a) * s_a              with (t_a, s_a) from feat_net_1(f)            (all C channels)
  (b) z2 = (z2 + t_b) * s_b            with (t_b, s_b) from coupling_net_1([z1, f])
  (c) z = (z + t_c) * s_c              with (t_c, s_c) from feat_net_2(f)
  (d) z1 = (z1 + t_d) * s_d            with (t_d, s_d) from coupling_net_2([z2, f])  (the "cross" direction)
Every sub-network output is cross-split: shift = even channels, scale = sigmoid(odd channels + 2) + eps.

The sub-networks run folded (see :meth:`AffineNet.folded_in` and :meth:`AffineNet.tail`): each ActNorm is folded
into the bias-free conv before it and the zero-conv's output scale into that conv, and the condition's share of the
four first 1x1 convs is one matrix product per layer (the couplings add their z half's share), so the 288-channel
condition is read once instead of four times and never concatenated. Only the data-dependent ActNorm initialisation
runs the plain layer-by-layer path, since it needs the un-normalised conv outputs.
"""

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.models.flow.actnorm import ActNorm
from uptflow.models.flow.base import InvertibleModule, zero_logdet
from uptflow.models.flow.cbam import CBAM
from uptflow.models.nhwc import conv1x1
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

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias with the output scale folded in: (W x + b) s = (W s) x + b s."""
        scale = torch.exp(self.logs * self.logscale_factor).flatten()
        return self.weight * scale[:, None, None, None], self.bias * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve and rescale."""
        return super().forward(x) * torch.exp(self.logs * self.logscale_factor)


def _fold_actnorm(weight: torch.Tensor, norm: ActNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """ActNorm(conv(x)) of a bias-free conv as one conv: (W x + b) s = (W s) x + b s."""
    scale = torch.exp(norm.logs).flatten()
    return weight * scale.view(-1, *[1] * (weight.ndim - 1)), norm.bias.flatten() * scale


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

    @property
    def initializing(self) -> bool:
        """Whether a data-dependent ActNorm initialisation is running (the folded path cannot serve it)."""
        return self.norm_in._init_on_forward or self.norm_hidden._init_on_forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict the interleaved (shift, raw scale) channels, layer by layer (the official computation)."""
        h = F.relu(self.norm_in(self.conv_in(x))[0])
        h = F.relu(self.norm_hidden(self.conv_hidden(h))[0])
        h = h + self.cbam(h)
        return self.conv_out(h)

    def folded_in(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first conv with its ActNorm folded in: weight [hidden, in_channels] and bias [hidden]."""
        return _fold_actnorm(self.conv_in.weight.flatten(1), self.norm_in)

    def tail(self, h: torch.Tensor) -> torch.Tensor:
        """Everything after the first conv+ActNorm, folded: ``h`` [B, hidden, H, W] (its pre-activation, which may
        be overwritten) -> [B, 2 C, H, W] holding the C shifts, then the C raw scales with the official + 2 added."""
        inplace = not torch.is_grad_enabled()
        h = h.relu_() if inplace and h.is_contiguous(memory_format=torch.channels_last) else F.relu(h)
        w, b = _fold_actnorm(self.conv_hidden.weight, self.norm_hidden)
        h = F.conv2d(h, w, b, padding=1)
        h = h.relu_() if inplace else F.relu(h)
        h = self.cbam(h, residual=h)
        w, b = self.conv_out.folded()
        n = w.shape[0] // 2
        shift_b, scale_b = b.view(n, 2).unbind(1)  # official order: interleaved (shift, scale) pairs
        return conv1x1(h, w.view(n, 2, -1).transpose(0, 1).reshape(2 * n, -1), torch.cat([shift_b, scale_b + 2.0]))


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
        self.subnet_dtype: torch.dtype | None = None  # autocast dtype of the sub-networks (None: float32)

    def _nets(self) -> tuple[AffineNet, ...]:
        return self.feat_net_1, self.coupling_net_1, self.feat_net_2, self.coupling_net_2

    def _subnets(self, cond: torch.Tensor, dtype: torch.dtype):
        """Return ``shift_scale(i, z=None) -> (shift, scale)`` for sub-network i of :meth:`_nets` on ``cond``; the
        shifts and scales are in ``dtype`` (the flow's), whatever ``cond`` and the sub-networks run in."""
        nets = self._nets()
        if any(net.initializing for net in nets):
            cond = cond.to(dtype)

            def plain(i: int, z: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
                h = nets[i](cond if z is None else torch.cat([z, cond], dim=1))
                return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0) + self.eps
            return plain

        low = self.subnet_dtype
        autocast = torch.autocast(cond.device.type, dtype=low, enabled=low is not None)
        folded = [net.folded_in() for net in nets]
        cc = cond.shape[1]  # the couplings read [z half, cond]: the condition's weights are the last columns
        with autocast:
            shares = conv1x1(cond, torch.cat([w[:, -cc:] for w, _ in folded]), torch.cat([b for _, b in folded]))
        shares = list(shares.split([w.shape[0] for w, _ in folded], dim=1))

        def fused(i: int, z: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            share, shares[i] = shares[i], None  # each share is used once; drop it as soon as it is
            with autocast:
                h = share if z is None else conv1x1(z, folded[i][0][:, :-cc], residual=share)
                h = nets[i].tail(h)
            c = h.shape[1] // 2
            # the affine update itself is float32 whatever the sub-network ran in
            return h[:, :c].to(dtype), torch.sigmoid(h[:, c:].to(dtype)) + self.eps
        return fused

    @staticmethod
    def _sum_log(scale: torch.Tensor) -> torch.Tensor:
        return torch.log(scale).sum(dim=(1, 2, 3))

    def forward(self, x: torch.Tensor, cond: torch.Tensor = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply sub-steps (a)-(d)."""
        if cond is None:
            raise ValueError("CrossCouplingAffine needs a condition feature map")
        net = self._subnets(cond, x.dtype)
        t, s = net(0)
        z = (x + t) * s
        logdet = self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = net(1, z1)
        z2 = (z2 + t) * s
        logdet = logdet + self._sum_log(s)
        t, s = net(2)
        z = (torch.cat([z1, z2], dim=1) + t) * s
        logdet = logdet + self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = net(3, z2)
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
        net = self._subnets(cond, y.dtype)
        logdet = zero_logdet(y) if with_logdet else None
        z1, z2 = y[:, :self.c1], y[:, self.c1:]
        t, s = net(3, z2)
        z1 = z1 / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        t, s = net(2)
        z = torch.cat([z1, z2], dim=1) / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        z1, z2 = z[:, :self.c1], z[:, self.c1:]
        t, s = net(1, z1)
        z2 = z2 / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        t, s = net(0)
        x = torch.cat([z1, z2], dim=1) / s - t
        if with_logdet:
            logdet = logdet - self._sum_log(s)
        return x, logdet

    def extra_repr(self) -> str:
        return f"channels={self.channels}, eps={self.eps}"

"""CBAM attention (Woo et al., ECCV'18) as used inside UPT-Flow's coupling sub-networks (not itself invertible)."""

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.models.image_statistics import pooled_amax, pooled_mean

__all__ = ["CBAM", "ChannelGate", "SpatialGate"]


class ChannelGate(nn.Module):
    """Scale channels by sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))), the MLP shared between both pools."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def _mlp(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(v)))

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """The gate [B, C, 1, 1] of ``x`` [B, C, H, W]."""
        att = self._mlp(pooled_mean(x)) + self._mlp(pooled_amax(x))
        return torch.sigmoid(att)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the channel gate."""
        return x * self.scale(x)


class SpatialGate(nn.Module):
    """Scale pixels by sigmoid(conv7x7([max over channels, mean over channels]))."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """The gate [B, 1, H, W] of ``x`` [B, C, H, W]."""
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the spatial gate."""
        return x * self.scale(x)


class CBAM(nn.Module):
    """Channel gate then spatial gate (no residual by default; the coupling sub-network adds it)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.channel_gate = ChannelGate(channels, reduction)
        self.spatial_gate = SpatialGate()

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """Gate ``x`` by channel, then by pixel (and add ``residual`` in the same pass when given)."""
        g = self.channel_gate(x)
        s = self.spatial_gate.scale(g)
        return g * s if residual is None else torch.addcmul(residual, g, s)

"""Restormer building blocks used by the global branch of the UPT-Flow MSFormer encoder.

Re-implemented from the Restormer paper (Zamir et al., "Restormer: Efficient Transformer for High-Resolution
Image Restoration", CVPR 2022) with the submodule and parameter names of the UPT-Flow code (Xu et al., Pattern
Recognition 158:111076, 2025; github NJUPT-IPR-XuLintao/UPT-Flow), so official checkpoints load without renaming.
UPT-Flow uses the "WithBias" layer norm and bias-free convolutions throughout these blocks.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ChannelLayerNorm", "LayerNorm2d", "MDTA", "GDFN", "TransformerBlock"]


class ChannelLayerNorm(nn.Module):
    """Layer norm over the last dimension with a learnable weight and bias (Restormer's "WithBias" variant).

    Args:
        dim: size of the normalised (last) dimension.
        eps: added to the biased variance under the square root.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` [..., dim]."""
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class LayerNorm2d(nn.Module):
    """Per-pixel layer norm over the channels of a [B, C, H, W] map (the parameters live in ``body``).

    Args:
        dim: number of channels C.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = ChannelLayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` [B, C, H, W] over C; returns [B, C, H, W]."""
        return self.body(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class MDTA(nn.Module):
    """Multi-Dconv head Transposed Attention: attention across channels, cost linear in H*W.

    Args:
        dim: channels C.
        num_heads: heads h; each attends over C/h channels.
        bias: whether the convolutions have a bias (False in UPT-Flow).
    """

    def __init__(self, dim: int, num_heads: int, bias: bool = False) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MDTA: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply channel attention to ``x`` [B, C, H, W]; returns [B, C, H, W]."""
        b, c, h, w = x.shape
        qkv = self.qkv_dwconv(self.qkv(x)).reshape(b, 3, self.num_heads, c // self.num_heads, h * w)
        q, k, v = qkv.unbind(1)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class GDFN(nn.Module):
    """Gated-Dconv Feed-forward Network: GELU(a) * b after a 1x1 and a depthwise 3x3 convolution.

    Args:
        dim: channels C.
        expansion: hidden width factor; hidden = floor(expansion * C).
        bias: whether the convolutions have a bias (False in UPT-Flow).
    """

    def __init__(self, dim: int, expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, kernel_size=3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the gated feed-forward to ``x`` [B, C, H, W]; returns [B, C, H, W]."""
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class TransformerBlock(nn.Module):
    """Restormer block: ``x + MDTA(LN(x))`` then ``x + GDFN(LN(x))`` (no drop-path).

    Args:
        dim: channels C.
        num_heads: MDTA heads.
        ffn_expansion: GDFN hidden width factor.
        bias: whether the convolutions have a bias.
    """

    def __init__(self, dim: int, num_heads: int, ffn_expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = MDTA(dim, num_heads, bias)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GDFN(dim, ffn_expansion, bias)

    def forward(self, x: Tensor) -> Tensor:
        """Transform ``x`` [B, C, H, W]; returns [B, C, H, W]."""
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))

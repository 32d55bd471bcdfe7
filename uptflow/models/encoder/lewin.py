"""UPM-guided LeWin (locally-enhanced window) transformer blocks of the UPT-Flow MSFormer encoder.

The blocks follow Uformer (Wang et al., "Uformer: A General U-Shaped Transformer for Image Restoration", CVPR 2022)
and Swin's shifted windows, re-implemented from those papers with the changes UPT-Flow makes (Xu et al., Pattern
Recognition 158:111076, 2025; official code github NJUPT-IPR-XuLintao/UPT-Flow, ``Lowlight_Encoder.py``):

* queries and keys come from the Unbalanced Point Map feature ``m`` (not layer-normalised), values from the
  layer-normalised image feature, each through a depthwise 3x3 convolution applied to every window as a small
  zero-padded image;
* the logits are ``(q * d^-1/2) k^T * tau_head + B_rel (+ Swin shift mask)`` with a learnable per-head ``tau``;
* the feed-forward is LeFF without the first activation, followed by ECA channel attention.

Submodule and parameter names match the official code so its checkpoints load without renaming. Windows may be
non-square: the window height and width are passed explicitly (the official code recovers them as sqrt(N)).
"""

from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import StochasticDepth

__all__ = [
    "relative_position_index",
    "shifted_window_mask",
    "ConvProjection",
    "WindowAttention",
    "ECA",
    "LeFF",
    "LeWinBlock",
    "BasicUformerLayer",
]

# Logit added between tokens of different regions of a shifted window (the Swin / Uformer value).
MASK_VALUE = -100.0


def relative_position_index(window: tuple[int, int]) -> Tensor:
    """Return the Swin relative-position index [N, N] (N = wh * ww) into a ((2wh-1)(2ww-1))-row bias table.

    Args:
        window: window height and width (wh, ww).
    """
    wh, ww = window
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)  # [2, N]
    rel = coords[:, :, None] - coords[:, None, :]  # [2, N, N]
    return (rel[0] + wh - 1) * (2 * ww - 1) + (rel[1] + ww - 1)


@lru_cache(maxsize=64)
def _shifted_window_mask_cpu(height: int, width: int, window: tuple[int, int], shift: tuple[int, int]) -> Tensor:
    regions = torch.zeros(height, width)
    wh, ww = window
    sh, sw = shift
    # Regions as in Swin; a dimension that is not shifted keeps a single region.
    row_regions = (slice(0, -wh), slice(-wh, -sh), slice(-sh, None)) if sh else (slice(None),)
    col_regions = (slice(0, -ww), slice(-ww, -sw), slice(-sw, None)) if sw else (slice(None),)
    label = 0
    for rows in row_regions:
        for cols in col_regions:
            regions[rows, cols] = label
            label += 1
    windows = regions.view(height // wh, wh, width // ww, ww).permute(0, 2, 1, 3).reshape(-1, wh * ww)
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.zeros_like(diff).masked_fill_(diff != 0, MASK_VALUE)


def shifted_window_mask(
    height: int, width: int, window: tuple[int, int], shift: tuple[int, int], device: torch.device | None = None
) -> Tensor:
    """Return the additive Swin attention mask [nW, N, N] for a cyclically shifted, window-padded map.

    Tokens that were not neighbours before the cyclic roll get ``-100`` so they (almost) do not attend to each
    other. The result is cached per size on the CPU; do not modify it in place.

    Args:
        height: padded map height (a multiple of the window height).
        width: padded map width (a multiple of the window width).
        window: window height and width.
        shift: roll applied to rows and columns.
        device: where the mask is needed.
    """
    return _shifted_window_mask_cpu(height, width, tuple(window), tuple(shift)).to(device)


class ConvProjection(nn.Module):
    """Depthwise 3x3 projections: q and k from the UPM-feature windows, v from the image-feature windows.

    Args:
        dim: channels C (= heads * head_dim).
        num_heads: attention heads.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.to_q = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self.to_k = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self.to_v = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def _heads(self, t: Tensor) -> Tensor:
        b, c = t.shape[:2]
        return t.reshape(b, self.num_heads, c // self.num_heads, -1).transpose(-2, -1)

    def forward(self, x_win: Tensor, m_win: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Project windows [B', C, wh, ww] to q, k, v of shape [B', heads, N, C/heads].

        ``m_win`` may have a single channel standing for C identical ones (the full-resolution UPM feature): a
        depthwise conv of identical channels is a 1 -> C conv with the same [C, 1, 3, 3] weight, without the copies.
        """
        if m_win.shape[1] == 1 and x_win.shape[1] > 1:
            q = F.conv2d(m_win, self.to_q.weight, self.to_q.bias, padding=1)
            k = F.conv2d(m_win, self.to_k.weight, self.to_k.bias, padding=1)
        else:
            q, k = self.to_q(m_win), self.to_k(m_win)
        return self._heads(q), self._heads(k), self._heads(self.to_v(x_win))


class WindowAttention(nn.Module):
    """Window multi-head attention with UPM-derived q/k, relative-position bias and a per-head temperature.

    Args:
        dim: channels C.
        window: window height and width.
        num_heads: attention heads.
    """

    def __init__(self, dim: int, window: tuple[int, int], num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"WindowAttention: dim {dim} is not divisible by num_heads {num_heads}")
        self.window = tuple(window)
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        wh, ww = self.window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window), persistent=True)
        self.qkv = ConvProjection(dim, num_heads)
        self.proj = nn.Linear(dim, dim)
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the bias table and the output projection (trunc-normal, std 0.02; zero bias)."""
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        nn.init.trunc_normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        # A checkpoint trained with another window size only differs in these two shapes; say so plainly.
        for name in ("relative_position_bias_table", "relative_position_index"):
            key = prefix + name
            if key in state_dict and tuple(state_dict[key].shape) != tuple(getattr(self, name).shape):
                raise ValueError(
                    f"window-size mismatch at '{key}': checkpoint shape {tuple(state_dict[key].shape)}, model "
                    f"shape {tuple(getattr(self, name).shape)} (model window {self.window[0]}x{self.window[1]}). "
                    f"Build the encoder with the checkpoint's window size (see infer_window_size)."
                )
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)

    def relative_position_bias(self) -> Tensor:
        """Return the bias [heads, N, N] gathered from the table."""
        n = self.relative_position_index.shape[0]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        return bias.reshape(n, n, self.num_heads).permute(2, 0, 1)

    def forward(self, x_win: Tensor, m_win: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attend within windows.

        Args:
            x_win: layer-normalised image-feature windows [B', C, wh, ww], B' = B * nW.
            m_win: UPM-feature windows [B', C, wh, ww].
            mask: additive shift mask [nW, N, N] or None.

        Returns:
            Tensor [B', N, C].
        """
        q, k, v = self.qkv(x_win, m_win)
        attn = (q * self.scale) @ k.transpose(-2, -1) * self.temperature + self.relative_position_bias()
        if mask is not None:
            nw, n = mask.shape[0], mask.shape[1]
            attn = (attn.view(-1, nw, self.num_heads, n, n) + mask[None, :, None]).view(-1, self.num_heads, n, n)
        out = attn.softmax(dim=-1) @ v  # [B', heads, N, d]
        return self.proj(out.transpose(1, 2).flatten(2))


class ECA(nn.Module):
    """Efficient Channel Attention: global average pool, 1-D conv across channels, sigmoid, rescale.

    Args:
        k_size: kernel size of the 1-D convolution.
    """

    def __init__(self, k_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Rescale the channels of ``x`` [B, C, H, W]."""
        y = self.conv(x.mean(dim=(2, 3))[:, None, :])  # [B, 1, C]
        return x * torch.sigmoid(y)[:, 0, :, None, None]


class LeFF(nn.Module):
    """Locally-enhanced feed-forward as in UPT-Flow: 1x1 conv (no activation), depthwise 3x3 + GELU, 1x1, ECA.

    Args:
        dim: channels C.
        hidden_dim: hidden channels.
    """

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, hidden_dim, kernel_size=1)
        self.dwconv = nn.Sequential(
            nn.Conv2d(hidden_dim, hidden_dim, kernel_size=3, padding=1, groups=hidden_dim), nn.GELU()
        )
        self.conv2 = nn.Conv2d(hidden_dim, dim, kernel_size=1)
        self.eca = ECA()

    def forward(self, x: Tensor) -> Tensor:
        """Apply to ``x`` [B, C, H, W]; returns [B, C, H, W]."""
        return self.eca(self.conv2(self.dwconv(self.conv1(x))))


class LeWinBlock(nn.Module):
    """UPM-guided (shifted) window transformer block with a LeFF+ECA feed-forward.

    The image feature is zero-padded to whole windows *before* its layer norm (as in the official code), so padded
    tokens carry the norm's bias and take part in attention; the UPM feature is padded but never normalised.

    Args:
        dim: channels C.
        num_heads: attention heads.
        window: window height and width.
        shift: cyclic shift (rows, cols); (0, 0) for plain windows.
        mlp_ratio: LeFF hidden width factor.
        drop_path: stochastic-depth probability of both residual branches.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window: tuple[int, int],
        shift: tuple[int, int] = (0, 0),
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.window = tuple(window)
        self.shift = tuple(shift)
        if not all(0 <= s < w for s, w in zip(self.shift, self.window, strict=True)):
            raise ValueError(f"LeWinBlock: shift {self.shift} must lie in [0, window) for window {self.window}")
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, self.window, num_heads)
        self.drop_path = StochasticDepth(drop_path, mode="row")
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = LeFF(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, m: Tensor) -> Tensor:
        """Transform ``x`` [B, C, H, W] guided by the UPM feature ``m`` [B, C or 1, H, W]; returns [B, C, H, W].

        A one-channel ``m`` stands for C identical channels (cheaper, same result)."""
        b, c, h, w = x.shape
        wh, ww = self.window
        pad_b, pad_r = -h % wh, -w % ww
        hp, wp = h + pad_b, w + pad_r
        shortcut = x.permute(0, 2, 3, 1)  # [B, H, W, C]
        xs = self.norm1(F.pad(shortcut, (0, 0, 0, pad_r, 0, pad_b)))
        ms = F.pad(m, (0, pad_r, 0, pad_b))
        shifted = any(self.shift)
        if shifted:
            xs = torch.roll(xs, shifts=(-self.shift[0], -self.shift[1]), dims=(1, 2))
            ms = torch.roll(ms, shifts=(-self.shift[0], -self.shift[1]), dims=(2, 3))
        nh, nw = hp // wh, wp // ww
        x_win = xs.reshape(b, nh, wh, nw, ww, c).permute(0, 1, 3, 5, 2, 4).reshape(-1, c, wh, ww)
        cm = ms.shape[1]  # C, or 1 for a UPM feature of C identical channels (see ConvProjection)
        m_win = ms.reshape(b, cm, nh, wh, nw, ww).permute(0, 2, 4, 1, 3, 5).reshape(-1, cm, wh, ww)
        mask = shifted_window_mask(hp, wp, self.window, self.shift, x.device).to(x.dtype) if shifted else None
        out = self.attn(x_win, m_win, mask)  # [B * nW, N, C]
        out = out.reshape(b, nh, nw, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if shifted:
            out = torch.roll(out, shifts=self.shift, dims=(1, 2))
        y = shortcut + self.drop_path(out[:, :h, :w])
        return y.permute(0, 3, 1, 2) + self.drop_path(self.mlp(self.norm2(y).permute(0, 3, 1, 2)))


class BasicUformerLayer(nn.Module):
    """A stack of LeWin blocks; odd blocks use shifted windows (shift = window // 2). All share the same UPM feature.

    Args:
        dim: channels C.
        depth: number of blocks.
        num_heads: attention heads.
        window: window height and width.
        drop_path: one stochastic-depth probability per block, or one for all.
        mlp_ratio: LeFF hidden width factor.
        shift: whether odd blocks use shifted windows.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window: tuple[int, int],
        drop_path: Sequence[float] | float = 0.0,
        mlp_ratio: float = 4.0,
        shift: bool = True,
    ) -> None:
        super().__init__()
        rates = [float(drop_path)] * depth if isinstance(drop_path, int | float) else [float(p) for p in drop_path]
        if len(rates) != depth:
            raise ValueError(f"BasicUformerLayer: {len(rates)} drop-path rates given for {depth} blocks")
        half = (window[0] // 2, window[1] // 2)
        self.blocks = nn.ModuleList(
            LeWinBlock(dim, num_heads, window, half if shift and i % 2 else (0, 0), mlp_ratio, rates[i])
            for i in range(depth)
        )

    def forward(self, x: Tensor, m: Tensor) -> Tensor:
        """Transform ``x`` [B, C, H, W] with the UPM feature ``m`` [B, C, H, W]."""
        for blk in self.blocks:
            x = blk(x, m)
        return x

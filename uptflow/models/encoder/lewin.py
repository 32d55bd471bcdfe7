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

from uptflow.models.image_statistics import pooled_mean
from uptflow.models.nhwc import channels_last, conv1x1, nchw, nhwc
from uptflow.models.strips import map_strips, row_strips, strip_rows

__all__ = [
    "relative_position_index",
    "shifted_window_mask",
    "window_order",
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


# cached tensors are made outside inference mode: one made by an enhance() call would otherwise be refused by
# autograd in a later training pass of the same size
@lru_cache(maxsize=64)
@torch.inference_mode(False)
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
    other. The result is cached per size and device (built on the CPU, copied once to a GPU); do not modify it in
    place.

    Args:
        height: padded map height (a multiple of the window height).
        width: padded map width (a multiple of the window width).
        window: window height and width.
        shift: roll applied to rows and columns.
        device: where the mask is needed.
    """
    key = (height, width, tuple(window), tuple(shift))
    if device is None or torch.device(device).type == "cpu":
        return _shifted_window_mask_cpu(*key)
    return _shifted_window_mask_on(*key, torch.device(device))


# the current image size or two: a 4K map's mask takes 830 MB of GPU memory
@lru_cache(maxsize=2)
@torch.inference_mode(False)
def _shifted_window_mask_on(height: int, width: int, window: tuple[int, int], shift: tuple[int, int],
                            device: torch.device) -> Tensor:
    return _shifted_window_mask_cpu(height, width, window, shift).to(device)


@lru_cache(maxsize=64)
@torch.inference_mode(False)
def window_order(
    height: int, width: int, padded: tuple[int, int], window: tuple[int, int], shift: tuple[int, int],
    device: torch.device,
) -> tuple[Tensor, Tensor]:
    """Token orders that turn the cyclic shift, the window partition and its inverse into one gather and one
    scatter.

    Returns ``order`` [Hp * Wp]: for each token of the shifted windows (window-major, then row-major inside the
    window) its pixel index in the padded [Hp, Wp] map, and ``target`` [Hp * Wp]: the same token's pixel index in the
    unpadded [H, W] map, -1 for padding. Cached per size; do not modify in place.

    Args:
        height: map height H.
        width: map width W.
        padded: (Hp, Wp), H and W padded to whole windows.
        window: window height and width.
        shift: cyclic shift (rows, cols) of the map before partitioning (Swin's roll by -shift).
        device: where the indices are needed.
    """
    (hp, wp), (wh, ww), (sh, sw) = padded, window, shift
    # torch.roll(x, -sh): rolled row i holds row i + sh; broadcast to [rows of windows, windows, wh, ww]
    rows = ((torch.arange(hp) + sh) % hp).view(hp // wh, 1, wh, 1)
    cols = ((torch.arange(wp) + sw) % wp).view(1, wp // ww, 1, ww)
    order = (rows * wp + cols).reshape(-1)
    target = torch.where((rows < height) & (cols < width), rows * width + cols, -1).reshape(-1)
    return order.to(device), target.to(device)


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

    def forward(self, x_win: Tensor, m_win: Tensor, q_scale: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Project windows [B', C, wh, ww] to q, k, v of shape [B', heads, N, C/heads].

        ``m_win`` may have a single channel standing for C identical ones (the full-resolution UPM feature): a
        depthwise conv of identical channels is a 1 -> C conv with the same [C, 1, 3, 3] weight, without the copies.
        ``q_scale`` [C] multiplies q; it is folded into the (small) q weights.
        """
        c = x_win.shape[1]
        w_q, b_q = self.to_q.weight, self.to_q.bias
        if q_scale is not None:
            w_q, b_q = w_q * q_scale[:, None, None, None], b_q * q_scale
        groups = 1 if m_win.shape[1] == 1 and c > 1 else c
        q = F.conv2d(m_win, w_q, b_q, padding=1, groups=groups)
        k = F.conv2d(m_win, self.to_k.weight, self.to_k.bias, padding=1, groups=groups)
        v = F.conv2d(x_win, self.to_v.weight, self.to_v.bias, padding=1, groups=c)
        return self._heads(q), self._heads(k), self._heads(v)

    def _heads(self, t: Tensor) -> Tensor:
        # channels-last windows: [B', wh, ww, C] memory, so this is a view (a copy otherwise)
        return nhwc(t).reshape(t.shape[0], -1, self.num_heads, t.shape[1] // self.num_heads).transpose(1, 2)


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
            m_win: UPM-feature windows [B', C or 1, wh, ww].
            mask: additive shift mask [nW, N, N] or None.

        Returns:
            Tensor [B', N, C].
        """
        heads = self.num_heads
        c = x_win.shape[1]
        # logits = (q * scale) k^T * tau + bias: scale and tau are folded into q's weights
        q_scale = (self.temperature.view(heads, 1) * self.scale).expand(heads, c // heads).reshape(c)
        q, k, v = self.qkv(x_win, m_win, q_scale)
        bias = self.relative_position_bias()[None]  # [1, heads, N, N]
        if mask is not None:  # the images of the batch share the mask: [B * nW, heads, N, N]
            bias = (bias + mask[:, None]).repeat(q.shape[0] // mask.shape[0], 1, 1, 1)
        if q.device.type == "cpu" and q.dtype == torch.float32:
            # for these tiny attentions (N = wh * ww tokens) two batched matrix products and a softmax run 1.5-2x
            # faster than SDPA's CPU flash kernel in float32 (benchmarks/bench_blocks.py); in bf16 the flash kernel
            # keeps its float32 softmax, and on GPUs the fused kernels win
            out = torch.matmul(q, k.transpose(-2, -1)).add_(bias).softmax(dim=-1) @ v
        else:
            # a 4-D float mask keeps SDPA on its fused kernels (flash on CPU); 3-D or 5-D ones take the math path
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=1.0)
        out = out.transpose(1, 2).reshape(x_win.shape[0], -1, c)
        return F.linear(out, self.proj.weight, self.proj.bias)


class ECA(nn.Module):
    """Efficient Channel Attention: global average pool, 1-D conv across channels, sigmoid, rescale.

    Args:
        k_size: kernel size of the 1-D convolution.
    """

    def __init__(self, k_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)

    def scale(self, x: Tensor) -> Tensor:
        """The channel weights [B, C, 1, 1] of ``x`` [B, C, H, W]."""
        return torch.sigmoid(self.conv(pooled_mean(x)[:, None, :]))[:, 0, :, None, None]

    def forward(self, x: Tensor) -> Tensor:
        """Rescale the channels of ``x`` [B, C, H, W]."""
        return x * self.scale(x)


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

    def local(self, x: Tensor) -> Tensor:
        """Everything before the ECA (row-local: each output row reads the input rows next to it)."""
        dw = self.dwconv[0]
        h = F.conv2d(conv1x1(x, self.conv1.weight, self.conv1.bias), dw.weight, dw.bias, padding=1,
                     groups=dw.groups)
        h = F.gelu(h) if torch.is_grad_enabled() else torch.ops.aten.gelu_(h)
        return conv1x1(h, self.conv2.weight, self.conv2.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply to ``x`` [B, C, H, W]; returns [B, C, H, W]."""
        return self.eca(self.local(x))


class LeWinBlock(nn.Module):
    """UPM-guided (shifted) window transformer block with a LeFF+ECA feed-forward.

    The image feature is zero-padded to whole windows *before* its layer norm (as in the official code), so padded
    tokens carry the norm's bias and take part in attention; the UPM feature is padded but never normalised.
    Without autograd the attention runs over a few rows of windows at a time and the LeFF in strips
    (``uptflow.models.strips``), so no intermediate map of the full image is wider than C channels.

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

    def _attend(self, xs: Tensor, ms: Tensor, tokens: Tensor, mask: Tensor | None) -> Tensor:
        """Window attention of the windows whose tokens are ``tokens`` (indices into the padded [B, Hp * Wp, C]
        maps ``xs`` (raw) and ``ms``); returns [B, len(tokens), C] in that order."""
        b, _, c = xs.shape
        wh, ww = self.window
        # the layer norm acts per token, so normalising after the gather equals normalising the padded map
        x_win = self.norm1(xs.index_select(1, tokens)).view(-1, wh, ww, c)
        m_win = ms.index_select(1, tokens).view(-1, wh, ww, ms.shape[-1])
        return self.attn(nchw(x_win), nchw(m_win), mask).reshape(b, -1, c)

    @staticmethod
    def _residual_buffer(x: Tensor, dtype: torch.dtype, padded: bool, dropping: bool, inplace: bool) -> Tensor:
        """[B * H * W (+ 1 sink row for padding tokens), C] rows the attention output is added into: ``x`` itself
        when allowed, a copy of it, or zeros (drop-path adds the residual later)."""
        b, c, h, w = x.shape
        shortcut = nhwc(x).reshape(b * h * w, c)
        if dropping:
            return torch.zeros(b * h * w + padded, c, dtype=dtype, device=x.device)
        if inplace and not padded and not torch.is_grad_enabled() and shortcut.is_contiguous() and x.dtype == dtype:
            # every window reads and writes only its own pixels, so the gathers of later strips never see what
            # an earlier one added
            return shortcut
        buffer = torch.empty(b * h * w + padded, c, dtype=dtype, device=x.device)
        buffer[:b * h * w] = shortcut
        return buffer

    def forward(self, x: Tensor, m: Tensor, inplace: bool = False) -> Tensor:
        """Transform ``x`` [B, C, H, W] guided by the UPM feature ``m`` [B, C or 1, H, W]; returns [B, C, H, W].

        A one-channel ``m`` stands for C identical channels (cheaper, same result). With ``inplace`` (and no
        autograd) the result may be written over ``x``, which the caller must not need any more."""
        b, c, h, w = x.shape
        wh, ww = self.window
        hp, wp = h + (-h) % wh, w + (-w) % ww
        xs, ms = nhwc(x), nhwc(m)
        if (hp, wp) != (h, w):
            xs, ms = (F.pad(t, (0, 0, 0, wp - w, 0, hp - h)) for t in (xs, ms))
        xs, ms = xs.reshape(b, hp * wp, c), ms.reshape(b, hp * wp, -1)
        # one gather does the cyclic shift and the window partition, one scatter-add undoes both (and the padding)
        order, target = window_order(h, w, (hp, wp), self.window, self.shift, x.device)
        mask = shifted_window_mask(hp, wp, self.window, self.shift, x.device) if any(self.shift) else None
        per_row = wp * wh  # tokens per row of windows
        padded = (hp, wp) != (h, w)
        dropping = self.training and self.drop_path.p > 0
        rows = hp // wh if dropping else strip_rows(hp // wh, per_row * c * 4 * x.element_size(), min_rows=1,
                                                    device=x.device)
        y = None
        for i in range(b) if rows < hp // wh else [None]:  # strips: one image at a time
            batch = slice(None) if i is None else slice(i, i + 1)
            for r0, r1, _, _ in row_strips(hp // wh, rows, halo=0):
                tokens = slice(r0 * per_row, r1 * per_row)
                part = self._attend(xs[batch], ms[batch], order[tokens],
                                    None if mask is None else mask[r0 * (wp // ww):r1 * (wp // ww)])
                if y is None:  # the residual (or zeros, for drop-path) in the dtype autocast gives the attention
                    y = self._residual_buffer(x, part.dtype, padded, dropping, inplace)
                dest = target[tokens]
                first = 0 if i is None else i
                for j in range(part.shape[0]):  # the (one or B) images of this part
                    index = dest + (first + j) * h * w
                    if padded:  # padding tokens land in the extra last row
                        index = torch.where(dest >= 0, index, b * h * w)
                    y.index_add_(0, index, part[j])
        del xs, ms
        y = y[:b * h * w]
        if dropping:
            y = nhwc(x).reshape(b * h * w, c) + self.drop_path(y.view(b, h * w, c)).view(-1, c)
        y = nchw(y.view(b, h, w, c))
        rows = strip_rows(h, w * self.mlp.conv1.out_channels * x.element_size(), device=x.device)
        o = map_strips(lambda s: self.mlp.local(nchw(self.norm2(nhwc(s)))), y, c, halo=1, rows=rows)
        if dropping:
            return y + self.drop_path(self.mlp.eca(o))
        scale = self.mlp.eca.scale(o)
        return torch.addcmul(y, o, scale) if torch.is_grad_enabled() else y.addcmul_(o, scale)


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
        # channels-last once for all blocks: each block gathers its windows from the [B, H * W, C] view of m, which
        # would otherwise be copied whole for every strip of windows
        m = channels_last(m)
        for i, blk in enumerate(self.blocks):
            x = blk(x, m, inplace=i > 0)  # the later blocks own their input
        return x

"""Restormer building blocks used by the global branch of the UPT-Flow MSFormer encoder.

Re-implemented from the Restormer paper (Zamir et al., "Restormer: Efficient Transformer for High-Resolution
Image Restoration", CVPR 2022) with the submodule and parameter names of the UPT-Flow code (Xu et al., Pattern
Recognition 158:111076, 2025; github NJUPT-IPR-XuLintao/UPT-Flow), so official checkpoints load without renaming.
UPT-Flow uses the "WithBias" layer norm and bias-free convolutions throughout these blocks.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from uptflow.models.image_statistics import owned_region, pooled_sums
from uptflow.models.nhwc import conv1x1, nchw, nhwc
from uptflow.models.strips import map_strips, row_strips, strip_rows

__all__ = ["ChannelLayerNorm", "LayerNorm2d", "MDTA", "GDFN", "TransformerBlock", "RestormerStage"]


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

    Computed as softmax((q/|q|) (k/|k|)^T * tau) with the norms (over the pixels, F.normalize's eps included) applied
    to the small per-head Gram matrices q^T k instead of to q and k, and with ``project_out`` merged with the
    attention into one [C, C] matrix per image, so v is multiplied once. Given a strip height the q/k/v maps are built
    strip by strip (only v is kept whole; the Gram matrices are summed over the strips).

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

    def _qkv(self, x: Tensor) -> Tensor:
        """q, k and v of ``x`` [B, C, h, W] as one [B, h, W, 3C] map (in the autocast dtype under autocast)."""
        # Under bf16 autocast q and k are rounded to bf16 here and only their statistics are summed in float32
        # (_statistics). With trained weights the bf16 output stays about 60 dB from fp32 either way (under 2 dB
        # lower than with a float32 depthwise conv here, benchmarks/bench_precision.py), while the float32 conv and
        # its casts cost about 10 % of a bf16 enhance. See docs/speed.md.
        conv = self.qkv_dwconv
        return nhwc(F.conv2d(conv1x1(x, self.qkv.weight, self.qkv.bias), conv.weight, conv.bias, padding=1,
                             groups=conv.groups))

    def _statistics(self, qkv: Tensor) -> list[Tensor]:
        """Per image of ``qkv`` [B, n, 3C]: the heads' Gram matrices q^T k [B, heads, d, d] and the squared norms of
        the q and k channels [B, C], computed in at least float32."""
        c = qkv.shape[-1] // 3
        d = c // self.num_heads
        dtype = torch.promote_types(qkv.dtype, torch.float32)
        with torch.autocast(qkv.device.type, enabled=False):  # sums over all pixels: at least float32
            q, k = qkv[..., :c].to(dtype), qkv[..., c:2 * c].to(dtype)
            gram = torch.stack([q[..., i * d:(i + 1) * d].transpose(1, 2) @ k[..., i * d:(i + 1) * d]
                                for i in range(self.num_heads)], dim=1)
            # vecdot reduces these strided [B, n, C] views several times faster than vector_norm
            return [gram, torch.linalg.vecdot(q, q, dim=1), torch.linalg.vecdot(k, k, dim=1)]

    def _mix(self, gram: Tensor, q_sq: Tensor, k_sq: Tensor) -> Tensor:
        """project_out after the attention, as one matrix [B, C, C] applied to v."""
        b, heads, d, _ = gram.shape
        q_norm = q_sq.sqrt().clamp_min(1e-12).view(b, heads, d, 1)
        k_norm = k_sq.sqrt().clamp_min(1e-12).view(b, heads, 1, d)
        attn = (gram / (q_norm * k_norm) * self.temperature).softmax(dim=-1)
        weight = self.project_out.weight.view(-1, heads, d)
        return torch.einsum("ohj,bhjk->bohk", weight.to(attn.dtype), attn).reshape(b, heads * d, heads * d)

    def forward(self, x: Tensor, residual: Tensor | None = None, norm: nn.Module | None = None,
                rows: int | None = None, inplace: bool = False) -> Tensor:
        """Apply channel attention to ``norm(x)`` [B, C, H, W]; returns [B, C, H, W] (plus ``residual`` when given).

        Args:
            x: input map.
            residual: added to the output inside the last matrix product.
            norm: applied to ``x`` first (strip by strip); None for none.
            rows: strip height (None or >= H: the whole map at once).
            inplace: without autograd, accumulate into ``residual`` (which the caller must not need any more).
        """
        b, c, h, w = x.shape
        if rows is None or rows >= h:
            qkv = self._qkv(x if norm is None else norm(x)).reshape(b, h * w, 3 * c)
            region = owned_region(h, w)
            owned = None if region is None else self._statistics(_owned_rows(qkv.view(b, h, w, 3 * c), 0, region))
            mix = self._mix(*pooled_sums(self._statistics(qkv), owned))
            v = qkv[..., 2 * c:]
        else:
            v, per_image, owned_per_image = None, [], []
            region = owned_region(h, w)
            for i in range(b):
                total = owned = None
                for r0, r1, a, e in row_strips(h, rows, halo=1):
                    part = x[i:i + 1, :, a:e]
                    part = self._qkv(part if norm is None else norm(part))[:, r0 - a:r1 - a]
                    if v is None:
                        v = part.new_empty(b, h, w, c)
                    v[i, r0:r1] = part[0, ..., 2 * c:]
                    total = _add(total, self._statistics(part.reshape(1, -1, 3 * c)))
                    if region is not None:
                        owned = _add(owned, self._statistics(_owned_rows(part, r0, region)))
                per_image.append(total)
                owned_per_image.append(owned)
            owned = None if region is None else [torch.cat(p) for p in zip(*owned_per_image, strict=True)]
            mix = self._mix(*pooled_sums([torch.cat(parts) for parts in zip(*per_image, strict=True)], owned))
            v = v.view(b, h * w, c)
        if residual is None:
            out = v @ mix.transpose(1, 2)
        else:
            base = nhwc(residual).reshape(b, h * w, c)
            if inplace and not torch.is_grad_enabled() and base.is_contiguous() and base.dtype == v.dtype:
                out = base.baddbmm_(v, mix.transpose(1, 2).to(v.dtype))
            else:
                out = torch.baddbmm(base, v, mix.transpose(1, 2))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return nchw(out.view(b, h, w, c))


def _owned_rows(t: Tensor, r0: int, region: tuple[slice, slice]) -> Tensor:
    """The pixels of ``t`` [B, rows, W, C] (rows ``r0``... of a map) inside ``region`` (possibly none), as [B, n, C]."""
    rs, cs = region
    part = t[:, max(rs.start - r0, 0):max(min(rs.stop, r0 + t.shape[1]) - r0, 0), cs]
    return part.reshape(t.shape[0], -1, t.shape[-1])


def _add(total: list[Tensor] | None, stats: list[Tensor]) -> list[Tensor]:
    return stats if total is None else [t + s for t, s in zip(total, stats, strict=True)]


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

    def _weights(self) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None, Tensor]:
        """project_in, dwconv and project_out weights and biases, the hidden width zero-padded to a multiple of 16
        without autograd: the GEMM and depthwise kernels are about 20 % slower on odd widths (255 for dim 96), and
        zero channels add exact zeros (GELU(0) * gate = 0 meets zero project_out columns)."""
        hidden = self.project_out.in_channels
        w_in, b_in = self.project_in.weight.flatten(1), self.project_in.bias
        w_dw, b_dw, w_out = self.dwconv.weight, self.dwconv.bias, self.project_out.weight.flatten(1)
        pad = (-hidden) % 16 if not torch.is_grad_enabled() else 0
        if pad:
            def halves(t: Tensor) -> Tensor:  # [2 * hidden, ...] -> [2 * (hidden + pad), ...]
                return F.pad(t.unflatten(0, (2, hidden)), (0, 0) * (t.ndim - 1) + (0, pad)).flatten(0, 1)
            w_in, w_dw, w_out = halves(w_in), halves(w_dw), F.pad(w_out, (0, pad))
            b_in, b_dw = (None if b is None else halves(b) for b in (b_in, b_dw))
        return w_in, b_in, w_dw, b_dw, w_out

    def forward(self, x: Tensor, residual: Tensor | None = None) -> Tensor:
        """Apply the gated feed-forward to ``x`` [B, C, H, W]; returns [B, C, H, W] (plus ``residual`` when given)."""
        w_in, b_in, w_dw, b_dw, w_out = self._weights()
        hidden = w_out.shape[1]

        def half(i: int) -> Tensor:
            # each gate half as its own dense map: element-wise kernels run several times faster on it than on a
            # channel slice of the 2 * hidden map
            part = slice(i * hidden, (i + 1) * hidden)
            t = conv1x1(x, w_in[part], None if b_in is None else b_in[part])
            return F.conv2d(t, w_dw[part], None if b_dw is None else b_dw[part], padding=1, groups=hidden)

        if torch.is_grad_enabled():
            gate = F.gelu(half(0)) * half(1)
        else:
            gate = torch.ops.aten.gelu_(half(0)).mul_(half(1))
        return conv1x1(gate, w_out, self.project_out.bias, residual=residual)


class TransformerBlock(nn.Module):
    """Restormer block: ``x + MDTA(LN(x))`` then ``x + GDFN(LN(x))`` (no drop-path).

    Without autograd both halves run in strips (``uptflow.models.strips``) sized by the GDFN's 2 * hidden channels.

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

    def forward(self, x: Tensor, inplace: bool = False) -> Tensor:
        """Transform ``x`` [B, C, H, W]; returns [B, C, H, W]. With ``inplace`` (and no autograd) the attention's
        residual sum may be written over ``x``, which the caller must not need any more."""
        _, c, h, w = x.shape
        rows = strip_rows(h, w * self.ffn.project_in.out_channels * x.element_size(), device=x.device)
        x = self.attn(x, residual=x, norm=self.norm1, rows=rows, inplace=inplace)
        return map_strips(lambda s: self.ffn(self.norm2(s), residual=s), x, c, halo=1, rows=rows)


class RestormerStage(nn.Sequential):
    """A stack of :class:`TransformerBlock` (an ``nn.Sequential``: the official parameter names)."""

    def forward(self, x: Tensor, consume: bool = False) -> Tensor:
        """Apply the blocks in turn. Without autograd the blocks after the first overwrite their input, which this
        stage owns, and with ``consume`` the first one too (the caller no longer needs ``x``)."""
        for i, block in enumerate(self):
            x = block(x, inplace=consume or i > 0)
        return x

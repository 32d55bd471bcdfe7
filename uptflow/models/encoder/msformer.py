"""MSFormer: the multi-scale condition encoder of UPT-Flow.

UPT-Flow (Xu et al., "UPT-Flow: Multi-scale transformer-guided normalizing flow for low-light image enhancement",
Pattern Recognition 158:111076, 2025; official code github NJUPT-IPR-XuLintao/UPT-Flow, ``Lowlight_Encoder.py``)
conditions its flow on a 4-scale U-shaped transformer. Each stage adds a global branch of Restormer blocks and a
local branch of UPM-guided LeWin blocks (both re-implemented from their papers, see ``restormer.py`` and
``lewin.py``). The UPM feature goes through the *same* Down/Upsample modules as the image features.

The wiring below reproduces the official forward pass exactly, quirks included (spec §2.2, §7.3-7.4): encoder stage 2
runs its window branch on the Restormer output, skips carry only Restormer outputs, and the UPM feature is tiled to
twice its channels before the level-2 decoder. Submodule names equal the official ones, so
``MSFormer.load_state_dict({k[len("RRDB."):]: v ...})`` loads an official checkpoint's encoder without renaming.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from uptflow.models.encoder.lewin import BasicUformerLayer
from uptflow.models.encoder.restormer import RestormerStage, TransformerBlock
from uptflow.models.nhwc import channels_last

__all__ = [
    "OverlapPatchEmbed",
    "Downsample",
    "Upsample",
    "MSFormer",
    "flow_conditions",
    "infer_window_size",
    "check_window_size",
]

_TABLE_SUFFIX = "relative_position_bias_table"


class OverlapPatchEmbed(nn.Module):
    """3x3 convolution (no bias) from the image to the first feature map.

    Args:
        in_channels: image channels.
        dim: output channels.
    """

    def __init__(self, in_channels: int = 3, dim: int = 48) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Embed ``x`` [B, in_channels, H, W] to [B, dim, H, W]."""
        return self.proj(x)


class Downsample(nn.Module):
    """3x3 convolution C -> C/2 (no bias), then PixelUnshuffle(2): [B, C, H, W] -> [B, 2C, H/2, W/2].

    Args:
        channels: input channels C (even).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels // 2, kernel_size=3, padding=1, bias=False), nn.PixelUnshuffle(2)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Halve the resolution of ``x`` [B, C, H, W] and double its channels."""
        return self.body(x)


class Upsample(nn.Module):
    """3x3 convolution C -> 2C (no bias), then PixelShuffle(2): [B, C, H, W] -> [B, C/2, 2H, 2W].

    Args:
        channels: input channels C (even).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 2, kernel_size=3, padding=1, bias=False), nn.PixelShuffle(2)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Double the resolution of ``x`` [B, C, H, W] and halve its channels."""
        return self.body(x)


def _window_pair(window_size: int | Sequence[int]) -> tuple[int, int]:
    pair = (window_size, window_size) if isinstance(window_size, int) else tuple(int(v) for v in window_size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"window_size must be a positive int or (height, width), got {window_size!r}")
    return pair


class MSFormer(nn.Module):
    """UPT-Flow condition encoder (dim 48, four scales; official defaults).

    Args:
        window_size: LeWin window size, an int (5 for the LOL datasets, 8 otherwise) or (height, width).
        in_channels: image channels.
        dim: channels at full resolution (48); the scales have dim, 2 dim, 4 dim and 8 dim.
        restormer_heads: MDTA heads per level (levels 1-4; the decoder reuses levels 3, 2, 1).
        window_heads: window-attention heads of the 7 LeWin layers (3 encoder, bottleneck, 3 decoder).
        depths: blocks per stage for the 7 stages (Restormer and LeWin branches alike).
        num_refinement_blocks: Restormer blocks after the last decoder stage.
        ffn_expansion: GDFN hidden width factor.
        mlp_ratio: LeFF hidden width factor.
        drop_path_rate: largest stochastic-depth rate of the LeWin blocks.
    """

    def __init__(
        self,
        window_size: int | Sequence[int] = 5,
        in_channels: int = 3,
        dim: int = 48,
        restormer_heads: Sequence[int] = (2, 2, 4, 8),
        window_heads: Sequence[int] = (1, 2, 4, 8, 8, 4, 2),
        depths: Sequence[int] = (2, 2, 2, 2, 2, 2, 2),
        num_refinement_blocks: int = 2,
        ffn_expansion: float = 2.66,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
    ) -> None:
        super().__init__()
        if len(restormer_heads) != 4 or len(window_heads) != 7 or len(depths) != 7:
            raise ValueError("MSFormer needs 4 restormer_heads, 7 window_heads and 7 depths")
        self.window_size = _window_pair(window_size)
        self.dim = dim
        win = self.window_size

        def restormer(channels: int, heads: int, depth: int) -> RestormerStage:
            return RestormerStage(*(TransformerBlock(channels, heads, ffn_expansion) for _ in range(depth)))

        def lewin(channels: int, heads: int, depth: int, rates: Sequence[float]) -> BasicUformerLayer:
            return BasicUformerLayer(channels, depth, heads, win, list(rates), mlp_ratio)

        rh, d = restormer_heads, depths  # short names keep the official layout readable
        # Global (Restormer) branch, skips and resizing, in the official order.
        self.patch_embed = OverlapPatchEmbed(in_channels, dim)
        self.encoder_level1 = restormer(dim, rh[0], d[0])
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = restormer(dim * 2, rh[1], d[1])
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = restormer(dim * 4, rh[2], d[2])
        self.down3_4 = Downsample(dim * 4)
        self.latent = restormer(dim * 8, rh[3], d[3])
        self.reduce_chan_level0 = nn.Conv2d(dim * 8, dim * 4, kernel_size=1, bias=False)
        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, kernel_size=1, bias=False)
        self.decoder_level3 = restormer(dim * 4, rh[2], d[4])
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 4, kernel_size=1, bias=False)
        self.decoder_level2 = restormer(dim * 4, rh[1], d[5])
        self.up2_1 = Upsample(dim * 4)
        self.reduce_chan_level1 = nn.Conv2d(dim * 3, dim * 2, kernel_size=1, bias=False)
        self.decoder_level1 = restormer(dim * 2, rh[0], d[6])
        self.refinement = restormer(dim * 2, rh[0], num_refinement_blocks)

        # Local (UPM-guided window) branch; drop-path rises linearly through the encoder and mirrors in the decoder.
        n_enc = sum(d[:3])
        enc_dpr = np.linspace(0, drop_path_rate, n_enc).tolist()  # plain floats: buildable on the meta device
        dec_dpr = enc_dpr[::-1]
        self.encoderlayer_1 = lewin(dim, window_heads[0], d[0], enc_dpr[: d[0]])
        self.encoderlayer_2 = lewin(dim * 2, window_heads[1], d[1], enc_dpr[d[0] : d[0] + d[1]])
        self.encoderlayer_3 = lewin(dim * 4, window_heads[2], d[2], enc_dpr[d[0] + d[1] : n_enc])
        self.bottlen = lewin(dim * 8, window_heads[3], d[3], [drop_path_rate] * d[3])
        self.decoderlayer_1 = lewin(dim * 4, window_heads[4], d[4], dec_dpr[: d[4]])
        self.decoderlayer_2 = lewin(dim * 4, window_heads[5], d[5], dec_dpr[d[4] : d[4] + d[5]])
        self.decoderlayer_3 = lewin(dim * 2, window_heads[6], d[6], dec_dpr[d[4] + d[5] : d[4] + d[5] + d[6]])
        self.reset_parameters()

    @property
    def condition_channels(self) -> int:
        """Channels of each flow condition built by :func:`flow_conditions` (288 for dim 48)."""
        return self.dim * 6

    def reset_parameters(self) -> None:
        """Initialise as the official code: trunc-normal(0.02) Linear weights, zero biases, unit LayerNorms.

        Convolutions keep PyTorch's default initialisation; the relative-position tables are trunc-normal(0.02).
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, low: Tensor, upm: Tensor) -> dict[str, Tensor]:
        """Encode a low-light image and its UPM.

        Args:
            low: low-light images [B, 3, H, W] in [0, 1]; H and W multiples of 8.
            upm: unbalanced point maps [B, 1, H, W] (0/1), see ``uptflow.models.upm``.

        Returns:
            dict with ``fea_up0`` [B, 4 dim, H/8, W/8], ``fea_up1`` [B, 4 dim, H/4, W/4],
            ``fea_up2`` [B, 4 dim, H/2, W/2] and ``cat_f`` [B, 2 dim, H, W].
        """
        b, _, h, w = low.shape
        if h % 8 or w % 8:
            raise ValueError(f"MSFormer needs H and W divisible by 8 (pad the image first), got {h}x{w}")
        if upm.shape != (b, 1, h, w):
            raise ValueError(f"MSFormer: upm must have shape {(b, 1, h, w)}, got {tuple(upm.shape)}")
        # The official UPM feature m1 is the map tiled to ``dim`` identical channels. Both of its uses are computed
        # from the single channel instead: the window blocks accept it as is (see ConvProjection), and the Down conv
        # of C identical channels equals a 1-channel conv with the weight summed over its input channels.
        # Channels-last from here on: every block works on [B, H, W, C] memory (see uptflow.models.nhwc).
        low = channels_last(low)
        m1 = channels_last(upm.to(low.dtype))

        # Where a map feeds a window layer and a Restormer stage, the window layer runs first so that the stage may
        # then overwrite the map (consume=True: no copy of it, one full-size map less alive).
        e0 = self.patch_embed(low)
        x1 = self.encoderlayer_1(e0, m1)
        g1 = self.encoder_level1(e0, consume=True)
        del e0
        x1 += g1

        down_conv, unshuffle = self.down1_2.body
        m2 = unshuffle(F.conv2d(m1, down_conv.weight.sum(dim=1, keepdim=True), padding=1))
        g2 = self.encoder_level2(self.down1_2(x1), consume=True)
        del x1
        x2 = g2 + self.encoderlayer_2(g2, m2)  # sequential in the official code (spec §7.4)

        i3 = self.down2_3(x2)
        del x2
        m3 = self.down2_3(m2)
        del m2
        x3 = self.encoderlayer_3(i3, m3)
        g3 = self.encoder_level3(i3, consume=True)
        del i3
        x3 += g3

        i4 = self.down3_4(x3)
        del x3
        m4 = self.down3_4(m3)
        del m3
        latent = self.bottlen(i4, m4)
        latent += self.latent(i4, consume=True)
        del i4
        fea_up0 = self.reduce_chan_level0(latent)

        d3 = self.reduce_chan_level3(torch.cat([self.up4_3(latent), g3], dim=1))
        del latent, g3
        m3u = self.up4_3(m4)
        del m4
        fea_up1 = self.decoderlayer_1(d3, m3u)
        fea_up1 += self.decoder_level3(d3, consume=True)
        del d3

        d2 = self.reduce_chan_level2(torch.cat([self.up3_2(fea_up1), g2], dim=1))
        del g2
        # The official feature is up3_2(m3u) tiled to the decoder width (spec §7.3): [m, m]. Its window blocks need
        # the tiled copy, but up2_1's conv of [m, m] is the conv of m with the two weight halves summed.
        m2u = self.up3_2(m3u)
        del m3u
        fea_up2 = self.decoderlayer_2(d2, m2u.repeat(1, 2, 1, 1))
        fea_up2 += self.decoder_level2(d2, consume=True)
        del d2

        d1 = self.reduce_chan_level1(torch.cat([self.up2_1(fea_up2), g1], dim=1))
        del g1
        up_conv, shuffle = self.up2_1.body
        m1u = shuffle(F.conv2d(m2u, up_conv.weight.unflatten(1, (2, -1)).sum(dim=1), padding=1))
        del m2u
        out1 = self.decoderlayer_3(d1, m1u)
        del m1u
        out1 += self.decoder_level1(d1, consume=True)
        del d1
        cat_f = self.refinement(out1, consume=True)
        return {"fea_up0": fea_up0, "fea_up1": fea_up1, "fea_up2": fea_up2, "cat_f": cat_f}


def flow_conditions(feats: Mapping[str, Tensor]) -> list[Tensor]:
    """Build the three flow conditions: each ``fea_up*`` with ``cat_f`` bilinearly resized to its size appended.

    As in the official ``rrdbPreprocessing`` (bilinear, align_corners=False, no antialias).

    Args:
        feats: MSFormer outputs (``fea_up0``, ``fea_up1``, ``fea_up2``, ``cat_f``).

    Returns:
        [level 1 @ H/2, level 2 @ H/4, level 3 @ H/8], each [B, 6 dim (288), h, w].
    """
    cat_f = feats["cat_f"]
    out = []
    for key in ("fea_up2", "fea_up1", "fea_up0"):
        fea = feats[key]
        resized = F.interpolate(cat_f, size=fea.shape[-2:], mode="bilinear", align_corners=False, antialias=False)
        out.append(torch.cat([fea, resized], dim=1))
    return out


def infer_window_size(encoder_state_dict: Mapping[str, Tensor]) -> int:
    """Return the (square) window size of an MSFormer state dict from its relative-position bias tables.

    A table has (2w - 1)^2 rows. Keys may carry any prefix (e.g. ``RRDB.`` of a full official checkpoint).

    Args:
        encoder_state_dict: MSFormer (or full UPT-Flow) state dict.

    Raises:
        ValueError: no table is present, a table is not square, or two tables disagree (naming the keys).
    """
    found: dict[int, str] = {}
    for key, value in encoder_state_dict.items():
        if not key.endswith(_TABLE_SUFFIX):
            continue
        rows = int(value.shape[0])
        side = math.isqrt(rows)
        if side * side != rows or side % 2 == 0:
            raise ValueError(f"'{key}' has {rows} rows, not (2w-1)^2 for a square window w")
        found.setdefault((side + 1) // 2, key)
    if not found:
        raise ValueError(f"no '*.{_TABLE_SUFFIX}' key in the state dict: is this an MSFormer / UPT-Flow checkpoint?")
    if len(found) > 1:
        raise ValueError(f"state dict mixes window sizes: {', '.join(f'{w} ({k})' for w, k in found.items())}")
    return next(iter(found))


def check_window_size(encoder_state_dict: Mapping[str, Tensor], window_size: int | Sequence[int]) -> None:
    """Raise ValueError naming the first key whose window size differs from ``window_size``.

    Args:
        encoder_state_dict: MSFormer (or full UPT-Flow) state dict.
        window_size: the window size the model is (to be) built with.
    """
    wh, ww = _window_pair(window_size)
    want_rows, want_tokens = (2 * wh - 1) * (2 * ww - 1), wh * ww
    for key, value in encoder_state_dict.items():
        if key.endswith(_TABLE_SUFFIX) and int(value.shape[0]) != want_rows:
            raise ValueError(
                f"window-size mismatch at '{key}': {int(value.shape[0])} rows, but window {wh}x{ww} needs {want_rows}"
            )
        if key.endswith("relative_position_index") and tuple(value.shape) != (want_tokens, want_tokens):
            raise ValueError(
                f"window-size mismatch at '{key}': shape {tuple(value.shape)}, but window {wh}x{ww} needs "
                f"{(want_tokens, want_tokens)}"
            )

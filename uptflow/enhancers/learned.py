"""Pretrained baseline enhancers re-implemented from their papers / released structure: Zero-DCE, Zero-DCE++, SCI, IAT.

Each network reproduces the official module layout so the official checkpoints load with ``strict=True``
(state-dict key names and shapes are listed in ``shared/spec/baselines.md``, Appendix A). The official weights
are never bundled or downloaded: pass the file with ``weights=PATH``. Licences of the weights: Zero-DCE and
Zero-DCE++ CC BY-NC 4.0 (non-commercial), SCI MIT, IAT Apache-2.0.

Pre/post-processing follows the official test scripts:

* Zero-DCE: RGB in [0,1] at full resolution; 8 curve steps ``y <- y + A_n (y^2 - y)``; the 8-step image.
* Zero-DCE++: the official script crops H, W down to multiples of 12 and estimates one curve map on a 1/12
  bilinear down-sampled copy. Here the curve map of that crop is edge-extended over the (< 12 px) cropped-off
  border so the output keeps the input size; inside the crop the output equals the official one.
* SCI: one illumination stage, ``R = clamp(I / clamp(I + s(I), 1e-4, 1), 0, 1)``; BatchNorm in eval mode with
  eps 1e-5 (the stored running variances are ~1e-5, so this matters). Level (easy / medium / difficult) = file.
* IAT: local multiply/add maps, global colour matrix and gamma. The LOL-v2 checkpoint (``best_Epoch_lol.pth``)
  expects input normalised to [-1, 1] (``variant='lol_v2'``); LOL-v1 and exposure checkpoints take [0, 1].
  The exposure evaluation's resize to 1200x900 is not applied (full resolution, like the demo script).

Output rounding: uptflow's ``Enhancer.__call__`` rounds to uint8 (like ``torchvision.utils.save_image`` used by
Zero-DCE / IAT); SCI's own script truncates instead, so SCI outputs may differ from its saved PNGs by 1 LSB.
"""

import functools
import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS
from uptflow.utils.paths import require_file, shared_root
from uptflow.utils.safe_load import safe_torch_load
from uptflow.utils.text import listed

__all__ = ["DCENet", "DCENetPP", "SCINet", "IATNet", "ZeroDCE", "ZeroDCEPP", "SCI", "IAT", "apply_le_curve"]


def apply_le_curve(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """One light-enhancement curve step in the official code's sign convention: ``x + a * (x^2 - x)``."""
    return x + a * (torch.pow(x, 2) - x)


# --------------------------------------------------------------------------------------------- Zero-DCE
class DCENet(nn.Module):
    """Zero-DCE's DCE-Net: 7 3x3 convs (32 filters), symmetric concatenations, 24 curve channels (8 x RGB)."""

    def __init__(self) -> None:
        super().__init__()
        ins = (3, 32, 32, 32, 64, 64, 64)
        outs = (32, 32, 32, 32, 32, 32, 24)
        for i, (c_in, c_out) in enumerate(zip(ins, outs, strict=True), start=1):
            setattr(self, f"e_conv{i}", nn.Conv2d(c_in, c_out, 3, 1, 1, bias=True))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (image after 4 steps, enhanced image after 8 steps, curve maps [B,24,H,W])."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        a = torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))
        y, half = x, x
        for n, a_n in enumerate(torch.split(a, 3, dim=1), start=1):
            y = apply_le_curve(y, a_n)
            if n == 4:
                half = y
        return half, y, a


class _DSConv(nn.Module):
    """Depthwise 3x3 + pointwise 1x1 convolution, no activation in between (Zero-DCE++ unit)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.depth_conv = nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=True)
        self.point_conv = nn.Conv2d(c_in, c_out, 1, 1, 0, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


class DCENetPP(nn.Module):
    """Zero-DCE++: depthwise-separable DCE-Net predicting one 3-channel curve map on a 1/s down-sampled input."""

    def __init__(self, scale_factor: int = 12) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        ins = (3, 32, 32, 32, 64, 64, 64)
        outs = (32, 32, 32, 32, 32, 32, 3)
        for i, (c_in, c_out) in enumerate(zip(ins, outs, strict=True), start=1):
            setattr(self, f"e_conv{i}", _DSConv(c_in, c_out))

    def curve_map(self, x: torch.Tensor) -> torch.Tensor:
        """Curve map A at the resolution of ``x`` (H, W must be multiples of ``scale_factor``)."""
        s = self.scale_factor
        xd = x if s == 1 else F.interpolate(x, scale_factor=1 / s, mode="bilinear", align_corners=False)
        x1 = F.relu(self.e_conv1(xd))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        a = torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))
        # nn.UpsamplingBilinear2d semantics (align_corners=True), as in the official module
        return a if s == 1 else F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (enhanced image, curve map), the official output order."""
        a = self.curve_map(x)
        y = x
        for _ in range(8):
            y = apply_le_curve(y, a)
        return y, a


# --------------------------------------------------------------------------------------------- SCI
class _SCIEnhance(nn.Module):
    """SCI's weight-shared illumination estimator (EnhanceNetwork(layers=1, channels=3))."""

    def __init__(self) -> None:
        super().__init__()
        self.in_conv = nn.Sequential(nn.Conv2d(3, 3, 3, 1, 1), nn.ReLU())
        self.conv = nn.Sequential(nn.Conv2d(3, 3, 3, 1, 1), nn.BatchNorm2d(3), nn.ReLU())
        # the official module registers the same block twice (conv and blocks[0]); the checkpoints hold both
        self.blocks = nn.ModuleList([self.conv])
        self.out_conv = nn.Sequential(nn.Conv2d(3, 3, 3, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.in_conv(x)
        for block in self.blocks:
            h = h + block(h)
        return torch.clamp(self.out_conv(h) + x, 1e-4, 1.0)


class _SCICalibrate(nn.Module):
    """SCI's training-only self-calibration module; built only so the checkpoint loads strictly."""

    def __init__(self) -> None:
        super().__init__()
        self.in_conv = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.convs = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                   nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.ModuleList([self.convs, self.convs, self.convs])
        self.out_conv = nn.Sequential(nn.Conv2d(16, 3, 3, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.in_conv(x)
        for block in self.blocks:
            h = h + block(h)
        return x - self.out_conv(h)


class SCINet(nn.Module):
    """SCI with the layout of its saved training network; inference uses the illumination estimator only."""

    def __init__(self) -> None:
        super().__init__()
        self.enhance = _SCIEnhance()
        self.calibrate = _SCICalibrate()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (illumination L, enhanced R = clamp(I / L, 0, 1)), the official test-model order."""
        illu = self.enhance(x)
        return illu, torch.clamp(x / illu, 0, 1)


# --------------------------------------------------------------------------------------------- IAT
class _AffChannel(nn.Module):
    """IAT's statistics-free 'normalisation': per-pixel channel mixing then affine, on tokens [B, N, C]."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, dim))
        self.color = nn.Parameter(torch.eye(dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return torch.tensordot(t, self.color, dims=[[-1], [-1]]) * self.alpha + self.beta


class _Mlp(nn.Module):
    """fc1 -> GELU -> fc2, with 1x1 convolutions on [B, C, H, W] (``conv=True``) or linear layers on tokens."""

    def __init__(self, dim: int, hidden: int, conv: bool = False) -> None:
        super().__init__()
        layer = functools.partial(nn.Conv2d, kernel_size=1) if conv else nn.Linear
        self.fc1 = layer(dim, hidden)
        self.fc2 = layer(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _CBlock(nn.Module):
    """IAT's local-branch block: positional DW conv, channel-mix norm + DW 5x5 'attention', norm + conv MLP."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.pos_embed = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = _AffChannel(dim)
        self.conv1 = nn.Conv2d(dim, dim, 1)
        self.attn = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.conv2 = nn.Conv2d(dim, dim, 1)
        self.norm2 = _AffChannel(dim)
        self.mlp = _Mlp(dim, 4 * dim, conv=True)
        self.gamma_1 = nn.Parameter(1e-4 * torch.ones(1, dim, 1, 1))
        self.gamma_2 = nn.Parameter(1e-4 * torch.ones(1, dim, 1, 1))

    @staticmethod
    def _norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return norm(x.flatten(2).transpose(1, 2)).view(b, h, w, c).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        x = x + self.gamma_1 * self.conv2(self.attn(self.conv1(self._norm(self.norm1, x))))
        return x + self.gamma_2 * self.mlp(self._norm(self.norm2, x))


class _LocalNet(nn.Module):
    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, dim, 3, padding=1)
        self.mul_blocks = nn.Sequential(*[_CBlock(dim) for _ in range(3)])
        self.add_blocks = nn.Sequential(*[_CBlock(dim) for _ in range(3)])
        self.mul_end = nn.Sequential(nn.Conv2d(dim, 3, 3, padding=1), nn.ReLU())
        self.add_end = nn.Sequential(nn.Conv2d(dim, 3, 3, padding=1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = F.leaky_relu(self.conv1(x), 0.2)
        return self.mul_end(self.mul_blocks(f) + f), self.add_end(self.add_blocks(f) + f)


class _QueryAttention(nn.Module):
    def __init__(self, dim: int = 64, heads: int = 4, queries: int = 10) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Parameter(torch.ones(1, queries, dim))
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        b, n, c = t.shape
        d = c // self.heads
        q = self.q.expand(b, -1, -1).reshape(b, -1, self.heads, d).permute(0, 2, 1, 3)
        k = self.k(t).reshape(b, n, self.heads, d).permute(0, 2, 1, 3)
        v = self.v(t).reshape(b, n, self.heads, d).permute(0, 2, 1, 3)
        attn = ((q @ k.transpose(-2, -1)) * d**-0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, -1, c))


class _QueryBlock(nn.Module):
    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        self.pos_embed = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _QueryAttention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _Mlp(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        z = self.attn(self.norm1(x.flatten(2).transpose(1, 2)))  # no residual: 10 query tokens replace the map
        return z + self.mlp(self.norm2(z))


class _ConvEmbed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.GELU(),
                                  nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class _GlobalNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma_base = nn.Parameter(torch.ones(1))
        self.color_base = nn.Parameter(torch.eye(3))
        self.conv_large = _ConvEmbed()
        self.generator = _QueryBlock(64)
        self.gamma_linear = nn.Linear(64, 1)
        self.color_linear = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.generator(self.conv_large(x))
        gamma = self.gamma_linear(z[:, 0]) + self.gamma_base  # [B, 1]
        color = self.color_linear(z[:, 1:]).squeeze(-1).view(-1, 3, 3) + self.color_base  # row-major 3x3
        return gamma, color


class IATNet(nn.Module):
    """Illumination-Adaptive Transformer (enhancement model, 91,154 parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.local_net = _LocalNet(16)
        self.global_net = _GlobalNet()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (mul map, add map, enhanced image), the official output order."""
        mul, add = self.local_net(x)
        y = x * mul + add
        gamma, color = self.global_net(x)
        y = torch.einsum("bij,bjhw->bihw", color, y).clamp(1e-8, 1.0)
        return mul, add, y ** gamma.view(-1, 1, 1, 1)


# --------------------------------------------------------------------------------------------- enhancers
def _load_state_dict(net: nn.Module, weights: str | os.PathLike | None, what: str, expected: str) -> Path:
    if weights is None:
        hint = ""
        root = shared_root()
        if root is not None and (root / "data" / "weights" / expected).is_file():
            hint = f" (found one at {root / 'data' / 'weights' / expected})"
        raise ValueError(f"{what} needs weights=PATH (on the command line: --enhancer-weights PATH) to the official "
                         f"checkpoint {expected}{hint}")
    path = require_file(weights, f"{what} checkpoint")
    sd = safe_torch_load(path, f"{what} checkpoint")
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: expected a state_dict (name -> tensor), got {type(sd).__name__}")
    own = net.state_dict()
    missing, unexpected = [k for k in own if k not in sd], [k for k in sd if k not in own]
    wrong = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        raise ValueError(f"{path} is not a {what} checkpoint: {len(missing)} missing key(s) {listed(missing, 3)}, "
                         f"{len(unexpected)} unexpected {listed(unexpected, 3)}, {len(wrong)} of another shape "
                         f"{listed(wrong, 3)}")
    net.load_state_dict(sd, strict=True)
    # A single subnormal weight (Zero-DCE's Epoch99.pth has one) makes CPU convolutions ~20x slower through
    # subnormal arithmetic; its products are below 1e-38, so zeroing it leaves the outputs unchanged (checked).
    with torch.no_grad():
        for p in net.parameters():
            p[p.abs() < torch.finfo(p.dtype).tiny] = 0.0
    return path


class _TorchEnhancer(Enhancer):
    """A network with official weights: subclasses set ``what`` / ``expected`` and implement ``build_net``."""

    net: nn.Module
    what: str  # the method's name in error messages
    expected: str  # where its official checkpoint sits in the shared sample data, for error messages

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__(device)
        net = self.build_net()
        self.weights = _load_state_dict(net, weights, self.what, self.expected)
        self.weights_sha256()
        self.net = net.to(self.device).eval().requires_grad_(False)

    def build_net(self) -> nn.Module:
        """The network, before its weights are loaded."""
        raise NotImplementedError

    def params(self) -> dict:
        return {"weights": self.weights.name}


@ENHANCERS.register_module(name="zero_dce")
class ZeroDCE(_TorchEnhancer):
    """Zero-DCE (Guo et al., CVPR 2020) with the official ``Epoch99.pth``."""

    name, what, expected = "zero_dce", "Zero-DCE", "zero_dce/Epoch99.pth"

    def build_net(self) -> nn.Module:
        return DCENet()

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device))[1].clamp(0, 1)


@ENHANCERS.register_module(name="zero_dce_pp")
class ZeroDCEPP(_TorchEnhancer):
    """Zero-DCE++ (Li et al., TPAMI 2021) with the official ``Epoch99.pth`` and scale factor 12."""

    name, what, expected = "zero_dce_pp", "Zero-DCE++", "zero_dce_pp/Epoch99.pth"

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 scale_factor: int = 12) -> None:
        self.scale_factor = int(scale_factor)
        super().__init__(weights, device)

    def build_net(self) -> nn.Module:
        return DCENetPP(self.scale_factor)

    def params(self) -> dict:
        return {**super().params(), "scale_factor": self.scale_factor}

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        s = self.scale_factor
        h, w = x.shape[-2:]
        hc, wc = h // s * s, w // s * s
        if hc == 0 or wc == 0:
            raise ValueError(f"Zero-DCE++ needs images of at least {s}x{s} pixels, got {h}x{w}")
        a = self.net.curve_map(x[..., :hc, :wc])
        if (hc, wc) != (h, w):
            a = F.pad(a, (0, w - wc, 0, h - hc), mode="replicate")
        y = x
        for _ in range(8):
            y = apply_le_curve(y, a)
        return y.clamp(0, 1)


@ENHANCERS.register_module(name="sci")
class SCI(_TorchEnhancer):
    """SCI (Ma et al., CVPR 2022); the level (easy / medium / difficult) is the checkpoint file."""

    name, what, expected = "sci", "SCI", "sci/medium.pt"

    def build_net(self) -> nn.Module:
        return SCINet()

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device))[1]


_IAT_VARIANTS = ("lol_v1", "lol_v2", "exposure")


def _iat_variant_from_name(path: Path) -> str:
    stem = path.stem.lower()
    if "exposure" in stem:
        return "exposure"
    if re.search(r"lol_v2|best_epoch_lol$", stem):
        return "lol_v2"
    return "lol_v1"


@ENHANCERS.register_module(name="iat")
class IAT(_TorchEnhancer):
    """IAT (Cui et al., BMVC 2022). ``variant`` (default: from the file name) sets the input normalisation.

    ``lol_v1`` (``best_Epoch_lol_v1.pth``) and ``exposure`` take RGB in [0, 1]; ``lol_v2`` (``best_Epoch_lol.pth``)
    takes ``(x - 0.5) / 0.5``.
    """

    name, what, expected = "iat", "IAT", "iat/best_Epoch_lol_v1.pth"

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 variant: str | None = None) -> None:
        super().__init__(weights, device)
        self.variant = variant or _iat_variant_from_name(self.weights)
        if self.variant not in _IAT_VARIANTS:
            raise ValueError(f"IAT variant must be one of {_IAT_VARIANTS}, got {self.variant!r}")

    def build_net(self) -> nn.Module:
        return IATNet()

    def params(self) -> dict:
        return {**super().params(), "variant": self.variant}

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        if self.variant == "lol_v2":
            x = (x - 0.5) / 0.5
        # in (0, 1] already for a positive gamma (all released checkpoints); the clamp guards the protocol
        return self.net(x)[2].clamp(0, 1)

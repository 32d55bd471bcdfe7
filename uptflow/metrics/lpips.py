"""LPIPS v0.1 with the AlexNet backbone (Zhang et al., CVPR 2018), built from local weight files only.

The network is the ``lpips`` 0.1.4 'alex' model, re-assembled here so nothing is ever downloaded: torchvision's
AlexNet ``features`` (``torchvision.models.alexnet(weights=None)``), tapped after ReLU 1-5; the v0.1 input
scaling (shift [-.030, -.088, -.188], scale [.458, .448, .450]); channel-wise unit normalisation; squared
differences; one 1x1 linear layer per tap (no bias); spatial mean; sum over taps. Inputs are RGB in [0, 1]
(mapped to [-1, 1] as UPT-Flow's ``test.py`` does with uint8 images).

Two files are needed:

* backbone: torchvision's ImageNet AlexNet checkpoint ``alexnet-owt-7be5be79.pth`` (the file torchvision would
  download to ``$TORCH_HOME/hub/checkpoints``); looked up there and in ``~/.cache/uptflow/weights``.
* linear heads: ``weights/v0.1/alex.pth`` of the ``lpips`` PyPI package (shipped in its wheel; read from the
  installed package without importing it), or any path you pass.
"""

import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

from uptflow.utils.paths import cache_dir, require_file
from uptflow.utils.safe_load import safe_torch_load

__all__ = ["LPIPS", "default_backbone_path", "default_linear_path", "lpips_available"]

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
_TAPS = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))
_CHANNELS = (64, 192, 384, 256, 256)


def default_backbone_path() -> Path:
    """Where the AlexNet backbone is looked for: torch hub cache first, then ``~/.cache/uptflow/weights``."""
    hub = _hub_path()
    return hub if hub.is_file() else cache_dir("weights") / ALEXNET_FILE


def _hub_path() -> Path:
    """Where torch's hub cache keeps the AlexNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def default_linear_path() -> Path | None:
    """Path of ``weights/v0.1/alex.pth`` inside the installed ``lpips`` package, or None when not installed."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / "v0.1" / "alex.pth"


def lpips_available() -> bool:
    """True when both weight files are present at their default locations."""
    lin = default_linear_path()
    return default_backbone_path().is_file() and lin is not None and lin.is_file()


class LPIPS(nn.Module):
    """LPIPS distance (lower = more similar) between batches of RGB images in [0, 1]."""

    def __init__(self, backbone: str | os.PathLike | None = None, linear: str | os.PathLike | None = None) -> None:
        super().__init__()
        from torchvision.models import alexnet

        features = alexnet(weights=None).features
        self.slices = nn.ModuleList(nn.Sequential(*[features[i] for i in range(a, b)]) for a, b in _TAPS)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self._load(backbone, linear, features)
        self.eval().requires_grad_(False)

    def _load(self, backbone, linear, features: nn.Module) -> None:
        if backbone is None and not default_backbone_path().is_file():
            raise FileNotFoundError(
                f"LPIPS needs torchvision's AlexNet ImageNet weights {ALEXNET_FILE}, found neither in torch's hub "
                f"cache ({_hub_path()}) nor at {cache_dir('weights') / ALEXNET_FILE}. uptflow never downloads files: "
                "put the file in one of them, or give its path (--lpips-backbone, lpips_backbone=PATH)")
        bb = require_file(backbone or default_backbone_path(),
                          f"AlexNet ImageNet weights for LPIPS (torchvision's {ALEXNET_FILE})")
        lin_default = default_linear_path()
        if linear is None and lin_default is None:
            raise FileNotFoundError(
                "LPIPS linear heads not found: `pip install lpips==0.1.4` (uptflow reads its weights/v0.1/alex.pth) "
                "or pass linear=PATH to that file"
            )
        lin = require_file(linear or lin_default, "LPIPS v0.1 AlexNet linear heads (lpips weights/v0.1/alex.pth)")
        sd = safe_torch_load(bb, "AlexNet weights for LPIPS")
        feat_sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
        features.load_state_dict(feat_sd, strict=True)
        lin_sd = safe_torch_load(lin, "LPIPS linear heads")
        # lpips stores each head as lin{k}.model.1.weight (index 0 is a parameter-free Dropout)
        self.lins.load_state_dict({f"{k}.weight": lin_sd[f"lin{k}.model.1.weight"] for k in range(5)}, strict=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return LPIPS per image, shape [B], for ``x``, ``y`` of shape [B,3,H,W] in [0, 1]."""
        hx, hy = (2 * x - 1 - self.shift) / self.scale, (2 * y - 1 - self.shift) / self.scale
        total = torch.zeros(x.shape[0], device=x.device)
        for sl, lin in zip(self.slices, self.lins, strict=True):
            hx, hy = sl(hx), sl(hy)
            nx = hx / (hx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            ny = hy / (hy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((nx - ny) ** 2).mean(dim=(1, 2, 3))
        return total

"""The enhancer protocol shared by UPT-Flow and every baseline, and the registry-backed builder."""

import os
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from uptflow.registry import ENHANCERS
from uptflow.utils.io import imread_rgb, to_rgb_uint8

__all__ = ["Enhancer", "build_enhancer", "list_enhancers"]

class Enhancer:
    """Base class: subclasses implement ``enhance_tensor`` ([B,3,H,W] float in [0,1] -> same).

    ``__call__`` accepts uint8 HxWx3 RGB arrays, PIL images or paths and returns uint8 HxWx3 RGB.
    ``name`` and ``params()`` identify the enhancer in caches and result tables.
    """

    name: str = "enhancer"

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)

    def params(self) -> dict[str, Any]:
        """Return the settings that change the output (used in cache keys and protocol lines)."""
        return {}

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance a batch [B,3,H,W] of float RGB in [0,1]; return the same shape and range."""
        raise NotImplementedError

    def __call__(self, img: Any) -> np.ndarray:
        """Enhance one image (uint8 HxWx3 RGB array, PIL image or path) and return uint8 HxWx3 RGB."""
        arr = self._as_uint8(img)
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).to(self.device, torch.float32) / 255.0
        with torch.inference_mode():
            y = self.enhance_tensor(x)
        if y.shape != x.shape:
            raise RuntimeError(f"{self.name}: output shape {tuple(y.shape)} differs from input {tuple(x.shape)}")
        return (y[0].clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()

    @staticmethod
    def _as_uint8(img: Any) -> np.ndarray:
        if isinstance(img, (str, os.PathLike)):
            return imread_rgb(img)
        if isinstance(img, Image.Image):
            return to_rgb_uint8(np.array(ImageOps.exif_transpose(img)), source="PIL image", mode=img.mode)
        if isinstance(img, np.ndarray):
            return to_rgb_uint8(img)
        raise TypeError(f"expected a path, PIL image or numpy array, got {type(img).__name__}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def list_enhancers() -> list[str]:
    """Return the names of all registered enhancers."""
    ENHANCERS.import_from_location()  # registers the built-in enhancers (see uptflow.registry)
    return sorted(ENHANCERS.module_dict)


def build_enhancer(name: str, weights: str | os.PathLike | None = None, device: str = "cpu", **kw: Any) -> Enhancer:
    """Build a registered enhancer by name, e.g. ``build_enhancer("zero_dce", weights=path)``."""
    ENHANCERS.import_from_location()  # registers the built-in enhancers (see uptflow.registry)
    if name not in ENHANCERS.module_dict:
        raise KeyError(f"unknown enhancer {name!r}; registered: {', '.join(sorted(ENHANCERS.module_dict))}")
    cfg: dict[str, Any] = dict(type=name, device=device, **kw)
    if weights is not None:
        cfg["weights"] = str(weights)
    return ENHANCERS.build(cfg)

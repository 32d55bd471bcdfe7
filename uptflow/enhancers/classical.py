"""Classical (training-free) enhancers: identity, gamma, histogram equalisation and CLAHE.

All work on uint8 RGB through OpenCV; ``histeq`` and ``clahe`` change only the lightness (YCrCb Y resp. CIELAB L)
so hues are preserved.
"""

import cv2
import numpy as np
import torch

from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS

__all__ = ["Identity", "Gamma", "HistEq", "CLAHE"]


class _Uint8Enhancer(Enhancer):
    """Base for enhancers defined on uint8 RGB images; ``enhance_tensor`` round-trips through uint8."""

    takes_weights = False

    def __init__(self, device: str | torch.device = "cpu", weights: str | None = None) -> None:
        super().__init__(device)
        if weights is not None:
            raise ValueError(f"{self.name} takes no weights (got {weights!r})")

    def enhance_uint8(self, img: np.ndarray) -> np.ndarray:
        """Enhance one uint8 HxWx3 RGB image."""
        raise NotImplementedError

    def __call__(self, img) -> np.ndarray:
        return self.enhance_uint8(self._as_uint8(img))

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        arr = (x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        out = np.stack([self.enhance_uint8(a) for a in arr])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device, x.dtype) / 255.0


@ENHANCERS.register_module(name="identity")
class Identity(_Uint8Enhancer):
    """Returns the input unchanged (the 'no enhancement' row of every table)."""

    name = "identity"

    def enhance_uint8(self, img: np.ndarray) -> np.ndarray:
        return img.copy()


@ENHANCERS.register_module(name="gamma")
class Gamma(_Uint8Enhancer):
    """Power-law brightening ``out = 255 * (in / 255) ** (1 / gamma)``; gamma > 1 brightens."""

    name = "gamma"

    def __init__(self, gamma: float = 2.2, device: str | torch.device = "cpu", weights: str | None = None) -> None:
        super().__init__(device, weights)
        if gamma <= 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.gamma = float(gamma)
        self._lut = np.round(255.0 * (np.arange(256) / 255.0) ** (1.0 / self.gamma)).astype(np.uint8)

    def params(self) -> dict:
        return {"gamma": self.gamma}

    def enhance_uint8(self, img: np.ndarray) -> np.ndarray:
        return cv2.LUT(img, self._lut)


@ENHANCERS.register_module(name="histeq")
class HistEq(_Uint8Enhancer):
    """Global histogram equalisation of the luminance (YCrCb Y channel, OpenCV ``equalizeHist``)."""

    name = "histeq"

    def enhance_uint8(self, img: np.ndarray) -> np.ndarray:
        ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = cv2.equalizeHist(ycc[..., 0])
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


MAX_TILE_GRID = 256


@ENHANCERS.register_module(name="clahe")
class CLAHE(_Uint8Enhancer):
    """Contrast-limited adaptive histogram equalisation of the CIELAB L channel (OpenCV)."""

    name = "clahe"

    def __init__(self, clip_limit: float = 2.0, tile_grid: int = 8, device: str | torch.device = "cpu",
                 weights: str | None = None) -> None:
        super().__init__(device, weights)
        # OpenCV pads the image up to whole tiles, so a grid of thousands allocates gigabytes before it fails
        if clip_limit <= 0 or not 1 <= tile_grid <= MAX_TILE_GRID:
            raise ValueError(f"clahe needs clip_limit > 0 and 1 <= tile_grid <= {MAX_TILE_GRID}, "
                             f"got {clip_limit}, {tile_grid}")
        self.clip_limit, self.tile_grid = float(clip_limit), int(tile_grid)
        self._clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(self.tile_grid, self.tile_grid))

    def params(self) -> dict:
        return {"clip_limit": self.clip_limit, "tile_grid": self.tile_grid}

    def enhance_uint8(self, img: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
        lab[..., 0] = self._clahe.apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)

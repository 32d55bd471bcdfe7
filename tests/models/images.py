"""Images for the network tests: scikit-image's astronaut, darkened by the synthetic degradation, and PSNR."""

import math

import numpy as np
import torch

__all__ = ["photo", "as_tensor", "dark_photo", "psnr"]


def photo(h: int, w: int) -> np.ndarray:
    """The astronaut resized to ``h`` x ``w``: uint8 HxWx3 RGB."""
    import cv2

    from uptflow.data.synthetic import load_skimage_photo

    return cv2.resize(load_skimage_photo("astronaut"), (w, h), interpolation=cv2.INTER_AREA)


def as_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 as a float [1, 3, H, W] batch in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255


def dark_photo(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """The photo darkened by the training degradation drawn with ``seed``: [1, 3, h, w] in [0, 1]."""
    from uptflow.data.synthetic import LowLightDegradation

    low, _ = LowLightDegradation()(photo(h, w), np.random.default_rng(seed))
    return as_tensor(low)


def psnr(ref: torch.Tensor, out: torch.Tensor) -> float:
    """PSNR in dB (peak 1) of ``out`` against ``ref``, on any device; inf when they are equal."""
    mse = float((ref.double().cpu() - out.double().cpu()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)

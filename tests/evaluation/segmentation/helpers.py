"""Synthetic dataset trees and a fake segmenter for the segmentation tests."""

from pathlib import Path

import numpy as np
from PIL import Image


def write_png(path: Path, arr: np.ndarray) -> Path:
    """Write an array as PNG (creating folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def rand_image(rng: np.random.Generator, h: int = 24, w: int = 32) -> np.ndarray:
    """A random uint8 RGB image."""
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def rand_trainids(rng: np.random.Generator, h: int = 24, w: int = 32) -> np.ndarray:
    """A random train-id map with some ignored pixels."""
    lab = rng.integers(0, 19, (h, w), dtype=np.uint8)
    lab[rng.random((h, w)) < 0.1] = 255
    return lab


def make_acdc(root: Path, rng: np.random.Generator, split: str = "val", n: int = 2, labels: bool = True) -> Path:
    """Write an ACDC-night tree: ``rgb_anon/night/<split>/<seq>/`` images and ``gt/night/<split>/<seq>/`` train ids."""
    for i in range(n):
        base = f"GOPR0351_frame_{i:06d}"
        write_png(root / "rgb_anon" / "night" / split / "GOPR0351" / f"{base}_rgb_anon.png", rand_image(rng))
        if labels:
            write_png(root / "gt" / "night" / split / "GOPR0351" / f"{base}_gt_labelTrainIds.png", rand_trainids(rng))
    return root


class FakeSegmenter:
    """Predicts a fixed function of the image (channel-0 value modulo 19); counts calls."""

    name = "fake"
    num_classes = 19

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, img: np.ndarray) -> np.ndarray:
        self.calls += 1
        return (img[..., 0] % 19).astype(np.uint8)

    def describe(self) -> dict:
        return {"name": self.name}

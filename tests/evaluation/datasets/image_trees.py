"""Builders of small paired / unpaired image folders made from scikit-image's photos."""

from pathlib import Path

import numpy as np
from skimage import data

from uptflow.utils.io import imwrite_rgb


def photo(i: int) -> np.ndarray:
    """A 192x192 crop of scikit-image's astronaut or coffee photo, shifted with ``i``."""
    img = data.astronaut() if i % 2 == 0 else data.coffee()
    return np.ascontiguousarray(img[:192, 100 + 10 * i:292 + 10 * i])


def make_pair_dirs(root: Path, low_name: str = "low", high_name: str = "high", n: int = 2,
                   extra_low: tuple[str, ...] = ()) -> Path:
    """``root/<low_name>/<i>.png`` (photo // 4) and ``root/<high_name>/<i>.png`` for i < n, plus unmatched lows."""
    (root / low_name).mkdir(parents=True)
    (root / high_name).mkdir(parents=True)
    for i in range(n):
        gt = photo(i)
        imwrite_rgb(root / high_name / f"{i}.png", gt)
        imwrite_rgb(root / low_name / f"{i}.png", (gt // 4).astype(np.uint8))
    for name in extra_low:
        imwrite_rgb(root / low_name / f"{name}.png", (photo(0) // 4).astype(np.uint8))
    return root

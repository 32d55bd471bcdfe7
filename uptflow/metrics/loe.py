"""Lightness Order Error (Wang, Zheng, Hu & Li, "Naturalness preserved enhancement...", IEEE TIP 2013).

LOE counts, for every pixel, how many other pixels swap their lightness order between the input and the
enhanced image, averaged over pixels: ``LOE = 1/m sum_x sum_y [L(x) >= L(y)] xor [L'(x) >= L'(y)]`` with the
lightness ``L = max(R, G, B)``. Lower is better (0 = the order is fully preserved).

Downsampling (the reason published LOE values range from ~100 to ~1000): the O(m^2) sum is computed on a
sub-sampled lightness map, as in the NPE authors' code, by taking every ``step``-th pixel in both directions
with ``step = floor(min(H, W) / short_side)``. uptflow's default ``short_side = 100`` (a 600x400 LOL image gives
step 4 and a 150x100 grid). Report the setting next to LOE numbers; values with different settings are not
comparable.
"""

import numpy as np

__all__ = ["loe", "DEFAULT_SHORT_SIDE"]

DEFAULT_SHORT_SIDE = 100


def _lightness_grid(img: np.ndarray, step: int) -> np.ndarray:
    return img.max(axis=2)[step - 1::step, step - 1::step].astype(np.int16).ravel()


def loe(low: np.ndarray, enhanced: np.ndarray, short_side: int = DEFAULT_SHORT_SIDE) -> float:
    """Lightness Order Error between the input ``low`` and ``enhanced`` (both uint8 HxWx3, same size)."""
    if low.shape != enhanced.shape or low.ndim != 3:
        raise ValueError(f"LOE needs two HxWx3 images of the same size, got {low.shape} and {enhanced.shape}")
    step = max(1, min(low.shape[:2]) // short_side)
    a, b = _lightness_grid(low, step), _lightness_grid(enhanced, step)
    total = 0
    chunk = max(1, 20_000_000 // a.size)  # bounded memory: chunk x m boolean matrices
    for i in range(0, a.size, chunk):
        total += int(np.count_nonzero((a[i:i + chunk, None] >= a[None, :]) ^ (b[i:i + chunk, None] >= b[None, :])))
    return total / a.size

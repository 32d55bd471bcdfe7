"""Lightness Order Error (Wang, Zheng, Hu & Li, "Naturalness preserved enhancement...", IEEE TIP 2013).

LOE counts, for every pixel, how many other pixels swap their lightness order between the input and the
enhanced image, averaged over pixels: ``LOE = 1/m sum_x sum_y [L(x) >= L(y)] xor [L'(x) >= L'(y)]``. Lower is
better (0 = the order is fully preserved).

Computed as the NPE authors' ``LOE.m`` does (the code most papers run): the lightness ``L`` is ``max(R, G, B)``
followed by a 15x15 local maximum (the image mirrored at its borders without repeating the edge pixel), and the
O(m^2) sum runs on the pixels ``(i * step, j * step)`` (1-based) with ``step = floor(min(H, W) / short_side)`` and
``short_side = 50``. Published LOE values range from ~100 to ~1000 because implementations differ in this grid and
in the local maximum; values with other settings are not comparable.
"""

import numpy as np
from scipy.ndimage import maximum_filter

__all__ = ["loe", "DEFAULT_SHORT_SIDE", "LOCAL_MAX_SIZE"]

DEFAULT_SHORT_SIDE = 50  # LOE.m's blkwin
LOCAL_MAX_SIZE = 15  # LOE.m's getlocalmax window, 2 * win + 1 with win = 7


def _lightness_grid(img: np.ndarray, step: int) -> np.ndarray:
    # scipy's 'mirror' is LOE.m's getextpic: d c b | a b c d | c b a
    lightness = maximum_filter(img.max(axis=2), size=LOCAL_MAX_SIZE, mode="mirror")
    return lightness[step - 1::step, step - 1::step].astype(np.int16).ravel()


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

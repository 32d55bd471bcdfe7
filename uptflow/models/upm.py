"""Unbalanced Point Map (UPM) of a low-light image.

The UPM is the binary per-pixel map that UPT-Flow (Xu et al., "UPT-Flow: Multi-scale transformer-guided
normalizing flow for low-light image enhancement", Pattern Recognition 158:111076, 2025) feeds to the window
attention of its MSFormer encoder. The official code (github NJUPT-IPR-XuLintao/UPT-Flow, ``test.py`` ``zero_map``)
computes it on the padded low-light RGB image in [0, 1]: a pixel is 1 when each of R, G and B contributes strictly
more than 10 % of the pixel sum ``S = R + G + B + 1e-4``, and 0 otherwise (pure black pixels are 0).
"""

from torch import Tensor

__all__ = ["UPM_THRESHOLD", "UPM_EPS", "unbalanced_point_map"]

UPM_THRESHOLD = 0.1
UPM_EPS = 1e-4


def unbalanced_point_map(low: Tensor, threshold: float = UPM_THRESHOLD) -> Tensor:
    """Return the UPM of an RGB batch: 1 where all three channel shares exceed ``threshold``, else 0.

    The shares are computed in the input's floating dtype with the same operation order as the official code
    (``R / (R + G + B + 1e-4)``), so the map agrees bit for bit with it at pixels near the threshold.

    Args:
        low: low-light images [B, 3, H, W], RGB in [0, 1], floating point.
        threshold: share a channel must strictly exceed (0.1 in UPT-Flow).

    Returns:
        Tensor [B, 1, H, W] of the input's dtype holding 0.0 / 1.0.
    """
    if low.ndim != 4 or low.shape[1] != 3:
        raise ValueError(f"unbalanced_point_map expects RGB images [B, 3, H, W], got shape {tuple(low.shape)}")
    if not low.is_floating_point():
        raise TypeError(f"unbalanced_point_map expects a float tensor in [0, 1], got dtype {low.dtype}")
    r, g, b = low.split(1, dim=1)
    total = r + g + b + UPM_EPS
    balanced = (r / total > threshold) & (g / total > threshold) & (b / total > threshold)
    return balanced.to(low.dtype)

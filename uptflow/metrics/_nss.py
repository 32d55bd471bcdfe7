"""Natural-scene-statistics helpers shared by NIQE and BRISQUE, written to match the MATLAB reference code.

Hand-written because no maintained library exposes them: MATLAB's ``rgb2gray`` rounding, MATLAB's bicubic
``imresize`` with anti-aliasing (OpenCV / PIL / skimage use other kernels or borders), MSCN coefficients and the
moment-matching GGD / AGGD fits of Mittal et al. over the grid 0.2:0.001:10.
"""

import numpy as np
from scipy.ndimage import correlate
from scipy.special import gamma

__all__ = ["rgb2gray_matlab", "imresize_matlab", "mscn", "fit_ggd", "fit_aggd", "gaussian_window"]

# the search grid of the reference estimateggdparam / estimateaggdparam
_GAM = np.arange(0.2, 10.0 + 1e-9, 0.001)
_R_AGGD = gamma(2.0 / _GAM) ** 2 / (gamma(1.0 / _GAM) * gamma(3.0 / _GAM))
_R_GGD = 1.0 / _R_AGGD


def rgb2gray_matlab(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on uint8 RGB: BT.601 luma weights, rounded to integers; returns float64 HxW."""
    w = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    return np.round(img.astype(np.float64) @ w)


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    width = 4.0
    antialias = scale < 1
    if antialias:
        width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based as in MATLAB
    dist = u[:, None] - idx
    w = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, mirror.size)]
    keep = np.any(w != 0, axis=0)
    return w[:, keep], idx[:, keep]


def imresize_matlab(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale)`` (bicubic, anti-aliased when shrinking, symmetric borders) on a 2-D array."""
    out = img.astype(np.float64)
    for axis in (0, 1):
        n_in = out.shape[axis]
        n_out = int(np.ceil(n_in * scale))
        w, idx = _contributions(n_in, n_out, scale)
        moved = np.moveaxis(out, axis, 0)
        res = np.einsum("ok,ok...->o...", w, moved[idx])
        out = np.moveaxis(res, 0, axis)
    return out


def gaussian_window(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)`` normalised to sum 1."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def mscn(img: np.ndarray, window: np.ndarray, mode: str) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(I - mu) / (sigma + 1)`` of a 0..255 grey image.

    Computed in ``img``'s float dtype (NIQE passes float32 to follow its reference, BRISQUE float64).

    Args:
        img: float HxW image in 0..255.
        window: normalised filter window (7x7 Gaussian, sigma 7/6).
        mode: border handling: ``'nearest'`` = MATLAB imfilter 'replicate' (NIQE), ``'constant'`` = filter2
            'same' zero padding (BRISQUE).
    """
    mu = correlate(img, window, mode=mode, cval=0.0)
    var = correlate(img * img, window, mode=mode, cval=0.0) - mu * mu
    return (img - mu) / (np.sqrt(np.abs(var)) + 1.0)


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """Moment-matching generalised Gaussian fit; returns (shape alpha, std sigma)."""
    x = x.ravel()
    sigma_sq = np.mean(x * x)
    e = np.mean(np.abs(x))
    rho = sigma_sq / (e * e) if e > 0 else np.inf
    alpha = _GAM[np.argmin(np.abs(rho - _R_GGD))]
    return float(alpha), float(np.sqrt(sigma_sq))


def fit_aggd(x: np.ndarray) -> tuple[float, float, float]:
    """Moment-matching asymmetric generalised Gaussian fit; returns (alpha, left std, right std).

    As in the MATLAB code, a side without values has a NaN std (callers drop such blocks) and the shape is then
    the grid's first value, 0.2: MATLAB's ``min`` over an all-NaN vector returns index 1, and NIQE averages the
    shape column with ``nanmean``, so it counts.
    """
    x = x.ravel()
    neg, pos = x[x < 0], x[x > 0]
    left = np.sqrt(np.mean(neg * neg)) if neg.size else np.nan
    right = np.sqrt(np.mean(pos * pos)) if pos.size else np.nan
    g = left / right
    mean_sq = np.mean(x * x)
    rhat = np.mean(np.abs(x)) ** 2 / mean_sq if mean_sq > 0 else np.nan
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = _GAM[np.argmin((_R_AGGD - rnorm) ** 2)] if np.isfinite(rnorm) else _GAM[0]
    return float(alpha), float(left), float(right)

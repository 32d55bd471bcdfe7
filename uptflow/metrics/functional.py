"""Full-reference metrics on uint8 RGB images: PSNR, SSIM (two conventions) and their GT-mean variants.

Conventions (see docs/metrics-and-baselines.md):

* ``psnr``: scikit-image ``peak_signal_noise_ratio`` on uint8 RGB, data range 255, whole image, no Y channel,
  no border crop (UPT-Flow's ``Measure.py``).
* ``ssim_skimage`` (table name ``ssim_uniform7``): scikit-image ``structural_similarity`` with its defaults on
  uint8 RGB, i.e. a 7x7 *uniform* window, sample covariance, K1=0.01, K2=0.03, computed per channel and averaged.
  This is the convention of UPT-Flow's released ``test.py`` and of its paper tables.
* ``ssim_gauss11``: the MATLAB / BasicSR convention, an 11x11 Gaussian window with sigma 1.5, population
  covariance, per channel then averaged, 'valid' border (skimage crops the 5-pixel border before averaging).
* ``*_gtmean``: the KinD / LLFlow "GT-mean" step: the output is rescaled so its mean grey level equals the
  ground truth's (``out * mean_gray(gt) / mean_gray(out)``), clipped to [0, 255] and rounded to uint8, and the
  metric is computed on that. It uses the ground truth at test time; never mix it with plain numbers.

The metrics are thin wrappers around scikit-image so the numbers agree with it exactly.
"""

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

__all__ = [
    "psnr", "ssim_skimage", "ssim_gauss11", "gt_mean_rescale", "psnr_gtmean", "ssim_skimage_gtmean",
    "ssim_gauss11_gtmean", "check_pair",
]


def check_pair(pred: np.ndarray, gt: np.ndarray) -> None:
    """Raise ValueError unless ``pred`` and ``gt`` are uint8 HxWx3 arrays of the same shape."""
    for name, a in (("prediction", pred), ("ground truth", gt)):
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            desc = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise ValueError(f"{name} must be a uint8 HxWx3 RGB array, got {desc}")
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")


def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    """PSNR in dB between two uint8 RGB images (data range 255); ``inf`` for identical images."""
    check_pair(pred, gt)
    if np.array_equal(pred, gt):
        return float("inf")
    return float(peak_signal_noise_ratio(gt, pred, data_range=255))


def ssim_skimage(pred: np.ndarray, gt: np.ndarray) -> float:
    """SSIM with scikit-image defaults (7x7 uniform window, sample covariance) averaged over RGB channels."""
    check_pair(pred, gt)
    return float(structural_similarity(gt, pred, channel_axis=2, data_range=255))


def ssim_gauss11(pred: np.ndarray, gt: np.ndarray) -> float:
    """SSIM with an 11x11 Gaussian window (sigma 1.5, population covariance) averaged over RGB channels."""
    check_pair(pred, gt)
    return float(
        structural_similarity(
            gt, pred, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
    )


def _mean_gray(img: np.ndarray) -> float:
    # BT.601 luma weights on RGB (the spec's mean_gray). Peers' GT-mean code differs: LLFlow's test.py averages the
    # output's three channels; Retinexformer-style code applies cv2.COLOR_BGR2GRAY to RGB arrays (R and B weights
    # swapped). Their numbers are not comparable with these to better than about 1 dB.
    return float((img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).mean())


def gt_mean_rescale(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Rescale ``pred`` so its mean grey level equals ``gt``'s; returns uint8 (clipped, rounded)."""
    check_pair(pred, gt)
    m_pred = _mean_gray(pred)
    if m_pred == 0:
        return pred.copy()
    out = pred.astype(np.float64) * (_mean_gray(gt) / m_pred)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def psnr_gtmean(pred: np.ndarray, gt: np.ndarray) -> float:
    """PSNR after the GT-mean rescaling (uses the ground truth at test time)."""
    return psnr(gt_mean_rescale(pred, gt), gt)


def ssim_skimage_gtmean(pred: np.ndarray, gt: np.ndarray) -> float:
    """``ssim_skimage`` after the GT-mean rescaling."""
    return ssim_skimage(gt_mean_rescale(pred, gt), gt)


def ssim_gauss11_gtmean(pred: np.ndarray, gt: np.ndarray) -> float:
    """``ssim_gauss11`` after the GT-mean rescaling."""
    return ssim_gauss11(gt_mean_rescale(pred, gt), gt)

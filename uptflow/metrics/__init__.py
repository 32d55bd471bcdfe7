"""Enhancement-quality metrics: PSNR / SSIM (two conventions, GT-mean variants), LPIPS, NIQE, BRISQUE, LOE.

Importing this package registers ``ImageQuality`` in ``uptflow.registry.METRICS``.
"""

from .brisque import brisque
from .functional import (
    gt_mean_rescale,
    psnr,
    psnr_gtmean,
    ssim_gauss11,
    ssim_gauss11_gtmean,
    ssim_skimage,
    ssim_skimage_gtmean,
)
from .image_quality import ImageQuality
from .loe import loe
from .niqe import niqe

__all__ = [
    "psnr", "ssim_skimage", "ssim_gauss11", "gt_mean_rescale", "psnr_gtmean", "ssim_skimage_gtmean",
    "ssim_gauss11_gtmean", "niqe", "brisque", "loe", "ImageQuality",
]

"""``ImageQuality``: a stateful reset / process / compute metric over enhanced images, registered in METRICS.

Full-reference metrics (PSNR, both SSIM conventions, optional GT-mean variants and LPIPS) are computed when a
ground truth is given; no-reference metrics (NIQE, BRISQUE) always; LOE when the low-light input is given.
``compute()`` returns a flat dict of means with the prefix, e.g. ``{'enh/psnr': 18.2, 'enh/niqe': 4.1}``.
"""

import math
import warnings
from typing import Any

import numpy as np

from uptflow.metrics import functional as F
from uptflow.metrics.brisque import brisque
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE, loe
from uptflow.metrics.niqe import niqe
from uptflow.registry import METRICS

__all__ = ["ImageQuality", "FULL_REFERENCE", "NO_REFERENCE"]

FULL_REFERENCE = {
    "psnr": F.psnr, "ssim_uniform7": F.ssim_skimage, "ssim_gauss11": F.ssim_gauss11,
}
GT_MEAN = {
    "psnr_gtmean": F.psnr_gtmean, "ssim_uniform7_gtmean": F.ssim_skimage_gtmean,
    "ssim_gauss11_gtmean": F.ssim_gauss11_gtmean,
}
NO_REFERENCE = {"niqe": niqe, "brisque": brisque}


@METRICS.register_module()
class ImageQuality:
    """Accumulate per-image quality metrics and average them.

    Args:
        prefix: key prefix of ``compute()``'s result (``'prefix/metric'``); empty for none.
        gt_mean: also compute the GT-mean variants (``psnr_gtmean`` ...).
        lpips: an ``uptflow.metrics.lpips.LPIPS`` instance, or None to skip LPIPS.
        no_reference: compute NIQE and BRISQUE.
        loe_short_side: LOE sub-sampling setting (see ``uptflow.metrics.loe``).
    """

    def __init__(self, prefix: str = "", gt_mean: bool = False, lpips: Any = None, no_reference: bool = True,
                 loe_short_side: int = DEFAULT_SHORT_SIDE) -> None:
        self.prefix = prefix
        self.gt_mean = gt_mean
        self.lpips = lpips
        self.no_reference = no_reference
        self.loe_short_side = loe_short_side
        self.results: list[dict[str, float]] = []

    def reset(self) -> None:
        """Forget all processed images."""
        self.results = []

    def measure(self, pred: np.ndarray, gt: np.ndarray | None = None, low: np.ndarray | None = None
                ) -> dict[str, float]:
        """Return the metrics of one uint8 HxWx3 RGB prediction (without storing them)."""
        row: dict[str, float] = {}
        if gt is not None:
            F.check_pair(pred, gt)
            metrics = {**FULL_REFERENCE, **(GT_MEAN if self.gt_mean else {})}
            row.update({name: fn(pred, gt) for name, fn in metrics.items()})
            if self.lpips is not None:
                row["lpips"] = _lpips(self.lpips, pred, gt)
        if self.no_reference:
            for name, fn in NO_REFERENCE.items():
                try:
                    row[name] = fn(pred)
                except ValueError as e:  # e.g. an image below NIQE's 2 x 96x96 blocks: NaN, not a crash
                    warnings.warn(f"{name} not computed: {e}", stacklevel=2)
                    row[name] = float("nan")
        if low is not None:
            row["loe"] = loe(low, pred, self.loe_short_side)
        return row

    def process(self, pred: np.ndarray, gt: np.ndarray | None = None, low: np.ndarray | None = None
                ) -> dict[str, float]:
        """Measure one image, store and return its metrics."""
        row = self.measure(pred, gt, low)
        self.results.append(row)
        return row

    def compute(self) -> dict[str, float]:
        """Mean of every metric over the processed images (infinite PSNRs excluded), flat and prefixed."""
        keys = sorted({k for r in self.results for k in r})
        out = {}
        for k in keys:
            vals = [r[k] for r in self.results if k in r and math.isfinite(r[k])]
            out[f"{self.prefix}/{k}" if self.prefix else k] = float(np.mean(vals)) if vals else float("nan")
        return out


def _lpips(model: Any, pred: np.ndarray, gt: np.ndarray) -> float:
    import torch

    device = next(model.parameters()).device  # the benchmark may have moved the network to a GPU

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(device).permute(2, 0, 1)[None].float() / 255.0

    with torch.inference_mode():
        return float(model(t(pred), t(gt))[0])

"""Validation metric of the training loop: PSNR / SSIM of the enhanced image, and of the unenhanced input.

The convention is the paper's (spec §6.1), implemented in :mod:`uptflow.metrics.functional`: scikit-image PSNR
and SSIM (7x7 uniform window, ``channel_axis``) on uint8 RGB, whole image, no GT-mean correction. Model outputs
in [0, 1] are converted to uint8 by rounding (the official test script truncates, which costs ~0.01 dB).
"""

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from uptflow.registry import METRICS

__all__ = ["EnhancementMetric", "tensor_to_uint8"]


def tensor_to_uint8(img: torch.Tensor) -> np.ndarray:
    """[3, H, W] float in [0, 1] -> uint8 HxWx3 (rounded)."""
    return (img.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


@METRICS.register_module()
class EnhancementMetric(BaseMetric):
    """Mean PSNR / SSIM over a validation set; ``psnr_input`` / ``ssim_input`` score the low-light input itself.

    Args:
        collect_device: 'cpu' or 'gpu' for gathering results across processes. Defaults to 'cpu'.
        prefix: metric name prefix (mmengine adds ``prefix/``); empty means bare names (``psnr``, which the
            CheckpointHook's ``save_best='psnr'`` refers to). Defaults to None (empty).
    """

    default_prefix = ""

    def __init__(self, collect_device: str = "cpu", prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score each enhanced sample against its ground truth."""
        from uptflow.metrics.functional import psnr, ssim_skimage

        for sample in data_samples:
            if "gt" not in sample:
                raise ValueError(f"validation sample {sample.get('name', '?')} has no ground truth; "
                                 f"EnhancementMetric needs a paired dataset")
            pred, gt, low = (tensor_to_uint8(sample[k]) for k in ("pred", "gt", "low"))
            self.results.append(dict(psnr=psnr(pred, gt), ssim=ssim_skimage(pred, gt),
                                     psnr_input=psnr(low, gt), ssim_input=ssim_skimage(low, gt)))

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        """Average every score over the images."""
        if not results:
            raise ValueError("EnhancementMetric: no validation samples were processed")
        return {k: float(np.mean([r[k] for r in results])) for k in results[0]}

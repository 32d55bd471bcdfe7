"""The registered stateful ImageQuality metric: per-image rows, prefixed means, unpaired images."""

import numpy as np
import pytest
import torch
from skimage import data

from uptflow.metrics import functional as F
from uptflow.metrics.image_quality import ImageQuality
from uptflow.registry import METRICS


def test_image_quality_accumulates_and_averages_with_prefix():
    m = METRICS.build(dict(type="ImageQuality", prefix="enh", gt_mean=True))
    gt = data.astronaut()[:200, :200]
    low = (gt // 3).astype(np.uint8)
    pred = (gt // 2).astype(np.uint8)
    r1 = m.process(pred, gt, low)
    r2 = m.process(gt, gt, low)  # identical -> PSNR inf, left out of the mean
    assert r1["psnr"] == F.psnr(pred, gt) and r2["psnr"] == float("inf")
    assert {"ssim_uniform7", "ssim_gauss11", "psnr_gtmean", "niqe", "brisque", "loe"} <= set(r1)
    out = m.compute()
    assert out["enh/psnr"] == pytest.approx(r1["psnr"])
    assert out["enh/ssim_uniform7"] == pytest.approx((r1["ssim_uniform7"] + 1.0) / 2)
    m.reset()
    assert m.compute() == {}


def test_unpaired_images_get_only_no_reference_metrics_and_small_ones_nan():
    m = METRICS.build(dict(type="ImageQuality"))
    row = m.process(data.astronaut())
    assert set(row) == {"niqe", "brisque"}
    with pytest.warns(UserWarning, match="niqe not computed"):
        small = m.process(np.full((64, 64, 3), 100, np.uint8))
    assert np.isnan(small["niqe"])


def test_lpips_inputs_go_to_the_device_of_the_network():
    class Probe(torch.nn.Module):  # stands in for LPIPS on another device (a GPU in use)
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1, device="meta"))
            self.seen: list[torch.device] = []

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            self.seen += [a.device, b.device]
            return torch.full((1,), 0.25)

    probe = Probe()
    img = np.zeros((16, 16, 3), np.uint8)
    assert ImageQuality(lpips=probe, no_reference=False).measure(img, img)["lpips"] == 0.25
    assert [d.type for d in probe.seen] == ["meta", "meta"]

"""PSNR / SSIM agree with scikit-image (and an independent Gaussian-SSIM); GT-mean follows its formula."""

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from uptflow.metrics import functional as F


@pytest.fixture(scope="module")
def pair():
    gt = data.astronaut()[:160, :200]
    rng = np.random.default_rng(0)
    pred = np.clip(gt * 0.8 + rng.normal(0, 12, gt.shape), 0, 255).astype(np.uint8)
    return pred, gt


def test_psnr_matches_skimage_and_is_inf_for_identical_images(pair):
    pred, gt = pair
    assert F.psnr(pred, gt) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=255), abs=1e-12)
    mse = np.mean((pred.astype(float) - gt) ** 2)
    assert F.psnr(pred, gt) == pytest.approx(10 * np.log10(255**2 / mse))
    assert F.psnr(gt, gt) == float("inf")


def test_ssim_uniform7_is_mean_of_per_channel_skimage_defaults(pair):
    pred, gt = pair
    per_channel = [structural_similarity(gt[..., c], pred[..., c], data_range=255) for c in range(3)]
    assert F.ssim_skimage(pred, gt) == pytest.approx(np.mean(per_channel), abs=1e-10)


def test_ssim_gauss11_matches_skimage_gaussian_settings(pair):
    pred, gt = pair
    ref = structural_similarity(gt, pred, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert F.ssim_gauss11(pred, gt) == pytest.approx(ref, abs=1e-12)


def _ssim_basicsr_style(a: np.ndarray, b: np.ndarray) -> float:
    # independent MATLAB/BasicSR-style SSIM: 11x11 Gaussian (sigma 1.5) via OpenCV, 'valid' crop, channel mean
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = cv2.getGaussianKernel(11, 1.5)
    win = k @ k.T
    vals = []
    for c in range(3):
        x, y = a[..., c].astype(np.float64), b[..., c].astype(np.float64)

        def f(z):
            return cv2.filter2D(z, -1, win)[5:-5, 5:-5]

        mx, my = f(x), f(y)
        sxx, syy, sxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


def test_ssim_gauss11_equals_independent_matlab_style_implementation(pair):
    pred, gt = pair
    assert F.ssim_gauss11(pred, gt) == pytest.approx(_ssim_basicsr_style(pred, gt), abs=1e-6)


def test_the_two_ssim_conventions_differ(pair):
    pred, gt = pair
    assert abs(F.ssim_gauss11(pred, gt) - F.ssim_skimage(pred, gt)) > 1e-3


def test_gt_mean_rescale_follows_the_formula_and_matches_grey_means(pair):
    pred, gt = pair
    w = np.array([0.299, 0.587, 0.114])
    mg, mp = (gt.astype(float) @ w).mean(), (pred.astype(float) @ w).mean()
    expected = np.clip(np.round(pred.astype(float) * mg / mp), 0, 255).astype(np.uint8)
    out = F.gt_mean_rescale(pred, gt)
    np.testing.assert_array_equal(out, expected)
    assert (out.astype(float) @ w).mean() == pytest.approx(mg, rel=0.02)


def test_gtmean_variants_are_metrics_of_the_rescaled_image(pair):
    pred, gt = pair
    r = F.gt_mean_rescale(pred, gt)
    assert F.psnr_gtmean(pred, gt) == F.psnr(r, gt)
    assert F.ssim_skimage_gtmean(pred, gt) == F.ssim_skimage(r, gt)
    assert F.ssim_gauss11_gtmean(pred, gt) == F.ssim_gauss11(r, gt)


def test_gtmean_undoes_a_global_exposure_error():
    gt = (data.astronaut()[:128, :128] // 2).astype(np.uint8)  # values <= 127, so 2x never clips
    dark = (gt // 2).astype(np.uint8)
    assert F.psnr_gtmean(dark, gt) > F.psnr(dark, gt) + 15


def test_bad_inputs_are_rejected_with_clear_errors(pair):
    pred, gt = pair
    with pytest.raises(ValueError, match="differ in size"):
        F.psnr(pred[:10], gt)
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        F.ssim_skimage(pred.astype(np.float32), gt)

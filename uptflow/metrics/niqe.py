"""NIQE (Mittal, Soundararajan & Bovik, "Making a completely blind image quality analyzer", IEEE SPL 2013).

Follows the MATLAB release (``computequality.m`` / ``computefeature.m``) as BasicSR 1.4.2's MATLAB-faithful
``basicsr.metrics.niqe.calculate_niqe`` computes it, so that our scores sit beside the published tables
(checked to 1e-3 relative against values computed once with BasicSR, see tests/metrics/test_niqe.py):

1. Luma (``niqe_luma``), rounded to integers: ``convert_to='gray'`` (default) is OpenCV's ``0.299 R + 0.587 G +
   0.114 B``, the weights of MATLAB ``rgb2gray`` to 3 decimals; ``convert_to='y'`` is the BT.601 studio-range Y
   (16..235) of MATLAB ``rgb2ycbcr``. The image is cropped to a multiple of the 96x96 block size.
2. At each of two scales: MSCN coefficients with the 7x7 Gaussian window (sigma 7/6) and 'replicate' borders;
   per 96x96 block (48x48 at scale 2) 18 features: an AGGD fit of the coefficients (alpha, mean of the left
   and right scale parameters) and, for the 4 neighbour products (shifts (0,1), (1,0), (1,1), (1,-1)), AGGD
   alpha, mean, left and right scale parameters.
3. The second scale is MATLAB ``imresize(img, 0.5)``: bicubic with anti-aliasing (see ``_nss.imresize_matlab``).
4. Score = Mahalanobis-like distance between the pristine model and the image's multivariate Gaussian fit,
   ``sqrt((mu_p - mu_d) pinv((S_p + S_d)/2) (mu_p - mu_d)^T)``; blocks with NaN features are dropped from the
   covariance.

Steps 1-3 work in float32, as BasicSR does. This is not a detail on dark images: in flat regions the float32 local
mean equals the pixel value, so the MSCN coefficients are exactly 0 and the AGGD fits (which count only negative
and positive values) ignore them, whereas float64 leaves a constant +-1e-15 there that the fits count. On a
darkened photo the two differ by 3 %.

The pristine model ``uptflow/assets/niqe_pris_params.npz`` holds the values of the MATLAB release's
``modelparameters.mat`` (mu_prisparam, cov_prisparam) as redistributed by BasicSR 1.4.2
(``basicsr/metrics/niqe_pris_params.npz``, Apache-2.0). Lower scores are better.
"""

from importlib.resources import files

import cv2
import numpy as np
from scipy.special import gamma

from uptflow.metrics._nss import fit_aggd, imresize_matlab, mscn
from uptflow.utils.io import to_rgb_uint8

__all__ = ["niqe", "niqe_features", "niqe_luma", "load_pristine_params", "CONVERSIONS", "DEFAULT_CONVERSION"]

BLOCK = 96
CONVERSIONS = ("gray", "y")
DEFAULT_CONVERSION = "gray"  # MATLAB's niqe release converts with rgb2gray
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # BT.601 studio range, for RGB in [0, 1]
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_PARAMS: dict[str, np.ndarray] | None = None


def load_pristine_params() -> dict[str, np.ndarray]:
    """Return the packaged pristine model: ``mu_pris_param`` (1x36), ``cov_pris_param`` (36x36), window (7x7)."""
    global _PARAMS
    if _PARAMS is None:
        with files("uptflow").joinpath("assets", "niqe_pris_params.npz").open("rb") as f:
            data = np.load(f)
            _PARAMS = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
    return _PARAMS


def _aggd_betas(x: np.ndarray) -> tuple[float, float, float]:
    # estimateaggdparam.m of the NIQE release returns scale parameters, not standard deviations
    alpha, left, right = fit_aggd(x)
    k = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * k, right * k


def _block_features(block: np.ndarray) -> list[float]:
    alpha, beta_l, beta_r = _aggd_betas(block)
    feats = [alpha, (beta_l + beta_r) / 2]
    for shift in _SHIFTS:
        alpha, beta_l, beta_r = _aggd_betas(block * np.roll(block, shift, axis=(0, 1)))
        mean = (beta_r - beta_l) * gamma(2 / alpha) / gamma(1 / alpha)
        feats += [alpha, mean, beta_l, beta_r]
    return feats


def _check_conversion(convert_to: str) -> None:
    if convert_to not in CONVERSIONS:
        raise ValueError(f"convert_to must be one of {CONVERSIONS}, got {convert_to!r}")


def niqe_luma(img: np.ndarray, convert_to: str = DEFAULT_CONVERSION) -> np.ndarray:
    """Rounded float32 HxW luma (0..255) of a uint8 RGB image, ``convert_to`` ``'gray'`` or ``'y'``."""
    _check_conversion(convert_to)
    # The reference takes float32 RGB in [0, 1]; rounding the float32 result decides ties such as x.5 exactly,
    # so the float32 steps are kept (float64 or a different summation order flips 117 / 1563 of the 2^24 colours).
    x = to_rgb_uint8(img).astype(np.float32) / np.float32(255)
    if convert_to == "gray":
        # OpenCV sums in channel order: BGR2GRAY on BGR gives the reference's order, RGB2GRAY would not
        luma = cv2.cvtColor(np.ascontiguousarray(x[..., ::-1]), cv2.COLOR_BGR2GRAY)
    else:
        luma = ((x.astype(np.float64) @ _Y_WEIGHTS + 16.0) / 255.0).astype(np.float32)
    return np.round(luma * np.float32(255))


def niqe_features(gray: np.ndarray, window: np.ndarray | None = None) -> np.ndarray:
    """Per-block NIQE features (n_blocks x 36) of a 0..255 grey image at least 96x96, computed in float32."""
    window = load_pristine_params()["gaussian_window"] if window is None else window
    h, w = gray.shape
    nh, nw = h // BLOCK, w // BLOCK
    if nh == 0 or nw == 0:
        raise ValueError(f"NIQE needs an image of at least {BLOCK}x{BLOCK} pixels, got {h}x{w}")
    img = gray[: nh * BLOCK, : nw * BLOCK].astype(np.float32)
    per_scale = []
    for scale in (1, 2):
        coef = mscn(img, window, mode="nearest")
        b = BLOCK // scale
        feats = [_block_features(coef[i * b:(i + 1) * b, j * b:(j + 1) * b]) for j in range(nw) for i in range(nh)]
        per_scale.append(np.asarray(feats))
        if scale == 1:
            img = imresize_matlab(img / np.float32(255), 0.5).astype(np.float32) * np.float32(255)
    return np.concatenate(per_scale, axis=1)


def niqe(img: np.ndarray, convert_to: str = DEFAULT_CONVERSION) -> float:
    """NIQE score (lower is better) of a uint8 RGB (or grey) image.

    Args:
        img: uint8 HxWx3 RGB or HxW grey image, at least 96x96. A grey image is only rounded, not converted.
        convert_to: ``'gray'`` (default; BasicSR's ``convert_to='gray'``, closest to MATLAB ``rgb2gray``) or
            ``'y'`` (BT.601 studio-range Y, BasicSR's own default).
    """
    _check_conversion(convert_to)
    gray = np.round(np.asarray(img, dtype=np.float32)) if img.ndim == 2 else niqe_luma(img, convert_to)
    params = load_pristine_params()
    feats = niqe_features(gray, params["gaussian_window"])
    mu_d = np.nanmean(feats, axis=0)
    valid = feats[~np.isnan(feats).any(axis=1)]
    if valid.shape[0] < 2:
        raise ValueError("NIQE: fewer than two blocks with finite features (flat image?)")
    cov_d = np.cov(valid, rowvar=False)
    diff = params["mu_pris_param"].ravel() - mu_d
    inv = np.linalg.pinv((params["cov_pris_param"] + cov_d) / 2)
    return float(np.sqrt(diff @ inv @ diff))

"""NIQE (Mittal, Soundararajan & Bovik, "Making a completely blind image quality analyzer", IEEE SPL 2013).

Follows the MATLAB release (``computequality.m`` / ``computefeature.m``) step by step:

1. RGB -> grey with MATLAB ``rgb2gray`` (rounded), or the BT.601 Y channel with ``convert_to='y'`` (BasicSR's
   default); the image is cropped to a multiple of the 96x96 block size.
2. At each of two scales: MSCN coefficients with the 7x7 Gaussian window (sigma 7/6) and 'replicate' borders;
   per 96x96 block (48x48 at scale 2) 18 features: an AGGD fit of the coefficients (alpha, mean of the left
   and right scale parameters) and, for the 4 neighbour products (shifts (0,1), (1,0), (1,1), (1,-1)), AGGD
   alpha, mean, left and right scale parameters.
3. The second scale is MATLAB ``imresize(img, 0.5)``: bicubic with anti-aliasing (see ``_nss.imresize_matlab``).
4. Score = Mahalanobis-like distance between the pristine model and the image's multivariate Gaussian fit,
   ``sqrt((mu_p - mu_d) pinv((S_p + S_d)/2) (mu_p - mu_d)^T)``; blocks with NaN features are dropped from the
   covariance.

The pristine model ``uptflow/assets/niqe_pris_params.npz`` holds the values of the MATLAB release's
``modelparameters.mat`` (mu_prisparam, cov_prisparam) as redistributed by BasicSR 1.4.2
(``basicsr/metrics/niqe_pris_params.npz``, Apache-2.0). Lower scores are better.
"""

from importlib.resources import files

import numpy as np
from scipy.special import gamma

from uptflow.metrics._nss import fit_aggd, imresize_matlab, mscn, rgb2gray_matlab, rgb2y_bt601
from uptflow.utils.io import to_rgb_uint8

__all__ = ["niqe", "niqe_features", "load_pristine_params"]

BLOCK = 96
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
    if not np.isfinite(alpha):
        return alpha, np.nan, np.nan
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


def niqe_features(gray: np.ndarray, window: np.ndarray | None = None) -> np.ndarray:
    """Per-block NIQE features (n_blocks x 36) of a float 0..255 grey image at least 96x96."""
    window = load_pristine_params()["gaussian_window"] if window is None else window
    h, w = gray.shape
    nh, nw = h // BLOCK, w // BLOCK
    if nh == 0 or nw == 0:
        raise ValueError(f"NIQE needs an image of at least {BLOCK}x{BLOCK} pixels, got {h}x{w}")
    img = gray[: nh * BLOCK, : nw * BLOCK].astype(np.float64)
    per_scale = []
    for scale in (1, 2):
        coef = mscn(img, window, mode="nearest")
        b = BLOCK // scale
        feats = [_block_features(coef[i * b:(i + 1) * b, j * b:(j + 1) * b]) for j in range(nw) for i in range(nh)]
        per_scale.append(np.asarray(feats))
        if scale == 1:
            img = imresize_matlab(img / 255.0, 0.5) * 255.0
    return np.concatenate(per_scale, axis=1)


def niqe(img: np.ndarray, convert_to: str = "gray") -> float:
    """NIQE score (lower is better) of a uint8 RGB (or grey) image.

    Args:
        img: uint8 HxWx3 RGB or HxW grey image, at least 96x96.
        convert_to: ``'gray'`` (MATLAB ``niqe`` / ``rgb2gray``, default) or ``'y'`` (BT.601 Y, BasicSR default).
    """
    if img.ndim == 2:
        gray = np.asarray(img, dtype=np.float64)
    else:
        rgb = to_rgb_uint8(img)
        if convert_to == "gray":
            gray = rgb2gray_matlab(rgb)
        elif convert_to == "y":
            gray = rgb2y_bt601(rgb)
        else:
            raise ValueError(f"convert_to must be 'gray' or 'y', got {convert_to!r}")
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

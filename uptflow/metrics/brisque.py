"""BRISQUE (Mittal, Moorthy & Bovik, "No-reference image quality assessment in the spatial domain", TIP 2012).

Features follow the authors' MATLAB ``brisque_feature.m``: grey image (MATLAB ``rgb2gray``, 0..255), at two
scales (the second by MATLAB ``imresize(img, 0.5)``, bicubic with anti-aliasing): MSCN coefficients with a 7x7
Gaussian window (sigma 7/6, zero-padded 'same' filtering, C = 1); a GGD fit (alpha, sigma^2) of the coefficients
and, for the horizontal, vertical and two diagonal neighbour products, an AGGD fit (alpha, mean, left var,
right var): 2 x 18 = 36 features.

Score: the features are scaled to [-1, 1] with the training ranges and fed to the LIVE-trained epsilon-SVR
(RBF kernel) of the original release. uptflow takes that model from the ``brisque`` 0.2.0 wheel on PyPI
(Apache-2.0; files ``brisque/models/svm.txt`` = the libsvm model, ``brisque/models/normalize.pickle`` = the
feature ranges). Only the two data files are read - the package is located without importing it - and the
SVR decision function ``sum_i coef_i exp(-gamma |x - sv_i|^2) - rho`` is evaluated here with numpy (the test
suite checks it against libsvm's own ``svm_predict``). Lower scores are better; typical range 0..100.
"""

import importlib.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import gamma as g

from uptflow.metrics._nss import fit_aggd, fit_ggd, gaussian_window, imresize_matlab, mscn, rgb2gray_matlab
from uptflow.utils.io import to_rgb_uint8
from uptflow.utils.paths import require_file

__all__ = ["brisque", "brisque_features", "BrisqueModel", "load_brisque_model", "default_model_files"]

_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


@dataclass(frozen=True)
class BrisqueModel:
    """A libsvm epsilon-SVR with RBF kernel plus the feature scaling ranges."""

    support_vectors: np.ndarray  # n_sv x 36
    coefs: np.ndarray  # n_sv
    gamma: float
    rho: float
    feat_min: np.ndarray
    feat_max: np.ndarray

    def predict(self, features: np.ndarray) -> float:
        """Scale ``features`` (36,) to [-1, 1] and return the SVR output."""
        x = -1.0 + 2.0 * (np.asarray(features, np.float64) - self.feat_min) / (self.feat_max - self.feat_min)
        d2 = np.sum((self.support_vectors - x[None, :]) ** 2, axis=1)
        return float(self.coefs @ np.exp(-self.gamma * d2) - self.rho)


def default_model_files() -> tuple[Path, Path]:
    """Locate ``svm.txt`` and ``normalize.pickle`` inside the installed ``brisque`` package (not imported)."""
    spec = importlib.util.find_spec("brisque")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "BRISQUE needs the LIVE SVR model shipped in the 'brisque' PyPI package: `pip install brisque==0.2.0` "
            "(or pass svm_path=... and range_path=... pointing at svm.txt and normalize.pickle)"
        )
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return models / "svm.txt", models / "normalize.pickle"


def _parse_libsvm(path: Path, n_features: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    header: dict[str, str] = {}
    with open(path) as f:
        for line in f:
            if line.strip() == "SV":
                break
            key, _, value = line.strip().partition(" ")
            header[key] = value
        rows = [line.split() for line in f if line.strip()]
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise ValueError(f"{path}: expected an epsilon_svr model with rbf kernel, got {header}")
    coefs = np.array([float(r[0]) for r in rows])
    sv = np.zeros((len(rows), n_features))
    for i, r in enumerate(rows):
        for item in r[1:]:  # sparse "index:value", 1-based; absent indices are 0
            k, v = item.split(":")
            sv[i, int(k) - 1] = float(v)
    return sv, coefs, float(header["gamma"]), float(header["rho"])


_MODEL: BrisqueModel | None = None


def load_brisque_model(svm_path: str | os.PathLike | None = None,
                       range_path: str | os.PathLike | None = None) -> BrisqueModel:
    """Load the SVR model and feature ranges (defaults: the files of the installed ``brisque`` package)."""
    global _MODEL
    if svm_path is None and range_path is None and _MODEL is not None:
        return _MODEL
    d_svm, d_range = default_model_files() if svm_path is None or range_path is None else (None, None)
    svm = require_file(svm_path or d_svm, "BRISQUE libsvm model (svm.txt)")
    rng = require_file(range_path or d_range, "BRISQUE feature ranges (normalize.pickle)")
    with open(rng, "rb") as f:
        ranges = pickle.load(f)  # a dict of two float lists written by the brisque package
    lo, hi = np.asarray(ranges["min_"], np.float64), np.asarray(ranges["max_"], np.float64)
    sv, coefs, gamma, rho = _parse_libsvm(svm, lo.size)
    model = BrisqueModel(sv, coefs, gamma, rho, lo, hi)
    if svm_path is None and range_path is None:
        _MODEL = model
    return model


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a float 0..255 grey image."""
    window = gaussian_window(7, 7 / 6)
    img = np.asarray(gray, np.float64)
    feats: list[float] = []
    for scale in (1, 2):
        coef = mscn(img, window, mode="constant")
        alpha, std = fit_ggd(coef)
        feats += [alpha, std**2]
        for shift in _SHIFTS:
            alpha, left, right = fit_aggd(coef * np.roll(coef, shift, axis=(0, 1)))
            const = np.sqrt(g(1 / alpha) / g(3 / alpha))
            feats += [alpha, (right - left) * g(2 / alpha) / g(1 / alpha) * const, left**2, right**2]
        if scale == 1:
            img = imresize_matlab(img, 0.5)
    return np.asarray(feats)


def brisque(img: np.ndarray, model: BrisqueModel | None = None) -> float:
    """BRISQUE score (lower is better) of a uint8 RGB or grey image (at least 16x16)."""
    gray = np.asarray(img, np.float64) if img.ndim == 2 else rgb2gray_matlab(to_rgb_uint8(img))
    if min(gray.shape) < 16:
        raise ValueError(f"BRISQUE needs an image of at least 16x16 pixels, got {gray.shape}")
    return (model or load_brisque_model()).predict(brisque_features(gray))

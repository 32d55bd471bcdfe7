"""Synthetic low-light pairs from normal-light photos, with a documented, seeded degradation model.

The degradation (:class:`LowLightDegradation`) follows the usual physically motivated recipe for synthesising
low-light images from well-exposed sRGB ones:

1. linearise the sRGB image with the display gamma: ``x_lin = x ** gamma`` (``gamma`` drawn from
   ``gamma_range``, around 2.2);
2. scale the exposure: ``y = k * x_lin`` with ``k`` log-uniform in ``exposure_range``;
3. optional colour cast: per-channel gains drawn uniformly from ``[1 - colour_cast, 1 + colour_cast]``;
4. signal-dependent Poisson-Gaussian sensor noise: ``y_noisy = Poisson(y * full_well) / full_well + N(0, s^2)``
   with ``full_well`` log-uniform in ``full_well_range`` (photo-electrons at white) and read noise ``s`` uniform in
   ``read_noise_range`` (in units of white);
5. clip to [0, 1], re-apply the gamma (``y ** (1 / gamma)``) and quantise to uint8.

Each image's parameters come from ``numpy.random.default_rng([seed, index])``, so a dataset is the same on every
machine and in every data-loader worker. :class:`SkimagePhotoPairs` applies it to the colour photographs shipped
inside scikit-image, giving a training set that needs no download.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from uptflow.data.paired import _FolderDataset, list_images
from uptflow.registry import DATASETS
from uptflow.utils.io import IMAGE_SUFFIXES, imread_rgb

__all__ = ["LowLightDegradation", "SyntheticLowLightDataset", "SkimagePhotoPairs", "SKIMAGE_PHOTOS",
           "load_skimage_photo"]

# colour photographs bundled with scikit-image (no download); motorcycle_* come from data.stereo_motorcycle()
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right",
                  "immunohistochemistry", "hubble_deep_field", "retina")


@dataclass(frozen=True)
class LowLightDegradation:
    """Seeded low-light degradation of a uint8 sRGB image (see the module docstring for the model).

    Args:
        exposure_range: (min, max) linear exposure factor ``k``, drawn log-uniformly.
        gamma_range: (min, max) display gamma used to linearise and re-encode.
        full_well_range: (min, max) photo-electrons at white, drawn log-uniformly (smaller = noisier).
        read_noise_range: (min, max) std of the Gaussian read noise, in units of white (linear).
        colour_cast: maximum relative per-channel gain deviation (0 disables the cast).
    """

    exposure_range: tuple[float, float] = (0.03, 0.15)
    gamma_range: tuple[float, float] = (2.0, 2.4)
    full_well_range: tuple[float, float] = (2000.0, 20000.0)
    read_noise_range: tuple[float, float] = (0.0002, 0.001)
    colour_cast: float = 0.0

    def __post_init__(self) -> None:
        for name in ("exposure_range", "gamma_range", "full_well_range", "read_noise_range"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} must be (min, max) with 0 <= min <= max, got {(lo, hi)}")
        if self.exposure_range[0] <= 0 or self.full_well_range[0] <= 0 or self.gamma_range[0] <= 0:
            raise ValueError("exposure, full-well and gamma ranges must be strictly positive")
        if not 0 <= self.colour_cast < 1:
            raise ValueError(f"colour_cast must be in [0, 1), got {self.colour_cast}")

    def sample_params(self, rng: np.random.Generator) -> dict:
        """Draw one image's parameters."""
        def log_uniform(lo: float, hi: float) -> float:
            return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

        return dict(exposure=log_uniform(*self.exposure_range), gamma=float(rng.uniform(*self.gamma_range)),
                    full_well=log_uniform(*self.full_well_range),
                    read_noise=float(rng.uniform(*self.read_noise_range)),
                    gains=rng.uniform(1 - self.colour_cast, 1 + self.colour_cast, size=3).tolist())

    def apply(self, img: np.ndarray, params: dict, rng: np.random.Generator) -> np.ndarray:
        """Degrade a uint8 HxWx3 image with the given parameters; noise is drawn from ``rng``."""
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected a uint8 HxWx3 image, got {img.dtype} {img.shape}")
        lin = (img.astype(np.float64) / 255.0) ** params["gamma"]
        y = lin * params["exposure"] * np.asarray(params["gains"])
        y = rng.poisson(np.clip(y, 0, None) * params["full_well"]) / params["full_well"]
        y = y + rng.normal(0.0, params["read_noise"], size=y.shape)
        out = np.clip(y, 0.0, 1.0) ** (1.0 / params["gamma"])
        return (out * 255.0).round().astype(np.uint8)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Return (degraded image, parameters used)."""
        params = self.sample_params(rng)
        return self.apply(img, params, rng), params


def load_skimage_photo(name: str) -> np.ndarray:
    """Return one of :data:`SKIMAGE_PHOTOS` as uint8 HxWx3 RGB (shipped with scikit-image, no download)."""
    from skimage import data

    if name not in SKIMAGE_PHOTOS:
        raise ValueError(f"unknown scikit-image photo {name!r}; choose from {SKIMAGE_PHOTOS}")
    if name.startswith("motorcycle_"):
        left, right, _ = data.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    return getattr(data, name)()


def _resize_max_side(img: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (area interpolation) so the longer side is at most ``max_side``."""
    import cv2

    if max_side is None or max(img.shape[:2]) <= max_side:
        return img
    s = max_side / max(img.shape[:2])
    size = (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


class _SyntheticBase(_FolderDataset):
    """Degrades every source image once, deterministically from (seed, index), when the dataset is listed."""

    def __init__(self, degradation: dict | LowLightDegradation | None = None, seed: int = 0,
                 max_side: int | None = None, repeat: int = 1, **kwargs) -> None:
        if isinstance(degradation, dict):
            degradation = LowLightDegradation(**{k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in degradation.items()})
        self.degradation = degradation or LowLightDegradation()
        self.seed, self.max_side = seed, max_side
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        self.repeat = repeat
        super().__init__(**kwargs)

    def _sources(self) -> list[tuple[str, Callable[[], np.ndarray]]]:
        raise NotImplementedError

    def load_data_list(self) -> list[dict]:
        """Build the (low, gt) arrays; ``repeat`` > 1 lists each pair several times (longer epochs)."""
        out = []
        for index, (name, read) in enumerate(self._sources()):
            gt = _resize_max_side(read(), self.max_side)
            low, params = self.degradation(gt, np.random.default_rng([self.seed, index]))
            out.append(dict(low=low, gt=gt, name=name, ori_shape=gt.shape[:2], degradation=params))
        return out * self.repeat

    @property
    def degradation_cfg(self) -> dict:
        """The degradation parameters as a plain dict (for logs)."""
        return asdict(self.degradation)


@DATASETS.register_module()
class SyntheticLowLightDataset(_SyntheticBase):
    """Low-light pairs synthesised from a folder of normal-light images.

    Args:
        data_root: folder of normal-light images.
        degradation: :class:`LowLightDegradation` or its keyword dict. Defaults to the class defaults.
        seed: seed of the per-image degradation streams. Defaults to 0.
        max_side: downscale sources so the longer side is at most this (None keeps the size). Defaults to None.
        repeat: list every pair this many times. Defaults to 1.
        **kwargs: ``pipeline``, ``test_mode``, ``indices``... as for :class:`PairedImageDataset`.
    """

    TREE = "    data_root/<name>.png   (normal-light images)"

    def _sources(self) -> list[tuple[str, Callable[[], np.ndarray]]]:
        return [(p.stem, lambda p=p: imread_rgb(p)) for p in list_images(self._root(), IMAGE_SUFFIXES)]


@DATASETS.register_module()
class SkimagePhotoPairs(_SyntheticBase):
    """Low-light pairs synthesised from the colour photographs shipped with scikit-image.

    Args:
        photos: names from :data:`SKIMAGE_PHOTOS`. Defaults to all of them.
        degradation: :class:`LowLightDegradation` or its keyword dict. Defaults to the class defaults.
        seed: seed of the per-image degradation streams. Defaults to 0.
        max_side: downscale so the longer side is at most this (None keeps the size). Defaults to None.
        repeat: list every pair this many times. Defaults to 1.
        **kwargs: ``pipeline``, ``test_mode``, ``indices``... as for :class:`PairedImageDataset`.
    """

    def __init__(self, photos: Sequence[str] = SKIMAGE_PHOTOS, **kwargs) -> None:
        unknown = [p for p in photos if p not in SKIMAGE_PHOTOS]
        if unknown:
            raise ValueError(f"unknown scikit-image photos {unknown}; choose from {SKIMAGE_PHOTOS}")
        self.photos = tuple(photos)
        super().__init__(**kwargs)

    def _sources(self) -> list[tuple[str, Callable[[], np.ndarray]]]:
        return [(name, lambda name=name: load_skimage_photo(name)) for name in self.photos]

"""Synthetic low-light pairs degraded once, deterministically, from fixed sources (scikit-image's photos, a folder).

Every source image is degraded with :class:`~uptflow.data.degradation.LowLightDegradation` when the dataset is listed;
each image's parameters come from ``numpy.random.default_rng([seed, index])``, so a dataset is the same on every
machine and in every data-loader worker. :class:`SkimagePhotoPairs` applies it to the colour photographs shipped
inside scikit-image, giving a training set that needs no download. For training on many photos with a fresh
degradation at every draw, see :mod:`uptflow.data.photos`.
"""

from collections.abc import Callable, Sequence

import numpy as np

from uptflow.data.degradation import LowLightDegradation, build_degradation
from uptflow.data.paired import _FolderDataset, list_images
from uptflow.registry import DATASETS
from uptflow.utils.io import IMAGE_SUFFIXES, imread_rgb

__all__ = ["LowLightDegradation", "SyntheticLowLightDataset", "SkimagePhotoPairs", "SKIMAGE_PHOTOS",
           "load_skimage_photo"]

# colour photographs bundled with scikit-image (no download); motorcycle_* come from data.stereo_motorcycle()
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right",
                  "immunohistochemistry", "hubble_deep_field", "retina")


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
        self.degradation = build_degradation(degradation)
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
            low, gt, params = self.degradation.pair(gt, np.random.default_rng([self.seed, index]))
            out.append(dict(low=low, gt=gt, name=name, ori_shape=gt.shape[:2], degradation=params))
        return out * self.repeat

    @property
    def degradation_cfg(self) -> dict:
        """The degradation parameters as a plain dict (for logs)."""
        return self.degradation.settings()


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

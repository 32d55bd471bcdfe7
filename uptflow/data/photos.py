"""Low-light training pairs made on the fly from folders of ordinary photos (and scikit-image's photos).

:class:`PhotoLowLightPairs` lists normal-light photos; its pipeline loads, rescales, crops and flips each one and then
darkens it with :class:`SynthesizeLowLight`. In training the degradation is drawn afresh every time a sample is
drawn; in validation / test every photo gets a fixed degradation seeded by ``(seed, index)``. Photos are split into
train / val / test by a hash of their name, so the split does not depend on which other photos are present.

A typical pipeline::

    [dict(type='LoadImagePair'), dict(type='RandomRescale', scale_range=(0.5, 1.0)),
     dict(type='PairedRandomCrop', crop_size=120, keys=('gt',)), dict(type='PairedHFlip', keys=('gt',)),
     dict(type='SynthesizeLowLight'), dict(type='PackPairedInputs', meta_keys=(..., 'degradation'))]

``python -m uptflow.data.make_pairs`` writes a fixed split to a low/high folder (see :mod:`uptflow.data.make_pairs`).
"""

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from uptflow.data.degradation import LowLightDegradation, build_degradation
from uptflow.data.paired import _FolderDataset, list_images
from uptflow.data.synthetic import SKIMAGE_PHOTOS, load_skimage_photo
from uptflow.registry import DATASETS, TRANSFORMS
from uptflow.utils.io import IMAGE_SUFFIXES

__all__ = ["PhotoLowLightPairs", "SynthesizeLowLight", "RandomRescale", "split_of", "SPLITS"]

SPLITS = ("train", "val", "test", "all")


def split_of(key: str, val_percent: int, test_percent: int) -> str:
    """'test', 'val' or 'train' for a photo, from a CRC-32 of ``key`` (stable across machines and photo sets)."""
    bucket = zlib.crc32(key.encode("utf-8")) % 100
    return "test" if bucket < test_percent else "val" if bucket < test_percent + val_percent else "train"


@TRANSFORMS.register_module()
class RandomRescale:
    """Downscale the normal-light image by a random factor (area interpolation), for scale diversity.

    Shrinking also averages away the source photo's own noise and JPEG blocks, which would otherwise be learnt as
    part of the target.

    Required Keys:

    - gt

    Modified Keys:

    - gt

    Added Keys:

    - scale (float)

    Args:
        scale_range (tuple[float, float]): factor range, uniform, within (0, 1]. Defaults to (0.5, 1.0).
        min_side (int): never shrink the shorter side below this (keeps room for the crop). Defaults to 0.
    """

    def __init__(self, scale_range: Sequence[float] = (0.5, 1.0), min_side: int = 0) -> None:
        lo, hi = (float(v) for v in scale_range)
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale_range must be (min, max) with 0 < min <= max <= 1, got {scale_range!r}")
        self.scale_range, self.min_side = (lo, hi), int(min_side)

    def __call__(self, results: dict) -> dict:
        """Resize ``gt``; the factor is drawn even when it cannot be applied, so the random stream stays aligned."""
        import cv2

        img = results["gt"]
        scale = float(np.random.uniform(*self.scale_range))
        scale = max(scale, min(1.0, self.min_side / min(img.shape[:2])))
        if scale < 1.0:
            size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
            results["gt"] = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        results["scale"] = scale
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale_range={self.scale_range}, min_side={self.min_side})"


@TRANSFORMS.register_module()
class SynthesizeLowLight:
    """Make the low-light input from the normal-light image with :class:`LowLightDegradation`.

    The generator is ``numpy.random.default_rng(results['degradation_seed'])`` when the sample carries a seed (fixed
    validation / test pairs), else one seeded from numpy's global generator, which mmengine seeds per worker and
    replays on resume: a fresh degradation at every draw, reproducible under the run's seed.

    Required Keys:

    - gt
    - degradation_seed (optional)

    Added Keys:

    - low (np.uint8, HxWx3 RGB)
    - degradation (dict: every parameter drawn)

    Modified Keys:

    - gt (gets the same light sources as ``low`` when the degradation draws some)

    Args:
        degradation (LowLightDegradation | dict | None): the degradation or its config (see
            :func:`uptflow.data.degradation.build_degradation`). Defaults to None (the default ranges).
    """

    def __init__(self, degradation: LowLightDegradation | dict | None = None) -> None:
        self.degradation = build_degradation(degradation)

    def __call__(self, results: dict) -> dict:
        """Add ``low`` and ``degradation``; add light sources to ``gt`` when it gets some."""
        seed = results.get("degradation_seed")
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        results["low"], results["gt"], results["degradation"] = self.degradation.pair(results["gt"],
                                                                                      np.random.default_rng(seed))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(degradation={self.degradation!r})"


@DATASETS.register_module()
class PhotoLowLightPairs(_FolderDataset):
    """Normal-light photos from folders (and scikit-image), darkened by the pipeline's :class:`SynthesizeLowLight`.

    Each sample is ``{'gt_path' or 'gt', 'name'}``, plus ``'degradation_seed': [seed, index]`` when the degradation
    is fixed. A photo's split comes from a hash of ``<folder>/<file name>`` (:func:`split_of`).

    Args:
        data_root: folder the photo folders are relative to (may be empty when they are absolute).
        photo_dirs: folders of photos (files directly inside; any of :data:`uptflow.utils.io.IMAGE_SUFFIXES`).
        skimage_photos: names from :data:`uptflow.data.synthetic.SKIMAGE_PHOTOS` to add (no files needed).
            Defaults to ().
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``. Defaults to ``'train'``.
        val_percent: share of photos held out for validation, in percent. Defaults to 5.
        test_percent: share of photos held out for testing, in percent. Defaults to 5.
        fixed_degradation: give every photo a fixed degradation seed (``[seed, index]``); None means fixed in
            ``test_mode`` and fresh at every draw otherwise. Defaults to None.
        seed: seed of the fixed degradations. Defaults to 0.
        **kwargs: ``pipeline``, ``test_mode``, ``indices``... as for :class:`~uptflow.data.PairedImageDataset`.
    """

    TREE = "    data_root/<photo_dir>/<name>.jpg   (normal-light photos; any number of folders)"

    def __init__(self, photo_dirs: Sequence[str] = (), data_root: str = "", skimage_photos: Sequence[str] = (),
                 split: str = "train", val_percent: int = 5, test_percent: int = 5,
                 fixed_degradation: bool | None = None, seed: int = 0, **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f"{type(self).__name__}: split must be one of {SPLITS}, got {split!r}")
        if not (0 <= val_percent and 0 <= test_percent and val_percent + test_percent < 100):
            raise ValueError(f"val_percent and test_percent must be >= 0 and leave some photos for training, got "
                             f"{val_percent} and {test_percent}")
        unknown = [p for p in skimage_photos if p not in SKIMAGE_PHOTOS]
        if unknown:
            raise ValueError(f"unknown scikit-image photos {unknown}; choose from {SKIMAGE_PHOTOS}")
        if isinstance(photo_dirs, str):
            photo_dirs = (photo_dirs,)
        if not photo_dirs and not skimage_photos:
            raise ValueError(f"{type(self).__name__}: give photo_dirs and/or skimage_photos")
        self.photo_dirs, self.skimage_photos = tuple(photo_dirs), tuple(skimage_photos)
        self.split, self.val_percent, self.test_percent = split, int(val_percent), int(test_percent)
        self.seed = seed
        self.fixed_degradation = kwargs.get("test_mode", False) if fixed_degradation is None else fixed_degradation
        super().__init__(data_root=data_root, **kwargs)

    def _keep(self, key: str) -> bool:
        return self.split == "all" or split_of(key, self.val_percent, self.test_percent) == self.split

    def load_data_list(self) -> list[dict]:
        """List the split's photos (folders in the given order, files naturally sorted, then scikit-image's)."""
        root = Path(self.data_root)
        out = []
        for folder in self.photo_dirs:
            path = root / folder
            prefix = "-".join(Path(folder).parts[-2:])  # e.g. bsds500-train: unique and readable
            out += [dict(gt_path=str(p), name=f"{prefix}_{p.stem}")
                    for p in list_images(path, IMAGE_SUFFIXES) if self._keep(f"{folder}/{p.name}")]
        out += [dict(gt=load_skimage_photo(n), name=f"skimage_{n}") for n in self.skimage_photos
                if self._keep(f"skimage/{n}")]
        if not out:
            raise ValueError(f"{type(self).__name__}: the {self.split!r} split of {list(self.photo_dirs)} + "
                             f"{list(self.skimage_photos)} is empty (val_percent={self.val_percent}, "
                             f"test_percent={self.test_percent}); add photos or use split='all'")
        if self.fixed_degradation:
            for index, item in enumerate(out):
                item["degradation_seed"] = [self.seed, index]
        return out

"""Image datasets for enhancement benchmarks: paired folders (LOL v1, LOL-v2, any low/high pair), unpaired folders,
and synthetic night pairs made from scikit-image's photos.

Pairs are matched by file stem (a prefix equal to the folder name is ignored, so LOL-v2 real pairs
``Low/low00001.png`` with ``Normal/normal00001.png``), never by sort order; any file without a partner is named.
Sample names are ``<group>/<stem>`` where the group is the sub-folder (``eval15``, ``DICM``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evaluation.datasets.base import DatasetReader, Sample, list_images, natural_key
from evaluation.registry import DATASETS
from uptflow.data.paired import key_by_stem
from uptflow.utils.io import IMAGE_SUFFIXES, imwrite_rgb
from uptflow.utils.text import listed

__all__ = ["PairedImages", "UnpairedImages", "SyntheticPairs", "UnmatchedError", "read_paired", "read_unpaired"]

# (low, ground truth) folder-name pairs, compared case-insensitively
_PAIR_DIRS = (("low", "high"), ("low", "normal"), ("input", "gt"), ("input", "target"), ("lq", "gt"))
class UnmatchedError(ValueError):
    """Paired data with low-light images without a ground truth (or the reverse)."""


def _find_child(folder: Path, name: str) -> Path | None:
    for child in folder.iterdir():
        if child.is_dir() and child.name.lower() == name:
            return child
    return None


def _pair_dirs(folder: Path) -> tuple[Path, Path] | None:
    for low, gt in _PAIR_DIRS:
        lo, hi = _find_child(folder, low), _find_child(folder, gt)
        if lo is not None and hi is not None:
            return lo, hi
    return None


def common_prefix(paths: list[Path], folder: Path) -> str:
    """The folder's own name when every stem starts with it (LOL-v2 real: ``Low/low00001.png``), else ''."""
    prefix = folder.name.lower()
    return prefix if paths and all(p.stem.startswith(prefix) for p in paths) else ""


def _pair_folder(group: str, low_dir: Path, gt_dir: Path, allow_unmatched: bool) -> list[Sample]:
    low_files, gt_files = list_images(low_dir), list_images(gt_dir)
    lows = key_by_stem(low_files, common_prefix(low_files, low_dir), low_dir)
    gts = key_by_stem(gt_files, common_prefix(gt_files, gt_dir), gt_dir)
    if not lows:
        raise ValueError(f"no images in {low_dir}")
    missing_gt = sorted(set(lows) - set(gts), key=natural_key)
    missing_low = sorted(set(gts) - set(lows), key=natural_key)
    if (missing_gt or missing_low) and not allow_unmatched:
        unmatched = [f"{len(names)} {what} in {where} ({listed(names)})" for names, what, where in (
            (missing_gt, "low-light image(s) without ground truth", gt_dir),
            (missing_low, "ground truth(s) without low-light image", low_dir)) if names]
        raise UnmatchedError(f"paired data {low_dir.parent}: {'; '.join(unmatched)}. Pairs are matched by file stem; "
                             "to score the unmatched ones as unpaired, set allow_unmatched=True in the dataset's "
                             "config (enhance-bench: --allow-unmatched).")
    return [Sample(f"{group}/{stem}", lows[stem], group, reference=gts.get(stem))
            for stem in sorted(lows, key=natural_key)]


def read_paired(root: str | os.PathLike, allow_unmatched: bool = False) -> list[Sample]:
    """Paired samples of every (low, high|normal|gt) sub-folder pair under ``root`` (searched recursively).

    Args:
        root: dataset folder (a split folder such as ``LOL/eval15`` also works).
        allow_unmatched: keep low-light images without ground truth (as unpaired samples) instead of raising.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    samples: list[Sample] = []
    folders = sorted([root, *[d for d in root.rglob("*") if d.is_dir()]], key=lambda d: natural_key(d.as_posix()))
    for folder in folders:
        dirs = _pair_dirs(folder)
        if dirs is None:
            continue
        group = folder.relative_to(root).as_posix() if folder != root else root.name
        samples += _pair_folder(group, dirs[0], dirs[1], allow_unmatched)
    if not samples:
        raise ValueError(f"{root}: no paired sub-folders found (expected e.g. low/ + high/, Low/ + Normal/ or "
                         "input/ + gt/)")
    return samples


def read_unpaired(root: str | os.PathLike) -> list[Sample]:
    """Every image under ``root`` (recursively); the group is the image's folder relative to ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    images = list_images(root, recursive=True)
    if not images:
        raise ValueError(f"no images under {root} (extensions: {', '.join(IMAGE_SUFFIXES)})")
    samples = []
    for p in images:
        rel = p.parent.relative_to(root).as_posix()
        group = rel if rel != "." else root.name
        samples.append(Sample(f"{group}/{p.stem}", p, group))
    return samples


# sub-folder names of the paired datasets' splits (LOL v1: our485 / eval15, LOL-v2: Train / Test)
_SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing", "eval", "eval15", "our485"}


@DATASETS.register_module(name="paired")
class PairedImages(DatasetReader):
    """Low-light images with normal-light references: LOL v1, LOL-v2 or any folder of (low, high) pairs.

    Args:
        allow_unmatched: score low-light images without a reference as unpaired instead of refusing the data.
        **kw: ``root``, ``split``, ``limit``, ``degrade`` (see :class:`DatasetReader`).
    """

    type = "paired"
    layout = "sub-folders low/ + high/ (LOL), Low/ + Normal/ (LOL-v2) or input/ + gt/, matched by file stem"

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 degrade: str | dict | None = None, allow_unmatched: bool = False) -> None:
        super().__init__(root, split, limit, degrade)
        self.allow_unmatched = allow_unmatched

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "allow_unmatched": self.allow_unmatched}

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        folder = self.split_folder()
        samples = read_paired(folder, self.allow_unmatched)
        # LOL's our485 + eval15, LOL-v2's Real_captured/Train + .../Test: scoring splits together is no protocol
        splits = {p.lower(): p for s in samples for p in Path(s.group).parts if p.lower() in _SPLIT_NAMES}
        if len(splits) > 1:
            given = (f"split {self.split!r} names no sub-folder of {folder}, which holds" if self.split
                     else f"{folder}: holds")
            raise ValueError(f"{given} the splits {', '.join(sorted(splits.values(), key=str.lower))}; choose one "
                             "with split=NAME (enhance-bench: --split NAME), or give the split's own folder as the "
                             "root")
        return samples, {"unmatched": [s.name for s in samples if s.reference is None]}


@DATASETS.register_module(name="unpaired")
class UnpairedImages(DatasetReader):
    """Low-light images without references (DICM, NPE, MEF, night photos), searched recursively."""

    type = "unpaired"
    layout = "<root>/**/*.{png,jpg,jpeg,bmp,tif,webp} (no ground truth)"

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        return read_unpaired(self.split_folder()), {}


@DATASETS.register_module(name="synthetic")
class SyntheticPairs(DatasetReader):
    """Synthetic night pairs from the photographs shipped with scikit-image (``uptflow.data.synthetic``).

    The pairs are written once as ``low/`` + ``high/`` PNGs under the suite's data folder (named by seed, size and
    number of photos, so a changed setting makes new ones) and then read like any paired folder.

    Args:
        num_images: how many of scikit-image's photos to use (all when None).
        size: longest side of the photos (downscaled; None keeps their size).
        seed: seed of the degradations (default: the suite's seed).
        **kw: ``limit`` (``root``, ``split`` and ``degrade`` do not apply).
    """

    type = "synthetic"
    layout = "made by the project from package-shipped photos (nothing to put anywhere)"

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 num_images: int | None = None, size: int | None = None, seed: int | None = None) -> None:
        super().__init__(root, split, limit)
        self.num_images, self.size, self.seed = num_images, size, seed

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "num_images": self.num_images, "size": self.size, "seed": self.seed}

    def present(self) -> bool:
        return True

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        from uptflow.data.synthetic import SKIMAGE_PHOTOS, SkimagePhotoPairs

        photos = SKIMAGE_PHOTOS[: self.num_images or len(SKIMAGE_PHOTOS)]
        seed = self.seed if self.seed is not None else seed
        folder = data_dir / f"seed{seed}-max{self.size}-n{len(photos)}"  # read_paired reads every pair in it
        pairs = [(folder / "low" / f"{p}.png", folder / "high" / f"{p}.png") for p in photos]
        if not all(lo.is_file() and hi.is_file() for lo, hi in pairs):
            ds = SkimagePhotoPairs(photos=photos, seed=seed, max_side=self.size)
            for i, (lo, hi) in enumerate(pairs):
                info = ds.get_data_info(i)
                imwrite_rgb(hi, info["gt"])
                imwrite_rgb(lo, info["low"])
        self.root = folder
        return read_paired(folder), {"made_in": str(folder)}

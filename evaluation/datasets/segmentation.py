"""Readers for night-segmentation datasets: ACDC night, Dark Zurich night, NightCity and Cityscapes.

Each reader walks the official folder layout and returns ``Sample`` records (image path, label path or None,
label kind); the registered reader classes at the bottom make them datasets of the suite. Ground truth is read
as 19-class Cityscapes train ids: ``*_labelTrainIds.png`` as is, ``*_labelIds.png`` through the official
id -> trainId table. Images whose label is missing or does not fit them are left out before any inference, each
reported by file name and reason, and counted in the results.
"""

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.datasets.base import DatasetReader, Sample, list_images
from evaluation.registry import DATASETS
from evaluation.segmentation.classes import CLASSES, IGNORE_INDEX, labelids_to_trainids

__all__ = ["LabelError", "READERS", "read_dataset", "read_label", "check_samples", "Cityscapes", "ACDCNight",
           "DarkZurichNight", "NightCity"]


class LabelError(ValueError):
    """Raised when label files are missing or do not match their images; the message lists them by name."""


def _images(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    found = [p for p in list_images(folder, recursive=True) if p.name.endswith(suffix)]
    if not found:
        raise FileNotFoundError(f"no images matching *{suffix} under {folder}")
    return found


def _pair(images: list[Path], img_root: Path, gt_root: Path, img_suffix: str,
          label_suffixes: list[tuple[str, str]], labelled: bool) -> list[Sample]:
    """Match every image with the first existing label name (suffix, kind); record None when none exists."""
    samples = []
    for img in images:
        rel = img.relative_to(img_root)
        base = rel.name[: -len(img_suffix)]
        label, kind = None, "trainIds"
        if labelled:
            cands = [(gt_root / rel.parent / f"{base}{suf}", k) for suf, k in label_suffixes]
            label, kind = next(((p, k) for p, k in cands if p.is_file()), (cands[0][0], label_suffixes[0][1]))
        samples.append(Sample(base, img, rel.parent.as_posix(), label=label, label_kind=kind))
    return samples


def read_acdc(root: Path, split: str = "val") -> list[Sample]:
    """ACDC night: ``rgb_anon/night/<split>/<seq>/*_rgb_anon.png`` + ``gt/night/<split>/<seq>/*_gt_labelTrainIds.png``.

    The test split has no public labels, so it is read without ground truth (predictions only).
    """
    img_root = root / "rgb_anon" / "night" / split
    return _pair(_images(img_root, "_rgb_anon.png"), img_root, root / "gt" / "night" / split, "_rgb_anon.png",
                 [("_gt_labelTrainIds.png", "trainIds"), ("_gt_labelIds.png", "labelIds")],
                 labelled=split != "test")


def read_darkzurich(root: Path, split: str = "val") -> list[Sample]:
    """Dark Zurich: ``rgb_anon/<split>/night/<seq>/*_rgb_anon.png`` + ``gt/<split>/night/<seq>/*_gt_labelTrainIds.png``.

    Only the val split has public labels; train and test are read without ground truth.
    """
    img_root = root / "rgb_anon" / split / "night"
    return _pair(_images(img_root, "_rgb_anon.png"), img_root, root / "gt" / split / "night", "_rgb_anon.png",
                 [("_gt_labelTrainIds.png", "trainIds"), ("_gt_labelIds.png", "labelIds")],
                 labelled=split == "val")


def _first_dir(root: Path, options: list[str], what: str) -> Path:
    for opt in options:
        if (root / opt).is_dir():
            return root / opt
    looked = ", ".join(str(root / o) for o in options)
    raise FileNotFoundError(f"NightCity {what} folder not found; looked for {looked}")


def read_nightcity(root: Path, split: str = "val") -> list[Sample]:
    """NightCity: ``images/<split>/*.png`` + ``label/<split>/<stem>_labelIds.png`` (or ``<stem>.png``), label ids.

    The release's ``NightCity-images/images`` / ``NightCity-label/label`` nesting and a ``labels`` folder name
    are accepted too. Labels are converted to the 19 train ids with the Cityscapes table.
    """
    img_root = _first_dir(root, [f"images/{split}", f"NightCity-images/images/{split}"], "image")
    gt_root = _first_dir(root, [f"label/{split}", f"labels/{split}", f"NightCity-label/label/{split}"], "label")
    images = list_images(img_root, recursive=True)
    if not images:
        raise FileNotFoundError(f"no images under {img_root}")
    samples = []
    for img in images:
        rel = img.relative_to(img_root)
        cands = [gt_root / rel.parent / f"{img.stem}_labelIds.png", gt_root / rel.parent / f"{img.stem}.png"]
        label = next((p for p in cands if p.is_file()), cands[0])
        samples.append(Sample(img.stem, img, rel.parent.as_posix(), label=label, label_kind="labelIds"))
    return samples


def read_cityscapes(root: Path, split: str = "val") -> list[Sample]:
    """Cityscapes: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` + ``gtFine/<split>/<city>/*_labelTrainIds.png``.

    Falls back to ``*_gtFine_labelIds.png`` (converted) when the trainIds files were not generated, and accepts a
    flat ``leftImg8bit/`` + ``gtFine/`` sample without split folders. The test split is read without labels.
    """
    img_root, gt_root = root / "leftImg8bit" / split, root / "gtFine" / split
    if not img_root.is_dir() and (root / "leftImg8bit").is_dir():
        img_root, gt_root = root / "leftImg8bit", root / "gtFine"
    return _pair(_images(img_root, "_leftImg8bit.png"), img_root, gt_root, "_leftImg8bit.png",
                 [("_gtFine_labelTrainIds.png", "trainIds"), ("_gtFine_labelIds.png", "labelIds")],
                 labelled=split != "test")


READERS: dict[str, Callable[[Path, str], list[Sample]]] = {
    "acdc": read_acdc,
    "darkzurich": read_darkzurich,
    "nightcity": read_nightcity,
    "cityscapes": read_cityscapes,
}


def read_dataset(name: str, root: str | os.PathLike, split: str = "val") -> list[Sample]:
    """Read a dataset by name (``READERS``); labels are not checked (see :func:`check_samples`)."""
    if name not in READERS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {root}")
    return READERS[name](root, split)


def check_samples(samples: list[Sample]) -> tuple[list[Sample], list[dict[str, str]]]:
    """Split ``samples`` into usable ones and ``{file, reason}`` records of images whose label is missing, of
    another size than the image, or not a single-channel id map.

    Sizes come from the PNG headers (no decoding), so this is cheap even for thousands of files.
    """
    from uptflow.utils.io import open_image

    good, bad = [], []
    for s in samples:
        if s.label is None:
            good.append(s)
            continue
        if not s.label.is_file():
            bad.append(dict(file=str(s.path), reason=f"label file not found: {s.label}"))
            continue
        try:
            with open_image(s.path) as im, open_image(s.label) as lb:
                if im.size != lb.size:
                    bad.append(dict(file=str(s.path), reason=f"label {s.label.name} is {lb.size[0]}x{lb.size[1]}, "
                                                          f"the image {im.size[0]}x{im.size[1]}"))
                elif lb.mode not in ("L", "P", "I", "I;16"):
                    bad.append(dict(file=str(s.path), reason=f"label {s.label.name} has mode {lb.mode}, not a "
                                                          "single-channel id map (colour labels cannot be scored)"))
                else:
                    good.append(s)
        except ValueError as e:
            bad.append(dict(file=str(s.path), reason=str(e)))
    if samples and all(s.label is None for s in samples):
        warnings.warn("this split has no ground truth: predictions are saved, no scores are computed", stacklevel=2)
    return good, bad


def read_label(sample: Sample, num_classes: int = 19) -> np.ndarray:
    """Read a sample's ground truth as uint8 HxW train ids (255 = ignore); errors name the file and the problem."""
    from uptflow.utils.io import open_image

    if sample.label is None:
        raise ValueError(f"{sample.name} has no ground truth")
    with open_image(sample.label) as lb:
        arr = np.asarray(lb)
    if arr.ndim != 2:
        raise LabelError(f"{sample.label}: expected a single-channel id map, got shape {arr.shape}")
    if sample.label_kind == "labelIds":
        if arr.max(initial=0) > 33 and arr.max(initial=0) != 255:
            raise LabelError(f"{sample.label}: values up to {arr.max()} are not Cityscapes label ids (0-33)")
        return labelids_to_trainids(arr)
    bad = (arr >= num_classes) & (arr != IGNORE_INDEX)
    if bad.any():
        raise LabelError(f"{sample.label}: values {np.unique(arr[bad])[:10].tolist()} are not train ids "
                         f"(0-{num_classes - 1} or {IGNORE_INDEX}); is this a labelIds file?")
    return arr.astype(np.uint8)


class _SegmentationReader(DatasetReader):
    """A registered night-segmentation dataset: labels checked up front, every problem listed in one error."""

    default_split = "val"

    def classes(self) -> tuple[str, ...]:
        return CLASSES

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        good, bad = check_samples(READERS[self.type](self.root, self.split)[: self.limit])
        for b in bad:
            warnings.warn(f"skipped {b['file']}: {b['reason']}", stacklevel=2)
        return good, dict(labelled=sum(s.label is not None for s in good), skipped=bad)


@DATASETS.register_module(name="cityscapes")
class Cityscapes(_SegmentationReader):
    """Cityscapes (day; darken with ``degrade`` for synthetic night)."""

    type = "cityscapes"
    layout = "leftImg8bit/<split>/<city>/*_leftImg8bit.png, gtFine/<split>/<city>/*_gtFine_labelTrainIds.png"


@DATASETS.register_module(name="acdc")
class ACDCNight(_SegmentationReader):
    """ACDC night."""

    type = "acdc"
    layout = "rgb_anon/night/<split>/<seq>/*_rgb_anon.png, gt/night/<split>/<seq>/*_gt_labelTrainIds.png"


@DATASETS.register_module(name="darkzurich")
class DarkZurichNight(_SegmentationReader):
    """Dark Zurich night."""

    type = "darkzurich"
    layout = "rgb_anon/<split>/night/<seq>/*_rgb_anon.png, gt/<split>/night/<seq>/*_gt_labelTrainIds.png"


@DATASETS.register_module(name="nightcity")
class NightCity(_SegmentationReader):
    """NightCity."""

    type = "nightcity"
    layout = "images/<split>/*.png, label/<split>/<stem>_labelIds.png"

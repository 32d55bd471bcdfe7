"""Readers for night-segmentation datasets: ACDC night, Dark Zurich night, NightCity and Cityscapes.

Each reader walks the official folder layout and returns ``SegSample`` records (image path, label path or
None, label kind). Ground truth is read as 19-class Cityscapes train ids: ``*_labelTrainIds.png`` as is,
``*_labelIds.png`` through the official id -> trainId table. Missing labels and labels that do not fit their
image are reported together, by file name, before any inference starts.
"""

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.segmentation.classes import IGNORE_INDEX, labelids_to_trainids

__all__ = ["SegSample", "LabelError", "READERS", "read_dataset", "read_label", "check_samples"]

_IMG_EXT = (".png", ".jpg", ".jpeg")


class LabelError(ValueError):
    """Raised when label files are missing or do not match their images; the message lists them by name."""


@dataclass(frozen=True)
class SegSample:
    """One image with its ground truth (``label`` None for unlabelled splits)."""

    image: Path
    label: Path | None
    label_kind: str = "trainIds"  # "trainIds" or "labelIds" (converted with the Cityscapes table)

    @property
    def stem(self) -> str:
        """Image file name without extension; names the prediction files."""
        return self.image.stem


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def _images(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    found = sorted((p for p in folder.rglob(f"*{suffix}") if p.is_file()), key=_natural_key)
    if not found:
        raise FileNotFoundError(f"no images matching *{suffix} under {folder}")
    return found


def _pair(images: list[Path], img_root: Path, gt_root: Path, img_suffix: str,
          label_suffixes: list[tuple[str, str]], labelled: bool) -> list[SegSample]:
    """Match every image with the first existing label name (suffix, kind); record None when none exists."""
    samples = []
    for img in images:
        rel = img.relative_to(img_root)
        base = rel.name[: -len(img_suffix)]
        label, kind = None, "trainIds"
        if labelled:
            cands = [(gt_root / rel.parent / f"{base}{suf}", k) for suf, k in label_suffixes]
            label, kind = next(((p, k) for p, k in cands if p.is_file()), (cands[0][0], label_suffixes[0][1]))
        samples.append(SegSample(img, label, kind))
    return samples


def read_acdc(root: Path, split: str = "val") -> list[SegSample]:
    """ACDC night: ``rgb_anon/night/<split>/<seq>/*_rgb_anon.png`` + ``gt/night/<split>/<seq>/*_gt_labelTrainIds.png``.

    The test split has no public labels, so it is read without ground truth (predictions only).
    """
    img_root = root / "rgb_anon" / "night" / split
    return _pair(_images(img_root, "_rgb_anon.png"), img_root, root / "gt" / "night" / split, "_rgb_anon.png",
                 [("_gt_labelTrainIds.png", "trainIds"), ("_gt_labelIds.png", "labelIds")],
                 labelled=split != "test")


def read_darkzurich(root: Path, split: str = "val") -> list[SegSample]:
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


def read_nightcity(root: Path, split: str = "val") -> list[SegSample]:
    """NightCity: ``images/<split>/*.png`` + ``label/<split>/<stem>_labelIds.png`` (or ``<stem>.png``), label ids.

    The release's ``NightCity-images/images`` / ``NightCity-label/label`` nesting and a ``labels`` folder name
    are accepted too. Labels are converted to the 19 train ids with the Cityscapes table.
    """
    img_root = _first_dir(root, [f"images/{split}", f"NightCity-images/images/{split}"], "image")
    gt_root = _first_dir(root, [f"label/{split}", f"labels/{split}", f"NightCity-label/label/{split}"], "label")
    images = [p for p in sorted(img_root.rglob("*"), key=_natural_key) if p.suffix.lower() in _IMG_EXT]
    if not images:
        raise FileNotFoundError(f"no images under {img_root}")
    samples = []
    for img in images:
        rel = img.relative_to(img_root)
        cands = [gt_root / rel.parent / f"{img.stem}_labelIds.png", gt_root / rel.parent / f"{img.stem}.png"]
        samples.append(SegSample(img, next((p for p in cands if p.is_file()), cands[0]), "labelIds"))
    return samples


def read_cityscapes(root: Path, split: str = "val") -> list[SegSample]:
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


READERS: dict[str, Callable[[Path, str], list[SegSample]]] = {
    "acdc": read_acdc,
    "darkzurich": read_darkzurich,
    "nightcity": read_nightcity,
    "cityscapes": read_cityscapes,
}


def read_dataset(name: str, root: str | os.PathLike, split: str = "val", check: bool = True) -> list[SegSample]:
    """Read a dataset by name (``READERS``) and, with ``check``, validate its labels (see ``check_samples``)."""
    if name not in READERS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {root}")
    samples = READERS[name](root, split)
    if check:
        check_samples(samples)
    return samples


def check_samples(samples: list[SegSample]) -> None:
    """Raise ``LabelError`` naming every missing label and every label whose size differs from its image.

    Sizes come from the PNG headers (no decoding), so this is cheap even for thousands of files.
    """
    from PIL import Image

    missing, mismatched = [], []
    for s in samples:
        if s.label is None:
            continue
        if not s.label.is_file():
            missing.append(f"{s.label} (for image {s.image.name})")
            continue
        with Image.open(s.image) as im, Image.open(s.label) as lb:
            if im.size != lb.size:
                mismatched.append(f"{s.label}: size {lb.size[0]}x{lb.size[1]}, image {s.image.name} is "
                                  f"{im.size[0]}x{im.size[1]}")
            elif lb.mode not in ("L", "P", "I", "I;16"):
                mismatched.append(f"{s.label}: mode {lb.mode}, expected a single-channel id map (colour labels "
                                  f"cannot be scored)")
    if missing or mismatched:
        lines = [f"{len(missing)} missing label file(s):"] * bool(missing) + [f"  {m}" for m in missing[:50]]
        if len(missing) > 50:
            lines.append(f"  ... and {len(missing) - 50} more")
        if mismatched:
            lines.append(f"{len(mismatched)} label file(s) not matching their image:")
            lines += [f"  {m}" for m in mismatched[:50]]
        raise LabelError("\n".join(lines))
    if samples and all(s.label is None for s in samples):
        warnings.warn("this split has no ground truth: predictions are saved, no scores are computed", stacklevel=2)


def read_label(sample: SegSample, num_classes: int = 19) -> np.ndarray:
    """Read a sample's ground truth as uint8 HxW train ids (255 = ignore); errors name the file and the problem."""
    from PIL import Image

    if sample.label is None:
        raise ValueError(f"{sample.image.name} has no ground truth")
    with Image.open(sample.label) as lb:
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

"""ExDark reader: images, bbGt boxes (checked against the real image size) and the official image class list.

Two layouts are read:

* official: ``ROOT/ExDark/<Class>/<image>`` with ``ROOT/ExDark_Annno/<Class>/<image>.txt`` (the folder names of the
  released archives; ``ExDark_Anno`` / ``Annotations`` are accepted too), class folders optional;
* flat: ``ROOT/images/<image>`` with ``ROOT/annotations/<image>.txt``.

``imageclasslist.txt`` (name, class, light type 1-10, indoor/outdoor 1-2, train/val/test 1-3; CRLF endings) is
looked up in ROOT, ROOT/Groundtruth and ROOT's parent, or passed explicitly.
"""

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.datasets.base import Box, DatasetReader, Sample
from evaluation.datasets.splits import SPLIT_KINDS, make_split
from evaluation.registry import DATASETS
from uptflow.utils.io import IMAGE_SUFFIXES, image_size

__all__ = [
    "EXDARK_CLASSES", "LIGHT_TYPES", "IN_OUT", "SPLIT_CODES", "ClassListEntry", "parse_bbgt", "read_classlist",
    "read_exdark", "find_classlist", "ExDark",
]

log = logging.getLogger(__name__)

EXDARK_CLASSES: tuple[str, ...] = (
    "Bicycle", "Boat", "Bottle", "Bus", "Car", "Cat", "Chair", "Cup", "Dog", "Motorbike", "People", "Table",
)
LIGHT_TYPES: tuple[str, ...] = (
    "Low", "Ambient", "Object", "Single", "Weak", "Strong", "Screen", "Window", "Shadow", "Twilight",
)
IN_OUT: tuple[str, ...] = ("Indoor", "Outdoor")
SPLIT_CODES: dict[int, str] = {1: "train", 2: "val", 3: "test"}

_CLASS_BY_LOWER = {c.lower(): c for c in EXDARK_CLASSES}
_IMAGE_DIRS = ("ExDark", "images", "JPEGImages")
_ANNO_DIRS = ("ExDark_Annno", "ExDark_Anno", "ExDark_Annotations", "Annotations", "annotations")


@dataclass(frozen=True)
class ClassListEntry:
    """One row of imageclasslist.txt."""

    name: str
    cls: str
    light: str
    inout: str
    split: str


def parse_bbgt(path: str | os.PathLike) -> list[tuple[str, float, float, float, float, int]]:
    """Parse a bbGt v3 file into ``(class, l, t, w, h, line_no)``; any malformed line raises naming file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text annotation file ({e})") from e
    out = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("%"):
            if no == 1 and not line.startswith("% bbGt"):
                raise ValueError(f"{path}:{no}: expected the header '% bbGt version=3', got {line!r}")
            continue
        parts = line.split()
        if len(parts) < 5:
            raise ValueError(f"{path}:{no}: expected 'Class l t w h ...' (at least 5 fields), got {line!r}")
        cls = _CLASS_BY_LOWER.get(parts[0].lower())
        if cls is None:
            raise ValueError(f"{path}:{no}: unknown ExDark class {parts[0]!r}; expected one of {EXDARK_CLASSES}")
        try:
            l, t, w, h = (float(v) for v in parts[1:5])
        except ValueError as e:
            raise ValueError(f"{path}:{no}: box coordinates are not numbers in {line!r}") from e
        if not all(np.isfinite([l, t, w, h])):
            raise ValueError(f"{path}:{no}: non-finite box coordinates in {line!r}")
        out.append((cls, l, t, w, h, no))
    return out


def read_classlist(path: str | os.PathLike) -> dict[str, ClassListEntry]:
    """Read imageclasslist.txt (CRLF or LF) into ``{lower-case stem: entry}``; bad rows raise naming file:line."""
    path = Path(path)
    entries: dict[str, ClassListEntry] = {}
    for no, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line or line.lower().startswith("name"):
            continue
        parts = line.split()
        if len(parts) != 5:
            raise ValueError(f"{path}:{no}: expected 'name class light in/out split', got {line!r}")
        try:
            cls_i, light_i, io_i, split_i = (int(v) for v in parts[1:])
        except ValueError as e:
            raise ValueError(f"{path}:{no}: class/light/in-out/split must be integers, got {line!r}") from e
        if not (1 <= cls_i <= 12 and 1 <= light_i <= 10 and io_i in (1, 2) and split_i in SPLIT_CODES):
            raise ValueError(f"{path}:{no}: value out of range in {line!r} (class 1-12, light 1-10, io 1-2, split 1-3)")
        entry = ClassListEntry(parts[0], EXDARK_CLASSES[cls_i - 1], LIGHT_TYPES[light_i - 1], IN_OUT[io_i - 1],
                               SPLIT_CODES[split_i])
        key = Path(parts[0]).stem.lower()
        if key in entries:
            raise ValueError(f"{path}:{no}: image {parts[0]!r} is listed twice")
        entries[key] = entry
    return entries


def find_classlist(root: str | os.PathLike) -> Path | None:
    """Return imageclasslist.txt in ROOT, ROOT/Groundtruth or ROOT's parent, or None."""
    root = Path(root)
    for cand in (root, root / "Groundtruth", root.parent, root.parent / "Groundtruth"):
        p = cand / "imageclasslist.txt"
        if p.is_file():
            return p
    return None


def _detect_layout(root: Path) -> tuple[str, Path, Path]:
    for img_dir in _IMAGE_DIRS:
        for ann_dir in _ANNO_DIRS:
            if (root / img_dir).is_dir() and (root / ann_dir).is_dir():
                layout = "official" if img_dir == "ExDark" else "flat"
                return layout, root / img_dir, root / ann_dir
    raise FileNotFoundError(
        f"{root}: no ExDark layout found; expected ExDark/ + ExDark_Annno/ (official) or images/ + annotations/ (flat)"
    )


def _index(folder: Path, suffixes: Iterable[str]) -> dict[str, Path]:
    """Map lower-case file name -> path for every file below ``folder`` with one of ``suffixes``."""
    suffixes = tuple(suffixes)
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name.lower().endswith(suffixes):
            key = p.name.lower()
            if key in out:
                raise ValueError(f"duplicate file name {p.name!r}: {out[key]} and {p}")
            out[key] = p
    return out


def _boxes(ann: Path, w_img: int, h_img: int, stats: dict[str, Any]) -> tuple[Box, ...]:
    """The boxes of one annotation file, clipped to the image; boxes wholly outside are dropped and counted."""
    boxes = []
    for cls, l, t, w, h, no in parse_bbgt(ann):
        stats["n_boxes"] += 1
        x1, y1, x2, y2 = l, t, l + w, t + h
        cx1, cy1 = min(max(x1, 0.0), w_img), min(max(y1, 0.0), h_img)
        cx2, cy2 = min(max(x2, 0.0), w_img), min(max(y2, 0.0), h_img)
        if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
            stats["clipped"].append(f"{ann}:{no}")
        if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
            stats["n_dropped_outside"] += 1
            log.warning("%s:%d: box %s lies outside the %dx%d image; dropped (counted in stats)",
                        ann, no, (l, t, w, h), w_img, h_img)
            continue
        boxes.append(Box(cls, cx1, cy1, cx2, cy2))
    return tuple(boxes)


def read_exdark(root: str | os.PathLike, classlist: str | os.PathLike | None = None
                ) -> tuple[list[Sample], dict[str, Any]]:
    """Every annotated image under ``root`` (official or flat layout), boxes clipped to the real image size.

    An image whose annotation file is missing or malformed, or that cannot be read, is left out and listed in the
    returned statistics (``skipped``: file and reason) instead of stopping the whole dataset.

    Args:
        root: dataset root (see module docstring for the layouts).
        classlist: imageclasslist.txt; found automatically when None (metadata stays empty if there is none).

    Returns:
        Samples sorted by name (``meta``: light, inout, exdark_split, annotation) and reader statistics.

    Raises:
        FileNotFoundError: no known layout under ``root`` or no images.
    """
    root = Path(root).expanduser().resolve()
    layout, img_dir, ann_dir = _detect_layout(root)
    images = _index(img_dir, IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"{img_dir}: no images ({', '.join(IMAGE_SUFFIXES)})")
    anns = _index(ann_dir, (".txt",))
    cl_path = Path(classlist) if classlist is not None else find_classlist(root)
    meta = read_classlist(cl_path) if cl_path is not None else {}
    stats: dict[str, Any] = dict(layout=layout, classlist=str(cl_path) if cl_path else None, n_boxes=0,
                                 n_dropped_outside=0, clipped=[], skipped=[])
    used = set()
    out: list[Sample] = []
    for key, path in images.items():
        ann_key = f"{key}.txt" if f"{key}.txt" in anns else f"{Path(key).stem}.txt"
        if ann_key not in anns:
            stats["skipped"].append(dict(file=str(path), reason=f"no annotation file {ann_key} in {ann_dir}"))
            continue
        used.add(ann_key)
        try:
            w_img, h_img = image_size(path)
            boxes = _boxes(anns[ann_key], w_img, h_img, stats)
        except ValueError as e:
            stats["skipped"].append(dict(file=str(path), reason=str(e)))
            continue
        m = meta.get(Path(key).stem.lower())
        info = dict(annotation=str(anns[ann_key]))
        if m is not None:
            info.update(light=m.light, inout=m.inout, exdark_split=m.split)
        out.append(Sample(path.name, path, m.light if m else "", boxes=boxes, size=(w_img, h_img), meta=info))
    orphans = sorted(set(anns) - used)
    if orphans:
        log.warning("%d annotation file(s) in %s have no image, e.g. %s", len(orphans), ann_dir, orphans[:5])
    no_meta = [s.name for s in out if "exdark_split" not in s.meta]
    if meta and no_meta:
        log.warning("%d image(s) are missing from %s, e.g. %s; they have no split / lighting metadata",
                    len(no_meta), cl_path, no_meta[:5])
    if stats["clipped"]:
        log.warning("%d of %d boxes extend past their image and were clipped (listed in stats)",
                    len(stats["clipped"]), stats["n_boxes"])
    for skip in stats["skipped"]:
        log.warning("skipped %s: %s", skip["file"], skip["reason"])
    out.sort(key=lambda s: s.name.lower())
    stats.update(n_images=len(out), n_clipped=len(stats["clipped"]), n_orphan_annotations=len(orphans),
                 n_without_classlist_entry=len(no_meta) if meta else len(out))
    return out, stats


@DATASETS.register_module(name="exdark")
class ExDark(DatasetReader):
    """ExDark (official or flat layout) with its official or a seeded random split.

    Images are loaded in stored pixel order (EXIF orientation ignored), as they were annotated.

    Args:
        split: subset to evaluate: ``test`` (default), ``val``, ``train`` or ``all``.
        split_kind: ``official`` (imageclasslist.txt column 5) or ``random`` (seeded 80/20, MAET/IAT).
        classlist: imageclasslist.txt (found next to the data when None).
        split_seed: seed of the random split (default: the suite's seed).
        **kw: ``root``, ``limit``, ``degrade`` (see :class:`DatasetReader`).
    """

    type = "exdark"
    layout = ("ExDark/<Class>/<image>, ExDark_Annno/<Class>/<image>.txt, imageclasslist.txt "
              "(or the flat sample layout images/, annotations/)")
    exif = False
    default_split = "test"

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 degrade: str | dict | None = None, split_kind: str = "official", classlist: str | None = None,
                 split_seed: int | None = None) -> None:
        super().__init__(root, split, limit, degrade)
        if split_kind not in SPLIT_KINDS:
            raise ValueError(f"split_kind must be one of {SPLIT_KINDS}, got {split_kind!r}")
        self.split_kind, self.classlist, self.split_seed = split_kind, classlist, split_seed

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "split_kind": self.split_kind, "classlist": self.classlist,
                "split_seed": self.split_seed}

    def classes(self) -> tuple[str, ...]:
        return EXDARK_CLASSES

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        samples, stats = read_exdark(self.root, self.classlist)
        if self.split == "all":  # zero-shot scoring of every image needs no split list
            stats["split"] = dict(subset="all", description="every image; no split applied")
            return samples, stats
        sp = make_split(samples, self.split_kind, self.split_seed if self.split_seed is not None else seed,
                        meta_key="exdark_split", source=stats["classlist"])
        names = set(sp.names(self.split))
        stats["split"] = sp.to_dict(with_names=False)
        if not names:
            raise ValueError(f"the {self.split_kind!r} split has no {self.split!r} images among the {len(samples)} "
                             f"images of {self.root} (counts {stats['split']['counts']}); for zero-shot scoring "
                             "use split='all' (on the command line --subset all; --split there picks the kind "
                             "of split)")
        return [s for s in samples if s.name in names], stats

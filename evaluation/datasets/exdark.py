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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "EXDARK_CLASSES", "LIGHT_TYPES", "IN_OUT", "SPLIT_CODES", "Box", "ExDarkImage", "ExDarkDataset",
    "ClassListEntry", "parse_bbgt", "read_classlist", "read_exdark", "find_classlist", "read_image_raw",
    "IMAGE_EXTENSIONS",
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
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

_CLASS_BY_LOWER = {c.lower(): c for c in EXDARK_CLASSES}
_IMAGE_DIRS = ("ExDark", "images", "JPEGImages")
_ANNO_DIRS = ("ExDark_Annno", "ExDark_Anno", "ExDark_Annotations", "Annotations", "annotations")


@dataclass(frozen=True)
class Box:
    """One object: ExDark class name and pixel box ``x1, y1, x2, y2`` (clipped to the image)."""

    cls: str
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def xywh(self) -> list[float]:
        """COCO ``[x, y, w, h]``."""
        return [self.x1, self.y1, self.x2 - self.x1, self.y2 - self.y1]


@dataclass(frozen=True)
class ClassListEntry:
    """One row of imageclasslist.txt."""

    name: str
    cls: str
    light: str
    inout: str
    split: str


@dataclass
class ExDarkImage:
    """One annotated image: path, real size, boxes and (when the class list has it) its metadata."""

    name: str
    path: Path
    ann_path: Path
    width: int
    height: int
    boxes: list[Box]
    meta: ClassListEntry | None = None

    @property
    def stem(self) -> str:
        """File name without extension (ExDark stems are unique across classes)."""
        return Path(self.name).stem


@dataclass
class ExDarkDataset:
    """All images of one ExDark root with reader statistics (clipped / dropped boxes, missing metadata)."""

    root: Path
    layout: str
    images: list[ExDarkImage]
    classlist: Path | None
    stats: dict = field(default_factory=dict)

    def by_name(self) -> dict[str, ExDarkImage]:
        """Map image file name -> image."""
        return {im.name: im for im in self.images}


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


def read_image_raw(path: str | os.PathLike) -> np.ndarray:
    """Read an image as uint8 HxWx3 RGB in stored pixel order (EXIF orientation ignored, as ExDark was annotated)."""
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) if buf.size else None
    if img is None:
        raise ValueError(f"cannot decode image {path}")
    return np.ascontiguousarray(img[..., ::-1])


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:  # header only; raw (not EXIF-rotated) size, like the annotation tool saw
            return im.size
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image size of {path}: {e}") from e


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


def read_exdark(root: str | os.PathLike, classlist: str | os.PathLike | None = None) -> ExDarkDataset:
    """Read every annotated image under ``root`` (official or flat layout) with boxes clipped to the real size.

    Args:
        root: dataset root (see module docstring for the layouts).
        classlist: imageclasslist.txt; found automatically when None (metadata stays empty if there is none).

    Raises:
        FileNotFoundError: no known layout under ``root`` or no images.
        ValueError: an image without annotation file, an unreadable image, or a malformed annotation line.
    """
    root = Path(root).expanduser().resolve()
    layout, img_dir, ann_dir = _detect_layout(root)
    images = _index(img_dir, IMAGE_EXTENSIONS)
    if not images:
        raise FileNotFoundError(f"{img_dir}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    anns = _index(ann_dir, (".txt",))
    cl_path = Path(classlist) if classlist is not None else find_classlist(root)
    meta = read_classlist(cl_path) if cl_path is not None else {}

    missing = [p.name for k, p in images.items() if f"{k}.txt" not in anns and f"{Path(k).stem}.txt" not in anns]
    if missing:
        raise ValueError(f"{len(missing)} image(s) in {img_dir} have no annotation file in {ann_dir}, "
                         f"e.g. {missing[:5]} (expected <image name>.txt)")
    used = set()
    out: list[ExDarkImage] = []
    n_boxes = n_clipped = n_dropped = 0
    clipped_files: list[str] = []
    for key, path in images.items():
        ann_key = f"{key}.txt" if f"{key}.txt" in anns else f"{Path(key).stem}.txt"
        used.add(ann_key)
        ann = anns[ann_key]
        w_img, h_img = _image_size(path)
        boxes = []
        for cls, l, t, w, h, no in parse_bbgt(ann):
            n_boxes += 1
            x1, y1, x2, y2 = l, t, l + w, t + h
            cx1, cy1 = min(max(x1, 0.0), w_img), min(max(y1, 0.0), h_img)
            cx2, cy2 = min(max(x2, 0.0), w_img), min(max(y2, 0.0), h_img)
            if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
                n_clipped += 1
                clipped_files.append(f"{ann}:{no}")
            if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
                n_dropped += 1
                log.warning("%s:%d: box %s lies outside the %dx%d image; dropped (counted in stats)",
                            ann, no, (l, t, w, h), w_img, h_img)
                continue
            boxes.append(Box(cls, cx1, cy1, cx2, cy2))
        out.append(ExDarkImage(path.name, path, ann, w_img, h_img, boxes, meta.get(Path(key).stem.lower())))
    orphans = sorted(set(anns) - used)
    if orphans:
        log.warning("%d annotation file(s) in %s have no image, e.g. %s", len(orphans), ann_dir, orphans[:5])
    no_meta = [im.name for im in out if im.meta is None]
    if meta and no_meta:
        log.warning("%d image(s) are missing from %s, e.g. %s; they have no split / lighting metadata",
                    len(no_meta), cl_path, no_meta[:5])
    if n_clipped:
        log.warning("%d of %d boxes extend past their image and were clipped (listed in stats)", n_clipped, n_boxes)
    out.sort(key=lambda im: im.name.lower())
    stats = dict(n_images=len(out), n_boxes=n_boxes, n_boxes_kept=n_boxes - n_dropped, n_clipped=n_clipped,
                 n_dropped_outside=n_dropped, clipped=clipped_files, n_orphan_annotations=len(orphans),
                 n_without_classlist_entry=len(no_meta) if meta else len(out))
    return ExDarkDataset(root, layout, out, cl_path, stats)

"""COCO-layout detection datasets: a YOLO folder (``images/``, ``labels/`` as YOLO txt, ``config.yaml`` with the
class names) or a COCO json (``annotations/instances_<split>.json`` with its images). Images load with their EXIF
orientation applied, as ultralytics and pycocotools users see them.

YOLO boxes (class, centre x, centre y, width, height, normalised) are converted to pixels with the real image size
(read from the header). A label line that cannot be parsed leaves its image out (reported by file, line and
reason, and counted); an image without a label file has no objects, as in YOLO. COCO crowd annotations are kept
as crowd regions (ignored by the evaluation, as pycocotools does).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evaluation.datasets.base import Box, DatasetReader, Sample, list_images, natural_key
from evaluation.registry import DATASETS
from uptflow.utils.io import image_size

__all__ = ["COCOLayout", "read_yolo_folder", "read_coco_json"]


def _names(config: Path) -> tuple[str, ...]:
    import yaml

    try:
        cfg = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{config}: not valid YAML ({str(e).splitlines()[0]})") from None
    names = cfg.get("names")
    if isinstance(names, dict):
        keys = sorted(names, key=int)
        if [int(k) for k in keys] != list(range(len(keys))):
            raise ValueError(f"{config}: names must be numbered 0..N-1, got {keys[:10]}")
        return tuple(str(names[k]) for k in keys)
    if isinstance(names, list) and names:
        return tuple(str(n) for n in names)
    raise ValueError(f"{config}: no 'names' (a list, or a dict id -> name)")


def _yolo_boxes(label: Path, size: tuple[int, int], classes: tuple[str, ...]) -> tuple[Box, ...]:
    w_img, h_img = size
    boxes = []
    for no, raw in enumerate(label.read_text(encoding="utf-8-sig").splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"{label}:{no}: expected 'class cx cy w h', got {raw.strip()!r}")
        try:
            cls_i, cx, cy, bw, bh = int(parts[0]), *(float(v) for v in parts[1:])
        except ValueError:
            raise ValueError(f"{label}:{no}: not numbers in {raw.strip()!r}") from None
        if not 0 <= cls_i < len(classes):
            raise ValueError(f"{label}:{no}: class {cls_i} is not among the {len(classes)} names of the config")
        if not all(math.isfinite(v) for v in (cx, cy, bw, bh)) or bw <= 0 or bh <= 0:
            raise ValueError(f"{label}:{no}: invalid box in {raw.strip()!r}")
        x1, y1 = max(0.0, (cx - bw / 2) * w_img), max(0.0, (cy - bh / 2) * h_img)
        x2, y2 = min(float(w_img), (cx + bw / 2) * w_img), min(float(h_img), (cy + bh / 2) * h_img)
        if x2 > x1 and y2 > y1:
            boxes.append(Box(classes[cls_i], x1, y1, x2, y2))
    return tuple(boxes)


def read_yolo_folder(root: Path, split: str | None) -> tuple[list[Sample], dict[str, Any], tuple[str, ...]]:
    """Samples of a YOLO folder (``split``: a sub-folder of ``images/``, e.g. ``val2017``; None for all images)."""
    config = next((p for p in (root / "config.yaml", root / "data.yaml", root / "dataset.yaml") if p.is_file()), None)
    if config is None:
        raise FileNotFoundError(f"{root}: no config.yaml (or data.yaml) with the class names")
    classes = _names(config)
    img_dir = root / "images" / split if split else root / "images"
    if not img_dir.is_dir():
        raise FileNotFoundError(f"{root}: no image folder {img_dir}")
    samples, skipped = [], []
    for p in list_images(img_dir, recursive=True):
        rel = p.relative_to(root / "images")
        label = (root / "labels" / rel).with_suffix(".txt")
        try:
            size = image_size(p, oriented=True)  # YOLO labels refer to the image as displayed (ultralytics exif_size)
            boxes = _yolo_boxes(label, size, classes) if label.is_file() else ()
        except (OSError, ValueError) as e:
            skipped.append(dict(file=str(p), reason=str(e)))
            continue
        samples.append(Sample(rel.with_suffix("").as_posix(), p, rel.parent.as_posix(), boxes=boxes, size=size,
                              meta=dict(label=str(label) if label.is_file() else None)))
    return samples, dict(layout="yolo", config=str(config), skipped=skipped), classes


def read_coco_json(root: Path, split: str | None) -> tuple[list[Sample], dict[str, Any], tuple[str, ...]]:
    """Samples of ``annotations/instances_<split>.json`` (the only ``instances_*.json`` when ``split`` is None)."""
    found = sorted((root / "annotations").glob("instances_*.json"), key=natural_key)
    if split:
        found = [f for f in found if f.stem == f"instances_{split}"]
    if len(found) != 1:
        raise FileNotFoundError(f"{root}/annotations: expected one instances_{split or '*'}.json, found "
                                f"{[f.name for f in found]} (set split to choose)")
    ann = found[0]
    try:
        gt = json.loads(ann.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{ann}: not valid JSON ({e})") from None
    subset = ann.stem[len("instances_"):]
    try:
        cats = sorted(gt["categories"], key=lambda c: c["id"])
        classes = tuple(c["name"] for c in cats)
        name_of = {c["id"]: c["name"] for c in cats}
        images, annotations = gt["images"], gt["annotations"]
    except (KeyError, TypeError) as e:
        raise ValueError(f"{ann}: not a COCO instances file (no {e} in its categories, images or annotations)") \
            from None
    folder = next((d for d in (root / subset, root / "images" / subset, root / "images") if d.is_dir()), None)
    if folder is None:
        raise FileNotFoundError(f"{root}: no image folder for {ann.name} ({subset}/, images/{subset}/ or images/)")
    by_image: dict[int, list[dict]] = {}
    for a in annotations:
        by_image.setdefault(a.get("image_id"), []).append(a)
    samples, skipped = [], []
    for im in sorted(images, key=lambda i: natural_key(i.get("file_name", ""))):
        path = folder / im.get("file_name", "")
        if not path.is_file():
            skipped.append(dict(file=str(path), reason=f"listed in {ann.name} but not found"))
            continue
        try:
            boxes = tuple(Box(name_of[a["category_id"]], a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                              a["bbox"][1] + a["bbox"][3], crowd=bool(a.get("iscrowd", 0)))
                          for a in by_image.get(im["id"], ()))
            size = (int(im["width"]), int(im["height"]))
        except (KeyError, IndexError, TypeError, ValueError) as e:  # a bad record leaves out its image, not the rest
            skipped.append(dict(file=str(path), reason=f"{ann.name}: image {im.get('id')} or one of its annotations "
                                                       f"lacks a valid id, size, category_id or bbox "
                                                       f"({type(e).__name__}: {e})"))
            continue
        samples.append(Sample(Path(im["file_name"]).with_suffix("").as_posix(), path, subset, boxes=boxes,
                              size=size, meta=dict(coco_id=im["id"])))
    return samples, dict(layout="coco-json", annotations=str(ann), skipped=skipped), classes


@DATASETS.register_module(name="coco")
class COCOLayout(DatasetReader):
    """A detection dataset in COCO layout: a YOLO folder or a COCO json (detected from what ``root`` holds).

    Args:
        split: YOLO: a sub-folder of ``images/`` (None: every image); COCO json: the ``<split>`` of
            ``instances_<split>.json`` (None: the only one).
        **kw: ``root``, ``limit``, ``degrade`` (see :class:`DatasetReader`).
    """

    type = "coco"
    layout = ("images/ + labels/ (YOLO txt) + config.yaml (names), or annotations/instances_<split>.json + "
              "<split>/ (or images/)")

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 degrade: str | dict | None = None) -> None:
        super().__init__(root, split, limit, degrade)
        self._classes: tuple[str, ...] = ()

    def classes(self) -> tuple[str, ...]:
        return self._classes

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        reader = read_coco_json if (self.root / "annotations").is_dir() else read_yolo_folder
        samples, info, self._classes = reader(self.root, self.split)
        return samples, info

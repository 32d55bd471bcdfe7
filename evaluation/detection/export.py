"""Export ExDark (original or enhanced images) as COCO json (pycocotools, mmdet) and as an ultralytics dataset.

Image ids are 1-based positions in the name-sorted full dataset, so ids agree between subsets and runs;
category ids are 1..12 in EXDARK_CLASSES order.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from uptflow.utils.io import atomic_write_json, atomic_write_text, imwrite_rgb

from .exdark import EXDARK_CLASSES, ExDarkDataset, ExDarkImage, read_image_raw
from .splits import Split

__all__ = ["CATEGORIES", "image_ids", "coco_dict", "export_dataset"]

CATEGORIES = [{"id": i + 1, "name": c, "supercategory": "exdark"} for i, c in enumerate(EXDARK_CLASSES)]


def image_ids(ds: ExDarkDataset) -> dict[str, int]:
    """Stable COCO image id per image name."""
    return {im.name: i + 1 for i, im in enumerate(sorted(ds.images, key=lambda im: im.name.lower()))}


def coco_dict(ds: ExDarkDataset, names: list[str] | None = None, file_name: Callable[[ExDarkImage], str] | None = None,
              ) -> dict:
    """COCO ground truth for ``names`` (all images when None); ``file_name`` maps an image to its stored name."""
    ids = image_ids(ds)
    by_name = ds.by_name()
    chosen = [by_name[n] for n in (names if names is not None else sorted(by_name, key=str.lower))]
    images, annotations = [], []
    for im in chosen:
        rec = {"id": ids[im.name], "file_name": file_name(im) if file_name else im.name,
               "width": im.width, "height": im.height}
        if im.meta is not None:
            rec.update(light=im.meta.light, inout=im.meta.inout, exdark_split=im.meta.split)
        images.append(rec)
        for b in im.boxes:
            x, y, w, h = b.xywh
            annotations.append({"id": len(annotations) + 1, "image_id": ids[im.name],
                                "category_id": EXDARK_CLASSES.index(b.cls) + 1, "bbox": [x, y, w, h],
                                "area": w * h, "iscrowd": 0})
    return {"info": {"description": f"ExDark ({ds.layout} layout at {ds.root})"}, "images": images,
            "annotations": annotations, "categories": CATEGORIES}


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # file systems without symlinks: copy instead
        shutil.copy2(src, dst)


def _stored_pixels(im: ExDarkImage, folder: Path) -> Path:
    """The original file, or a PNG of its stored pixels when EXIF orientation would make loaders rotate it.

    ExDark boxes are in stored-pixel coordinates, while cv2 (ultralytics, mmcv) applies EXIF orientation.
    """
    from PIL import Image

    with Image.open(im.path) as pil:
        orientation = pil.getexif().get(0x0112, 1)
    if orientation in (None, 1):
        return im.path
    dst = folder / f"{im.stem}.png"
    if not dst.is_file():
        imwrite_rgb(dst, read_image_raw(im.path))
    return dst


def export_dataset(ds: ExDarkDataset, split: Split, out: str | os.PathLike,
                   image_source: Callable[[ExDarkImage], Path] | None = None) -> dict[str, Path]:
    """Write ``out/images/<subset>/``, ``out/labels/<subset>/*.txt`` (YOLO), ``out/annotations/<subset>.json``
    (COCO) and ``out/data.yaml`` (ultralytics) for every non-empty subset of ``split``.

    Args:
        ds: the dataset.
        split: which images go to which subset.
        out: export folder (images are symlinks, so it stays small).
        image_source: image -> file to use (e.g. the cached enhanced image); the original when None (or a PNG
            of its stored pixels if it carries an EXIF rotation).

    Returns:
        ``{"yaml": ..., "<subset>_json": ...}`` paths.
    """
    out = Path(out)
    by_name = ds.by_name()
    paths: dict[str, Path] = {}
    for subset, names in split.subsets.items():
        if not names:
            continue
        stored: dict[str, str] = {}
        for name in names:
            im = by_name[name]
            src = Path(image_source(im)) if image_source else _stored_pixels(im, out / "raw")
            fname = f"{im.stem}{src.suffix}"
            stored[name] = fname
            _link(src, out / "images" / subset / fname)
            lines = []
            for b in im.boxes:
                cx, cy = (b.x1 + b.x2) / 2 / im.width, (b.y1 + b.y2) / 2 / im.height
                bw, bh = (b.x2 - b.x1) / im.width, (b.y2 - b.y1) / im.height
                lines.append(f"{EXDARK_CLASSES.index(b.cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
            atomic_write_text(out / "labels" / subset / f"{im.stem}.txt", "".join(f"{ln}\n" for ln in lines))
        paths[f"{subset}_json"] = out / "annotations" / f"{subset}.json"
        atomic_write_json(paths[f"{subset}_json"], coco_dict(ds, names, lambda im, s=stored: s[im.name]))
    present = [s for s in ("train", "val", "test") if split.subsets.get(s)]
    if not present:
        raise ValueError(f"split {split.protocol!r} is empty; nothing to export")
    # ultralytics needs a val set: the official val, else test (random split), else train
    val = next(s for s in ("val", "test", "train") if s in present)
    yaml_lines = [f"path: {out.resolve()}", f"train: images/{present[0] if 'train' not in present else 'train'}",
                  f"val: images/{val}"]
    if split.subsets.get("test"):
        yaml_lines.append("test: images/test")
    yaml_lines.append("names:")
    yaml_lines += [f"  {i}: {c}" for i, c in enumerate(EXDARK_CLASSES)]
    paths["yaml"] = out / "data.yaml"
    atomic_write_text(paths["yaml"], "\n".join(yaml_lines) + "\n")
    atomic_write_json(out / "split.json", split.to_dict())
    return paths

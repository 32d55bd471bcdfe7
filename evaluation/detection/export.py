"""Export a detection dataset (original or enhanced images) as COCO json (pycocotools, mmdet) and as an
ultralytics dataset.

Image ids are 1-based positions in the name-sorted samples of the dataset, so ids agree between subsets and runs;
category ids are 1..K in the dataset's class order.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from evaluation.datasets.base import Dataset, Sample, read_image_raw
from evaluation.datasets.splits import Split
from uptflow.utils.io import atomic_write_json, atomic_write_text, imwrite_rgb

__all__ = ["categories", "image_ids", "coco_dict", "export_dataset"]

# image metadata copied into the COCO images records (used by the score breakdowns)
_IMAGE_META = ("light", "inout", "exdark_split")


def categories(ds: Dataset) -> list[dict]:
    """COCO categories 1..K of the dataset's classes."""
    return [{"id": i + 1, "name": c, "supercategory": ds.type} for i, c in enumerate(ds.classes)]


def image_ids(ds: Dataset) -> dict[str, int]:
    """Stable COCO image id per sample name."""
    return {s.name: i + 1 for i, s in enumerate(sorted(ds.samples, key=lambda s: s.name.lower()))}


def coco_dict(ds: Dataset, names: list[str] | None = None, file_name: Callable[[Sample], str] | None = None) -> dict:
    """COCO ground truth for ``names`` (all samples when None); ``file_name`` maps a sample to its stored name."""
    ids = image_ids(ds)
    by_name = {s.name: s for s in ds.samples}
    chosen = [by_name[n] for n in (names if names is not None else sorted(by_name, key=str.lower))]
    cat = {c: i + 1 for i, c in enumerate(ds.classes)}
    images, annotations = [], []
    for s in chosen:
        w_img, h_img = s.size
        rec = {"id": ids[s.name], "file_name": file_name(s) if file_name else s.name, "width": w_img, "height": h_img}
        rec.update({k: s.meta[k] for k in _IMAGE_META if k in s.meta})
        images.append(rec)
        for b in s.boxes or ():
            x, y, w, h = b.xywh
            annotations.append({"id": len(annotations) + 1, "image_id": ids[s.name], "category_id": cat[b.cls],
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": int(b.crowd)})
    return {"info": {"description": f"{ds.type} at {ds.root}"}, "images": images, "annotations": annotations,
            "categories": categories(ds)}


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # file systems without symlinks: copy instead
        shutil.copy2(src, dst)


def _stored_pixels(s: Sample, folder: Path) -> Path:
    """The original file, or a PNG of its stored pixels when EXIF orientation would make loaders rotate it.

    ExDark boxes are in stored-pixel coordinates, while cv2 (ultralytics, mmcv) applies EXIF orientation.
    """
    from uptflow.utils.io import open_image

    with open_image(s.path) as pil:
        orientation = pil.getexif().get(0x0112, 1)
    if orientation in (None, 1):
        return s.path
    dst = folder / f"{s.stem}.png"
    if not dst.is_file():
        imwrite_rgb(dst, read_image_raw(s.path))
    return dst


def export_dataset(ds: Dataset, split: Split, out: str | os.PathLike,
                   image_source: Callable[[Sample], Path] | None = None) -> dict[str, Path]:
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
    by_name = {s.name: s for s in ds.samples}
    paths: dict[str, Path] = {}
    for subset, names in split.subsets.items():
        if not names:
            continue
        stored: dict[str, str] = {}
        for name in names:
            s = by_name[name]
            src = Path(image_source(s)) if image_source else _stored_pixels(s, out / "raw")
            fname = f"{s.stem}{src.suffix}"
            stored[name] = fname
            _link(src, out / "images" / subset / fname)
            w_img, h_img = s.size
            lines = []
            for b in s.boxes or ():
                cx, cy = (b.x1 + b.x2) / 2 / w_img, (b.y1 + b.y2) / 2 / h_img
                bw, bh = (b.x2 - b.x1) / w_img, (b.y2 - b.y1) / h_img
                lines.append(f"{ds.classes.index(b.cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
            atomic_write_text(out / "labels" / subset / f"{s.stem}.txt", "".join(f"{ln}\n" for ln in lines))
        paths[f"{subset}_json"] = out / "annotations" / f"{subset}.json"
        atomic_write_json(paths[f"{subset}_json"], coco_dict(ds, names, lambda x, st=stored: st[x.name]))
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
    yaml_lines += [f"  {i}: {c}" for i, c in enumerate(ds.classes)]
    paths["yaml"] = out / "data.yaml"
    atomic_write_text(paths["yaml"], "\n".join(yaml_lines) + "\n")
    atomic_write_json(out / "split.json", split.to_dict())
    return paths

"""ExDark detection run: read, split, (enhance, cached), detect, score; resumable, every number with its protocol.

Outputs in ``out``: ``predictions.json`` (COCO results), ``gt_coco.json`` (COCO ground truth of the evaluated
images, file names included), ``split.json``, ``metrics.json`` (protocol + every number as a row) and tables
``overall``, ``per_class``, ``per_light``, ``per_inout`` as CSV and Markdown. Per-image predictions are appended to
``out/.work/predictions.jsonl`` so an interrupted run continues where it stopped.
"""

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from uptflow.utils.io import atomic_write_json, atomic_write_text

from .detectors import Detections, build_detector, exdark_class_map
from .exdark import EXDARK_CLASSES, read_exdark, read_image_raw
from .export import coco_dict, image_ids
from .scoring import score_all
from .splits import make_split

__all__ = ["run_exdark_detection", "detections_to_coco"]

log = logging.getLogger(__name__)

METRIC_VARIANTS = {
    "coco": "pycocotools COCOeval bbox, 101-point interpolation, maxDets=100",
    "voc": "VOC mAP@0.5, eval_mode='area', legacy +1 pixel coordinates (mmdet 3.x VOCMetric)",
}


def detections_to_coco(dets: Detections, image_id: int, label_map: dict[int, str]) -> list[dict]:
    """COCO results for one image; labels missing from ``label_map`` (non-ExDark COCO classes) are dropped."""
    out = []
    for (x1, y1, x2, y2), s, lab in zip(dets.boxes.tolist(), dets.scores.tolist(), dets.labels.tolist(), strict=True):
        cls = label_map.get(int(lab))
        if cls is None:
            continue
        out.append({"image_id": image_id, "category_id": EXDARK_CLASSES.index(cls) + 1,
                    "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                    "score": round(float(s), 5)})
    return out


def _load_partial(path: Path) -> dict[str, list[dict]]:
    done: dict[str, list[dict]] = {}
    if not path.is_file():
        return done
    lines = path.read_text(encoding="utf-8").splitlines()
    for no, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if no == len(lines):  # the last line of an interrupted run may be cut short: drop it, redo that image
                log.warning("%s:%d is incomplete (interrupted run); that image is detected again", path, no)
                atomic_write_text(path, "".join(f"{ln}\n" for ln in lines[:-1]))
                break
            raise ValueError(f"{path}:{no}: corrupt line in the partial predictions; delete {path.parent} "
                             "to start over") from None
        done[rec["image"]] = rec["results"]
    return done


def _enhancer(enhancer: Any, weights: str | None, device: str, cache_root: str | None):
    if enhancer is None or enhancer == "none":
        return None, {"name": "none"}
    from uptflow.enhancers import build_enhancer
    from uptflow.plugins.cache import EnhancedImageCache

    if isinstance(enhancer, EnhancedImageCache):
        cache = enhancer
    else:
        if isinstance(enhancer, str):
            enhancer = build_enhancer(enhancer, weights=weights, device=device)
        cache = EnhancedImageCache(enhancer, root=cache_root, weights=weights)
    return cache, dict(cache.identity, cache_key=cache.key)


def run_exdark_detection(data: str | os.PathLike, out: str | os.PathLike, split: str = "official",
                         subset: str = "test", seed: int = 0, classlist: str | None = None, detector: str = "yolov8",
                         weights: str | None = None, config: str | None = None, imgsz: int = 640,
                         conf: float = 0.001, enhancer: Any = None, enhancer_weights: str | None = None,
                         device: str = "cpu", cache_dir: str | None = None, pretraining: str | None = None,
                         class_map: str = "auto",
                         limit: int | None = None, overwrite: bool = False, progress: bool = True) -> dict[str, Any]:
    """Enhance (optional), detect and score ExDark images; see the module docstring for the outputs.

    Args:
        data: ExDark root (official or flat layout).
        out: output folder.
        split: 'official' (imageclasslist.txt) or 'random' (seeded 80/20, MAET/IAT).
        subset: 'test', 'train', 'val' or 'all' (zero-shot evaluation of a COCO model may use 'all').
        seed: seed of the random split.
        classlist: imageclasslist.txt (found next to the data when None).
        detector: registered detector name ('yolov8', 'ultralytics', 'mmdet').
        weights: detector weights (.pt / .yaml for ultralytics, checkpoint for mmdet).
        config: mmdet config.
        imgsz: ultralytics inference size.
        conf: ultralytics score threshold.
        enhancer: registered enhancer name, an Enhancer (built with any parameters), an EnhancedImageCache,
            or None / 'none' for the original images.
        enhancer_weights: enhancer weights file.
        device: torch device.
        cache_dir: root of the enhanced-image cache.
        pretraining: text for the protocol record (inferred from the detector's classes when None).
        class_map: 'auto' (by class name), or 'coco' / 'exdark' to map labels by index (see exdark_class_map).
        limit: evaluate only the first ``limit`` images of the subset (smoke runs; recorded in the protocol).
        overwrite: discard partial results of a run with a different protocol instead of refusing.
        progress: show a tqdm bar.

    Returns:
        The metrics dict written to ``out/metrics.json``.
    """
    out = Path(out)
    ds = read_exdark(data, classlist)
    sp = make_split(ds, split, seed)
    names = sp.names(subset)
    if limit is not None:
        names = names[:limit]
    if not names:
        raise ValueError(f"the {split!r} split has no {subset!r} images among the {len(ds.images)} images of "
                         f"{ds.root} (counts {sp.to_dict()['counts']}); for zero-shot scoring use subset 'all'")
    det_kw: dict[str, Any] = {"weights": weights, "device": device}
    if detector == "mmdet":
        det_kw["config"] = config
    else:
        det_kw.update(imgsz=imgsz, conf=conf)
    det = build_detector(detector, **det_kw)
    kind, label_map = exdark_class_map(det.class_names, class_map)
    cache, enh_ident = _enhancer(enhancer, enhancer_weights, device, cache_dir)
    protocol = {
        "dataset": {"name": "ExDark", "root": str(ds.root), "layout": ds.layout, "n_images": len(ds.images),
                    "classlist": str(ds.classlist) if ds.classlist else None},
        "split": {"protocol": sp.protocol, "seed": sp.seed, "subset": subset, "n_images": len(names), "limit": limit,
                  "description": sp.description},
        "detector": det.protocol(),
        "class_map": kind,
        "pretraining": pretraining or ("COCO (zero-shot, ExDark<-COCO class map)" if kind == "coco-zero-shot"
                                       else "trained on ExDark classes (see weights)"),
        "enhancer": enh_ident,
        "image_loading": "stored pixel order, EXIF orientation ignored (as annotated)",
        "metric_variants": METRIC_VARIANTS,
    }
    work = out / ".work"
    proto_path, partial = work / "protocol.json", work / "predictions.jsonl"
    if proto_path.is_file():
        old = json.loads(proto_path.read_text(encoding="utf-8"))
        if old != json.loads(json.dumps(protocol, default=str)):
            if not overwrite:
                raise ValueError(f"{out} holds partial results of a different run ({proto_path}); use another --out "
                                 "or --overwrite to discard them")
            partial.unlink(missing_ok=True)
    atomic_write_json(proto_path, protocol)
    done = _load_partial(partial)
    ids = image_ids(ds)
    by_name = ds.by_name()
    todo = [n for n in names if n not in done]
    if done:
        log.info("resuming: %d of %d images already detected", len(names) - len(todo), len(names))
    with open(partial, "a", encoding="utf-8") as f:
        for name in tqdm(todo, desc="ExDark detect", unit="img", disable=not progress):
            img = read_image_raw(by_name[name].path)
            if cache is not None:
                img = cache(img)
            res = detections_to_coco(det.detect(img), ids[name], label_map)
            f.write(json.dumps({"image": name, "results": res}) + "\n")
            f.flush()
            os.fsync(f.fileno())
            done[name] = res
    results = [r for n in names for r in done[n]]
    gt = coco_dict(ds, names)
    atomic_write_json(out / "predictions.json", results)
    atomic_write_json(out / "gt_coco.json", gt)
    atomic_write_json(out / "split.json", sp.to_dict())
    scores = score_all(gt, results)
    metrics = {"protocol": protocol, "reader_stats": {k: v for k, v in ds.stats.items() if k != "clipped"},
               "clipped_boxes": ds.stats["clipped"], "scores": scores, "rows": _rows(scores, protocol)}
    if cache is not None:
        metrics["enhancer_cache"] = {"dir": str(cache.dir), "hits": cache.hits, "misses": cache.misses}
    atomic_write_json(out / "metrics.json", metrics)
    write_tables(scores, protocol, out)
    return metrics


def _protocol_columns(protocol: dict) -> dict[str, Any]:
    d = protocol["detector"]
    return {"split": f"{protocol['split']['protocol']}:{protocol['split']['subset']}",
            "detector": d.get("detector"), "weights": Path(str(d.get("weights"))).name,
            "pretraining": protocol["pretraining"], "input_size": d.get("input_size"),
            "enhancer": protocol["enhancer"]["name"]}


def _rows(scores: dict, protocol: dict) -> list[dict]:
    """Every number as one row carrying its protocol columns and metric variant."""
    cols = _protocol_columns(protocol)
    rows = []
    for m in ("AP", "AP50", "AP75"):
        rows.append(dict(cols, metric=f"COCO {m}", group="all", variant=METRIC_VARIANTS["coco"],
                         value=scores["coco"][m]))
    rows.append(dict(cols, metric="VOC mAP50", group="all", variant=METRIC_VARIANTS["voc"],
                     value=scores["voc"]["mAP50"]))
    for cls in EXDARK_CLASSES:
        rows.append(dict(cols, metric="COCO AP50", group=f"class:{cls}", variant=METRIC_VARIANTS["coco"],
                         value=scores["coco"]["per_class_AP50"][cls]))
        rows.append(dict(cols, metric="VOC AP50", group=f"class:{cls}", variant=METRIC_VARIANTS["voc"],
                         value=scores["voc"]["per_class_AP50"][cls]))
    for key, groups in scores["breakdown"].items():
        for value, s in groups.items():
            rows.append(dict(cols, metric="COCO AP50", group=f"{key}:{value}", variant=METRIC_VARIANTS["coco"],
                             value=s["coco_AP50"]))
            rows.append(dict(cols, metric="VOC mAP50", group=f"{key}:{value}", variant=METRIC_VARIANTS["voc"],
                             value=s["voc_mAP50"]))
    return rows


def _pct(v: float) -> float:
    return round(100.0 * v, 1) if v == v else v


def write_tables(scores: dict, protocol: dict, out: Path) -> dict[str, pd.DataFrame]:
    """Write overall / per_class / per_light / per_inout tables (percent) as CSV and Markdown; return them."""
    cols = _protocol_columns(protocol)
    header = "Protocol: " + ", ".join(f"{k}={v}" for k, v in cols.items()) + "\n\n"
    c, v = scores["coco"], scores["voc"]
    tables = {
        "overall": pd.DataFrame([dict(cols, **{
            "COCO AP": _pct(c["AP"]), "COCO AP50": _pct(c["AP50"]), "COCO AP75": _pct(c["AP75"]),
            "VOC mAP50": _pct(v["mAP50"]), "images": c["n_images"], "boxes": c["n_gt"], "detections": c["n_dets"]})]),
        "per_class": pd.DataFrame([{"class": k, "COCO AP50": _pct(c["per_class_AP50"][k]),
                                    "VOC AP50": _pct(v["per_class_AP50"][k])} for k in EXDARK_CLASSES]),
    }
    for key in ("light", "inout"):
        tables[f"per_{key}"] = pd.DataFrame(
            [{key: name, "images": s["n_images"], "boxes": s["n_gt"], "COCO AP50": _pct(s["coco_AP50"]),
              "VOC mAP50": _pct(s["voc_mAP50"])} for name, s in scores["breakdown"].get(key, {}).items()],
            columns=[key, "images", "boxes", "COCO AP50", "VOC mAP50"])
    for name, df in tables.items():
        atomic_write_text(out / f"{name}.csv", df.to_csv(index=False))
        atomic_write_text(out / f"{name}.md", header + df.to_markdown(index=False) + "\n")
    return tables

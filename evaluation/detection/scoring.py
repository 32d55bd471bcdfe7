"""Detection scores from one COCO results list: pycocotools COCOeval and VOC mAP@0.5 as mmdet's VOCMetric does it.

* COCO: AP (0.5:0.95), AP50, AP75, AP small / medium / large and per-class AP50 (101-point interpolation,
  maxDets=100), by pycocotools; this is the project's one pycocotools wrapper.
* VOC: mAP@0.5 with ``eval_mode='area'`` and mmdet's legacy pixel convention (``w = x2 - x1 + 1``), exactly the
  call mmdet 3.x ``VOCMetric`` makes; mmdet's ``eval_map`` is used when mmdet imports, otherwise the
  re-implementation below (kept so scoring works without the compiled mmcv stack; tested equal to mmdet's).
* Breakdowns: AP50 per value of image metadata stored in the GT json (ExDark: lighting condition, indoor/outdoor).

Scores are fractions in [0, 1]; tables convert them with ``evaluation.metrics.to_table``.

Empty predictions give NaN with a warning instead of an exception.
"""

import contextlib
import io
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["coco_scores", "voc_scores", "voc_eval_map", "score_all"]

_NAN = float("nan")


def _quiet() -> contextlib.AbstractContextManager:
    return contextlib.redirect_stdout(io.StringIO())  # pycocotools prints progress on stdout


def _subset_gt(gt: dict, img_ids: Iterable[int] | None) -> tuple[dict, set[int]]:
    ids = {im["id"] for im in gt["images"]} if img_ids is None else set(img_ids)
    sub = dict(gt, images=[im for im in gt["images"] if im["id"] in ids],
               annotations=[a for a in gt["annotations"] if a["image_id"] in ids])
    return sub, ids


def coco_scores(gt: dict, results: list[dict], img_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """COCOeval bbox scores of ``results`` on the ``img_ids`` images of ``gt`` (all when None).

    Returns:
        ``{"AP", "AP50", "AP75", "APs", "APm", "APl", "per_class_AP50": {name: ap}, "n_images", "n_gt", "n_dets"}``;
        NaN where undefined (no predictions, or a class / size without ground truth).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    sub, ids = _subset_gt(gt, img_ids)
    dets = [r for r in results if r["image_id"] in ids]
    names = {c["id"]: c["name"] for c in gt["categories"]}
    out: dict[str, Any] = {"AP": _NAN, "AP50": _NAN, "AP75": _NAN, "APs": _NAN, "APm": _NAN, "APl": _NAN,
                           "per_class_AP50": {n: _NAN for n in names.values()},
                           "n_images": len(sub["images"]), "n_gt": len(sub["annotations"]), "n_dets": len(dets)}
    if not dets:
        warnings.warn(f"no predictions on the {len(ids)} evaluated images: COCO AP is NaN", stacklevel=2)
        return out
    with _quiet():
        coco_gt = COCO()
        coco_gt.dataset = sub
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.imgIds = sorted(ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out["AP"], out["AP50"], out["AP75"], out["APs"], out["APm"], out["APl"] = (_nan_if_neg(v) for v in ev.stats[:6])
    prec = ev.eval["precision"]  # [T, R, K, A, M]; T=0 is IoU 0.5, A=0 all areas, M=-1 maxDets 100
    for k, cat_id in enumerate(ev.params.catIds):
        p = prec[0, :, k, 0, -1]
        out["per_class_AP50"][names[cat_id]] = float(np.mean(p[p > -1])) if (p > -1).any() else _NAN
    return out


def _nan_if_neg(v: float) -> float:
    return float(v) if v >= 0 else _NAN


def _voc_inputs(sub: dict, dets: list[dict]) -> tuple[list, list]:
    cat_index = {c["id"]: k for k, c in enumerate(gt_cats(sub))}
    n_cls = len(cat_index)
    det_results, annotations = [], []
    by_img: dict[int, list] = {im["id"]: [] for im in sub["images"]}
    for d in dets:
        by_img[d["image_id"]].append(d)
    gts: dict[int, list] = {im["id"]: [] for im in sub["images"]}
    for a in sub["annotations"]:
        gts[a["image_id"]].append(a)
    for im in sub["images"]:
        per_cls = [[] for _ in range(n_cls)]
        for d in by_img[im["id"]]:
            x, y, w, h = d["bbox"]
            per_cls[cat_index[d["category_id"]]].append([x, y, x + w, y + h, d["score"]])
        det_results.append([np.asarray(c, dtype=np.float32).reshape(-1, 5) for c in per_cls])
        g = gts[im["id"]]
        annotations.append({
            "bboxes": np.asarray([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                                  for a in g], dtype=np.float32).reshape(-1, 4),
            "labels": np.asarray([cat_index[a["category_id"]] for a in g], dtype=np.int64),
            "bboxes_ignore": np.zeros((0, 4), dtype=np.float32),
            "labels_ignore": np.zeros((0,), dtype=np.int64),
        })
    return det_results, annotations


def gt_cats(gt: dict) -> list[dict]:
    """Categories sorted by id (the label order used for VOC evaluation)."""
    return sorted(gt["categories"], key=lambda c: c["id"])


def voc_eval_map(det_results: list, annotations: list, iou_thr: float = 0.5) -> tuple[float, list[dict]]:
    """VOC 'area' mAP with the legacy +1 pixel convention, like mmdet ``eval_map(..., use_legacy_coordinate=True)``.

    Written out because mmdet needs the compiled mmcv stack to import; inputs and outputs follow ``eval_map``
    (per image a list of [n,5] arrays per class; per image a dict with bboxes/labels). mAP averages the
    classes that have ground truth.
    """
    n_cls = len(det_results[0]) if det_results else 0
    results = []
    for c in range(n_cls):
        tps, fps, scores, n_gt = [], [], [], 0
        for dets_img, ann in zip(det_results, annotations, strict=True):
            dets = np.asarray(dets_img[c], dtype=np.float32).reshape(-1, 5)
            gts = ann["bboxes"][ann["labels"] == c]
            n_gt += len(gts)
            tp, fp = _tpfp(dets, gts, iou_thr)
            tps.append(tp)
            fps.append(fp)
            scores.append(dets[:, 4])
        order = np.argsort(-np.concatenate(scores)) if scores else np.zeros(0, int)
        tp = np.cumsum(np.concatenate(tps)[order]) if tps else np.zeros(0)
        fp = np.cumsum(np.concatenate(fps)[order]) if fps else np.zeros(0)
        eps = np.finfo(np.float32).eps
        recall = tp / max(n_gt, eps)
        precision = tp / np.maximum(tp + fp, eps)
        results.append({"num_gts": n_gt, "num_dets": len(order), "ap": _area_ap(recall, precision)})
    aps = [r["ap"] for r in results if r["num_gts"] > 0]
    return (float(np.mean(aps)) if aps else 0.0), results


def _tpfp(dets: np.ndarray, gts: np.ndarray, iou_thr: float) -> tuple[np.ndarray, np.ndarray]:
    tp = np.zeros(len(dets), dtype=np.float32)
    fp = np.zeros(len(dets), dtype=np.float32)
    if len(gts) == 0:
        fp[:] = 1
        return tp, fp
    if len(dets) == 0:
        return tp, fp
    ious = _iou_legacy(dets[:, :4], gts)
    best, arg = ious.max(axis=1), ious.argmax(axis=1)
    covered = np.zeros(len(gts), dtype=bool)
    for i in np.argsort(-dets[:, 4]):
        if best[i] >= iou_thr and not covered[arg[i]]:
            covered[arg[i]] = True
            tp[i] = 1
        else:
            fp[i] = 1
    return tp, fp


def _iou_legacy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    w = np.maximum(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1, 0)
    h = np.maximum(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1, 0)
    inter = w * h
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


def _area_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _mmdet_eval_map():
    try:
        from mmdet.evaluation.functional import eval_map
    except Exception:  # noqa: BLE001 - mmdet absent or its compiled mmcv missing: use the re-implementation
        return None
    return eval_map


def voc_scores(gt: dict, results: list[dict], img_ids: Iterable[int] | None = None, iou_thr: float = 0.5,
               use_mmdet: bool | None = None) -> dict[str, Any]:
    """VOC mAP@``iou_thr`` ('area', legacy coordinates) and per-class AP on the ``img_ids`` images of ``gt``.

    Args:
        gt: COCO ground-truth dict.
        results: COCO results list.
        img_ids: image ids to evaluate (all when None).
        iou_thr: IoU threshold.
        use_mmdet: force (True) or forbid (False) mmdet's eval_map; default: mmdet's when importable.
    """
    sub, ids = _subset_gt(gt, img_ids)
    dets = [r for r in results if r["image_id"] in ids]
    names = [c["name"] for c in gt_cats(gt)]
    out: dict[str, Any] = {"mAP50": _NAN, "per_class_AP50": {n: _NAN for n in names}, "n_images": len(sub["images"]),
                           "n_gt": len(sub["annotations"]), "n_dets": len(dets), "implementation": None}
    if not dets:
        warnings.warn(f"no predictions on the {len(ids)} evaluated images: VOC mAP is NaN", stacklevel=2)
        return out
    if not sub["annotations"]:
        warnings.warn("no ground-truth boxes on the evaluated images: VOC mAP is NaN", stacklevel=2)
        return out
    det_results, annotations = _voc_inputs(sub, dets)
    eval_map = _mmdet_eval_map() if use_mmdet in (None, True) else None
    if use_mmdet and eval_map is None:
        raise ImportError("use_mmdet=True but mmdet.evaluation.functional.eval_map cannot be imported")
    if eval_map is not None:
        with _quiet():
            mean_ap, per = eval_map(det_results, annotations, iou_thr=iou_thr, dataset=names, logger="silent",
                                    eval_mode="area", use_legacy_coordinate=True, nproc=1)
        out["implementation"] = "mmdet.evaluation.functional.eval_map"
    else:
        mean_ap, per = voc_eval_map(det_results, annotations, iou_thr)
        out["implementation"] = "evaluation.detection.scoring.voc_eval_map"
    out["mAP50"] = float(mean_ap)
    for n, r in zip(names, per, strict=True):
        out["per_class_AP50"][n] = float(r["ap"]) if r["num_gts"] > 0 else _NAN
    return out


def score_all(gt: dict, results: list[dict], breakdown: tuple[str, ...] = ("light", "inout")) -> dict[str, Any]:
    """Overall COCO + VOC scores, per-class AP50 and AP50 per value of the ``breakdown`` image metadata keys."""
    overall_coco = coco_scores(gt, results)
    overall_voc = voc_scores(gt, results)
    groups: dict[str, dict[str, list[int]]] = {key: {} for key in breakdown}
    for im in gt["images"]:
        for key in breakdown:
            if im.get(key):
                groups[key].setdefault(im[key], []).append(im["id"])
    out: dict[str, dict[str, Any]] = {}
    for key, members in groups.items():
        out[key] = {}
        for value, ids in members.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty group is reported as NaN in the table, once is enough
                c, v = coco_scores(gt, results, ids), voc_scores(gt, results, ids)
            out[key][value] = {"n_images": len(ids), "n_gt": c["n_gt"], "coco_AP50": c["AP50"],
                               "voc_mAP50": v["mAP50"]}
    return {"coco": overall_coco, "voc": overall_voc, "breakdown": {k: v for k, v in out.items() if v}}

"""The night-traffic benchmark: per (video part, enhancer) no-reference quality, detections and temporal stability.

For every sampled frame of every part, the frame is enhanced and scored with LOE (input vs enhanced), NIQE and
BRISQUE (``uptflow.metrics``; the paper's NTM table), run through a COCO detector (vehicle and person counts and
confidences; COCO mAP when annotations are given) and fed to the flicker meter (``stability.py``).

Outputs in ``out_dir``: ``traffic.csv/.md`` (one row per part x enhancer), ``ntm.md`` (LOE / NIQE / BRISQUE laid
out like the paper's table), ``frames.csv`` (per-frame scores and counts), ``detections/<part>__<enhancer>.csv``
(every box) and ``parts/<part>__<enhancer>.json`` (finished units; a rerun skips them).
"""

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from evaluation.traffic.frames import FrameSource
from evaluation.traffic.stability import FlickerMeter
from uptflow.utils.io import atomic_write_json, atomic_write_text, imwrite_rgb

__all__ = ["VEHICLE_CLASSES", "PERSON_CLASSES", "evaluate_part", "run_traffic", "coco_map", "ntm_table"]

# COCO classes counted as road vehicles and as people
VEHICLE_CLASSES = ("bicycle", "car", "motorcycle", "bus", "truck")
PERSON_CLASSES = ("person",)


class _NoReference:
    """LOE / NIQE / BRISQUE from uptflow.metrics (the BRISQUE SVM is loaded once)."""

    def __init__(self) -> None:
        from uptflow.metrics.brisque import brisque, load_brisque_model
        from uptflow.metrics.loe import DEFAULT_SHORT_SIDE, loe
        from uptflow.metrics.niqe import niqe

        self._loe, self._niqe, self._brisque = loe, niqe, brisque
        self._model = load_brisque_model()
        self.settings = dict(loe_short_side=DEFAULT_SHORT_SIDE, niqe="MATLAB release, grey", brisque="libsvm model")

    def __call__(self, inp: np.ndarray, out: np.ndarray) -> dict[str, float]:
        return dict(LOE=self._loe(inp, out), NIQE=self._niqe(out), BRISQUE=self._brisque(out, self._model))


def _detections(detector: Any, img: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Run an ``evaluation.detection.detectors.Detector``; return (boxes [N,4] xyxy, scores [N], class names [N])."""
    det = detector.detect(img)
    return det.boxes, det.scores, [det.names[int(i)] for i in det.labels]


def _describe(detector: Any) -> Any:
    return None if detector is None else detector.protocol()


def evaluate_part(source: FrameSource, enhancer: Any, enhancer_name: str, out_dir: str | os.PathLike,
                  detector: Any = None, no_reference: Any = None, conf: float = 0.25, flow_side: int = 320,
                  save_frames: bool = False, progress: bool = True) -> tuple[dict, list[dict], list[dict]]:
    """Score one part with one enhancer; return (table row, per-frame rows, detection rows).

    Args:
        source: frames of the part.
        enhancer: callable uint8 RGB -> uint8 RGB, or None to use the input as is.
        enhancer_name: name in tables ("none" for the input).
        out_dir: run folder (enhanced frames go to ``frames/<part>/<enhancer>/`` with ``save_frames``).
        detector: an ``evaluation.detection.detectors.Detector`` (COCO classes), or None to skip detection.
        no_reference: callable (input, enhanced) -> dict of LOE / NIQE / BRISQUE, or None to skip.
        conf: confidence threshold for the vehicle / person counts.
        flow_side: resolution of the flicker measurement (long side, pixels).
        save_frames: also write the enhanced frames.
        progress: show a tqdm bar.
    """
    flicker = FlickerMeter(flow_side=flow_side)
    frames, dets = [], []
    enhance_s = 0.0
    for fr in tqdm(source, desc=f"{source.name}/{enhancer_name}", unit="frame", disable=not progress):
        t0 = time.perf_counter()
        out = fr.image if enhancer is None else enhancer(fr.image)
        enhance_s += time.perf_counter() - t0
        if save_frames:
            imwrite_rgb(Path(out_dir) / "frames" / source.name / enhancer_name / Path(fr.name).with_suffix(".png"),
                        out)
        row: dict[str, Any] = dict(part=source.name, enhancer=enhancer_name, frame=fr.name, index=fr.index,
                                   time_s=fr.time_s)
        if no_reference is not None:
            row.update(no_reference(fr.image, out))
        if detector is not None:
            boxes, scores, cls = _detections(detector, out)
            for b, s, c in zip(boxes, scores, cls, strict=True):
                dets.append(dict(part=source.name, enhancer=enhancer_name, frame=fr.name, index=fr.index,
                                 time_s=fr.time_s, cls=c, score=float(s), x1=b[0], y1=b[1], x2=b[2], y2=b[3]))
            for group, names in (("vehicles", VEHICLE_CLASSES), ("persons", PERSON_CLASSES)):
                keep = [s for s, c in zip(scores, cls, strict=True) if c in names and s >= conf]
                row[group] = len(keep)
                row[f"{group}_conf"] = float(np.mean(keep)) if keep else float("nan")
        step = flicker.update(fr.image, out)
        if step is not None:
            row.update(rel_dL_in=step["in_rel_dL"], rel_dL_out=step["out_rel_dL"],
                       rel_warp_in=step["in_rel_warp_err"], rel_warp_out=step["out_rel_warp_err"])
        frames.append(row)
    if not frames:
        raise ValueError(f"{source.path}: no frames were read")
    fdf = pd.DataFrame(frames)
    summary: dict[str, Any] = dict(part=source.name, enhancer=enhancer_name, frames=len(frames),
                                   enhance_s_per_frame=enhance_s / len(frames))
    for k in ("LOE", "NIQE", "BRISQUE"):
        if k in fdf:
            summary[k] = float(fdf[k].mean())
    if detector is not None:
        for group in ("vehicles", "persons"):
            summary[f"{group}_per_frame"] = float(fdf[group].mean())
            # confidence over all kept boxes of the part (not a mean of per-frame means)
            names = VEHICLE_CLASSES if group == "vehicles" else PERSON_CLASSES
            sc = [d["score"] for d in dets if d["cls"] in names and d["score"] >= conf]
            summary[f"{group}_conf"] = float(np.mean(sc)) if sc else float("nan")
    fl = flicker.summary()
    summary.update(flicker_ratio=fl["flicker_ratio"], warp_ratio=fl["warp_ratio"], rel_dL_in=fl["in_rel_dL"],
                   rel_dL_out=fl["out_rel_dL"], rel_warp_in=fl["in_rel_warp_err"],
                   rel_warp_out=fl["out_rel_warp_err"], dL_out=fl["out_dL"])
    return summary, frames, dets


def coco_map(ann_file: str | os.PathLike, dets: list[dict]) -> dict[str, float]:
    """COCO bbox AP / AP50 / AP75 of ``dets`` (rows with frame, cls, score, x1..y2) on the annotated frames.

    Frames are matched to ``images[].file_name`` by base name and classes to ``categories[].name``
    (case-insensitive); only annotated frames and categories the detector knows are scored.
    """
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
    by_name = {Path(im["file_name"]).name: im["id"] for im in gt.dataset["images"]}
    by_stem = {Path(n).stem: i for n, i in by_name.items()}
    cats = {c["name"].lower(): c["id"] for c in gt.dataset["categories"]}
    results, img_ids = [], set()
    for d in dets:
        img_id = by_name.get(d["frame"], by_stem.get(Path(d["frame"]).stem))
        if img_id is None:
            continue
        img_ids.add(img_id)
        cat = cats.get(str(d["cls"]).lower())
        if cat is None:
            continue
        results.append(dict(image_id=img_id, category_id=cat, score=d["score"],
                            bbox=[d["x1"], d["y1"], d["x2"] - d["x1"], d["y2"] - d["y1"]]))
    frames = {d["frame"] for d in dets}
    matched = {f for f in frames if Path(f).name in by_name or Path(f).stem in by_stem}
    if not matched and frames:
        raise ValueError(f"{ann_file}: none of the {len(frames)} detected frames (e.g. {sorted(frames)[0]}) is "
                         f"among its images[].file_name")
    if not results:
        return dict(mAP=0.0, AP50=0.0, AP75=0.0, images=len(img_ids))
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.params.imgIds = sorted({by_name.get(f, by_stem.get(Path(f).stem)) for f in matched})
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(mAP=float(ev.stats[0]) * 100, AP50=float(ev.stats[1]) * 100, AP75=float(ev.stats[2]) * 100,
                images=len(ev.params.imgIds))


def ntm_table(df: pd.DataFrame) -> str:
    """Markdown table shaped like the paper's NTM table: one row per enhancer, 'LOE / NIQE / BRISQUE' per part."""
    if not {"LOE", "NIQE", "BRISQUE"} <= set(df.columns):
        return ""
    wide = {}
    for (enh, part), g in df.groupby(["enhancer", "part"], sort=False):
        r = g.iloc[0]
        wide.setdefault(enh, {})[part] = f"{r.LOE:.2f} / {r.NIQE:.2f} / {r.BRISQUE:.2f}"
    table = pd.DataFrame.from_dict(wide, orient="index")
    table.columns = [f"{c} LOE / NIQE / BRISQUE" for c in table.columns]
    return table.rename_axis("Method").reset_index().to_markdown(index=False)


def _unit_identity(source: FrameSource, enhancer: Any, enhancer_name: str, detector: Any, conf: float,
                   nr: bool, flow_side: int) -> dict:
    return json.loads(json.dumps(dict(
        source=str(source.path.resolve()), every=source.every, max_frames=source.max_frames, fps=source.fps,
        enhancer=enhancer_name, enhancer_params=enhancer.params() if hasattr(enhancer, "params") else None,
        detector=_describe(detector),
        conf=conf, no_reference=nr, flow_side=flow_side), default=str))


def run_traffic(sources: Sequence[FrameSource], enhancers: dict[str, Any], out_dir: str | os.PathLike,
                detector: Any = None, no_reference: bool = True, conf: float = 0.25,
                coco_ann: str | os.PathLike | None = None, flow_side: int = 320, save_frames: bool = False,
                overwrite: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run every part with every enhancer (``{name: enhancer or None}``), write the tables; return the table."""
    out = Path(out_dir)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    nr = _NoReference() if no_reference else None
    rows, all_frames = [], []
    for src in sources:
        for name, enh in enhancers.items():
            unit = f"{src.name}__{name}"
            ident = _unit_identity(src, enh, name, detector, conf, no_reference, flow_side)
            done = out / "parts" / f"{unit}.json"
            if done.is_file() and not overwrite:
                saved = json.loads(done.read_text())
                if saved.get("identity") == ident:
                    rows.append(saved["summary"])
                    all_frames.extend(saved["frames"])
                    continue
            summary, frames, dets = evaluate_part(src, enh, name, out, detector=detector, no_reference=nr,
                                                  conf=conf, flow_side=flow_side, save_frames=save_frames,
                                                  progress=progress)
            if detector is not None:
                ddf = pd.DataFrame(dets, columns=["part", "enhancer", "frame", "index", "time_s", "cls", "score",
                                                  "x1", "y1", "x2", "y2"])
                atomic_write_text(out / "detections" / f"{unit}.csv", ddf.to_csv(index=False))
                if coco_ann is not None:
                    summary.update({f"coco_{k}": v for k, v in coco_map(coco_ann, dets).items()})
            atomic_write_json(done, dict(identity=ident, summary=summary, frames=frames))
            rows.append(summary)
            all_frames.extend(frames)
    df = pd.DataFrame(rows)
    atomic_write_text(out / "frames.csv", pd.DataFrame(all_frames).to_csv(index=False))
    atomic_write_text(out / "traffic.csv", df.to_csv(index=False))
    atomic_write_text(out / "traffic.md", _rounded(df).to_markdown(index=False) + "\n")
    ntm = ntm_table(df)
    if ntm:
        atomic_write_text(out / "ntm.md", ntm + "\n")
    atomic_write_json(out / "protocol.json", dict(
        no_reference=nr.settings if nr else None, conf=conf, flow_side=flow_side,
        vehicle_classes=VEHICLE_CLASSES, person_classes=PERSON_CLASSES,
        detector=_describe(detector),
        coco_annotations=str(coco_ann) if coco_ann else None,
        flicker="see evaluation/traffic/stability.py and docs/traffic.md"))
    return df


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    # relative flicker values are ~1e-2, so they keep more digits than scores and counts
    digits = {c: 4 if c.startswith("rel_") else 3 for c in df.columns if df[c].dtype.kind == "f"}
    return df.round(digits)

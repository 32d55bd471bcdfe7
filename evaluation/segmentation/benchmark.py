"""The segmentation benchmark: (darken,) (enhance,) segment and score night segmentation datasets.

Unit folder: ``pred/<stem>_trainIds.png`` (uint8 train ids, mmseg's ``format_only`` naming) and, with
``save_color``, ``pred/<stem>_color.png``; with ``save_label_ids`` also Cityscapes ``labelIds`` maps
(``pred/<stem>_labelIds.png``, for the official Cityscapes scripts); ``metrics.json`` (identity, protocol,
mIoU / mAcc / aAcc, per-class IoU), ``per_class.csv/.md``, ``per_image.csv``, ``summary.csv/.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.benchmark import (
    Benchmark,
    ProgressLog,
    TableSpec,
    UnitResult,
    data_line,
    describe_enhancer,
    model_identity,
    unit_identity,
)
from evaluation.metrics import to_table
from evaluation.registry import BENCHMARKS
from evaluation.segmentation.classes import colorize, trainids_to_labelids
from evaluation.segmentation.metrics import confusion_matrix, get_protocol, scores_from_confusion
from uptflow.utils.io import atomic_write_bytes, atomic_write_json, atomic_write_text, imwrite_rgb

__all__ = ["SegmentationBenchmark", "write_label_png", "read_label_png"]


def write_label_png(path: str | Path, ids: np.ndarray) -> None:
    """Write a uint8 HxW id map as a single-channel PNG, atomically."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(ids.astype(np.uint8)))
    if not ok:
        raise ValueError(f"cannot encode label map for {path}")
    atomic_write_bytes(path, buf.tobytes())


def read_label_png(path: str | Path) -> np.ndarray:
    """Read a single-channel id PNG as uint8 HxW."""
    from uptflow.utils.io import open_image

    with open_image(path) as im:
        arr = np.asarray(im)
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel id map, got shape {arr.shape}")
    return arr.astype(np.uint8)


@BENCHMARKS.register_module(name="segmentation")
class SegmentationBenchmark(Benchmark):
    """Semantic segmentation of (enhanced) night images with a Cityscapes-trained model.

    Args:
        segmenter: ``dict(type='mmseg', config=..., checkpoint=..., **settings)`` (``evaluation.segmentation.
            segmenters``); built once, shared by the units of every enhancer.
        metrics: overall metrics (per-class IoU rows are added with ``per_class``).
        protocol: scoring protocol (``cityscapes19`` | ``iat_acdc_night``); default: the config's
            ``uptflow_protocol``.
        per_class: also report per-class IoU.
        save_color: also save colour-coded prediction maps.
        save_label_ids: also save Cityscapes labelIds maps (for the official evaluation scripts).
        device: torch device of the segmenter.
    """

    task = "segmentation"
    title = "Night semantic segmentation"
    dataset_types = ("cityscapes", "acdc", "darkzurich", "nightcity")
    metrics = ("mIoU", "mAcc", "aAcc")
    default_metrics = ("mIoU", "mAcc", "aAcc")
    output_settings = ("save_color", "save_label_ids")
    outputs = ("pred", "metrics.json", "per_class.csv", "per_class.md", "per_image.csv", "per_image.md", "summary.csv",
               "summary.md")

    def __init__(self, segmenter: dict, metrics: Sequence[str] | None = None, protocol: str | None = None,
                 per_class: bool = True, save_color: bool = True, save_label_ids: bool = False,
                 device: str = "cpu") -> None:
        super().__init__(metrics, device)
        if "type" not in segmenter:
            raise ValueError("segmenter.type: required (a registered segmenter such as 'mmseg')")
        if protocol is not None:
            get_protocol(protocol)
        self.segmenter_spec = dict(segmenter)
        self.protocol_name, self.per_class = protocol, per_class
        self.save_color, self.save_label_ids = save_color, save_label_ids
        self._segmenter: Any = None

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "segmenter": model_identity(self.segmenter_spec),
                "protocol": self.protocol().name, "per_class": self.per_class}

    @classmethod
    def table_specs(cls, task: str, cfg: dict[str, Any]) -> list[TableSpec]:
        return [TableSpec(task, cls.title, per_class=True)]

    def protocol(self) -> Any:
        """The scoring protocol (named, or the config's)."""
        from evaluation.segmentation.segmenters import config_protocol

        name, config = self.protocol_name, self.segmenter_spec.get("config")
        if name is None:
            name = config_protocol(config) if config else "cityscapes19"
        return get_protocol(name)

    @property
    def segmenter(self) -> Any:
        """The segmenter, built on first use."""
        if self._segmenter is None:
            from evaluation.segmentation.segmenters import build_segmenter

            self._segmenter = build_segmenter({"device": self.device, **self.segmenter_spec}, "segmenter")
        return self._segmenter

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        from evaluation.datasets.segmentation import read_label

        out_dir = Path(out_dir)
        ident = unit_identity(self, dataset, enhancer)
        protocol, seg = self.protocol(), self.segmenter
        plog = self.start(out_dir, ident)
        n = protocol.num_classes
        pred_dir = out_dir / "pred"
        for s, img in self.pending(dataset, plog, enhancer, progress):
            try:
                gt = protocol.prepare_gt(read_label(s, n)) if s.label is not None else None
            except ValueError as e:
                plog.add(s.name, {"skipped": str(e)})
                continue
            if enhancer is not None:
                img = enhancer(img)
            pred = seg(img)
            if pred.shape != img.shape[:2]:
                raise RuntimeError(f"{s.name}: prediction {pred.shape} differs from image {img.shape[:2]}")
            write_label_png(pred_dir / f"{s.stem}_trainIds.png", pred)
            if self.save_color:
                imwrite_rgb(pred_dir / f"{s.stem}_color.png", colorize(pred))
            if self.save_label_ids:
                write_label_png(pred_dir / f"{s.stem}_labelIds.png", trainids_to_labelids(pred))
            rec: dict[str, Any] = {"degrade": dataset.degradation(s)}
            if gt is not None:
                if gt.shape != pred.shape:
                    plog.add(s.name, {"skipped": f"label {s.label} is {gt.shape}, the prediction {pred.shape}"})
                    continue
                rec["confusion"] = confusion_matrix(pred, gt, n, protocol.ignore_index).tolist()
            plog.add(s.name, rec)
        return self._finish(dataset, enhancer, plog, ident, out_dir, protocol)

    def _finish(self, dataset: Any, enhancer: Any, plog: ProgressLog, ident: dict, out_dir: Path,
                protocol: Any) -> UnitResult:
        names = [s.name for s in dataset.samples]
        skipped = [dict(file=n, reason=plog.done[n]["skipped"]) for n in names if "skipped" in plog.done[n]]
        n = protocol.num_classes
        total = np.zeros((n, n + 1), dtype=np.int64)
        per_image = []
        for name in names:
            rec = plog.done[name]
            if "confusion" not in rec:
                continue
            cm = np.asarray(rec["confusion"], dtype=np.int64)
            total += cm
            one = scores_from_confusion(cm, protocol)
            per_image.append(dict(image=name, mIoU=to_table("mIoU", one["mIoU"]), aAcc=to_table("aAcc", one["aAcc"]),
                                  **{f"degrade_{k}": v for k, v in (rec.get("degrade") or {}).items()
                                     if np.isscalar(v)}))
        labelled = len(per_image)
        seg = self.segmenter.describe()
        model = Path(str(seg["config"])).stem if seg.get("config") else seg.get("name", "segmenter")
        if seg.get("random_init"):
            model += " RANDOM-INIT (pipeline check only)"
        elif seg.get("checkpoint"):
            model += f" ({Path(str(seg['checkpoint'])).name})"
        degr = f"; input darkened with {dataset.degrade.describe()['spec']}" if dataset.degrade is not None else ""
        inside = "".join(f"; the model's own pipeline enhances with {e.get('enhancer')}"
                         for e in seg.get("pipeline_enhancers") or ())
        line = f"{model}{inside}; {protocol.name}: {protocol.description}{degr}; " + self.metric_conventions()
        result: dict[str, Any] = dict(identity=ident, protocol=protocol.to_dict(), protocol_line=line, segmenter=seg,
                                      enhancer=describe_enhancer(enhancer), images=len(names) - len(skipped),
                                      labelled=labelled, skipped=skipped, reader=dataset.info)
        rows: list[dict[str, Any]] = []
        if labelled:
            scores = scores_from_confusion(total, protocol)
            result["scores"] = scores
            rows = [dict(metric=m, cls="", value=to_table(m, scores[m]), n=labelled) for m in self.selected
                    if math.isfinite(scores[m])]
            if self.per_class:
                rows += [dict(metric="IoU", cls=c, value=to_table("IoU", v["IoU"]), n=labelled)
                         for c, v in scores["per_class"].items() if v["evaluated"] and math.isfinite(v["IoU"])]
            pc = pd.DataFrame([dict(cls=c, IoU=to_table("IoU", v["IoU"]), Acc=to_table("mAcc", v["Acc"]),
                                    gt_pixels=v["gt_pixels"], evaluated=v["evaluated"])
                               for c, v in scores["per_class"].items()])
            _write_df(out_dir / "per_class", pc.round(2))
            from uptflow.plugins.transforms import enhancer_label

            label = enhancer_label(result["enhancer"]["name"], seg.get("pipeline_enhancers"))
            _write_df(out_dir / "summary", pd.DataFrame([dict(
                enhancer=label, model=model, protocol=protocol.name, images=labelled,
                skipped=len(skipped) + len(dataset.unread),
                **{m: round(to_table(m, scores[m]), 2) for m in self.metrics})]),
                      notes=f"Protocol: {line}\n{data_line(dataset)}")
        else:
            result["note"] = "no ground truth in this split: predictions only"
        _write_df(out_dir / "per_image", pd.DataFrame(per_image))
        atomic_write_json(out_dir / "metrics.json", result)
        from uptflow.plugins.transforms import pipeline_label

        entries = seg.get("pipeline_enhancers")
        return UnitResult(rows, labelled, skipped, line, pipeline_label(entries) if entries else "")


def _write_df(stem: Path, df: pd.DataFrame, notes: str = "") -> None:
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    atomic_write_text(stem.with_suffix(".md"), df.to_markdown(index=False) + "\n" + (f"\n{notes}\n" if notes else ""))

"""The detection benchmark: (enhance,) detect and score a detection dataset (ExDark, COCO layout), every number
with its protocol.

Unit folder: ``gt_coco.json`` (COCO ground truth of the evaluated images, file names included),
``predictions.json`` (COCO results), ``metrics.json`` (identity, protocol, every score) and the tables
``overall``, ``per_class``, ``per_light``, ``per_inout`` (where the dataset has that metadata) as CSV and
Markdown, in percent.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.benchmark import (
    Benchmark,
    TableSpec,
    UnitResult,
    describe_enhancer,
    model_identity,
    unit_identity,
)
from evaluation.metrics import conventions, to_table
from evaluation.registry import BENCHMARKS
from uptflow.utils.io import atomic_write_json, atomic_write_text

from .detectors import Detections, build_detector, class_map
from .export import coco_dict, image_ids
from .scoring import score_all

__all__ = ["DetectionBenchmark", "detections_to_coco"]

# catalogue name -> key in scoring.coco_scores / voc_scores
_COCO_KEYS = {"COCO AP": "AP", "COCO AP50": "AP50", "COCO AP75": "AP75", "COCO APs": "APs", "COCO APm": "APm",
              "COCO APl": "APl"}
_BREAKDOWN = ("light", "inout")


def detections_to_coco(dets: Detections, image_id: int, label_map: dict[int, str], classes: Sequence[str]
                       ) -> list[dict]:
    """COCO results for one image; labels missing from ``label_map`` (classes the dataset lacks) are dropped."""
    out = []
    for (x1, y1, x2, y2), s, lab in zip(dets.boxes.tolist(), dets.scores.tolist(), dets.labels.tolist(), strict=True):
        cls = label_map.get(int(lab))
        if cls is None:
            continue
        out.append({"image_id": image_id, "category_id": classes.index(cls) + 1,
                    "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                    "score": round(float(s), 5)})
    return out


@BENCHMARKS.register_module(name="detection")
class DetectionBenchmark(Benchmark):
    """Object detection on (enhanced) low-light images, scored with pycocotools and VOC mAP@0.5.

    Two protocols: the detector as given (zero-shot, e.g. a COCO model on ExDark), or, with ``finetune``, the
    literature's "enhance offline, then fine-tune": every unit enhances the train split with its enhancer, fine-tunes
    the detector from the given weights (``evaluation.detection.finetune``; cached and resumable in the unit folder)
    and evaluates that detector on the test split.

    Args:
        detector: ``dict(type=..., checkpoint=..., config=..., **settings)`` of a registered detector
            (``evaluation.detection.detectors``); built once, shared by the units of every enhancer.
        metrics: overall metrics to report (per-class AP50 rows are added with ``per_class``).
        class_map: detector labels -> dataset classes: ``auto``, ``coco`` or ``dataset`` (see ``class_map``).
        per_class: also report per-class COCO AP50 and VOC AP50.
        pretraining: text for the protocol record (inferred from the class mapping when None).
        finetune: the fine-tune schedule (``evaluation.detection.finetune.check_schedule``: e.g.
            ``dict(epochs=1, imgsz=320, train_split=None)`` for ultralytics), or None for the detector as given.
        device: torch device of the detector.
    """

    task = "detection"
    title = "Low-light object detection"
    dataset_types = ("exdark", "coco")
    metrics = ("COCO AP", "COCO AP50", "COCO AP75", "COCO APs", "COCO APm", "COCO APl", "VOC mAP50")
    default_metrics = ("COCO AP", "COCO AP50", "COCO AP75", "VOC mAP50")
    # not finetune/: it records its own request and refuses another, so a costly training is never deleted unasked
    outputs = ("gt_coco.json", "predictions.json", "metrics.json",
               *(f"{table}.{ext}" for table in ("overall", "per_class", *(f"per_{k}" for k in _BREAKDOWN))
                 for ext in ("csv", "md")))

    def __init__(self, detector: dict, metrics: Sequence[str] | None = None, class_map: str = "auto",
                 per_class: bool = True, pretraining: str | None = None, finetune: dict | None = None,
                 device: str = "cpu") -> None:
        super().__init__(metrics, device)
        if "type" not in detector:
            raise ValueError("detector.type: required (a registered detector such as 'yolov8' or 'mmdet')")
        self.detector_spec = dict(detector)
        self.class_map, self.per_class, self.pretraining = class_map, per_class, pretraining
        self.finetune = None
        if finetune is not None:
            from .finetune import check_schedule

            self.finetune = check_schedule(self.detector_spec, finetune, where="finetune")
        self._detector: Any = None

    def metric_conventions(self) -> str:
        return conventions([*self.selected, *(("COCO AP50", "VOC AP50") if self.per_class else ())])

    def settings(self) -> dict[str, Any]:
        # the pretraining text only when given, so the ids of units made before it was part of them stay the same
        extra = {"pretraining": self.pretraining} if self.pretraining is not None else {}
        return {**super().settings(), "detector": model_identity(self.detector_spec), "class_map": self.class_map,
                "per_class": self.per_class, "finetune": self.finetune, **extra}

    @classmethod
    def table_specs(cls, task: str, cfg: dict[str, Any]) -> list[TableSpec]:
        return [TableSpec(task, cls.title, per_class=True)]

    @property
    def detector(self) -> Any:
        """The detector, built on first use."""
        if self._detector is None:
            self._detector = build_detector({"device": self.device, **self.detector_spec}, "detector")
        return self._detector

    def _unit_detector(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool) -> Any:
        """The detector as given, or (fine-tune protocol) the one fine-tuned on this unit's enhanced train split."""
        if self.finetune is None:
            return self.detector
        from .detectors import build_detector
        from .finetune import finetune_detector

        spec = finetune_detector(self.detector_spec, dataset, enhancer, out_dir / "finetune", self.finetune,
                                 device=self.device, progress=progress)
        return build_detector({"device": self.device, **spec}, "detector")

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        out_dir = Path(out_dir)
        ident = unit_identity(self, dataset, enhancer)
        det = self._unit_detector(dataset, enhancer, out_dir, progress)
        plog = self.start(out_dir, ident)
        kind, label_map = class_map(det.class_names, dataset.classes, self.class_map)
        ids = image_ids(dataset)
        for s, img in self.pending(dataset, plog, enhancer, progress):
            if enhancer is not None:
                img = enhancer(img)
            plog.add(s.name, {"results": detections_to_coco(det(img), ids[s.name], label_map, dataset.classes)})
        names = [s.name for s in dataset.samples]
        skipped = [dict(file=n, reason=plog.done[n]["skipped"]) for n in names if "skipped" in plog.done[n]]
        scored = [n for n in names if "results" in plog.done[n]]
        results = [r for n in scored for r in plog.done[n]["results"]]
        gt = coco_dict(dataset, scored)
        atomic_write_json(out_dir / "predictions.json", results)
        atomic_write_json(out_dir / "gt_coco.json", gt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty predictions are NaN in the tables, not an exception
            scores = score_all(gt, results, _BREAKDOWN)
        record = self._record(dataset, enhancer, kind, det, out_dir)
        protocol = self._protocol_line(record)
        atomic_write_json(out_dir / "metrics.json", dict(identity=ident, protocol=record, protocol_line=protocol,
                                                         scores=scores, images=len(scored), skipped=skipped,
                                                         reader=dataset.info))
        from uptflow.plugins.transforms import enhancer_label, pipeline_label

        entries = record["detector"].get("pipeline_enhancers")
        self._write_tables(scores, dataset, out_dir, protocol, enhancer_label(record["enhancer"]["name"], entries))
        return UnitResult(self._rows(scores, dataset, len(scored)), len(scored), skipped, protocol,
                          pipeline_label(entries) if entries else "")

    def _record(self, dataset: Any, enhancer: Any, kind: str, det: Any, out_dir: Path) -> dict[str, Any]:
        import json

        pretraining = self.pretraining or ("COCO (zero-shot, ExDark<-COCO class map)" if kind == "coco-zero-shot"
                                           else "see the detector's weights")
        finetuned = None
        if self.finetune is not None:
            done = out_dir / "finetune" / "done.json"
            finetuned = json.loads(done.read_text(encoding="utf-8")) if done.is_file() else None
            pretraining = (f"fine-tuned on the enhanced train split ({self.finetune}) from "
                           f"{Path(str(self.detector_spec.get('checkpoint'))).name}")
            if finetuned and finetuned.get("train_test_overlap"):
                pretraining += f"; SMOKE RUN: {finetuned['train_test_overlap']} train images are test images"
        return dict(dataset=dataset.identity(), split=dataset.info.get("split"), detector=det.describe(),
                    class_map=kind, enhancer=describe_enhancer(enhancer), pretraining=pretraining,
                    finetune=finetuned, image_loading="stored pixel order, EXIF orientation ignored"
                    if not dataset.exif else "EXIF orientation applied")

    def _protocol_line(self, record: dict[str, Any]) -> str:
        d = record["detector"]
        ckpt = Path(str(d.get("checkpoint"))).name if d.get("checkpoint") else "random init"
        inside = "".join(f"; the model's own pipeline enhances with {e.get('enhancer')}"
                         for e in d.get("pipeline_enhancers") or ())
        return (f"{d.get('detector')} ({ckpt}, {record['pretraining']}, input {d.get('input_size')}){inside}; "
                + self.metric_conventions())

    def _rows(self, scores: dict, dataset: Any, n: int) -> list[dict[str, Any]]:
        rows = []
        for m in self.selected:
            v = scores["voc"]["mAP50"] if m == "VOC mAP50" else scores["coco"][_COCO_KEYS[m]]
            if math.isfinite(v):
                rows.append(dict(metric=m, cls="", value=to_table(m, v), n=n))
        if self.per_class:
            for cls in dataset.classes:
                for m, v in (("COCO AP50", scores["coco"]["per_class_AP50"].get(cls, math.nan)),
                             ("VOC AP50", scores["voc"]["per_class_AP50"].get(cls, math.nan))):
                    if math.isfinite(v):
                        rows.append(dict(metric=m, cls=cls, value=to_table(m, v), n=n))
        return rows

    def _write_tables(self, scores: dict, dataset: Any, out_dir: Path, protocol: str, enhancer: str) -> None:
        c, v = scores["coco"], scores["voc"]
        overall = {m: to_table(m, v["mAP50"] if m == "VOC mAP50" else c[_COCO_KEYS[m]]) for m in self.metrics}
        tables = {
            "overall": pd.DataFrame([dict(enhancer=enhancer, **overall, images=c["n_images"], boxes=c["n_gt"],
                                          detections=c["n_dets"])]),
            "per_class": pd.DataFrame([{"class": k, "COCO AP50": to_table("COCO AP50", c["per_class_AP50"][k]),
                                        "VOC AP50": to_table("VOC AP50", v["per_class_AP50"][k])}
                                       for k in dataset.classes]),
        }
        for key, groups in scores["breakdown"].items():
            tables[f"per_{key}"] = pd.DataFrame(
                [{key: name, "images": g["n_images"], "boxes": g["n_gt"],
                  "COCO AP50": to_table("COCO AP50", g["coco_AP50"]), "VOC mAP50": to_table("VOC mAP50",
                                                                                            g["voc_mAP50"])}
                 for name, g in groups.items()])
        for name, df in tables.items():
            atomic_write_text(out_dir / f"{name}.csv", df.to_csv(index=False))
            body = df.round(2).astype(object).where(df.notna(), None).to_markdown(index=False, missingval="–")
            atomic_write_text(out_dir / f"{name}.md", f"Protocol: {protocol}\n\n{body}\n")


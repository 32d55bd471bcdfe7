"""The night-traffic benchmark: per (video part, enhancer) no-reference quality, detections and temporal stability.

Every sampled frame is enhanced and scored with LOE (input vs enhanced), NIQE and BRISQUE (the paper's NTM
table), run through a COCO detector (vehicle and person counts and confidences; COCO mAP when annotations are
given) and fed to the flicker meter (``stability.py``).

Unit folder: ``frames.csv`` (per-frame scores and counts), ``predictions.json`` (every detection as COCO results)
with ``frames.json`` (the COCO ``images`` / ``categories`` those results refer to), ``summary.csv/.md``,
``ntm.md`` (LOE / NIQE / BRISQUE laid out like the paper's table) and ``metrics.json``.
"""

from __future__ import annotations

import logging
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
    describe_enhancer,
    file_identity,
    model_identity,
    unit_identity,
)
from evaluation.metrics import conventions, to_table
from evaluation.registry import BENCHMARKS
from evaluation.traffic.stability import UNALIGNED_WARP_ERR, FlickerMeter, summarize_pairs
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE
from uptflow.utils.io import atomic_write_json, atomic_write_text, imwrite_rgb

__all__ = ["TrafficBenchmark", "VEHICLE_CLASSES", "PERSON_CLASSES", "ntm_table", "read_coco_annotations"]

# COCO classes counted as road vehicles and as people
VEHICLE_CLASSES = ("bicycle", "car", "motorcycle", "bus", "truck")
PERSON_CLASSES = ("person",)
_NO_REFERENCE = ("LOE", "NIQE", "BRISQUE")
_COUNTS = {"vehicles_per_frame": "vehicles", "persons_per_frame": "persons"}
_COCO = {"COCO AP": "AP", "COCO AP50": "AP50", "COCO AP75": "AP75"}
log = logging.getLogger(__name__)


def _unaligned_note(flicker: dict[str, Any], part: str) -> str:
    """A warning for the summary when most of a part's input frame pairs do not align: its flicker ratios then
    compare unrelated images, not a video's frames."""
    n, bad = flicker["pairs"], flicker["unaligned_pairs"]
    if not n or bad * 2 <= n:
        return ""
    return (f"{part}: {bad} of {n} consecutive input frame pairs do not align (warp error above "
            f"{UNALIGNED_WARP_ERR:.0%} of their brightness): are these frames of one video? flicker_ratio and "
            "warp_ratio assume they are")


def ntm_table(summary: pd.DataFrame) -> str:
    """Markdown shaped like the paper's NTM table: one row per enhancer, 'LOE / NIQE / BRISQUE' per part."""
    if not set(_NO_REFERENCE) <= set(summary.columns):
        return ""
    wide: dict[str, dict[str, str]] = {}
    for r in summary.itertuples(index=False):
        cell = f"{r.LOE:.2f} / {r.NIQE:.2f} / {r.BRISQUE:.2f}"
        wide.setdefault(r.enhancer, {})[f"{r.part} LOE / NIQE / BRISQUE"] = cell
    return pd.DataFrame.from_dict(wide, orient="index").rename_axis("Method").reset_index().to_markdown(index=False)


@BENCHMARKS.register_module(name="traffic")
class TrafficBenchmark(Benchmark):
    """Night-traffic video: no-reference quality, vehicle / person detections and temporal flicker.

    Args:
        detector: ``dict(type=..., checkpoint=..., config=..., **settings)`` of a COCO detector, or None for no
            detection (the count metrics are then unavailable).
        metrics: which of the catalogue's traffic metrics to report.
        conf: score threshold of the vehicle / person counts.
        flow_side: resolution (long side) of the flicker measurement.
        coco_annotations: COCO json of the frames (``images[].file_name`` = frame file name) for COCO mAP.
        save_frames: also keep the enhanced frames in the unit folder.
        device: torch device of the detector.
    """

    task = "traffic"
    title = "Night traffic monitoring"
    dataset_types = ("frames", "unpaired")
    metrics = ("LOE", "NIQE", "BRISQUE", "vehicles_per_frame", "persons_per_frame", "flicker_ratio", "warp_ratio",
               "COCO AP", "COCO AP50", "COCO AP75")
    default_metrics = metrics[:7]
    output_settings = ("save_frames",)
    outputs = ("frames", "frames.csv", "frames.json", "predictions.json", "summary.csv", "summary.md", "ntm.md",
               "metrics.json")

    def __init__(self, detector: dict | None = None, metrics: Sequence[str] | None = None, conf: float = 0.25,
                 flow_side: int = 320, coco_annotations: str | None = None, save_frames: bool = False,
                 device: str = "cpu") -> None:
        if metrics is None:
            metrics = [m for m in self.default_metrics if detector is not None or m not in _COUNTS]
            metrics += list(_COCO) if coco_annotations and detector is not None else []
        super().__init__(metrics, device)
        if detector is None and (set(_COUNTS) | set(_COCO)) & set(self.selected):
            raise ValueError(f"metrics: {sorted((set(_COUNTS) | set(_COCO)) & set(self.selected))} need a detector")
        if set(_COCO) & set(self.selected) and not coco_annotations:
            raise ValueError("metrics: the COCO metrics need coco_annotations (a COCO json of the frames)")
        if not 0 <= conf <= 1:
            raise ValueError(f"conf: a score threshold in [0, 1], got {conf}")
        if flow_side < 16:
            raise ValueError(f"flow_side: must be >= 16 (pixels of the flicker measurement's long side), got "
                             f"{flow_side}")
        self.detector_spec = dict(detector) if detector is not None else None
        self.conf, self.flow_side, self.save_frames = conf, flow_side, save_frames
        self.coco_annotations = coco_annotations
        self._coco_gt = read_coco_annotations(coco_annotations) if coco_annotations else None
        self._detector: Any = None
        self._nr: Any = None

    def metric_conventions(self) -> str:
        return conventions(self.selected, loe_short_side=DEFAULT_SHORT_SIDE)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "conf": self.conf, "flow_side": self.flow_side,
                "detector": model_identity(self.detector_spec) if self.detector_spec else None,
                "coco_annotations": file_identity(self.coco_annotations)}

    @classmethod
    def table_specs(cls, task: str, cfg: dict[str, Any]) -> list[TableSpec]:
        return [TableSpec(task, cls.title, paper=True)]

    @property
    def detector(self) -> Any:
        """The detector (None without one), built on first use."""
        if self._detector is None and self.detector_spec is not None:
            from evaluation.detection.detectors import build_detector

            self._detector = build_detector({"device": self.device, **self.detector_spec}, "detector")
        return self._detector

    def check_annotated(self, dataset: Any) -> None:
        """Refuse a part none of whose frames the COCO annotations list (when COCO mAP is to be scored)."""
        if self._coco_gt is None or self.detector_spec is None:
            return
        names = [s.name.rsplit("/", 1)[-1] for s in dataset.samples]
        if not _annotated(self._coco_gt, names):
            raise ValueError(f"coco_annotations: {self.coco_annotations} lists none of the {len(names)} frames of "
                             f"{dataset.root} (e.g. {names[0] if names else '-'}) among its images[].file_name; "
                             "give it with the part it annotates")

    def _no_reference(self, inp: np.ndarray, out: np.ndarray) -> dict[str, float]:
        from uptflow.metrics.brisque import brisque, load_brisque_model
        from uptflow.metrics.loe import loe
        from uptflow.metrics.niqe import niqe

        if self._nr is None:
            self._nr = load_brisque_model()
        wanted = set(self.selected)
        res = {}
        if "LOE" in wanted:
            res["LOE"] = loe(inp, out, DEFAULT_SHORT_SIDE)  # the grid the protocol line states
        if "NIQE" in wanted:
            res["NIQE"] = niqe(out)
        if "BRISQUE" in wanted:
            res["BRISQUE"] = brisque(out, self._nr)
        return res

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        out_dir = Path(out_dir)
        ident = unit_identity(self, dataset, enhancer)
        self.check_annotated(dataset)
        det = self.detector
        plog = self.start(out_dir, ident)
        meter = FlickerMeter(flow_side=self.flow_side)
        done = [s for s in dataset.samples if s.name in plog.done and "skipped" not in plog.done[s.name]]
        size = None  # (height, width) of the part's frames: the flicker meter compares frames of one size
        if done:  # resumed: the flicker meter continues from the last finished frame
            last = done[-1]
            inp = dataset.load(last)
            meter.update(inp, enhancer(inp) if enhancer is not None else inp)
            size = inp.shape[:2]
        for s, inp in self.pending(dataset, plog, enhancer, progress):
            size = size or inp.shape[:2]
            if inp.shape[:2] != size:
                plog.add(s.name, {"skipped": f"{s.path}: frame is {inp.shape[1]}x{inp.shape[0]}, the part's earlier "
                                             f"frames {size[1]}x{size[0]} (one video: frames of one size)"})
                continue
            out = enhancer(inp) if enhancer is not None else inp
            if self.save_frames:
                imwrite_rgb(out_dir / "frames" / f"{s.name}.png", np.asarray(out))
            rec: dict[str, Any] = dict(index=s.meta.get("index"), time_s=s.meta.get("time_s"),
                                       **self._no_reference(inp, out))
            if det is not None:
                d = det(out)
                names = [d.names[int(i)] for i in d.labels]
                rec["detections"] = [[*map(float, b), float(sc), n] for b, sc, n in zip(d.boxes, d.scores, names,
                                                                                        strict=True)]
                for group, classes in (("vehicles", VEHICLE_CLASSES), ("persons", PERSON_CLASSES)):
                    keep = [float(sc) for sc, n in zip(d.scores, names, strict=True)
                            if n in classes and sc >= self.conf]
                    rec[group], rec[f"{group}_conf"] = len(keep), float(np.mean(keep)) if keep else math.nan
            rec["pair"] = meter.update(inp, np.asarray(out))
            plog.add(s.name, rec)
        return self._finish(dataset, enhancer, plog, ident, out_dir)

    def _finish(self, dataset: Any, enhancer: Any, plog: ProgressLog, ident: dict, out_dir: Path) -> UnitResult:
        names = [s.name for s in dataset.samples]
        skipped = [dict(file=n, reason=plog.done[n]["skipped"]) for n in names if "skipped" in plog.done[n]]
        frames = [dict(frame=n, **{k: v for k, v in plog.done[n].items() if k not in ("detections", "pair")})
                  for n in names if "skipped" not in plog.done[n]]
        if not frames:
            raise ValueError(f"{dataset.root}: none of the {len(names)} frames could be read")
        fdf = pd.DataFrame(frames)
        flicker = summarize_pairs([plog.done[n]["pair"] for n in names if plog.done[n].get("pair")])
        values: dict[str, float] = {m: float(fdf[m].mean()) for m in _NO_REFERENCE if m in fdf}
        values.update({m: float(fdf[c].mean()) for m, c in _COUNTS.items() if c in fdf})
        values.update(flicker_ratio=flicker["flicker_ratio"], warp_ratio=flicker["warp_ratio"])
        extra: dict[str, Any] = {}
        if self.detector_spec is not None:
            extra = self._write_detections(names, plog, out_dir)
            values.update({m: extra["coco"][key] for m, key in _COCO.items() if extra.get("coco")})
        part = dataset.samples[0].group if dataset.samples else dataset.root.name
        summary = pd.DataFrame([dict(part=part, enhancer=describe_enhancer(enhancer)["name"], frames=len(frames),
                                     skipped=len(skipped) + len(dataset.unread),
                                     **{m: to_table(m, values[m]) for m in self.selected if m in values})])
        atomic_write_text(out_dir / "frames.csv", fdf.to_csv(index=False))
        atomic_write_text(out_dir / "summary.csv", summary.to_csv(index=False))
        note = _unaligned_note(flicker, part)
        if note:
            log.warning("%s", note)
        atomic_write_text(out_dir / "summary.md", summary.round(4).to_markdown(index=False) + "\n"
                          + (f"\nWarning: {note}.\n" if note else ""))
        ntm = ntm_table(summary)
        if ntm:
            atomic_write_text(out_dir / "ntm.md", ntm + "\n")
        line = self.metric_conventions()
        if self.detector is not None:
            p = self.detector.describe()
            line += (f"; detections by {p.get('detector')} {Path(str(p.get('checkpoint'))).name}, counted at score "
                     f">= {self.conf}")
            if set(_COCO) & set(self.selected):
                own = p.get("score_thr")
                line += ("; COCO AP over every detection the detector returns"
                         + (f" (its score threshold: {own})" if own is not None else " (its config's test thresholds)"))
        if note:  # the same for every enhancer of the part: a comparison's and the suite's tables print it once
            line += f"; WARNING {note}"
        atomic_write_json(out_dir / "metrics.json", dict(identity=ident, protocol_line=line, values=values,
                                                         flicker=flicker, frames=len(frames), skipped=skipped,
                                                         **extra))
        rows = [dict(metric=m, cls="", value=to_table(m, values[m]), n=len(frames)) for m in self.selected
                if m in values and math.isfinite(values[m])]
        return UnitResult(rows, len(frames), skipped, line)

    def _write_detections(self, names: list[str], plog: ProgressLog, out_dir: Path) -> dict[str, Any]:
        """Every detection as COCO results (``predictions.json``) over ``frames.json``; COCO mAP when annotated."""
        classes = list(self.detector.class_names)
        images = [dict(id=i + 1, file_name=n.rsplit("/", 1)[-1]) for i, n in enumerate(names)]
        results = [dict(image_id=i + 1, category_id=classes.index(c) + 1, score=round(sc, 5),
                        bbox=[round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)])
                   for i, n in enumerate(names) for x1, y1, x2, y2, sc, c in plog.done[n].get("detections", ())]
        atomic_write_json(out_dir / "predictions.json", results)
        atomic_write_json(out_dir / "frames.json", dict(images=images, categories=[
            dict(id=i + 1, name=c) for i, c in enumerate(classes)]))
        if self._coco_gt is None:
            return {}
        return {"coco": _coco_map(self._coco_gt, images, classes, results)}


def read_coco_annotations(path: str) -> dict[str, Any]:
    """The COCO json of the frames, checked before any frame is enhanced; a mistake raises naming the file and key."""
    import json

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"coco_annotations: {p}: file not found")
    try:
        gt = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"coco_annotations: {p}: not a JSON file ({e})") from None
    for key, fields in (("images", ("id", "file_name")), ("categories", ("id", "name")),
                        ("annotations", ("image_id", "category_id", "bbox"))):
        items = gt.get(key) if isinstance(gt, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) and all(f in i for f in fields) for i in items):
            raise ValueError(f"coco_annotations: {p}: '{key}' must be a list of objects with {', '.join(fields)}")
    for a in gt["annotations"]:
        box = a["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise ValueError(f"coco_annotations: {p}: annotation {a.get('id', '?')}: bbox must be [x, y, width, "
                             f"height], got {box!r}")
        # COCOeval reads both; hand-made files often leave them out
        a.setdefault("iscrowd", 0)
        a.setdefault("area", float(box[2] * box[3]))
    return gt


def _annotated(gt: dict[str, Any], file_names: list[str]) -> dict[str, int]:
    """``{frame file name: COCO image id}`` for the frames ``gt`` lists (by file name, else by stem)."""
    by_name = {Path(im["file_name"]).name: im["id"] for im in gt["images"]}
    by_stem = {Path(n).stem: i for n, i in by_name.items()}
    found = {n: by_name.get(n, by_stem.get(Path(n).stem)) for n in file_names}
    return {n: i for n, i in found.items() if i is not None}


def _coco_map(gt: dict[str, Any], images: list[dict], classes: list[str], results: list[dict]) -> dict[str, Any]:
    """COCO AP / AP50 / AP75 (fractions) of the frame detections on the frames of ``images`` that ``gt`` (a
    checked COCO json, see ``read_coco_annotations``) annotates."""
    from evaluation.detection.scoring import coco_scores

    ids = _annotated(gt, [im["file_name"] for im in images])
    frame_to_gt = {im["id"]: ids[im["file_name"]] for im in images if im["file_name"] in ids}
    cats = {c["name"].lower(): c["id"] for c in gt["categories"]}
    mapped = [dict(r, image_id=frame_to_gt[r["image_id"]], category_id=cats[classes[r["category_id"] - 1].lower()])
              for r in results if r["image_id"] in frame_to_gt and classes[r["category_id"] - 1].lower() in cats]
    s = coco_scores(gt, mapped, img_ids=sorted(frame_to_gt.values()))
    return dict(AP=s["AP"], AP50=s["AP50"], AP75=s["AP75"], images=s["n_images"])

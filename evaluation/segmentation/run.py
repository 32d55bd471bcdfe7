"""Run a segmenter over a dataset, optionally behind a low-light degradation and an enhancer, and score it.

Outputs in ``out_dir``: ``pred/<stem>_trainIds.png`` (uint8 train ids) and ``pred/<stem>_color.png``,
``metrics.json`` (mIoU, aAcc, per-class IoU, protocol, model, enhancer), ``per_class.csv/.md``,
``per_image.csv`` and ``summary.csv/.md``. A run is resumable: images whose prediction file exists are
not recomputed (their maps are re-read and re-scored), and ``run.json`` guards against mixing runs.
"""

import json
import os
import warnings
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from evaluation.segmentation.classes import colorize
from evaluation.segmentation.datasets import SegSample, read_label
from evaluation.segmentation.metrics import Protocol, confusion_matrix, scores_from_confusion
from uptflow.utils.io import atomic_write_bytes, atomic_write_json, atomic_write_text, imread_rgb, imwrite_rgb

__all__ = ["evaluate_segmentation", "collect_summaries", "write_label_png", "read_label_png"]

# f(img, rng) -> (degraded img, parameters), e.g. uptflow.data.synthetic.LowLightDegradation
Degrade = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, dict]]


def write_label_png(path: str | os.PathLike, ids: np.ndarray) -> None:
    """Write a uint8 HxW id map as a single-channel PNG, atomically."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(ids.astype(np.uint8)))
    if not ok:
        raise ValueError(f"cannot encode label map for {path}")
    atomic_write_bytes(path, buf.tobytes())


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel id PNG as uint8 HxW."""
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im)
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel id map, got shape {arr.shape}")
    return arr.astype(np.uint8)


def _check_run_identity(out_dir: Path, identity: dict[str, Any], overwrite: bool) -> None:
    path = out_dir / "run.json"
    new = json.loads(json.dumps(identity, default=str))
    if path.is_file() and not overwrite:
        old = json.loads(path.read_text())
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise ValueError(f"{out_dir} holds results of a different run (differs in: {', '.join(diff)}); "
                             f"use another --out, or --overwrite to recompute everything there")
    atomic_write_json(path, new)


def _image_rng(stem: str, seed: int) -> np.random.Generator:
    # the per-image stream depends on the name only, so a resumed or reordered run degrades identically
    return np.random.default_rng([seed, zlib.crc32(stem.encode())])


def _describe_degrade(degrade: Degrade, seed: int) -> dict:
    from dataclasses import asdict, is_dataclass

    params = asdict(degrade) if is_dataclass(degrade) else {}
    return dict(name=type(degrade).__name__, seed=seed, params=params)


def evaluate_segmentation(samples: Sequence[SegSample], segmenter: Any, protocol: Protocol, out_dir: str | os.PathLike,
                          enhancer: Any = None, degrade: Degrade | None = None, degrade_seed: int = 0,
                          identity: dict[str, Any] | None = None, save_color: bool = True,
                          save_inputs: bool = False, overwrite: bool = False, progress: bool = True) -> dict:
    """Segment every sample, save the maps, score labelled samples with ``protocol``; return the metrics dict.

    Args:
        samples: images (and labels) from ``evaluation.segmentation.datasets.read_dataset``.
        segmenter: callable uint8 HxWx3 RGB -> uint8 HxW train ids, with ``describe()``.
        protocol: scoring protocol (classes, ignore index, removed classes).
        out_dir: output folder.
        enhancer: callable uint8 RGB -> uint8 RGB (an ``uptflow.enhancers.Enhancer``), or None for raw input.
        degrade: optional ``f(img, rng) -> (img, params)`` applied before the enhancer (synthetic night), e.g.
            ``uptflow.data.synthetic.LowLightDegradation``; its per-image parameters go to per_image.csv.
        degrade_seed: base seed; each image's generator is seeded with (seed, crc32 of its name).
        identity: what defines the run (dataset, config, checkpoint, enhancer...) for ``run.json``.
        save_color: also save the colour-coded maps.
        save_inputs: also save the segmenter's input (after degradation and enhancement) for viewing.
        overwrite: recompute every image even if its prediction exists.
        progress: show a tqdm bar.
    """
    out = Path(out_dir)
    pred_dir = out / "pred"
    pred_dir.mkdir(parents=True, exist_ok=True)
    describe = segmenter.describe() if hasattr(segmenter, "describe") else {"name": type(segmenter).__name__}
    enh_desc = None if enhancer is None else dict(name=getattr(enhancer, "name", type(enhancer).__name__),
                                                   params=enhancer.params() if hasattr(enhancer, "params") else {})
    ident = dict(identity or {}, protocol=protocol.name, segmenter=describe, enhancer=enh_desc,
                 degrade=None if degrade is None else _describe_degrade(degrade, degrade_seed))
    _check_run_identity(out, ident, overwrite)

    n = protocol.num_classes
    total = np.zeros((n, n + 1), dtype=np.int64)
    rows, reused = [], 0
    for s in tqdm(samples, desc="segment", unit="img", disable=not progress):
        pred_path = pred_dir / f"{s.stem}_trainIds.png"
        color_path = pred_dir / f"{s.stem}_color.png"
        row: dict[str, Any] = dict(image=s.image.name)
        if pred_path.is_file() and not overwrite:
            pred = read_label_png(pred_path)
            reused += 1
            if hasattr(degrade, "sample_params"):  # the parameters are the stream's first draws: recover them
                params = degrade.sample_params(_image_rng(s.stem, degrade_seed))
                row.update({f"degrade_{k}": v for k, v in params.items() if np.isscalar(v)})
        else:
            img = imread_rgb(s.image)
            if degrade is not None:
                img, params = degrade(img, _image_rng(s.stem, degrade_seed))
                row.update({f"degrade_{k}": v for k, v in params.items() if np.isscalar(v)})
            if enhancer is not None:
                img = enhancer(img)
            if save_inputs:
                imwrite_rgb(out / "inputs" / f"{s.stem}.png", img)
            pred = segmenter(img)
            if pred.shape != img.shape[:2]:
                raise RuntimeError(f"{s.image.name}: prediction {pred.shape} differs from image {img.shape[:2]}")
            write_label_png(pred_path, pred)
        if save_color and (not color_path.is_file() or overwrite):
            imwrite_rgb(color_path, colorize(pred))
        if s.label is not None:
            gt = protocol.prepare_gt(read_label(s, n))
            if gt.shape != pred.shape:
                raise RuntimeError(f"{s.label}: label {gt.shape} differs from prediction {pred.shape} "
                                   f"(delete {pred_path} if the image changed)")
            cm = confusion_matrix(pred, gt, n, protocol.ignore_index)
            total += cm
            one = scores_from_confusion(cm, protocol)
            row.update(mIoU=one["mIoU"], aAcc=one["aAcc"], valid_pixels=one["valid_pixels"])
        rows.append(row)

    labelled = sum(s.label is not None for s in samples)
    result: dict[str, Any] = dict(n_images=len(samples), n_labelled=labelled, n_reused=reused)
    if labelled:
        result.update(scores_from_confusion(total, protocol))
    else:
        result.update(mIoU=None, aAcc=None, note="no ground truth in this split: predictions only")
    result["protocol"] = dict(protocol.to_dict(), **{k: v for k, v in ident.items() if k != "protocol"})
    if describe.get("random_init"):
        result["warning"] = "segmenter has RANDOM weights (no checkpoint): scores only test the pipeline"
    atomic_write_json(out / "metrics.json", result)
    _write_tables(out, result, rows, protocol)
    return result


def _write_tables(out: Path, result: dict, rows: list[dict], protocol: Protocol) -> None:
    _write_df(out / "per_image", pd.DataFrame(rows))
    if result.get("mIoU") is None:
        return
    pc = pd.DataFrame([dict(cls=name, **vals) for name, vals in result["per_class"].items()])
    _write_df(out / "per_class", pc.round(2))
    _write_df(out / "summary", pd.DataFrame([_summary_row(result)]))


def _summary_row(result: dict) -> dict:
    p = result["protocol"]
    seg = p.get("segmenter") or {}
    enh = p.get("enhancer") or {}
    return dict(dataset=p.get("dataset"), split=p.get("split"), protocol=p["name"],
                model=Path(str(seg.get("config", seg.get("name", "")))).stem,
                random_init=bool(seg.get("random_init")), enhancer=enh.get("name", "none"),
                degrade=(p.get("degrade") or {}).get("name"), images=result["n_labelled"],
                mIoU=round(result["mIoU"], 2), aAcc=round(result["aAcc"], 2), mAcc=round(result["mAcc"], 2))


def _write_df(stem: Path, df: pd.DataFrame) -> None:
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    atomic_write_text(stem.with_suffix(".md"), df.to_markdown(index=False) + "\n")


def collect_summaries(out_dirs: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One summary row per run folder (from its metrics.json), e.g. to compare enhancers."""
    rows = []
    for d in out_dirs:
        path = Path(d) / "metrics.json"
        if not path.is_file():
            warnings.warn(f"no metrics.json in {d}; skipped", stacklevel=2)
            continue
        res = json.loads(path.read_text())
        if res.get("mIoU") is not None:
            rows.append(_summary_row(res))
    return pd.DataFrame(rows)

"""Run enhancers over a dataset, save the enhanced images, score them and write per-image and aggregate tables.

Output folder layout::

    OUT/images/<label>/<group>/<name>.png   enhanced images (atomic writes)
    OUT/per_image.csv                        one row per (enhancer, image); rewritten atomically after each row
    OUT/summary.csv, OUT/summary.md          mean per enhancer (+ per group in summary_by_group.*)
    OUT/comparison.png                       input | each enhancer | ground truth, for a few images

Resumable: a (label, group, name) row already in ``per_image.csv`` whose image exists is skipped.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from evaluation.enhancement.datasets import Sample
from uptflow.enhancers import build_enhancer
from uptflow.metrics.image_quality import ImageQuality
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE
from uptflow.utils.io import atomic_write_text, imread_rgb, imwrite_rgb

__all__ = ["EnhancerSpec", "run_benchmark", "summarize", "to_markdown", "METRIC_ORDER"]

KEY = ["enhancer", "group", "name"]
METRIC_ORDER = [
    "psnr", "ssim_uniform7", "ssim_gauss11", "psnr_gtmean", "ssim_uniform7_gtmean", "ssim_gauss11_gtmean", "lpips",
    "niqe", "brisque", "loe", "runtime_s",
]
HIGHER_IS_BETTER = {"psnr", "ssim_uniform7", "ssim_gauss11", "psnr_gtmean", "ssim_uniform7_gtmean",
                    "ssim_gauss11_gtmean"}


@dataclass
class EnhancerSpec:
    """An enhancer to run: table ``label``, registered ``name``, optional ``weights`` and constructor kwargs.

    ``enhancer`` passes a ready callable (uint8 RGB in and out, e.g. an Enhancer behind a cache) instead.
    """

    label: str
    name: str
    weights: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    enhancer: Any = None

    def build(self, device: str):
        """Build the enhancer (raises clear errors for missing weights / unknown names)."""
        if self.enhancer is not None:
            return self.enhancer
        return build_enhancer(self.name, weights=self.weights, device=device, **self.kwargs)


def _image_path(out: Path, label: str, s: Sample) -> Path:
    return out / "images" / label / s.group / f"{s.name}.png"


def _load_done(csv: Path) -> pd.DataFrame:
    if not csv.is_file():
        return pd.DataFrame(columns=KEY)
    return pd.read_csv(csv, dtype={"group": str, "name": str})


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, df.to_csv(index=False))


def run_benchmark(samples: Sequence[Sample], specs: Sequence[EnhancerSpec], out: str | Path, device: str = "cpu",
                  metric: ImageQuality | None = None, figure_images: int = 4, progress: bool = True) -> pd.DataFrame:
    """Enhance and score every sample with every enhancer; returns the per-image table (also on disk).

    Args:
        samples: dataset samples (see ``evaluation.enhancement.datasets``).
        specs: enhancers to run; labels must be unique.
        out: output folder (created); existing results there are reused.
        device: torch device for learned enhancers.
        metric: the scorer (default: ``ImageQuality()`` = full-reference when GT exists, NIQE, BRISQUE, LOE).
        figure_images: number of images in the comparison figure (0 = no figure).
        progress: show a progress bar per enhancer.
    """
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"enhancer labels must be unique, got {labels}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metric = metric or ImageQuality()
    csv = out / "per_image.csv"
    table = _load_done(csv)
    done = {tuple(r) for r in table[KEY].astype(str).itertuples(index=False)}
    rows = table.to_dict("records")
    inputs: dict[tuple[str, str], np.ndarray] = {}
    for spec in specs:
        todo = [s for s in samples
                if (spec.label, s.group, s.name) not in done or not _image_path(out, spec.label, s).is_file()]
        if not todo:
            continue
        enhancer = spec.build(device)  # built only when there is work, so a finished run needs no weights
        for s in tqdm(todo, desc=spec.label, unit="img", disable=not progress):
            low = inputs.get((s.group, s.name))
            if low is None:
                low = inputs[(s.group, s.name)] = imread_rgb(s.low)
            t0 = time.perf_counter()
            enhanced = enhancer(low)
            runtime = time.perf_counter() - t0
            imwrite_rgb(_image_path(out, spec.label, s), enhanced)
            gt = imread_rgb(s.gt) if s.gt is not None else None
            if gt is not None and gt.shape != low.shape:
                raise ValueError(f"{s.gt}: ground truth {gt.shape} and low-light {s.low} {low.shape} differ in size")
            row = {"enhancer": spec.label, "group": s.group, "name": s.name, "paired": gt is not None,
                   **metric.measure(enhanced, gt, low), "runtime_s": runtime,
                   "height": low.shape[0], "width": low.shape[1]}
            key = (spec.label, s.group, s.name)
            rows = [r for r in rows if (r["enhancer"], str(r["group"]), str(r["name"])) != key]
            rows.append(row)
            _write_csv(_ordered(pd.DataFrame(rows)), csv)
    table = _ordered(pd.DataFrame(rows))
    wanted = {(sp.label, s.group, s.name) for sp in specs for s in samples}
    table = table[[(r.enhancer, str(r.group), str(r.name)) in wanted for r in table.itertuples(index=False)]]
    write_reports(table, out, labels, loe_short_side=metric.loe_short_side)
    if figure_images > 0:
        from evaluation.enhancement.figure import comparison_figure

        comparison_figure(samples, labels, out, out / "comparison.png", max_images=figure_images)
    return table


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    metrics = [c for c in METRIC_ORDER if c in df.columns]
    rest = [c for c in df.columns if c not in KEY + metrics]
    return df[[c for c in KEY if c in df.columns] + [c for c in rest if c == "paired"] + metrics
              + [c for c in rest if c != "paired"]]


def summarize(table: pd.DataFrame, labels: Sequence[str], by_group: bool = False) -> pd.DataFrame:
    """Mean of every metric per enhancer (and group), with the image count; enhancers keep ``labels`` order.

    Full-reference columns average over paired images only (they are NaN for unpaired ones); infinite PSNRs
    (identical images) are left out of the mean.
    """
    metrics = [c for c in METRIC_ORDER if c in table.columns]
    keys = ["enhancer", "group"] if by_group else ["enhancer"]
    clean = table.copy()
    clean[metrics] = clean[metrics].astype(float).replace([np.inf, -np.inf], np.nan)
    agg = clean.groupby(keys, sort=False)[metrics].mean()
    agg.insert(0, "images", clean.groupby(keys, sort=False).size())
    if "paired" in clean.columns:
        agg.insert(1, "paired", clean.groupby(keys, sort=False)["paired"].sum().astype(int))
    agg = agg.reset_index()
    agg["_order"] = agg["enhancer"].map({lab: i for i, lab in enumerate(labels)})
    agg = agg.sort_values(["_order", *keys[1:]]).drop(columns="_order")
    return agg.dropna(axis=1, how="all").reset_index(drop=True)


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-Markdown table with arrows on metric headers (up = higher is better)."""
    shown = df.copy()
    shown.columns = [f"{c} {'↑' if c in HIGHER_IS_BETTER else '↓'}" if c in METRIC_ORDER else c for c in df.columns]
    for c in shown.columns:
        if shown[c].dtype.kind == "f":
            shown[c] = shown[c].map(lambda v: "" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}f}")
    return shown.to_markdown(index=False)


def write_reports(table: pd.DataFrame, out: Path, labels: Sequence[str], loe_short_side: int = DEFAULT_SHORT_SIDE
                  ) -> None:
    """Write per_image.csv, summary.{csv,md} and summary_by_group.{csv,md} atomically."""
    _write_csv(table, out / "per_image.csv")
    note = (f"\n\nPSNR/SSIM on uint8 RGB (ssim_uniform7 = skimage 7x7 uniform window as in UPT-Flow; ssim_gauss11 = "
            f"11x11 Gaussian sigma 1.5), averaged over paired images only; NIQE (MATLAB gray), BRISQUE (LIVE SVR) "
            f"and LOE (max-RGB lightness, grid short side {loe_short_side}) over all images; runtime_s = enhancement "
            f"time per image.\n")
    for by_group, stem in ((False, "summary"), (True, "summary_by_group")):
        summary = summarize(table, labels, by_group)
        _write_csv(summary, out / f"{stem}.csv")
        atomic_write_text(out / f"{stem}.md", to_markdown(summary) + note)

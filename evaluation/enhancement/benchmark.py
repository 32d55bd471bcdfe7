"""The enhancement benchmark: enhance every image of a dataset, save it, score it (full-reference on paired data,
no-reference otherwise) and average.

Unit folder::

    images/<sample name>.png     the enhanced images (atomic writes)
    per_image.csv                one row per image: its metrics, runtime and size
    summary.csv, summary.md      the mean of every metric (paired images only for full-reference metrics)
    metrics.json                 identity, protocol, means, images scored and skipped
    owner.json                   the identity that wrote the folder and its files (another one's run replaces them)
"""

from __future__ import annotations

import math
import time
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
    file_identity,
    unit_identity,
)
from evaluation.metrics import conventions, to_table
from evaluation.registry import BENCHMARKS
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE
from uptflow.utils.io import atomic_write_json, atomic_write_text, imread_rgb, imwrite_rgb

__all__ = ["EnhancementBenchmark", "COLUMNS", "FULL_REFERENCE", "NO_REFERENCE"]

# catalogue name -> column of uptflow.metrics.image_quality.ImageQuality.measure
COLUMNS = {
    "PSNR": "psnr", "SSIM": "ssim_uniform7", "SSIM-G11": "ssim_gauss11", "PSNR-GTmean": "psnr_gtmean",
    "SSIM-GTmean": "ssim_uniform7_gtmean", "SSIM-G11-GTmean": "ssim_gauss11_gtmean", "LPIPS": "lpips",
    "NIQE": "niqe", "BRISQUE": "brisque", "LOE": "loe",
}
FULL_REFERENCE = ("PSNR", "SSIM", "SSIM-G11", "PSNR-GTmean", "SSIM-GTmean", "SSIM-G11-GTmean", "LPIPS")
NO_REFERENCE = ("NIQE", "BRISQUE", "LOE")


def read_reference(sample: Any, low: np.ndarray) -> np.ndarray | None:
    """The reference image of ``sample`` (None without one); OSError / ValueError when it cannot be read or its size
    is not the low-light input's, so the pair cannot be scored (nor shown side by side)."""
    if sample.reference is None:
        return None
    gt = imread_rgb(sample.reference)
    if gt.shape != low.shape:
        raise ValueError(f"reference {sample.reference} is {gt.shape[1]}x{gt.shape[0]}, the input "
                         f"{low.shape[1]}x{low.shape[0]}")
    return gt


@BENCHMARKS.register_module(name="enhancement")
class EnhancementBenchmark(Benchmark):
    """Enhancement quality on paired (full-reference) and unpaired (no-reference) image datasets.

    Args:
        metrics: full-reference metrics for datasets with references (default PSNR, SSIM, SSIM-G11).
        nr_metrics: no-reference metrics for datasets without (default NIQE, BRISQUE, LOE).
        loe_short_side: LOE grid short side (``uptflow.metrics.loe``).
        lpips_backbone: AlexNet weights for LPIPS (default: found locally, see ``uptflow.metrics.lpips``).
        lpips_linear: LPIPS v0.1 linear heads (default: those of the ``lpips`` wheel).
        save_images: keep the enhanced images in the unit folder.
        device: torch device of LPIPS.
    """

    task = "enhancement"
    title = "Enhancement quality"
    dataset_types = ("synthetic", "paired", "photo_pairs", "unpaired", "frames")
    dataset_keys = {"paired": ("synthetic", "paired", "photo_pairs"), "unpaired": ("unpaired", "frames")}
    metrics = tuple(COLUMNS)
    default_metrics = ("PSNR", "SSIM", "SSIM-G11")
    output_settings = ("save_images",)
    outputs = ("images", "per_image.csv", "summary.csv", "summary.md", "metrics.json")
    work_dir_outputs = ("comparison.png",)  # enhance-bench's figure
    default_nr_metrics = ("NIQE", "BRISQUE", "LOE")

    def __init__(self, metrics: Sequence[str] | None = None, nr_metrics: Sequence[str] | None = None,
                 loe_short_side: int = DEFAULT_SHORT_SIDE, lpips_backbone: str | None = None,
                 lpips_linear: str | None = None, save_images: bool = True, device: str = "cpu") -> None:
        super().__init__(metrics, device)
        self.nr_selected = tuple(nr_metrics) if nr_metrics is not None else self.default_nr_metrics
        unknown = [m for m in self.nr_selected if m not in COLUMNS]
        if unknown:
            raise ValueError(f"nr_metrics: unknown metric(s) {unknown}; no-reference metrics are "
                             f"{', '.join(NO_REFERENCE)}")
        referenced = [m for m in self.nr_selected if m not in NO_REFERENCE]
        if referenced:
            raise ValueError(f"nr_metrics: {referenced} need a reference; no-reference metrics are "
                             f"{', '.join(NO_REFERENCE)}")
        if loe_short_side < 1:
            raise ValueError(f"loe_short_side: must be >= 1, got {loe_short_side}")
        self.loe_short_side, self.save_images = loe_short_side, save_images
        self.lpips_backbone, self.lpips_linear = lpips_backbone, lpips_linear
        self._lpips: Any = None

    def metric_conventions(self) -> str:
        return conventions([*self.selected, *self.nr_selected], loe_short_side=self.loe_short_side)

    def settings(self) -> dict[str, Any]:
        out = {**super().settings(), "nr_metrics": list(self.nr_selected), "loe_short_side": self.loe_short_side}
        if "LPIPS" in self.selected:  # its weights only where it is scored (other units keep their ids)
            from uptflow.metrics.lpips import default_backbone_path, default_linear_path

            out["lpips_backbone"] = file_identity(self.lpips_backbone or default_backbone_path())
            out["lpips_linear"] = file_identity(self.lpips_linear or default_linear_path())
        return out

    @classmethod
    def table_specs(cls, task: str, cfg: dict[str, Any]) -> list[TableSpec]:
        return [TableSpec(f"{task}_paired", "Paired enhancement quality (full-reference)",
                          tuple(cfg.get("paired") or ()), paper=True),
                TableSpec(f"{task}_unpaired", "Unpaired enhancement quality (no-reference)",
                          tuple(cfg.get("unpaired") or ()), paper=True)]

    def wanted(self, paired: bool) -> tuple[str, ...]:
        """The metrics reported on a paired / unpaired dataset."""
        return self.selected if paired else self.nr_selected

    def _quality(self, wanted: Sequence[str]) -> Any:
        """The scorer computing ``wanted`` (and nothing slower than needed)."""
        from uptflow.metrics.image_quality import ImageQuality

        lpips = None
        if "LPIPS" in wanted:
            from uptflow.metrics.lpips import LPIPS

            if self._lpips is None:
                self._lpips = LPIPS(self.lpips_backbone, self.lpips_linear).to(self.device)
            lpips = self._lpips
        return ImageQuality(gt_mean=any(m.endswith("GTmean") for m in wanted), lpips=lpips,
                            no_reference=bool({"NIQE", "BRISQUE"} & set(wanted)), loe_short_side=self.loe_short_side)

    def protocol(self, wanted: Sequence[str]) -> str:
        """The protocol line of a unit reporting ``wanted``."""
        line = conventions(wanted, loe_short_side=self.loe_short_side)
        return line + "; mean over images (evaluation.enhancement)"

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        out_dir = Path(out_dir)
        ident = unit_identity(self, dataset, enhancer)
        plog = self.start(out_dir, ident)
        # images with a reference get the full-reference metrics, the others (an unpaired dataset, or the
        # unmatched images of a paired one) the no-reference ones
        quality: dict[bool, Any] = {}
        for s, low in self.pending(dataset, plog, enhancer, progress):
            try:
                gt = read_reference(s, low)
            except (OSError, ValueError) as e:
                plog.add(s.name, {"skipped": str(e)})
                continue
            hits = getattr(enhancer, "hits", None)  # an EnhancedImageCache counts the images it reads back
            t0 = time.perf_counter()
            out = enhancer(low) if enhancer is not None else low
            runtime = time.perf_counter() - t0
            if hits is not None and enhancer.hits > hits:
                runtime = math.nan  # read from the enhanced-image cache: the time of a PNG read, not of the enhancer
            if self.save_images:
                imwrite_rgb(out_dir / "images" / f"{s.name}.png", np.asarray(out))
            paired = gt is not None
            wanted = self.wanted(paired)
            if paired not in quality:
                quality[paired] = self._quality(wanted)
            m = quality[paired].measure(np.asarray(out), gt, low if "LOE" in wanted else None)
            rec = {k: m[COLUMNS[k]] for k in wanted if COLUMNS[k] in m}
            plog.add(s.name, dict(rec, group=s.group, paired=paired, runtime_s=runtime,
                                  height=int(low.shape[0]), width=int(low.shape[1])))
        wanted = tuple(dict.fromkeys([*self.wanted(True)] * dataset.paired
                                     + [*self.wanted(False)] * any(s.reference is None for s in dataset.samples)))
        return self._finish(dataset, enhancer, wanted, plog, ident, out_dir)

    def _finish(self, dataset: Any, enhancer: Any, wanted: Sequence[str], plog: ProgressLog, ident: dict,
                out_dir: Path) -> UnitResult:
        names = [s.name for s in dataset.samples]
        skipped = [dict(file=n, reason=plog.done[n]["skipped"]) for n in names if "skipped" in plog.done.get(n, {})]
        scored = [dict(name=n, **plog.done[n]) for n in names if n in plog.done and "skipped" not in plog.done[n]]
        per_image = pd.DataFrame(scored, columns=["name", "group", "paired", *wanted, "runtime_s", "height", "width"])
        atomic_write_text(out_dir / "per_image.csv", per_image.to_csv(index=False))
        means, counts = {}, {}
        for m in wanted:
            vals = per_image[m].astype(float).replace([np.inf, -np.inf], np.nan).dropna() if m in per_image else []
            counts[m] = len(vals)
            means[m] = float(vals.mean()) if len(vals) else math.nan
        protocol = self.protocol(wanted)
        with_ref = int(per_image["paired"].astype(bool).sum())
        if with_ref and len(per_image) > with_ref:  # a paired dataset with unmatched images: which average is over what
            paired, unpaired = self.wanted(True), self.wanted(False)
            groups = (([m for m in paired if m not in unpaired], f"the {with_ref} images with a reference"),
                      ([m for m in unpaired if m not in paired], f"the {len(per_image) - with_ref} without"),
                      ([m for m in paired if m in unpaired], f"all {len(per_image)}"))  # NIQE in --metrics too
            protocol += "; " + ", ".join(f"{', '.join(ms)} over {what}" for ms, what in groups if ms)
        for m in wanted:  # PSNR of an output equal to its reference is infinite: a mean leaves it out, and says so
            infinite = int(np.isinf(per_image[m].astype(float)).sum()) if m in per_image else 0
            if infinite:
                protocol += f"; {m} mean over {counts[m]} images ({infinite} infinite left out)"
        times = per_image["runtime_s"].astype(float).dropna()
        read_back = len(per_image) - len(times)
        runtime_note = ""
        if read_back and len(times):
            runtime_note = (f"\nruntime_s: over the {len(times)} images enhanced in this run; {read_back} were read "
                            "back from the enhanced-image cache (no enhancement time)\n")
        elif read_back:
            runtime_note = (f"\nruntime_s: none: all {read_back} images were read back from the enhanced-image cache "
                            "(the suite enhances each image once, before scoring); benchmarks/ times the enhancers\n")
        summary = pd.DataFrame([dict(enhancer=describe_enhancer(enhancer)["name"], images=len(scored),
                                     skipped=len(skipped) + len(dataset.unread),
                                     **{m: to_table(m, v) for m, v in means.items()},
                                     runtime_s=float(times.mean()) if len(times) else math.nan)])
        atomic_write_text(out_dir / "summary.csv", summary.to_csv(index=False))
        atomic_write_text(out_dir / "summary.md", summary.to_markdown(index=False, floatfmt=".4f")
                          + f"\n\nProtocol: {protocol}\n{data_line(dataset)}\n{runtime_note}")
        atomic_write_json(out_dir / "metrics.json", dict(identity=ident, protocol=protocol, means=means,
                                                         images=len(scored), skipped=skipped))
        rows = [dict(metric=m, cls="", value=to_table(m, v), n=counts[m]) for m, v in means.items()
                if math.isfinite(v)]
        return UnitResult(rows, len(scored), skipped, protocol)

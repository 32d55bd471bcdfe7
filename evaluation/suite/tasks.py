"""Adapters from the suite's units to each area's own API, and their numbers to long-format result rows.

Each task benchmark lives in its own package (``evaluation.enhancement``, ``evaluation.detection``,
``evaluation.segmentation``, ``evaluation.traffic``) with its readers, models and metrics; this module only
opens the configured datasets with those readers, calls the benchmark for one (enhancer, dataset) unit with the
enhancer wrapped in the shared cache, and turns the returned numbers into rows. Nothing is measured here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.suite.results import row
from uptflow.utils.io import imread_rgb, imwrite_rgb

__all__ = ["TaskUnavailable", "ENHANCEMENT_METRICS", "task_datasets", "open_dataset", "train_enhancer", "run_unit",
           "grid_sample"]

# table name -> column of evaluation.enhancement's per-image table
ENHANCEMENT_METRICS = {
    "PSNR": "psnr", "SSIM": "ssim_uniform7", "SSIM-G11": "ssim_gauss11", "PSNR-GTmean": "psnr_gtmean",
    "SSIM-GTmean": "ssim_uniform7_gtmean", "SSIM-G11-GTmean": "ssim_gauss11_gtmean", "LPIPS": "lpips",
    "NIQE": "niqe", "BRISQUE": "brisque", "LOE": "loe",
}
_PAIRED_DEFAULT = ("PSNR", "SSIM", "SSIM-G11")
_UNPAIRED_DEFAULT = ("NIQE", "BRISQUE", "LOE")
_ENH_PROTOCOL = ("PSNR on uint8 RGB; SSIM = skimage 7x7 uniform window, channel_axis=2 (UPT-Flow's test.py); "
                 "SSIM-G11 = 11x11 Gaussian sigma 1.5; no GT-mean unless named; LPIPS AlexNet v0.1; mean over images")
_ENH_PROTOCOL_NR = "NIQE (MATLAB, gray), BRISQUE (LIVE SVR), LOE (input vs enhanced); mean over images"
_SEGMENTERS: dict[str, Any] = {}
# traffic numbers tabulated by default (timings are left out: they are not results and change run to run)
_TRAFFIC_METRICS = ("LOE", "NIQE", "BRISQUE", "vehicles_per_frame", "persons_per_frame", "flicker_ratio",
                    "warp_ratio")


class TaskUnavailable(RuntimeError):
    """A task cannot run in this environment (e.g. mmsegmentation not installed); the unit is skipped, not failed."""


def task_datasets(task: str, tcfg: dict[str, Any]) -> list[str]:
    """Names of the datasets a task config reads."""
    if task == "enhancement":
        return list(dict.fromkeys([*tcfg.get("paired", ()), *tcfg.get("unpaired", ())]))
    if "dataset" in tcfg:
        return [tcfg["dataset"]]
    return list(tcfg.get("datasets", ()))


# ---------------------------------------------------------------------------------------------- datasets
def open_dataset(d: dict[str, Any], data_dir: Path, seed: int = 0) -> tuple[list[Path], Any, Callable]:
    """Read a dataset with its area's reader; return (image files to enhance up front, what the task reads, loader).

    The loader reads an input file exactly as the task's benchmark does (ExDark ignores EXIF orientation, the
    others honour it), so the images enhanced up front are the ones the benchmark later finds in the cache.

    Args:
        d: validated dataset entry (type, root, split, limit, ...).
        data_dir: folder for data the suite makes itself (synthetic pairs).
        seed: suite seed (synthetic data, random splits).
    """
    kind, limit = d["type"], d["limit"]
    if kind in ("synthetic", "paired", "unpaired") or (kind == "frames" and Path(d["root"]).is_dir()):
        from evaluation.enhancement.datasets import read_paired, read_unpaired

        if kind == "synthetic":
            samples = read_paired(_synthetic_pairs(d, data_dir, seed))
        elif kind == "paired":
            samples = read_paired(d["root"], allow_unmatched=d.get("allow_unmatched", False))
        else:
            samples = read_unpaired(d["root"])
        samples = samples[:: d.get("every", 1)][:limit]
        return [s.low for s in samples], samples, imread_rgb
    if kind == "exdark":
        from evaluation.detection.exdark import read_exdark, read_image_raw
        from evaluation.detection.splits import make_split

        ds = read_exdark(d["root"], d.get("classlist"))
        names = make_split(ds, d.get("split_kind", "official"), seed).names(d["split"] or "test")[:limit]
        by_name = ds.by_name()
        return [by_name[n].path for n in names], names, read_image_raw
    if kind in ("cityscapes", "acdc", "darkzurich", "nightcity"):
        from evaluation.segmentation.datasets import read_dataset

        samples = read_dataset(kind, d["root"], d["split"] or "val")[:limit]
        # degraded (synthetic-night) inputs are made inside the benchmark and enhanced there through the cache
        return ([] if d.get("degrade") else [s.image for s in samples]), samples, imread_rgb
    if kind == "frames":  # a video file: frames are decoded, enhanced and cached inside the traffic benchmark
        from evaluation.traffic.frames import open_source

        return [], open_source(d["root"], every=d.get("every", 1), max_frames=limit, fps=d.get("fps")), imread_rgb
    raise ValueError(f"dataset type {kind!r} has no reader")


def _synthetic_pairs(d: dict[str, Any], data_dir: Path, seed: int) -> Path:
    """Synthetic night pairs from scikit-image's photos (``uptflow.data.synthetic``) as a ``low/`` + ``high/`` folder.

    Writing them lets every task read files like any other dataset; the files are written atomically and
    reused when present, and the folder name carries the seed and size so a changed config makes new ones.
    """
    from uptflow.data.synthetic import SKIMAGE_PHOTOS, SkimagePhotoPairs

    photos = SKIMAGE_PHOTOS[: d.get("num_images", len(SKIMAGE_PHOTOS))]
    seed = d.get("seed", seed)
    tag = f"seed{seed}-max{d.get('size')}"
    pairs = [(data_dir / tag / "low" / f"{p}.png", data_dir / tag / "high" / f"{p}.png") for p in photos]
    if not all(lo.is_file() and hi.is_file() for lo, hi in pairs):
        ds = SkimagePhotoPairs(photos=photos, seed=seed, max_side=d.get("size"))
        for i, (lo, hi) in enumerate(pairs):
            info = ds.get_data_info(i)
            imwrite_rgb(hi, info["gt"])
            imwrite_rgb(lo, info["low"])
    return data_dir / tag


# ---------------------------------------------------------------------------------------------- training
def train_enhancer(config: str, out_dir: Path, options: dict[str, Any], seed: int, device: str) -> Path:
    """Train UPT-Flow from an mmengine config (resuming its own checkpoints after a kill); return the exported net."""
    from uptflow.engine.train import train

    return train(config, out_dir, cfg_options={"randomness.seed": seed, **(options or {})}, amp=device != "cpu")


# ---------------------------------------------------------------------------------------------- units
def run_unit(task: str, enh: Any, ds: Any, tcfg: dict[str, Any], cfg: Any, out_dir: Path,
             progress: bool = True) -> list[dict[str, Any]]:
    """Run one (task, enhancer, dataset) unit through the task's own benchmark; return its result rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fn = {"enhancement": _enhancement, "detection": _detection, "segmentation": _segmentation,
          "traffic": _traffic}[task]
    return fn(enh, ds, tcfg, cfg, out_dir, progress)


def _split(d: dict[str, Any], default: str) -> str:
    return d["split"] or default


def _enhancement(enh: Any, ds: Any, tcfg: dict[str, Any], cfg: Any, out_dir: Path,
                 progress: bool) -> list[dict[str, Any]]:
    from evaluation.enhancement.benchmark import EnhancerSpec, run_benchmark, summarize
    from uptflow.metrics.image_quality import ImageQuality
    from uptflow.metrics.lpips import LPIPS, lpips_available

    d = ds.cfg
    paired = ds.name in tcfg.get("paired", ())
    wanted = (tcfg.get("metrics") or _PAIRED_DEFAULT) if paired else (tcfg.get("nr_metrics") or _UNPAIRED_DEFAULT)
    names = {ENHANCEMENT_METRICS[m] for m in wanted}
    if "lpips" in names and not lpips_available():
        raise TaskUnavailable("LPIPS needs the AlexNet checkpoint (see uptflow.metrics.lpips); drop LPIPS from "
                              "tasks.enhancement.metrics or put the file in place")
    metric = ImageQuality(gt_mean=any(n.endswith("_gtmean") for n in names),
                          lpips=LPIPS() if "lpips" in names else None,
                          no_reference=bool(names & {"niqe", "brisque"}))
    spec = EnhancerSpec(enh.label, enh.name, enhancer=enh.cache)  # the suite's enhancer behind the shared cache
    table = run_benchmark(ds.payload, [spec], out_dir, device=cfg["device"], metric=metric, figure_images=0,
                          progress=progress)
    summary = summarize(table, [enh.label]).iloc[0]
    proto = (f"{_ENH_PROTOCOL} (evaluation.enhancement)" if paired else f"{_ENH_PROTOCOL_NR} (evaluation.enhancement)")
    split = _split(d, "all")
    return [row(enh.label, d["title"], "enhancement", m, float(summary[ENHANCEMENT_METRICS[m]]), split=split,
                protocol=proto, n=int(summary["paired"] if paired else summary["images"]))
            for m in wanted if ENHANCEMENT_METRICS[m] in summary.index and np.isfinite(summary[ENHANCEMENT_METRICS[m]])]


def _detection(enh: Any, ds: Any, tcfg: dict[str, Any], cfg: Any, out_dir: Path,
               progress: bool) -> list[dict[str, Any]]:
    from evaluation.detection.pipeline import run_exdark_detection

    d, det = ds.cfg, tcfg["detector"]
    metrics = run_exdark_detection(
        d["root"], out_dir, split=d.get("split_kind", "official"), subset=_split(d, "test"), seed=cfg["seed"],
        classlist=d.get("classlist"), detector=det["type"], weights=det["weights"], config=det["config"],
        enhancer=enh.cache, enhancer_weights=enh.weights, device=cfg["device"],
        cache_dir=str(cfg.cache_dir) if cfg.cache_dir else None, limit=d["limit"], progress=progress, **det["params"])
    proto, n = metrics["protocol"], metrics["protocol"]["split"]["n_images"]
    det_p = proto["detector"]
    variants = "; ".join(f"{k.upper()}: {v}" for k, v in proto["metric_variants"].items())
    line = (f"{det_p.get('detector')} ({Path(str(det_p.get('weights'))).name}, {proto['pretraining']}, "
            f"input {det_p.get('input_size')}); AP in %; {variants}")
    rows = []
    for r in metrics["rows"]:
        cls = r["group"][len("class:"):] if r["group"].startswith("class:") else ""
        if r["group"] != "all" and not cls:
            continue  # light-type / indoor-outdoor breakdowns stay in the unit's own tables
        rows.append(row(enh.label, d["title"], "detection", r["metric"], 100.0 * r["value"], cls=cls,
                        split=r["split"], protocol=line, n=n))
    return rows


def _segmentation(enh: Any, ds: Any, tcfg: dict[str, Any], cfg: Any, out_dir: Path,
                  progress: bool) -> list[dict[str, Any]]:
    try:
        import mmseg  # noqa: F401
    except ImportError as e:
        raise TaskUnavailable("mmsegmentation is not installed (pip install -e '.[mm]' and `uptflow setup-mm`)") from e
    from evaluation.segmentation.degrade import build_degradation
    from evaluation.segmentation.metrics import get_protocol
    from evaluation.segmentation.run import evaluate_segmentation
    from evaluation.segmentation.segmenters import build_segmenter, config_protocol

    d, spec = ds.cfg, tcfg["segmenter"]
    key = json.dumps([spec, cfg["device"]], sort_keys=True, default=str)
    if key not in _SEGMENTERS:  # one model per process, shared by the units of every enhancer
        _SEGMENTERS.clear()
        _SEGMENTERS[key] = build_segmenter(spec["type"], config=spec["config"], checkpoint=spec["weights"],
                                           device=cfg["device"], **spec["params"])
    segmenter = _SEGMENTERS[key]
    protocol = get_protocol(config_protocol(spec["config"]))
    degrade = build_degradation(d["degrade"]) if d.get("degrade") else None
    res = evaluate_segmentation(ds.payload, segmenter, protocol, out_dir, enhancer=enh.cache, degrade=degrade,
                                degrade_seed=cfg["seed"], identity=dict(dataset=d["type"], root=d["root"],
                                                                        split=_split(d, "val")),
                                progress=progress)
    if res.get("mIoU") is None:
        return []
    model = Path(spec["config"]).stem + (" RANDOM-INIT (pipeline check only)" if spec["weights"] is None
                                         else f" ({Path(spec['weights']).name})")
    degr = f"; input darkened with '{d['degrade']}'" if d.get("degrade") else ""
    proto = f"{model}; {protocol.name}: {protocol.description}{degr}"
    split, n = _split(d, "val"), res["n_labelled"]
    rows = [row(enh.label, d["title"], "segmentation", m, res[m], split=split, protocol=proto, n=n)
            for m in ("mIoU", "mAcc", "aAcc")]
    rows += [row(enh.label, d["title"], "segmentation", "IoU", v["IoU"], cls=name, split=split, protocol=proto, n=n)
             for name, v in res["per_class"].items() if v["evaluated"]]
    return rows


def _traffic(enh: Any, ds: Any, tcfg: dict[str, Any], cfg: Any, out_dir: Path,
             progress: bool) -> list[dict[str, Any]]:
    from evaluation.traffic.frames import open_source
    from evaluation.traffic.run import run_traffic

    d = ds.cfg
    # a folder of frames was read as images (enhanced up front); the benchmark reads it again as a video
    source = ds.payload if not isinstance(ds.payload, list) else open_source(
        d["root"], every=d.get("every", 1), max_frames=d["limit"], fps=d.get("fps"))
    detector = None
    if tcfg.get("detector") is not None:
        from evaluation.detection.detectors import build_detector

        spec = tcfg["detector"]
        detector = build_detector(spec["type"], weights=spec["weights"], device=cfg["device"], **spec["params"])
    df = run_traffic([source], {enh.label: enh.cache}, out_dir, detector=detector, progress=progress)
    wanted = tcfg.get("metrics") or list(_TRAFFIC_METRICS)
    r = df.iloc[0]
    proto = "LOE (input vs enhanced) / NIQE / BRISQUE per frame, averaged (uptflow.metrics); see evaluation/traffic"
    if detector is not None:
        p = detector.protocol()
        proto += (f"; vehicle / person counts per frame by {p.get('detector')} {Path(str(p.get('weights'))).name} "
                  f"(sha256 {str(p.get('weights_sha256'))[:12]}) at score >= 0.25")
    return [row(enh.label, d["title"], "traffic", m, float(r[m]), split=_split(d, "all"), protocol=proto,
                n=int(r["frames"])) for m in wanted if m in df.columns and np.isfinite(float(r[m]))]


# ---------------------------------------------------------------------------------------------- report
def grid_sample(path: Path, ds: Any, enhancers: list[Any]) -> dict[str, Any]:
    """One row of a side-by-side grid: the input, its ground truth when paired, and each enhancer's output."""
    img = ds.loader(path)
    gt_path = next((s.gt for s in ds.payload if getattr(s, "low", None) == path), None) \
        if isinstance(ds.payload, list) else None
    gt = imread_rgb(gt_path) if gt_path is not None else None
    return dict(name=Path(path).name, input=img, gt=gt, outputs={e.label: e.cache(img) for e in enhancers})

"""The literature's detection protocol "enhance offline, then fine-tune the detector" (MAET/IAT, Retinexformer,
YOLA) as one call: :func:`finetune_detector`.

Given the detection benchmark's detector spec and its TEST dataset, it reads the train (and val) split with the
same reader settings (darkening included), enhances every image once through the enhanced-image cache, exports the
enhanced images (COCO json + ultralytics yaml, symlinks into the cache), trains the detector from the given weights
for the schedule and returns the spec of the fine-tuned detector (same type, ``checkpoint`` = the trained weights).

Work dir (named by the caller after everything the result depends on):

* ``finetune.json``: what is trained (detector, starting weights, schedule, enhancer, train / val data), written
  before training; a work dir holding another request is refused;
* ``data/``: the export; ``ultralytics/`` or ``mmdet/``: the run (``last.pt`` / mmengine checkpoints);
* ``done.json``: written atomically once training has ended: the trained weights, their size and checksum, the
  image and box counts, how many train images are also test images, the wall time, where a killed run resumed. A
  later call with the same request returns at once.

Schedules are plain dicts (:func:`check_schedule`); every key is checked before any work, with errors naming it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evaluation.benchmark import describe_enhancer, digest, model_identity
from evaluation.datasets.base import Dataset
from evaluation.datasets.splits import Split
from uptflow.registry import SettingsError
from uptflow.utils.io import atomic_write_json, file_sha256
from uptflow.utils.paths import require_file

__all__ = ["finetune_detector", "check_schedule", "framework_of", "SCHEDULE_KEYS", "DATA_KEYS"]

log = logging.getLogger(__name__)

# detector type -> training framework
_FRAMEWORKS = {"yolov8": "ultralytics", "ultralytics": "ultralytics", "mmdet": "mmdet"}
# keys every schedule may have: which images to train (and validate) on, and the training seed
DATA_KEYS: dict[str, str] = {
    "train_split": "reader split of the training images (ExDark default 'train'; COCO layout: required, None = "
                   "every image)",
    "val_split": "reader split watched while training (default none: the result never depends on it; YOLA leaves "
                 "ExDark's val unused)",
    "limit": "only the first N training (and validation) images",
    "seed": "training seed (default 0)",
}
# framework -> its own schedule keys
SCHEDULE_KEYS: dict[str, dict[str, str]] = {
    "ultralytics": {
        "epochs": "epochs (required)",
        "imgsz": "training size (default: the detector's imgsz, else 640)",
        "batch": "batch size (default 16)",
        "options": "further ultralytics train arguments, e.g. dict(lr0=0.001, mosaic=0.0)",
    },
    "mmdet": {
        "max_epochs": "train_cfg.max_epochs (default: the config's)",
        "max_iters": "train for N iterations instead (IterBasedTrainLoop; smoke runs)",
        "batch": "train_dataloader.batch_size (default: the config's)",
        "num_workers": "train_dataloader.num_workers (default: the config's)",
        "checkpoint_interval": "epochs (iterations with max_iters) between checkpoints: what a kill can lose",
        "cfg_options": "further config overrides, dotted keys",
    },
}
# ultralytics arguments the protocol sets itself
_RESERVED = {"data", "epochs", "imgsz", "batch", "device", "project", "name", "exist_ok", "resume", "model", "amp",
             "seed", "val", "mode"}


def framework_of(detector: dict[str, Any]) -> str:
    """``ultralytics`` or ``mmdet``: how a detector spec is trained."""
    kind = detector.get("type")
    if kind not in _FRAMEWORKS:
        raise ValueError(f"detector.type: fine-tuning supports {sorted(_FRAMEWORKS)}, not {kind!r}")
    return _FRAMEWORKS[kind]


def _check_int(sched: dict[str, Any], key: str, where: str, minimum: int) -> None:
    v = sched.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < minimum):
        raise ValueError(f"{where}.{key}: must be an integer >= {minimum}, got {v!r}")


def check_schedule(detector: dict[str, Any], schedule: dict[str, Any], dataset_type: str | None = None,
                   where: str = "schedule") -> dict[str, Any]:
    """Validate a fine-tune schedule for ``detector`` (and a dataset type) and return it with defaults filled in.

    Keys: :data:`DATA_KEYS` plus the framework's :data:`SCHEDULE_KEYS`. An unknown, missing or ill-typed key raises
    (SettingsError / ValueError) with a message starting ``<where>.<key>:``.
    """
    if not isinstance(schedule, dict):
        raise ValueError(f"{where}: must be a dict, got {type(schedule).__name__}")
    fw = framework_of(detector)
    known = {**DATA_KEYS, **SCHEDULE_KEYS[fw]}
    for key in schedule:
        if key not in known:
            raise SettingsError(f"{where}.{key}: unknown key for {fw} fine-tuning (known: {', '.join(known)})")
    sched = dict(schedule)
    for key in ("limit", "epochs", "imgsz", "batch", "max_epochs", "max_iters", "checkpoint_interval", "seed",
                "num_workers"):
        _check_int(sched, key, where, 0 if key in ("seed", "num_workers") else 1)
    for key in ("train_split", "val_split"):
        if sched.get(key) is not None and not isinstance(sched[key], str):
            raise ValueError(f"{where}.{key}: must be a split name (str) or None, got {sched[key]!r}")
    if dataset_type == "coco" and "train_split" not in sched:
        raise SettingsError(f"{where}.train_split: required for COCO-layout data (a subset such as 'train2017', or "
                            "None for every image, which trains on the test images too: smoke runs only)")
    if dataset_type == "exdark":
        sched.setdefault("train_split", "train")
    sched.setdefault("train_split", None)
    sched.setdefault("val_split", None)
    sched.setdefault("limit", None)
    sched.setdefault("seed", 0)
    if fw == "ultralytics":
        if "epochs" not in sched:
            raise SettingsError(f"{where}.epochs: required for ultralytics detectors, e.g. dict(epochs=50, "
                                "imgsz=640, batch=16)")
        sched.setdefault("imgsz", detector.get("imgsz") or 640)
        sched.setdefault("batch", 16)
        options = sched.setdefault("options", {})
        if not isinstance(options, dict):
            raise ValueError(f"{where}.options: must be a dict of ultralytics train arguments, got {options!r}")
        _check_ultralytics_options(options, f"{where}.options")
    else:
        if sched.get("max_epochs") is not None and sched.get("max_iters") is not None:
            raise ValueError(f"{where}.max_iters: give max_epochs or max_iters, not both")
        options = sched.setdefault("cfg_options", {})
        if not isinstance(options, dict):
            raise ValueError(f"{where}.cfg_options: must be a dict of dotted config keys, got {options!r}")
    return sched


def _check_ultralytics_options(options: dict[str, Any], where: str) -> None:
    from ultralytics.cfg import DEFAULT_CFG_DICT

    for key in options:
        if key in _RESERVED:
            raise SettingsError(f"{where}.{key}: set by the fine-tune protocol itself (schedule keys: epochs, imgsz, "
                                "batch, seed; the device and data come from the call)")
        if key not in DEFAULT_CFG_DICT:
            raise SettingsError(f"{where}.{key}: not an ultralytics train argument")


def _read_split(dataset: Dataset, split: str, limit: int | None) -> Dataset:
    """The ``split`` images of ``dataset``'s reader (same root, settings, darkening and seed)."""
    from evaluation.datasets import build_reader

    cfg = dict(type=dataset.type, root=str(dataset.root), **{**dataset.settings, "split": split, "limit": limit})
    return build_reader(cfg, "schedule").read(seed=dataset.seed)


def _start_weights(detector: dict[str, Any], fw: str) -> tuple[str | None, dict[str, Any]]:
    """The starting weights of the training and their record (checksum; model yaml name; config ``load_from``)."""
    if fw == "ultralytics":
        ckpt = detector.get("checkpoint")
        if not ckpt:
            raise ValueError("detector.checkpoint: required (a .pt file, or a model .yaml for random init)")
        if str(ckpt).endswith((".yaml", ".yml")):
            return str(ckpt), {"model_yaml": str(ckpt)}
    else:
        if not detector.get("config"):
            raise ValueError("detector.config: required for mmdet detectors")
        ckpt = detector.get("checkpoint")
        if not ckpt:
            from uptflow.utils.mmconfig import load_config

            ckpt = load_config(detector["config"], detector.get("cfg_options")).get("load_from")
            if not ckpt:
                return None, {"random_init": True}
    path = require_file(ckpt, "detector.checkpoint (the starting weights)")
    return str(path), {"file": path.name, "sha256": file_sha256(path)}


def _enhanced_paths(datasets: list[Dataset], enhancer: Any, cache_dir: str | os.PathLike | None, progress: bool
                    ) -> tuple[dict[str, Path] | None, list[dict[str, str]]]:
    """Enhance (or, for darkened data, just store) every image once in the cache: ``{name: PNG}`` and the images
    that could not be loaded. None when the original files can be exported as they are."""
    from uptflow.enhancers import build_enhancer
    from uptflow.enhancers.cache import EnhancedImageCache

    darkened = any(d.degrade is not None for d in datasets)
    if enhancer is None and not darkened:
        return None, []
    spec = enhancer if enhancer is not None else "identity"  # the darkened inputs themselves, stored once
    cache = spec if isinstance(spec, EnhancedImageCache) else build_enhancer(spec, cache=True, cache_dir=cache_dir)
    paths, skipped = {}, []
    total = sum(len(d) for d in datasets)
    with tqdm(total=total, desc=f"enhance train ({cache.name})", unit="img", disable=not progress) as bar:
        for ds in datasets:
            for s, img in ds.images():
                bar.update()
                if isinstance(img, Exception):
                    skipped.append(dict(file=str(s.path), reason=str(img)))
                    continue
                paths[s.name] = cache.enhance_to_path(img)[1]
    return paths, skipped


def _export(train: Dataset, val: Dataset | None, out: Path, paths: dict[str, Path] | None,
            skipped: list[dict[str, str]]) -> dict[str, Path]:
    """Export the usable train (and val) images as one dataset with subsets ``train`` / ``val``."""
    from .export import export_dataset

    bad = {b["file"] for b in skipped}
    subsets: dict[str, list[str]] = {}
    for subset, ds in (("train", train), ("val", val)):
        if ds is None:
            continue
        names = [s.name for s in ds.samples if str(s.path) not in bad]
        stems = [s.stem for s in ds.samples if s.name in names]
        dup = sorted({t for t in stems if stems.count(t) > 1})
        if dup:
            raise ValueError(f"{ds.root}: {subset} images share file stems {dup[:5]} (the export names files by "
                             "stem); rename them")
        if not names:
            raise ValueError(f"{ds.root}: no usable {subset} images")
        subsets[subset] = names
    samples = train.samples + (val.samples if val is not None else [])
    combined = Dataset(train.type, train.root, samples, train.settings, classes=train.classes, exif=train.exif)
    split = Split("finetune", subsets, description="fine-tune split: the reader's train (and val) images")
    source = (lambda s: paths[s.name]) if paths is not None else None
    return export_dataset(combined, split, out, image_source=source)


def _mmdet_options(sched: dict[str, Any]) -> dict[str, Any]:
    """The schedule as mmengine config overrides (the schedule's ``cfg_options`` last)."""
    opts: dict[str, Any] = {}
    if sched.get("max_epochs") is not None:
        opts["train_cfg.max_epochs"] = sched["max_epochs"]
    if sched.get("max_iters") is not None:
        opts["train_cfg"] = dict(_delete_=True, type="IterBasedTrainLoop", max_iters=sched["max_iters"],
                                 val_interval=sched["max_iters"])
        opts["default_hooks.checkpoint"] = dict(_delete_=True, type="CheckpointHook", by_epoch=False,
                                                interval=sched.get("checkpoint_interval") or sched["max_iters"],
                                                max_keep_ckpts=1)
    elif sched.get("checkpoint_interval") is not None:
        opts["default_hooks.checkpoint.interval"] = sched["checkpoint_interval"]
    if sched.get("batch") is not None:
        opts["train_dataloader.batch_size"] = sched["batch"]
    if sched.get("num_workers") is not None:
        opts["train_dataloader.num_workers"] = sched["num_workers"]
        opts["train_dataloader.persistent_workers"] = sched["num_workers"] > 0
    return {**opts, **sched["cfg_options"]}


def _claim(work: Path, request: dict[str, Any], key: str) -> None:
    """Record the request in ``finetune.json``; refuse a work dir that holds another one."""
    record = work / "finetune.json"
    if record.is_file():
        old = json.loads(record.read_text(encoding="utf-8"))
        if old.get("request_digest") != key:
            raise ValueError(f"{work}: holds the fine-tune {old.get('request_digest')} of other settings (see its "
                             "finetune.json); use another work dir, or delete this one to train anew")
        return
    atomic_write_json(record, dict(request_digest=key, request=request))


def _finished(work: Path, key: str) -> Path | None:
    """The trained weights of a finished fine-tune of this request, or None."""
    marker = work / "done.json"
    if not marker.is_file():
        return None
    done = json.loads(marker.read_text(encoding="utf-8"))
    ckpt = work / done["checkpoint"]
    if done.get("request_digest") != key or not ckpt.is_file() or file_sha256(ckpt) != done["sha256"]:
        log.warning("%s does not match its trained weights; training again", marker)
        marker.unlink()
        return None
    return ckpt


def _used_device(fw: str, device: str) -> str:
    """The device the training ran on (mmengine's Runner picks it: the GPU when one is visible)."""
    if fw == "ultralytics":
        return device
    from mmengine.device import get_device

    return get_device()


def _versions(fw: str) -> dict[str, str]:
    import importlib

    import torch

    mods = ["ultralytics"] if fw == "ultralytics" else ["mmdet", "mmengine", "mmcv"]
    return {"torch": torch.__version__, **{m: importlib.import_module(m).__version__ for m in mods}}


def finetune_detector(detector: dict[str, Any], dataset: Dataset, enhancer: Any, work_dir: str | os.PathLike,
                      schedule: dict[str, Any], device: str = "cpu", progress: bool = True,
                      cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Enhance the train split of ``dataset`` once, fine-tune ``detector`` on it and return the fine-tuned spec.

    Args:
        detector: the detection benchmark's spec, ``dict(type='yolov8'|'ultralytics'|'mmdet', checkpoint=...,
            config=..., ...)``; ``checkpoint`` is the starting point (mmdet: None = the config's ``load_from``).
        dataset: the TEST dataset (type ``exdark`` or ``coco``); its reader is read again for the train split.
        enhancer: an Enhancer or EnhancedImageCache (with ``describe()``), or None for the input as is.
        work_dir: this fine-tune's folder (a finished training there is reused, a killed one resumed).
        schedule: see :func:`check_schedule`.
        device: torch device of the training.
        progress: progress bars and the trainer's per-epoch output.
        cache_dir: enhanced-image cache root for an enhancer that is not cached already (default
            ``~/.cache/uptflow/enhanced``).

    Returns:
        ``{**detector, "checkpoint": <trained weights>}``.
    """
    fw = framework_of(detector)
    sched = check_schedule(detector, schedule, dataset.type)
    start, start_record = _start_weights(detector, fw)
    work = Path(work_dir).expanduser().resolve()
    train = _read_split(dataset, sched["train_split"], sched["limit"])
    val = _read_split(dataset, sched["val_split"], sched["limit"]) if sched["val_split"] is not None else None
    if val is not None and {s.name for s in val.samples} & {s.name for s in train.samples}:
        raise ValueError(f"schedule.val_split: {sched['val_split']!r} shares images with the train split "
                         f"{sched['train_split']!r}")
    if tuple(train.classes) != tuple(dataset.classes):
        raise ValueError(f"schedule.train_split: its classes differ from the test split's ({dataset.root})")
    test_files = {s.path.resolve() for s in dataset.samples if s.path is not None}
    overlap = sum(1 for s in train.samples if s.path is not None and s.path.resolve() in test_files)
    request = dict(protocol="enhance offline, then fine-tune the detector", framework=fw,
                   detector=model_identity(detector), start_weights=start_record, schedule=sched,
                   enhancer=describe_enhancer(enhancer), train=train.identity(),
                   val=val.identity() if val is not None else None)
    key = digest(request, 16)
    work.mkdir(parents=True, exist_ok=True)
    _claim(work, request, key)
    finished = _finished(work, key)
    if finished is not None:
        log.info("reusing the fine-tuned detector %s", finished)
        return {**detector, "checkpoint": str(finished)}
    if overlap:
        log.warning("%d of the %d training images are also test images: a smoke setting, not a held-out "
                    "evaluation", overlap, len(train))
    paths, skipped = _enhanced_paths([d for d in (train, val) if d is not None], enhancer, cache_dir, progress)
    exported = _export(train, val, work / "data", paths, skipped)
    t0 = time.perf_counter()
    result = _train(fw, detector, start, sched, exported, work, train.classes, device, progress, val is not None)
    wall = time.perf_counter() - t0
    ckpt = result.checkpoint.resolve()
    counts = {name: dict(images=len(d), boxes=sum(len(s.boxes or ()) for s in d.samples))
              for name, d in (("train", train), ("val", val)) if d is not None}
    atomic_write_json(work / "done.json", dict(
        request_digest=key, checkpoint=ckpt.relative_to(work).as_posix(), size=ckpt.stat().st_size,
        sha256=file_sha256(ckpt), framework=fw, counts=counts, train_test_overlap=overlap, skipped=skipped,
        resumed_from=result.resumed_from, train_wall_s=round(wall, 1), device=_used_device(fw, device),
        versions=_versions(fw),
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z")))
    return {**detector, "checkpoint": str(ckpt)}


def _train(fw: str, detector: dict[str, Any], start: str | None, sched: dict[str, Any], exported: dict[str, Path],
           work: Path, classes: tuple[str, ...], device: str, progress: bool, has_val: bool) -> Any:
    """Run (or resume) the framework's training on the export."""
    from .train import train_mmdet, train_ultralytics

    if fw == "ultralytics":
        return train_ultralytics(exported["yaml"], start, work / "ultralytics", sched["epochs"], sched["imgsz"],
                                 sched["batch"], device, sched["seed"], val=has_val, options=sched["options"],
                                 progress=progress)
    options = {**(detector.get("cfg_options") or {}), **_mmdet_options(sched)}
    return train_mmdet(detector["config"], work / "data", work / "mmdet", classes, load_from=start,
                       cfg_options=options, seed=sched["seed"])

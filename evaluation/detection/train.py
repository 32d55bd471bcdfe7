"""Train a detector on an exported detection dataset, resumably: ultralytics or an mmdet config (mmengine Runner);
and ``python -m evaluation.detection.train``, the "enhance offline, then fine-tune" protocol as a command.

The command enhances the train (and val) split once through the enhanced-image cache, exports it and fine-tunes
the detector from ``--checkpoint`` (see :func:`evaluation.detection.finetune.finetune_detector`); rerun with the
same options to reuse a finished training or to resume a killed one.

Examples:
    $ python -m evaluation.detection.train --data ExDark_root --split random --detector yolov8 \\
        --checkpoint yolov8n.pt --enhancer clahe --epochs 50 --work-dir runs/exdark_yolov8n_clahe --evaluate
    $ python -m evaluation.detection.train --data ExDark_root --split official --detector mmdet \\
        --config configs/detection/yolov3_d53_exdark_608_official.py --checkpoint yolov3_d53_coco.pth \\
        --enhancer uptflow --enhancer-weights uptflow.pth --work-dir runs/yolov3_official_uptflow
    $ python -m evaluation.detection.train --data coco128 --dataset coco --checkpoint yolov8n.pt --epochs 1 \\
        --imgsz 320 --batch 8 --enhancer gamma --work-dir runs/coco128_smoke --evaluate

COCO-layout data trains on ``--train-subset`` (default: every image, which are then also the test images: a smoke
setting, recorded as such). Writes ``finetune.json`` (what is trained), ``data/`` (the export), ``ultralytics/``
or ``mmdet/`` (the run), ``done.json`` (the trained weights) and, with ``--evaluate``, ``eval/`` (scores on the
test subset).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any, NamedTuple

from evaluation.cli import add_detector, add_enhancers
from evaluation.detection.cli import add_data_arguments
from uptflow.cli import DeprecatedOption, add_device, add_limit, add_work_dir, run_standalone

__all__ = ["Trained", "ultralytics_progress", "train_ultralytics", "train_mmdet", "add_arguments", "run", "main"]

log = logging.getLogger(__name__)


class Trained(NamedTuple):
    """A finished training: the final weights and the epoch (or iteration) a killed run was resumed from."""

    checkpoint: Path
    resumed_from: int | None


# ------------------------------------------------------------------------------------------ ultralytics
def ultralytics_progress(last: Path, epochs: int) -> str | int:
    """What ``last.pt`` says about a run of ``epochs``: ``"fresh"`` (none, or unreadable because a kill cut it
    short), ``"finished"`` (all epochs done) or the number of epochs done (resume from there). A file that would
    run code is refused (:class:`~uptflow.utils.safe_load.UnsafeWeightsError`), not overwritten."""
    from evaluation.detection.detectors import load_ultralytics_checkpoint
    from uptflow.utils.safe_load import UnsafeWeightsError

    if not last.is_file():
        return "fresh"
    try:
        ckpt = load_ultralytics_checkpoint(last)
    except UnsafeWeightsError:
        raise
    except Exception as e:  # noqa: BLE001 - any other load failure of our own half-written file means: start over
        log.warning("%s cannot be read (%s); training starts over", last, str(e).splitlines()[0])
        return "fresh"
    done = int(ckpt.get("epoch", -1)) + 1
    if ckpt.get("optimizer") is None or done >= epochs:  # stripped after training, or the last epoch is saved
        return "finished"
    return done


def train_ultralytics(data_yaml: str | os.PathLike, checkpoint: str, run_dir: str | os.PathLike, epochs: int,
                      imgsz: int = 640, batch: int = 16, device: str = "cpu", seed: int = 0, val: bool = True,
                      options: dict[str, Any] | None = None, progress: bool = True) -> Trained:
    """Train an ultralytics model (``.pt`` to fine-tune, ``.yaml`` from scratch) offline into ``run_dir``, resuming
    its ``weights/last.pt`` when a killed run left one; return the final weights (``last.pt``: the fixed-schedule
    protocol never picks a checkpoint by a validation score).

    Args:
        data_yaml: ultralytics dataset yaml (``evaluation.detection.export.export_dataset`` writes one).
        checkpoint: starting weights (``.pt``) or model yaml.
        run_dir: the run's folder (``weights/``, ``results.csv``, ``args.yaml``).
        epochs, imgsz, batch, seed: the schedule.
        device: torch device string.
        val: validate after every epoch (else only after the last).
        options: further ultralytics train arguments (``lr0``, ``optimizer``, ``mosaic`` ...).
        progress: ultralytics' per-epoch output.
    """
    from .detectors import load_yolo

    run_dir = Path(run_dir).resolve()
    last = run_dir / "weights" / "last.pt"
    state = ultralytics_progress(last, epochs)
    if state == "finished":
        return Trained(last, None)
    if state == "fresh" and run_dir.exists():
        shutil.rmtree(run_dir)  # a run killed before its first checkpoint: nothing to keep
    args = dict(data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, device=device, seed=seed, val=val,
                project=str(run_dir.parent), name=run_dir.name, exist_ok=True, plots=False, verbose=progress,
                amp=False, workers=0, **(options or {}))
    if state == "fresh":
        load_yolo(checkpoint).train(**args)
    else:
        log.info("resuming %s after epoch %d of %d", last, state, epochs)
        load_yolo(last).train(resume=True, **args)
    if not last.is_file():
        raise RuntimeError(f"ultralytics finished without writing {last}")
    return Trained(last, None if state == "fresh" else int(state))


# ------------------------------------------------------------------------------------------ mmdet
def _leaf_dataset(loader: Any) -> Any:
    """The dataset dict holding ``ann_file`` inside wrappers (``RepeatDataset``, ``MultiImageMixDataset`` ...)."""
    ds = loader["dataset"]
    while "ann_file" not in ds and "dataset" in ds:
        ds = ds["dataset"]
    return ds


def _num_classes(node: Any, path: str) -> list[tuple[str, int]]:
    """Every ``num_classes`` setting inside a model config, with its dotted key."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "num_classes" and isinstance(v, int):
                found.append((f"{path}.{k}", v))
            else:
                found += _num_classes(v, f"{path}.{k}")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += _num_classes(v, f"{path}[{i}]")
    return found


def _point_at(ds: Any, export_dir: Path, subset: str, classes: tuple[str, ...], where: str) -> None:
    """Point one config dataset at ``export_dir``'s ``subset`` with the dataset's classes."""
    own = (ds.get("metainfo") or {}).get("classes")
    if own is not None and tuple(own) != classes:
        raise ValueError(f"{where}.metainfo.classes: the config's {len(own)} classes {list(own)[:6]}... differ from "
                         f"the dataset's {len(classes)} {list(classes)[:6]}...; use a config for this dataset")
    ds.update(data_root=f"{export_dir}/", ann_file=f"annotations/{subset}.json",
              data_prefix=dict(img=f"images/{subset}/"), metainfo=dict(classes=classes))


def train_mmdet(config: str | os.PathLike, export_dir: str | os.PathLike, work_dir: str | os.PathLike,
                classes: tuple[str, ...], load_from: str | None = None, cfg_options: dict | None = None,
                seed: int = 0) -> Trained:
    """Train an mmdet config on an exported dataset with mmengine's Runner; return the final checkpoint.

    The config's datasets are pointed at ``export_dir`` (``annotations/<subset>.json``, ``images/<subset>/``): train
    on ``train``, validate on ``val`` when the export has one (else no validation: the test split is never looked
    at while training). A run killed earlier resumes from the checkpoint its ``last_checkpoint`` names (weights,
    optimizer, scheduler, epoch); otherwise training starts from ``load_from``.

    Args:
        config: mmdet config (file or ``mmdet::...``).
        export_dir: the exported dataset.
        work_dir: mmengine work dir (checkpoints, logs).
        classes: the dataset's class names (checked against the config's ``num_classes`` / metainfo).
        load_from: starting weights (class-specific layers whose shape differs are skipped, with mmengine's warning).
        cfg_options: overrides (dotted keys), applied before the data and resume settings.
        seed: mmengine ``randomness.seed``.
    """
    from mmdet.utils import register_all_modules

    from uptflow.engine.runner import UPTFlowRunner
    from uptflow.utils.mmconfig import load_config

    register_all_modules(init_default_scope=True)
    export_dir, work_dir = Path(export_dir).resolve(), Path(work_dir).resolve()
    cfg = load_config(config, cfg_options)
    wrong = [(k, n) for k, n in _num_classes(cfg.model, "model") if n != len(classes)]
    if wrong:
        raise ValueError(f"{wrong[0][0]} = {wrong[0][1]}, but the dataset has {len(classes)} classes; use a config "
                         f"for this dataset or set it with cfg_options")
    _point_at(_leaf_dataset(cfg.train_dataloader), export_dir, "train", classes, "train_dataloader.dataset")
    has_val = (export_dir / "annotations" / "val.json").is_file()
    if has_val and cfg.get("val_dataloader") and cfg.get("val_cfg") is not None:
        _point_at(_leaf_dataset(cfg.val_dataloader), export_dir, "val", classes, "val_dataloader.dataset")
        evaluators = cfg.get("val_evaluator")
        for ev in evaluators if isinstance(evaluators, list) else [evaluators] if evaluators else []:
            if ev.get("type") == "CocoMetric":
                ev["ann_file"] = str(export_dir / "annotations" / "val.json")
    else:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None  # scoring is the detection benchmark's job
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed)
    marker = work_dir / "last_checkpoint"
    latest = Path(marker.read_text().strip()) if marker.is_file() else None
    resumed = latest is not None and latest.is_file()
    cfg.resume, cfg.load_from = (True, str(latest)) if resumed else (False, load_from)
    if resumed:
        log.info("resuming %s", latest)
    runner = UPTFlowRunner.from_cfg(cfg)
    runner.train()
    if not marker.is_file():
        raise RuntimeError(f"mmdet training with {config} wrote no checkpoint in {work_dir}: the config needs a "
                           "CheckpointHook in default_hooks")
    final = Path(marker.read_text().strip())
    return Trained(final, None if not resumed else _mmdet_position(latest))


def _mmdet_position(ckpt: Path) -> int | None:
    """The epoch (or iteration) a checkpoint was saved at, from its name (``epoch_3.pth``, ``iter_100.pth``)."""
    stem = ckpt.stem.rsplit("_", 1)[-1]
    return int(stem) if stem.isdigit() else None


# ------------------------------------------------------------------------------------------ command
def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of the fine-tune command."""
    add_data_arguments(p, "random", "test images (recorded, and scored with --evaluate): ExDark default test; COCO "
                                    "layout: the annotation / image subset")
    p.add_argument("--train-subset", default=None, help="training images: ExDark default train; COCO layout: a "
                                                        "subset of images/ or instances_<subset>.json (default: all "
                                                        "images, the test images too: a smoke setting)")
    p.add_argument("--val-subset", default=None, help="validation images watched while training (default: none, so "
                                                      "the result never depends on them)")
    add_detector(p, old_checkpoint=("--model",))
    p.add_argument("--framework", dest="detector", choices=["ultralytics", "mmdet"], action=DeprecatedOption,
                   new="--detector")
    p.add_argument("--epochs", type=int, default=None, help="ultralytics epochs (required for ultralytics); mmdet: "
                                                            "overrides the config's max_epochs")
    p.add_argument("--batch", type=int, default=None, help="training batch size (ultralytics default 16; mmdet: the "
                                                           "config's)")
    p.add_argument("--evaluate", action="store_true", help="score the fine-tuned detector on the test subset "
                                                           "(into WORK_DIR/eval)")
    add_enhancers(p, default="none")
    add_limit(p, what="training (and validation) images")
    add_device(p)
    add_work_dir(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _schedule(args: argparse.Namespace) -> dict[str, Any]:
    sched: dict[str, Any] = {"seed": args.seed, "limit": args.limit}
    if args.dataset == "coco" or args.train_subset is not None:
        sched["train_split"] = args.train_subset
    if args.val_subset is not None:
        sched["val_split"] = args.val_subset
    if args.detector == "mmdet":
        sched.update({k: v for k, v in (("max_epochs", args.epochs), ("batch", args.batch)) if v is not None})
    else:
        sched.update({k: v for k, v in (("epochs", args.epochs), ("imgsz", args.imgsz), ("batch", args.batch))
                      if v is not None})
    return sched


def _pretraining(args: argparse.Namespace, out: Path) -> str:
    """What the evaluated detector was trained on, for its protocol line: the fine-tune's record (``done.json``)
    says how many images, and how many of them are also test images (a smoke run, e.g. COCO128 on itself)."""
    done = json.loads((out / "done.json").read_text(encoding="utf-8"))
    start = Path(str(args.checkpoint)).name if args.checkpoint else "the config's load_from"
    text = (f"fine-tuned on {done['counts']['train']['images']} enhanced {args.dataset} train images"
            + (f" (--limit {args.limit})" if args.limit else "") + f" from {start}, in {out}")
    if done.get("train_test_overlap"):
        text += f"; SMOKE RUN: {done['train_test_overlap']} train images are test images"
    return text


def run(args: argparse.Namespace) -> int:
    """Enhance, export, fine-tune (resuming or reusing what the work dir holds); print the fine-tuned detector."""
    from evaluation.cli import build_enhancers, detector_spec
    from evaluation.datasets import build_reader
    from evaluation.detection.cli import degrade_spec
    from uptflow.cli import resolve_device, work_dir

    from .finetune import finetune_detector

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = work_dir(args)
    device = resolve_device(args.device)
    if args.detector != "mmdet" and not args.checkpoint:
        args.checkpoint = "yolov8n.yaml"
        print("note: no --checkpoint: training yolov8n.yaml from random init", file=sys.stderr)
    detector = detector_spec(args)
    schedule = _schedule(args)
    enhancers = build_enhancers(args, device)
    if len(enhancers) != 1:
        raise ValueError(f"--enhancer: give one enhancer to train with, got {list(enhancers)}")
    settings = dict(root=args.data, split=args.subset, degrade=degrade_spec(args))
    if args.dataset == "exdark":
        settings.update(split_kind=args.split, classlist=args.classlist)
    dataset = build_reader(dict(type=args.dataset, **settings), "--data").read(seed=args.seed)
    (label, enhancer), = enhancers.items()
    tuned = finetune_detector(detector, dataset, enhancer, out, schedule, device, progress=not args.no_progress,
                              cache_dir=args.cache_dir)
    print(f"fine-tuned detector: {tuned}")
    if args.evaluate:
        from evaluation.benchmark import evaluate
        from evaluation.detection.benchmark import DetectionBenchmark

        bench = DetectionBenchmark(detector=tuned, pretraining=_pretraining(args, out), device=device)
        summary, skipped = evaluate(bench, dataset, {label: enhancer}, out / "eval", progress=not args.no_progress)
        print(summary.round(2).to_markdown(index=False))
        for b in skipped:
            print(f"SKIPPED {b['file']}: {b['reason']}", file=sys.stderr)
        return 1 if skipped else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.detection.train``."""
    return run_standalone(add_arguments, run, "python -m evaluation.detection.train", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

"""``uptflow``: the project's front door, one command with a subcommand per job, and the option vocabulary that
every evaluation command shares.

Examples:
    $ uptflow enhance photos/ --work-dir out/                # the default UPT-Flow model
    $ uptflow run-all --config configs/eval/quick.py          # the whole suite (= python evaluation/run_all.py)
    $ uptflow detect-bench --data coco128 --dataset coco --checkpoint yolov8n.pt --enhancer clahe --work-dir runs/d
    $ uptflow predict night.jpg --checkpoint yolov8n.pt --enhancer uptflow --work-dir runs/p
    $ uptflow metrics -t runs/x/images -r data/LOL/eval15/high

The library's commands (setup-mm, train, enhance) come from ``uptflow.cli``; this module adds the evaluation ones,
so only the application layer imports both.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uptflow.cli import LIBRARY_SUBCOMMANDS, DeprecatedOption, int_at_least, score_threshold
from uptflow.cli import main as _main

__all__ = ["main", "SUBCOMMANDS", "add_enhancers", "build_enhancers", "report_skipped", "add_detector",
           "detector_spec"]

SUBCOMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    **LIBRARY_SUBCOMMANDS,
    "run-all": ("evaluation.run_all", "the whole evaluation suite from a config, tabulated like the paper", ()),
    "enhance-bench": ("evaluation.enhancement.__main__", "score enhancers on paired / unpaired image sets", ()),
    "detect-bench": ("evaluation.detection.cli", "enhance, detect and score ExDark / COCO-layout data (COCO AP, "
                                                 "VOC mAP@0.5)", ("exdark-detect",)),
    "seg-bench": ("evaluation.segmentation.__main__", "enhance, segment and score night data (mIoU, mmseg models)",
                  ("night-seg",)),
    "traffic-bench": ("evaluation.traffic.__main__", "night-traffic video: LOE/NIQE/BRISQUE, detections, flicker",
                      ("night-traffic",)),
    "predict": ("evaluation.predict", "enhance then detect images or folders (annotated images + COCO json)", ()),
    "metrics": ("evaluation.metrics_cli", "score existing image folders with the suite's exact metrics", ()),
    "cache": ("evaluation.cache_cli", "list or clear the enhanced-image cache", ()),
}


def main(argv: list[str] | None = None) -> int:
    """The ``uptflow`` console script."""
    return _main(argv, SUBCOMMANDS, description="UPT-Flow low-light enhancement and the night-vision evaluation "
                                                "suite: enhance, train, benchmark on detection, segmentation, traffic.")


# ------------------------------------------------------------------------------------------ enhancers
def add_enhancers(p: argparse.ArgumentParser, default: str = "none", old_weights: str | None = None) -> None:
    """``--enhancer NAME`` (repeatable; ``LABEL:NAME`` to run one name twice), ``--enhancer-weights [LABEL=]PATH``,
    ``--set LABEL.KEY=VALUE``, ``--cache-dir`` / ``--no-cache``; ``none`` is the unenhanced input."""
    p.add_argument("--enhancer", action="append", default=None, metavar="[LABEL:]NAME",
                   help=f"registered enhancer, or 'none' for the input as is; repeatable (default: {default})")
    p.add_argument("--enhancers", dest="enhancer", action=DeprecatedOption, new="--enhancer (repeated)",
                   append=True)
    p.add_argument("--enhancer-weights", action="append", default=[], metavar="[LABEL=]PATH",
                   help="weights of a learned enhancer (LABEL= when several enhancers are given)")
    if old_weights:
        p.add_argument(old_weights, dest="enhancer_weights", action=DeprecatedOption, new="--enhancer-weights",
                       append=True)
    p.add_argument("--set", action="append", default=[], metavar="LABEL.KEY=VALUE",
                   help="enhancer setting, e.g. gamma.gamma=2.5, uptflow.precision=bf16")
    p.add_argument("--cache-dir", default=None, help="enhanced-image cache (default ~/.cache/uptflow/enhanced)")
    p.add_argument("--no-cache", action="store_true", help="do not store or reuse enhanced images")
    p.set_defaults(_default_enhancer=default)


def _entries(args: argparse.Namespace) -> list[tuple[str, str]]:
    raw = args.enhancer or [args._default_enhancer]
    items = [t.strip() for r in raw for t in str(r).split(",") if t.strip()]  # --enhancers a,b (old form)
    out = []
    for item in items:
        label, sep, name = item.partition(":")
        label = label if sep else item
        if label in (".", "..") or any(c in label for c in "/\\") or label.startswith("."):
            raise ValueError(f"--enhancer {item}: the label {label!r} names the enhancer's folder in --work-dir, so "
                             "it must be a plain name (no '/', not starting with '.')")
        out.append((label, name if sep else item))
    labels = [lab for lab, _ in out]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        raise ValueError(f"--enhancer: label(s) {dup} given twice; use LABEL:NAME to run one enhancer twice")
    return out


def build_enhancers(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """``{label: enhancer or None}`` from the ``--enhancer`` options (each validated before any work)."""
    from uptflow.cli import parse_settings
    from uptflow.enhancers import build_enhancer
    from uptflow.registry import ENHANCERS

    entries = _entries(args)
    labels = [lab for lab, _ in entries]
    weights: dict[str, str] = {}
    for item in args.enhancer_weights:
        label, sep, path = item.partition("=")
        if not sep:
            learned = [lab for lab, name in entries
                       if name != "none" and getattr(ENHANCERS.get(name), "takes_weights", True)]
            if not learned:
                raise ValueError(f"--enhancer-weights {item}: none of the enhancers {labels} takes weights")
            if len(learned) > 1:
                raise ValueError(f"--enhancer-weights {item}: say which enhancer (LABEL=PATH) among {learned}")
            label, path = learned[0], item
        if label not in labels:
            raise ValueError(f"--enhancer-weights {item}: no enhancer labelled {label!r} among {labels}")
        weights[label] = path
    params = parse_settings(args.set, labels)
    out: dict[str, Any] = {}
    for label, name in entries:
        if name == "none":
            out[label] = None
            continue
        try:
            out[label] = build_enhancer(name, weights=weights.get(label), device=device, cache=not args.no_cache,
                                        cache_dir=args.cache_dir, **params[label])
        except ValueError as e:  # a constructor's own check ("gamma must be positive") names no option
            raise ValueError(f"--enhancer {label}: {e}") from None
    return out


def report_skipped(skipped: list[dict[str, str]], done: str = "") -> int:
    """Print every image left out (stderr) and ``done`` (stdout); return the exit status (1 if any was left out)."""
    for b in skipped:
        print(f"SKIPPED {b['file']} ({b['enhancer']}): {b['reason']}", file=sys.stderr)
    if done:
        print(done)
    return 1 if skipped else 0


def outside_data(out: Path, data: str | os.PathLike | Sequence[str | os.PathLike] | None) -> Path:
    """``out`` (the work dir), refused when it lies in a ``--data`` folder: the next run would read its enhanced
    images and tables as data."""
    for d in [data] if isinstance(data, (str, os.PathLike)) else data or ():
        root = Path(d).expanduser().resolve()
        if root.is_dir() and out.expanduser().resolve().is_relative_to(root):
            raise ValueError(f"--work-dir {out}: inside --data {d}, where its outputs would be read as data by the "
                             "next run; give a folder outside it")
    return out


# ------------------------------------------------------------------------------------------ detectors
def add_detector(p: argparse.ArgumentParser, default: str = "yolov8", old_checkpoint: tuple[str, ...] = (),
                 conf_default: str = "0.001") -> None:
    """``--detector NAME``, ``--config`` (mmdet), ``--checkpoint``, ``--imgsz``, ``--conf``, ``--cfg-options``
    (``conf_default``: what the help says an unset ``--conf`` means)."""
    from uptflow.cli import add_cfg_options

    p.add_argument("--detector", default=default, help=f"registered detector: yolov8 | ultralytics | mmdet "
                                                       f"(default {default})")
    p.add_argument("--config", default=None, help="mmdet config (a file or mmdet::path/in/the/package.py)")
    p.add_argument("--checkpoint", default=None, help="detector weights (.pt or model .yaml; mmdet checkpoint)")
    for old in old_checkpoint:
        p.add_argument(old, dest="checkpoint", action=DeprecatedOption, new="--checkpoint")
    p.add_argument("--imgsz", type=int_at_least(32), default=None,
                   help="ultralytics image size, at least 32 (default 640)")
    p.add_argument("--conf", type=score_threshold, default=None,
                   help=f"ultralytics score threshold, 0-1 (default {conf_default})")
    add_cfg_options(p)


def detector_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The detector entry the options describe."""
    spec: dict[str, Any] = {"type": args.detector}
    if args.detector == "mmdet":
        if not args.config:
            raise ValueError("--detector mmdet needs --config")
        spec.update(config=args.config, checkpoint=args.checkpoint, cfg_options=args.cfg_options)
    else:
        if not args.checkpoint:
            raise ValueError(f"--detector {args.detector} needs --checkpoint (a .pt file, or a model .yaml)")
        if args.cfg_options:
            raise ValueError(f"--cfg-options: only an mmdet config takes them; --detector {args.detector} is set "
                             "with --imgsz and --conf")
        spec["checkpoint"] = args.checkpoint
        spec.update({k: v for k in ("imgsz", "conf") if (v := getattr(args, k)) is not None})
    return spec


if __name__ == "__main__":
    sys.exit(main())

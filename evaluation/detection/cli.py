"""``python -m evaluation.detection`` (``uptflow detect-bench``): enhance, detect and score a detection dataset.

Examples:
    $ python -m evaluation.detection --data ExDark_root --dataset exdark --split official --detector yolov8 \\
        --checkpoint yolov8n.pt --enhancer none --enhancer clahe --work-dir runs/exdark_yolov8n
    $ python -m evaluation.detection --data coco128 --dataset coco --checkpoint yolov8n.pt --enhancer uptflow \\
        --degrade-level 3 --work-dir runs/coco128_dark3

Writes gt_coco.json, predictions.json (COCO results), metrics.json and tables (overall, per_class, per_light,
per_inout) per enhancer (into ``--work-dir`` for one enhancer, ``--work-dir/<label>/`` for several).
"""

import argparse
import logging
import sys

from evaluation.cli import add_detector, add_enhancers
from uptflow.cli import add_device, add_limit, add_work_dir, run_standalone

__all__ = ["add_arguments", "run", "main"]


def add_data_arguments(p: argparse.ArgumentParser, split: str, subset_help: str) -> None:
    """The detection dataset options (``--data``, ``--dataset``, ``--split``, ``--subset``, ``--seed``,
    ``--classlist``, ``--degrade``, ``--degrade-level``), shared with ``python -m evaluation.detection.train``."""
    p.add_argument("--data", required=True, help="dataset root: ExDark (ExDark/ + ExDark_Annno/ or images/ + "
                                                 "annotations/) or COCO layout (images/ + labels/ + config.yaml, or "
                                                 "annotations/instances_*.json + images)")
    p.add_argument("--dataset", choices=["exdark", "coco"], default="exdark", help="dataset type (default exdark)")
    p.add_argument("--split", choices=["official", "random"], default=split,
                   help=f"ExDark split: official (imageclasslist.txt) or random seeded 80/20 (MAET/IAT); default "
                        f"{split}")
    p.add_argument("--subset", default=None, help=subset_help)
    p.add_argument("--seed", type=int, default=0, help="seed of the random split and of synthetic darkening")
    p.add_argument("--classlist", help="ExDark imageclasslist.txt (default: looked up next to --data)")
    p.add_argument("--degrade", choices=["synthetic"], default=None, help="darken every image (random realistic "
                                                                          "low light per image)")
    p.add_argument("--degrade-level", type=int, default=None, help="darken every image at a fixed darkness level")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of the detection command."""
    add_data_arguments(p, "official", "images to score: test (ExDark default), val, train, all (COCO layout: the "
                                      "annotation / image subset, default all)")
    add_detector(p, old_checkpoint=("--weights",))
    p.add_argument("--class-map", choices=["auto", "coco", "dataset"], default="auto",
                   help="detector labels -> dataset classes: by name (auto) or by index in COCO-80 / dataset order")
    p.add_argument("--pretraining", help="pretraining text for the protocol record (inferred when omitted)")
    add_enhancers(p, default="none")
    add_limit(p)
    add_device(p)
    add_work_dir(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def degrade_spec(args: argparse.Namespace) -> str | dict | None:
    """The dataset's ``degrade`` setting from ``--degrade`` / ``--degrade-level``."""
    if args.degrade and args.degrade_level is not None:
        raise ValueError("--degrade and --degrade-level: give one of them")
    return dict(level=args.degrade_level) if args.degrade_level is not None else args.degrade


def run(args: argparse.Namespace) -> int:
    """Run the command; prints the overall table per enhancer."""
    from evaluation.benchmark import evaluate
    from evaluation.cli import build_enhancers, detector_spec, outside_data, report_skipped
    from evaluation.datasets import build_reader
    from evaluation.detection.benchmark import DetectionBenchmark
    from uptflow.cli import resolve_device, work_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = outside_data(work_dir(args), args.data)
    device = resolve_device(args.device)
    settings = dict(root=args.data, split=args.subset, limit=args.limit, degrade=degrade_spec(args))
    if args.dataset == "exdark":
        settings.update(split_kind=args.split, classlist=args.classlist)
    dataset = build_reader(dict(type=args.dataset, **settings), "--data").read(seed=args.seed)
    bench = DetectionBenchmark(detector=detector_spec(args), class_map=args.class_map, pretraining=args.pretraining,
                               device=device)
    summary, skipped = evaluate(bench, dataset, build_enhancers(args, device), out, progress=not args.no_progress)
    print(summary.round(2).to_markdown(index=False))
    return report_skipped(skipped, f"written to {out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.detection``."""
    return run_standalone(add_arguments, run, "python -m evaluation.detection", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

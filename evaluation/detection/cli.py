"""``python -m evaluation.detection``: enhance, detect and score ExDark (also ``uptflow exdark-detect``).

Example:
    $ python -m evaluation.detection --data ExDark_root --split official --detector yolov8 \\
        --weights yolov8n.pt --enhancer identity --out runs/exdark_yolov8n_identity
"""

import argparse
import logging
import sys

from uptflow.cli import run_standalone

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of the ExDark detection command."""
    p.add_argument("--data", required=True, help="ExDark root: ExDark/ + ExDark_Annno/ or images/ + annotations/")
    p.add_argument("--split", choices=["official", "random"], default="official",
                   help="official (imageclasslist.txt) or random seeded 80/20 (MAET/IAT)")
    p.add_argument("--subset", choices=["test", "val", "train", "all"], default="test",
                   help="images to score (default test; 'all' for zero-shot scoring of a COCO model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random split")
    p.add_argument("--classlist", help="imageclasslist.txt (default: looked up next to --data)")
    p.add_argument("--detector", default="yolov8", help="registered detector: yolov8 | ultralytics | mmdet")
    p.add_argument("--weights", required=True, help="detector weights (.pt or model .yaml; mmdet checkpoint)")
    p.add_argument("--config", help="mmdet config (with --detector mmdet)")
    p.add_argument("--imgsz", type=int, default=640, help="ultralytics inference size")
    p.add_argument("--conf", type=float, default=0.001, help="ultralytics score threshold (mAP needs a low one)")
    p.add_argument("--class-map", choices=["auto", "coco", "exdark"], default="auto",
                   help="detector labels -> ExDark: by name (auto) or by index in COCO-80 / ExDark order")
    p.add_argument("--enhancer", default="none", help="registered enhancer name, or 'none'")
    p.add_argument("--enhancer-weights", help="enhancer weights file")
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", help="enhanced-image cache root (default ~/.cache/uptflow/enhanced)")
    p.add_argument("--pretraining", help="pretraining text for the protocol record (inferred when omitted)")
    p.add_argument("--limit", type=int, help="score only the first N images of the subset (smoke runs)")
    p.add_argument("--overwrite", action="store_true", help="discard partial results of a different run in --out")
    p.add_argument("--out", required=True, help="output folder")


def run(args: argparse.Namespace) -> int:
    """Run the command; prints the overall and per-lighting tables."""
    from .pipeline import run_exdark_detection

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.detector == "mmdet" and not args.config:
        raise SystemExit("--detector mmdet needs --config")
    run_exdark_detection(args.data, args.out, split=args.split, subset=args.subset, seed=args.seed,
                         classlist=args.classlist, detector=args.detector, weights=args.weights, config=args.config,
                         imgsz=args.imgsz, conf=args.conf, enhancer=args.enhancer,
                         enhancer_weights=args.enhancer_weights, device=args.device, cache_dir=args.cache_dir,
                         pretraining=args.pretraining, class_map=args.class_map, limit=args.limit,
                         overwrite=args.overwrite)
    for name in ("overall", "per_class", "per_light"):
        print(open(f"{args.out}/{name}.md", encoding="utf-8").read())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.detection``."""
    return run_standalone(add_arguments, run, "python -m evaluation.detection", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

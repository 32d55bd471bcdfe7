"""``python -m evaluation.segmentation`` (``uptflow seg-bench``): segment a night dataset (optionally darkened and
enhanced first) and score it.

Examples:
    $ python -m evaluation.segmentation --data data/acdc --dataset acdc \\
        --config configs/segmentation/deeplabv3plus_r50-d8_acdc-night_iat.py --checkpoint ckpt.pth \\
        --enhancer none --enhancer clahe --work-dir runs/seg/acdc
    $ python -m evaluation.segmentation --data cityscapes --dataset cityscapes --degrade-level 3 \\
        --config configs/segmentation/espnet_cityscapes.py --checkpoint espnet_p_2_q_8_cityscapes.pth \\
        --enhancer uptflow --work-dir runs/seg/cs_dark3
"""

import argparse
import sys

from evaluation.cli import add_enhancers
from uptflow.cli import DeprecatedOption, add_cfg_options, add_device, add_limit, add_work_dir, run_standalone

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the command's options to ``p``."""
    p.add_argument("--data", required=True, help="dataset root (official folder layout)")
    p.add_argument("--dataset", required=True, choices=["acdc", "darkzurich", "nightcity", "cityscapes"])
    p.add_argument("--split", default="val", help="dataset split (default: val)")
    p.add_argument("--config", required=True, help="mmseg config: a file (configs/segmentation/*.py) or "
                                                   "mmseg::path/in/the/package.py")
    p.add_argument("--checkpoint", default=None, help="model weights; without it the model is randomly initialised")
    p.add_argument("--segmenter", default="mmseg", help="registered segmenter (default mmseg)")
    add_cfg_options(p)
    add_enhancers(p, default="none")
    add_work_dir(p)
    p.add_argument("--protocol", default=None,
                   help="scoring protocol (cityscapes19 | iat_acdc_night); default: the config's uptflow_protocol")
    add_device(p)
    p.add_argument("--mode", choices=["whole", "slide"], default=None, help="override the config's inference mode")
    p.add_argument("--degrade", choices=["synthetic"], default=None,
                   help="darken the input first (random realistic low light per image; day -> night studies)")
    p.add_argument("--degrade-level", type=int, default=None, help="darken the input at a fixed darkness level")
    p.add_argument("--seed", type=int, default=0, help="base seed of the darkening")
    p.add_argument("--degrade-seed", dest="seed", type=int, action=DeprecatedOption, new="--seed")
    add_limit(p)
    p.add_argument("--save-label-ids", action="store_true", help="also save Cityscapes labelIds maps")
    p.add_argument("--no-color", action="store_true", help="do not save colour-coded prediction maps")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation described by ``args``; print the summary; return the exit code."""
    from evaluation.benchmark import evaluate
    from evaluation.cli import build_enhancers, outside_data, report_skipped
    from evaluation.datasets import build_reader
    from evaluation.detection.cli import degrade_spec
    from evaluation.segmentation.benchmark import SegmentationBenchmark
    from uptflow.cli import resolve_device, work_dir

    out = outside_data(work_dir(args), args.data)
    device = resolve_device(args.device)
    enhancers = build_enhancers(args, device)  # a misspelt enhancer is refused before the data is read
    dataset = build_reader(dict(type=args.dataset, root=args.data, split=args.split, limit=args.limit,
                                degrade=degrade_spec(args)), "--data").read(seed=args.seed)
    segmenter = dict(type=args.segmenter, config=args.config, checkpoint=args.checkpoint, mode=args.mode,
                     cfg_options=args.cfg_options)
    bench = SegmentationBenchmark(segmenter={k: v for k, v in segmenter.items() if v is not None},
                                  protocol=args.protocol, save_color=not args.no_color,
                                  save_label_ids=args.save_label_ids, device=device)
    if args.checkpoint is None:
        print("WARNING: no --checkpoint: the segmenter has RANDOM weights; its scores only test the pipeline",
              file=sys.stderr)
    summary, skipped = evaluate(bench, dataset, enhancers, out, progress=not args.no_progress)
    print(summary.round(2).to_markdown(index=False))
    return report_skipped(skipped, f"written to {out} (per-class IoU: per_class.md, maps: pred/)")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run."""
    return run_standalone(add_arguments, run, "python -m evaluation.segmentation", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

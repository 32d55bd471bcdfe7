"""``python -m evaluation.segmentation``: segment a night dataset (optionally enhanced first) and score it.

Example:
    $ python -m evaluation.segmentation --data data/acdc --dataset acdc \\
        --config configs/segmentation/deeplabv3plus_r50-d8_acdc-night_iat.py --checkpoint ckpt.pth \\
        --enhancer identity --out runs/seg/acdc_identity
"""

import argparse
import sys
import warnings

from uptflow.cli import run_standalone

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the command's options to ``p``."""
    from mmengine.config import DictAction

    p.add_argument("--data", required=True, help="dataset root (official folder layout)")
    p.add_argument("--dataset", required=True, choices=["acdc", "darkzurich", "nightcity", "cityscapes"])
    p.add_argument("--split", default="val", help="dataset split (default: val)")
    p.add_argument("--config", required=True, help="mmseg config, e.g. configs/segmentation/*.py")
    p.add_argument("--checkpoint", default=None, help="model weights; without it the model is randomly initialised")
    p.add_argument("--enhancer", default="none",
                   help="enhancer name from uptflow.enhancers, or 'none' to segment the raw input (default)")
    p.add_argument("--enhancer-weights", default=None, help="weights file of a learned enhancer")
    p.add_argument("--out", required=True, help="output folder (resumable)")
    p.add_argument("--protocol", default=None,
                   help="scoring protocol (cityscapes19 | iat_acdc_night); default: the config's uptflow_protocol")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--mode", choices=["whole", "slide"], default=None, help="override the config's inference mode")
    p.add_argument("--degrade", choices=["synthetic"], default=None,
                   help="darken the input first with uptflow.data.synthetic (day -> synthetic night studies)")
    p.add_argument("--degrade-seed", type=int, default=0, help="base seed of the degradation")
    p.add_argument("--limit", type=int, default=None, help="only the first N images (quick checks)")
    p.add_argument("--save-inputs", action="store_true", help="also save the segmenter's input images")
    p.add_argument("--no-color", action="store_true", help="do not save colour-coded prediction maps")
    p.add_argument("--overwrite", action="store_true", help="recompute every image even if already done")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                   help="config overrides, e.g. model.test_cfg.mode=slide")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation described by ``args``; print the summary; return the exit code."""
    from pathlib import Path

    from evaluation.segmentation.datasets import read_dataset
    from evaluation.segmentation.degrade import build_degradation
    from evaluation.segmentation.metrics import get_protocol
    from evaluation.segmentation.run import evaluate_segmentation
    from evaluation.segmentation.segmenters import build_segmenter, config_protocol

    protocol = get_protocol(args.protocol or config_protocol(args.config))
    samples = read_dataset(args.dataset, args.data, args.split)
    if args.limit:
        samples = samples[: args.limit]
    degrade = build_degradation(args.degrade) if args.degrade else None
    enhancer = None
    if args.enhancer != "none":
        from uptflow.enhancers import build_enhancer

        enhancer = build_enhancer(args.enhancer, weights=args.enhancer_weights, device=args.device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        segmenter = build_segmenter("mmseg", config=args.config, checkpoint=args.checkpoint, device=args.device,
                                    mode=args.mode, cfg_options=args.cfg_options)
    for w in caught:
        if "RANDOM weights" in str(w.message):
            print(f"WARNING: {w.message}", file=sys.stderr)
    # --limit is not part of the identity: a quick partial run can be completed later in the same folder
    identity = dict(dataset=args.dataset, data=str(Path(args.data).resolve()), split=args.split)
    res = evaluate_segmentation(samples, segmenter, protocol, args.out, enhancer=enhancer, degrade=degrade,
                                degrade_seed=args.degrade_seed, identity=identity, save_color=not args.no_color,
                                save_inputs=args.save_inputs, overwrite=args.overwrite)
    out = Path(args.out)
    if res.get("mIoU") is None:
        print(f"{res['n_images']} images segmented (no ground truth); maps in {out / 'pred'}")
    else:
        print((out / "summary.md").read_text())
        print(f"per-class IoU: {out / 'per_class.md'}; maps: {out / 'pred'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run."""
    return run_standalone(add_arguments, run, "python -m evaluation.segmentation", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m evaluation.enhancement``: benchmark enhancers on a paired or unpaired image folder.

Examples:
    $ python -m evaluation.enhancement --data LOL/eval15 --paired --enhancers identity,clahe,iat \\
        --weights iat=weights/iat/best_Epoch_lol_v1.pth --out work_dirs/bench_lol
    $ python -m evaluation.enhancement --data DICM --unpaired --enhancers sci_easy:sci,sci_medium:sci \\
        --weights sci_easy=weights/sci/easy.pt --weights sci_medium=weights/sci/medium.pt --out work_dirs/dicm

An enhancer entry is ``NAME`` or ``LABEL:NAME`` (to run one enhancer twice with other weights / settings);
``--weights`` and ``--set`` are keyed by the label.
"""

import argparse
import ast
import sys

__all__ = ["add_arguments", "run", "main", "parse_specs"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``p``."""
    p.add_argument("--data", required=True, help="dataset folder")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--paired", action="store_true", help="low/high (LOL v1), Low/Normal (LOL-v2), input/gt pairs")
    mode.add_argument("--unpaired", action="store_true", help="every image under --data (no ground truth)")
    p.add_argument("--allow-unmatched", action="store_true",
                   help="paired mode: score low-light images without ground truth as unpaired instead of failing")
    p.add_argument("--enhancers", required=True, help="comma-separated NAME or LABEL:NAME entries")
    p.add_argument("--weights", action="append", default=[], metavar="LABEL=PATH", help="checkpoint of an enhancer")
    p.add_argument("--set", action="append", default=[], metavar="LABEL.KEY=VALUE",
                   help="constructor argument, e.g. gamma.gamma=2.5 or iat.variant=lol_v2")
    p.add_argument("--out", required=True, help="output folder (resumable)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--gt-mean", action="store_true", help="also report GT-mean PSNR/SSIM (uses the ground truth)")
    p.add_argument("--lpips-backbone", default=None, help="AlexNet weights (alexnet-owt-7be5be79.pth) for LPIPS")
    p.add_argument("--lpips-linear", default=None, help="LPIPS v0.1 alex linear heads (default: from `lpips`)")
    p.add_argument("--no-lpips", action="store_true", help="skip LPIPS even when its weights are found")
    p.add_argument("--loe-short-side", type=int, default=100, help="LOE grid short side (see uptflow.metrics.loe)")
    p.add_argument("--figure-images", type=int, default=4, help="images in comparison.png (0 = none)")


def _keyed(items: list[str], sep: str, what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, ok, value = item.partition(sep)
        if not ok or not key or not value:
            raise SystemExit(f"error: {what} must look like KEY{sep}VALUE, got {item!r}")
        out[key] = value
    return out


def parse_specs(enhancers: str, weights: list[str], sets: list[str]):
    """Turn the CLI strings into ``EnhancerSpec`` objects; unknown labels in --weights / --set are errors."""
    from evaluation.enhancement.benchmark import EnhancerSpec

    specs = []
    for entry in [e.strip() for e in enhancers.split(",") if e.strip()]:
        label, _, name = entry.partition(":")
        specs.append(EnhancerSpec(label=label, name=name or label))
    by_label = {s.label: s for s in specs}
    for label, path in _keyed(weights, "=", "--weights").items():
        if label not in by_label:
            raise SystemExit(f"error: --weights {label}=... names no enhancer in --enhancers ({', '.join(by_label)})")
        by_label[label].weights = path
    for target, value in _keyed(sets, "=", "--set").items():
        label, _, key = target.partition(".")
        if label not in by_label or not key:
            raise SystemExit(f"error: --set {target}=... must be LABEL.KEY with a label from --enhancers")
        try:
            by_label[label].kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            by_label[label].kwargs[key] = value
    return specs


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print the summary table."""
    import torch

    from evaluation.enhancement.benchmark import run_benchmark, summarize, to_markdown
    from evaluation.enhancement.datasets import read_dataset
    from uptflow.metrics.image_quality import ImageQuality
    from uptflow.metrics.lpips import LPIPS, lpips_available

    if args.threads:
        torch.set_num_threads(args.threads)
    specs = parse_specs(args.enhancers, args.weights, args.set)
    samples = read_dataset(args.data, paired=args.paired, allow_unmatched=args.allow_unmatched)
    unmatched = [f"{s.group}/{s.low.name}" for s in samples if s.gt is None]
    if args.paired and unmatched:
        print(f"note: {len(unmatched)} image(s) without ground truth, scored as unpaired: {', '.join(unmatched)}")
    lpips = None
    if not args.no_lpips and args.paired:
        if args.lpips_backbone or args.lpips_linear:
            lpips = LPIPS(args.lpips_backbone, args.lpips_linear)
        elif lpips_available():
            lpips = LPIPS()
        else:
            print("note: LPIPS skipped: AlexNet weights not found (pass --lpips-backbone PATH to "
                  "alexnet-owt-7be5be79.pth; nothing is downloaded)")
    if lpips is not None:
        lpips = lpips.to(args.device)
    metric = ImageQuality(gt_mean=args.gt_mean, lpips=lpips, loe_short_side=args.loe_short_side)
    table = run_benchmark(samples, specs, args.out, device=args.device, metric=metric,
                          figure_images=args.figure_images)
    print(to_markdown(summarize(table, [s.label for s in specs])))
    print(f"\nwritten to {args.out}: per_image.csv, summary.{{csv,md}}, summary_by_group.{{csv,md}}, images/"
          + (", comparison.png" if args.figure_images else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.enhancement``."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.enhancement", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, KeyError) as e:  # bad input: one clear line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

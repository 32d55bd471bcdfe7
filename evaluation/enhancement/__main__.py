"""``python -m evaluation.enhancement`` (``uptflow enhance-bench``): score enhancers on a paired or unpaired folder.

Examples:
    $ python -m evaluation.enhancement --data LOL/eval15 --dataset paired --enhancer none --enhancer clahe \\
        --enhancer iat --enhancer-weights iat=weights/iat/best_Epoch_lol_v1.pth --work-dir work_dirs/bench_lol
    $ python -m evaluation.enhancement --data DICM --dataset unpaired --enhancer easy:sci --enhancer medium:sci \\
        --enhancer-weights easy=weights/sci/easy.pt --enhancer-weights medium=weights/sci/medium.pt --work-dir w

An enhancer is ``NAME`` or ``LABEL:NAME`` (to run one enhancer twice with other weights / settings);
``--enhancer-weights`` and ``--set`` are keyed by the label. Each enhancer's unit (enhanced images, per-image
metrics, summary, metrics.json) goes to ``WORK_DIR/<label>/``; ``WORK_DIR/summary.md`` compares them and
``WORK_DIR/comparison.png`` shows a few images side by side. A rerun into a work dir keeps what still applies (a
killed run resumes) and removes what an earlier run with other enhancers or settings left there.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from evaluation.cli import add_enhancers
from uptflow.cli import DeprecatedOption, add_device, add_limit, add_work_dir, run_standalone
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``p``."""
    p.add_argument("--data", required=True, help="dataset folder")
    p.add_argument("--dataset", choices=["paired", "unpaired"], default=None,
                   help="paired: low/high (LOL v1), Low/Normal (LOL-v2), input/gt pairs; unpaired: every image")
    p.add_argument("--paired", dest="dataset", action=DeprecatedOption, new="--dataset paired", nargs=0,
                   const="paired")
    p.add_argument("--unpaired", dest="dataset", action=DeprecatedOption, new="--dataset unpaired", nargs=0,
                   const="unpaired")
    p.add_argument("--split", default=None, help="read --data/<SPLIT> (any case) where it exists, e.g. test for "
                                                 "LOL-v2's Test/ (needed when --data holds several splits)")
    p.add_argument("--allow-unmatched", action="store_true",
                   help="paired data: score low-light images without ground truth as unpaired instead of failing")
    add_enhancers(p, default="none", old_weights="--weights")
    add_work_dir(p)
    add_device(p)
    add_limit(p)
    p.add_argument("--metrics", default=None, help="comma-separated full-reference metrics (default PSNR,SSIM,"
                                                   "SSIM-G11; also PSNR-GTmean, SSIM-GTmean, SSIM-G11-GTmean, LPIPS)")
    p.add_argument("--nr-metrics", default=None, help="comma-separated no-reference metrics (default NIQE,BRISQUE,"
                                                      "LOE)")
    p.add_argument("--lpips-backbone", default=None, help="AlexNet weights (alexnet-owt-7be5be79.pth) for LPIPS")
    p.add_argument("--lpips-linear", default=None, help="LPIPS v0.1 alex linear heads (default: from `lpips`)")
    p.add_argument("--loe-short-side", type=int, default=DEFAULT_SHORT_SIDE,
                   help="LOE grid short side (see uptflow.metrics.loe)")
    p.add_argument("--figure-images", type=int, default=4, help="images in comparison.png (0 = none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _csv(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the summary; exit status 1 when an image had to be left out."""
    from evaluation.benchmark import evaluate
    from evaluation.cli import build_enhancers, outside_data, report_skipped
    from evaluation.datasets import build_reader
    from evaluation.enhancement.benchmark import EnhancementBenchmark
    from evaluation.tables.html import image_grid
    from uptflow.cli import resolve_device, work_dir

    out = outside_data(work_dir(args), args.data)
    if args.dataset is None:
        raise ValueError("--dataset: required (paired or unpaired)")
    device = resolve_device(args.device)
    enhancers = build_enhancers(args, device)  # a misspelt enhancer is refused before the data is read
    settings = dict(root=args.data, split=args.split, limit=args.limit)
    if args.dataset == "paired":
        settings["allow_unmatched"] = args.allow_unmatched
    dataset = build_reader(dict(type=args.dataset, **settings), "--data").read()
    bench = EnhancementBenchmark(metrics=_csv(args.metrics), nr_metrics=_csv(args.nr_metrics),
                                 loe_short_side=args.loe_short_side, lpips_backbone=args.lpips_backbone,
                                 lpips_linear=args.lpips_linear, device=device)
    summary, skipped = evaluate(bench, dataset, enhancers, out, progress=not args.no_progress)
    print(summary.round(4).to_markdown(index=False))
    figure = out / "comparison.png"
    samples = _figure_samples(dataset, enhancers, out, args.figure_images) if args.figure_images > 0 else []
    if samples and samples[0]["outputs"]:
        image_grid(dict(dataset=Path(args.data).name, samples=samples), figure)
    else:
        figure.unlink(missing_ok=True)  # an earlier run's figure would show images this run did not score
    return report_skipped(skipped, f"written to {out}")


def _figure_samples(dataset: Any, enhancers: dict[str, Any], out: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` images every enhancer scored, with their outputs and reference, for comparison.png; the
    pairs the benchmark left out (unreadable, a reference of another size) are passed over."""
    from evaluation.enhancement.benchmark import read_reference
    from uptflow.utils.io import imread_rgb

    folders = {lab: out if len(enhancers) == 1 else out / lab for lab, enh in enhancers.items() if enh is not None}
    samples = []
    for s, low in dataset.images():
        if len(samples) >= count:
            break
        if isinstance(low, Exception):
            continue
        paths = {lab: folder / "images" / f"{s.name}.png" for lab, folder in folders.items()}
        if not all(p.is_file() for p in paths.values()):
            continue
        try:
            gt = read_reference(s, low)
        except (OSError, ValueError):
            continue
        samples.append(dict(name=s.name, input=low, gt=gt, outputs={lab: imread_rgb(p) for lab, p in paths.items()}))
    return samples


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.enhancement``."""
    return run_standalone(add_arguments, run, "python -m evaluation.enhancement", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

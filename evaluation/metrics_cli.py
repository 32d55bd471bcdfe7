"""``uptflow metrics``: score existing image folders with the suite's exact metrics (pyiqa-style).

Examples:
    $ uptflow metrics -t results/ -r LOL/eval15/high                  # PSNR, SSIM, SSIM-G11 per image + mean
    $ uptflow metrics -t results/ -r gt/ --metrics PSNR,SSIM-GTmean,LPIPS
    $ uptflow metrics -t enhanced/DICM --metrics NIQE,BRISQUE          # no reference
    $ uptflow metrics -t enhanced/ -i low/ --metrics LOE               # LOE needs the inputs

Images are matched by file stem (a prefix equal to the folder name is ignored, as LOL-v2's low/normal). Metric
names and conventions are the catalogue's (``evaluation.metrics``), so the numbers equal the benchmarks'; the
conventions are printed after the means and written as the ``protocol`` column of ``--output``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from uptflow.cli import add_limit, run_standalone
from uptflow.metrics.loe import DEFAULT_SHORT_SIDE
from uptflow.utils.text import failure_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``uptflow metrics``."""
    p.add_argument("-t", "--target", required=True, help="folder (or one file) of images to score")
    p.add_argument("-r", "--reference", default=None, help="folder of references (full-reference metrics)")
    p.add_argument("-i", "--inputs", default=None, help="folder of the low-light inputs (for LOE)")
    p.add_argument("--metrics", default=None, help="comma-separated catalogue names (default: PSNR,SSIM,SSIM-G11 "
                                                   "with -r, else NIQE,BRISQUE; LOE with -i)")
    p.add_argument("--loe-short-side", type=int, default=DEFAULT_SHORT_SIDE,
                   help="LOE grid short side (see uptflow.metrics.loe)")
    p.add_argument("--lpips-backbone", default=None, help="AlexNet weights for LPIPS (default: looked up in the "
                                                          "torch hub cache, then ~/.cache/uptflow/weights)")
    p.add_argument("--lpips-linear", default=None, help="LPIPS v0.1 linear heads (default: the lpips package's)")
    p.add_argument("--output", default=None, help="also write the per-image table to this CSV file")
    add_limit(p)


def _files(path: Path) -> dict[str, Path]:
    from evaluation.datasets.base import list_images
    from evaluation.datasets.images import common_prefix
    from uptflow.data.paired import key_by_stem

    if path.is_file():
        return {path.stem: path}
    if not path.is_dir():
        raise FileNotFoundError(f"not found: {path}")
    files = list_images(path)
    if not files:
        raise ValueError(f"{path}: no images")
    return key_by_stem(files, common_prefix(files, path), path)


def _numbered(files: dict[str, Path]) -> dict[str, Path] | None:
    """``files`` keyed without the word every stem shares before its number (LOL-v2: ``low00001`` -> ``00001``), or
    None when the stems are not all one word plus a number."""
    from uptflow.data.paired import key_by_stem

    words = {m.group(1) if (m := re.fullmatch(r"([A-Za-z_-]*)\d+", p.stem)) else None for p in files.values()}
    if len(words) != 1 or None in words:
        return None
    paths = list(files.values())
    return key_by_stem(paths, words.pop(), paths[0].parent)


def _unmatched(targets: dict[str, Path], refs: dict[str, Path], inputs: dict[str, Path]) -> str:
    """What lacks a partner ('' when every target has its reference and input, where those are given)."""
    for what, other in (("reference", refs), ("input", inputs)):
        missing = sorted(set(targets) - set(other)) if other else []
        if missing:
            return f"{len(missing)} image(s) without a {what}: {missing[:10]}"
    return ""


def _mean_text(name: str, values: pd.Series) -> str:
    """``NAME mean``, saying over how many images when some value is not finite (PSNR of an image equal to its
    reference is infinite), since the mean leaves those out."""
    finite = values[values.map(math.isfinite)]
    text = f"{name} {finite.mean():.4f}" if len(finite) else f"{name} -"
    left_out = [f"{n} {what}" for n, what in ((int(values.map(math.isinf).sum()), "infinite"),
                                              (int(values.isna().sum()), "undefined")) if n]
    return text + (f" (over {len(finite)}; {', '.join(left_out)})" if left_out else "")


def run(args: argparse.Namespace) -> int:
    """Score the images; print per-image and mean values."""
    import pandas as pd

    from evaluation.enhancement.benchmark import COLUMNS, FULL_REFERENCE
    from evaluation.metrics import conventions, metric, to_table
    from uptflow.metrics.image_quality import ImageQuality
    from uptflow.utils.io import atomic_write_text, imread_rgb

    default = ["PSNR", "SSIM", "SSIM-G11"] if args.reference else ["NIQE", "BRISQUE"]
    wanted = [m.strip() for m in args.metrics.split(",")] if args.metrics else default + ["LOE"] * bool(args.inputs)
    for m in wanted:
        metric(m)
        if m not in COLUMNS:
            raise ValueError(f"--metrics: {m} is not an image metric (choose from {', '.join(COLUMNS)})")
    if any(m in FULL_REFERENCE for m in wanted) and not args.reference:
        raise ValueError(f"--metrics {','.join(wanted)}: full-reference metrics need -r/--reference")
    if "LOE" in wanted and not args.inputs:
        raise ValueError("--metrics LOE: needs the low-light inputs (-i/--inputs)")
    if args.output and Path(args.output).suffix.lower() != ".csv":  # never write a table over a photo
        raise ValueError(f"--output {args.output}: give a .csv file (the per-image table)")
    if args.loe_short_side < 1:
        raise ValueError(f"--loe-short-side: must be >= 1, got {args.loe_short_side}")
    targets = dict(list(_files(Path(args.target)).items())[: args.limit])
    refs = _files(Path(args.reference)) if args.reference else {}
    inputs = _files(Path(args.inputs)) if args.inputs else {}
    if _unmatched(targets, refs, inputs):
        # LOL-v2 style names (low00001 against normal00001): match by the number when the stems do not match
        numbered = [_numbered(files) if files else {} for files in (targets, refs, inputs)]
        if all(n is not None for n in numbered):
            targets, refs, inputs = numbered
    if missing := _unmatched(targets, refs, inputs):
        raise ValueError(f"{missing}; images are matched by file stem, or by the number of names like low00001 / "
                         "normal00001")
    lpips = None
    if "LPIPS" in wanted:
        from uptflow.metrics.lpips import LPIPS

        lpips = LPIPS(args.lpips_backbone, args.lpips_linear)
    q = ImageQuality(gt_mean=any(m.endswith("GTmean") for m in wanted), lpips=lpips,
                     no_reference=bool({"NIQE", "BRISQUE"} & set(wanted)), loe_short_side=args.loe_short_side)
    rows, failed = [], 0
    for stem, path in targets.items():
        try:
            img = imread_rgb(path)
            res = q.measure(img, imread_rgb(refs[stem]) if refs else None,
                            imread_rgb(inputs[stem]) if inputs else None)
        except (OSError, ValueError) as e:  # an unreadable or mismatched image is reported; the rest go on
            failed += 1
            print(failure_line(path, e), file=sys.stderr)
            continue
        rows.append(dict(image=path.name, **{m: to_table(m, res[COLUMNS[m]]) for m in wanted}))
    if not rows:
        raise ValueError(f"no image of {args.target} could be scored ({failed} failed, reported above)")
    df = pd.DataFrame(rows)
    protocol = conventions(wanted, loe_short_side=args.loe_short_side)
    print(df.round(4).to_markdown(index=False))
    print(f"\nmean over {len(df)} images: " + ", ".join(_mean_text(m, df[m]) for m in wanted))
    print(f"protocol: {protocol}")
    if args.output:
        atomic_write_text(args.output, df.assign(protocol=protocol).to_csv(index=False))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.metrics_cli``."""
    return run_standalone(add_arguments, run, "uptflow metrics", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

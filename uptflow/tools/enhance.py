"""``uptflow enhance INPUT... -o OUTDIR``: enhance images with a registered enhancer (UPT-Flow by default).

Inputs are image files, folders (searched recursively) and glob patterns (expanded here too, so quoted patterns
work: ``uptflow enhance 'shots/**/*.jpg' -o out``). Outputs are PNGs named like the input, relative to the folder
given (or to the fixed part of a glob pattern). Resumable: outputs that already exist are skipped, every output is
written atomically (a crash never leaves a half-written PNG), and an input that fails (unreadable, missing) is
reported while the rest go on; the exit status is 1 if any failed.
"""

import argparse
import glob
from pathlib import Path

from uptflow.utils.io import IMAGE_SUFFIXES

__all__ = ["add_arguments", "run", "collect_inputs", "output_paths"]

_GLOB_CHARS = set("*?[")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``uptflow enhance``."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders (searched recursively) or glob patterns ('**' recurses)")
    parser.add_argument("-o", "--output", required=True, help="output folder (PNG files, same relative names)")
    parser.add_argument("--weights", help="checkpoint (official UPT-Flow layout or uptflow format)")
    parser.add_argument("--enhancer", default="uptflow", help="registered enhancer name (default: uptflow)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument("--tile", default="auto",
                        help="UPT-Flow tiling: auto (whole image when it fits in memory), 0 (never) or a tile side")
    parser.add_argument("--overlap", type=int, default=None, help="UPT-Flow tile overlap in pixels")
    parser.add_argument("--heat", type=float, default=0.0, help="UPT-Flow latent temperature (0 = deterministic)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the heat > 0 sampling, reset for every image (same seed, same output)")


def _glob_base(pattern: str) -> Path:
    """The leading part of ``pattern`` without wildcards (outputs are named relative to it)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def collect_inputs(inputs: list[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Expand files, folders and glob patterns into ``(image, base folder)`` pairs, in order, without duplicates.

    Returns:
        The pairs and one error message per input that matched nothing.
    """
    pairs: dict[Path, Path] = {}
    errors = []
    for item in inputs:
        path = Path(item)
        if path.is_file():
            found = [(path, path.parent)]
        elif path.is_dir():
            found = [(p, path) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        elif _GLOB_CHARS & set(item):
            base = _glob_base(item)
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True))
            found = [(p, base) for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        else:
            errors.append(f"input not found: {item}")
            continue
        if not found:
            errors.append(f"no images in {item}")
        for p, base in found:
            pairs.setdefault(p.resolve(), base)
    return [(p, base.resolve()) for p, base in pairs.items()], errors


def output_paths(pairs: list[tuple[Path, Path]], out_dir: Path) -> list[Path]:
    """The PNG each input is written to; raises ValueError naming both inputs if two would share an output."""
    targets, seen = [], {}
    for path, base in pairs:
        target = (out_dir / path.relative_to(base)).with_suffix(".png")
        if target in seen:
            raise ValueError(f"{seen[target]} and {path} would both be written to {target}; "
                             f"enhance them into different output folders")
        seen[target] = path
        targets.append(target)
    return targets


def run(args: argparse.Namespace) -> int:
    """Enhance every input image; return 0 if all succeeded, 1 if any failed, 2 on unusable arguments."""
    from tqdm import tqdm

    from uptflow.enhancers import build_enhancer
    from uptflow.utils.io import imwrite_rgb

    out_dir = Path(args.output)
    pairs, errors = collect_inputs(args.inputs)
    for err in errors:
        print(f"FAILED {err}")
    try:
        targets = output_paths(pairs, out_dir)
    except ValueError as e:
        print(f"error: {e}")
        return 2
    todo = [(p, t) for (p, _), t in zip(pairs, targets, strict=True) if not t.exists()]
    skipped = len(pairs) - len(todo)
    failed = list(errors)
    if todo:
        kw = {}
        if args.enhancer == "uptflow":
            kw = {"tile": None if args.tile in ("0", "none") else args.tile, "heat": args.heat, "seed": args.seed}
            if args.overlap is not None:
                kw["overlap"] = args.overlap
        enhancer = build_enhancer(args.enhancer, weights=args.weights, device=args.device, **kw)
        for path, target in tqdm(todo, desc=f"enhance ({args.enhancer})", unit="img"):
            try:
                imwrite_rgb(target, enhancer(path))
            except Exception as e:  # noqa: BLE001 - one bad image must not stop the batch
                failed.append(str(path))
                tqdm.write(f"FAILED {path}: {type(e).__name__}: {e}")
    print(f"{len(todo) - len(failed) + len(errors)} enhanced, {skipped} skipped (already done), "
          f"{len(failed)} failed -> {out_dir}")
    return 1 if failed else 0

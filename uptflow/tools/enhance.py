"""``uptflow enhance``: enhance one image or a folder of images with a registered enhancer (UPT-Flow by default).

Resumable: outputs that already exist are skipped, every output is written atomically (a crash never leaves a
half-written PNG), and an image that fails is reported while the rest go on (exit code 1 if any failed).
"""

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run", "list_images"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``uptflow enhance``."""
    parser.add_argument("--weights", help="checkpoint (official UPT-Flow layout or uptflow format)")
    parser.add_argument("--input", required=True, help="an image file or a folder (searched recursively)")
    parser.add_argument("--output", required=True, help="output folder (PNG files, same relative names)")
    parser.add_argument("--enhancer", default="uptflow", help="registered enhancer name (default: uptflow)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument("--tile", default="auto",
                        help="UPT-Flow tiling: auto (whole image when it fits in memory), 0 (never) or a size")
    parser.add_argument("--heat", type=float, default=0.0, help="UPT-Flow latent temperature (0 = deterministic)")


def list_images(root: Path) -> list[Path]:
    """Image files under ``root`` (or ``root`` itself), sorted."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"input not found: {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def run(args: argparse.Namespace) -> int:
    """Enhance every input image; return 0 if all succeeded, 1 otherwise."""
    from tqdm import tqdm

    from uptflow.enhancers import build_enhancer
    from uptflow.utils.io import imwrite_rgb

    src, out_dir = Path(args.input), Path(args.output)
    images = list_images(src)
    if not images:
        print(f"no images found under {src}")
        return 1
    kw = {}
    if args.enhancer == "uptflow":
        kw = {"tile": None if args.tile in ("0", "none") else args.tile, "heat": args.heat}
    enhancer = build_enhancer(args.enhancer, weights=args.weights, device=args.device, **kw)
    base = src if src.is_dir() else src.parent
    failed, skipped = [], 0
    for path in tqdm(images, desc=f"enhance ({args.enhancer})", unit="img"):
        target = (out_dir / path.relative_to(base)).with_suffix(".png")
        if target.exists():
            skipped += 1
            continue
        try:
            imwrite_rgb(target, enhancer(path))
        except Exception as e:  # noqa: BLE001 - one bad image must not stop the batch
            failed.append(path)
            tqdm.write(f"FAILED {path}: {type(e).__name__}: {e}")
    print(f"{len(images) - len(failed) - skipped} enhanced, {skipped} skipped (already done), "
          f"{len(failed)} failed -> {out_dir}")
    return 1 if failed else 0

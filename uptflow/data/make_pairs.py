"""Write a fixed, seeded split of photo-synthesised low-light pairs to a folder the benchmarks read.

    python -m uptflow.data.make_pairs --data-root ../shared/data --photo-dirs bsds500/train bsds500/val \\
        coco128_train/images --split test --seed 0 --work-dir OUT       # [--level 3] for a fixed darkness level

(``--light-prob 0.5``: half of the pairs get light sources, lamps that clip, in both images; docs/synthesis.md)

writes ``OUT/low/<name>.png``, ``OUT/high/<name>.png`` (full-size photos) and ``OUT/degradations.jsonl`` (every pair's
degradation parameters and seed), the low/high layout ``python -m evaluation.enhancement --dataset paired`` reads.
``--out`` is the old spelling of ``--work-dir`` (kept for one release).
"""

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from uptflow.data.photos import SPLITS, PhotoLowLightPairs
from uptflow.data.synthetic import SKIMAGE_PHOTOS
from uptflow.utils.io import atomic_write_text, imwrite_rgb

__all__ = ["write_pairs", "add_arguments", "run", "main"]


def write_pairs(dataset: PhotoLowLightPairs, out_dir: str | Path) -> Path:
    """Write every sample of ``dataset`` as ``out_dir/{low,high}/<name>.png`` and its parameters as JSON lines."""
    out_dir = Path(out_dir)
    lines = []
    for i in range(len(dataset)):
        sample = dataset[i]
        meta = sample["data_samples"].metainfo
        name = meta["name"]
        for key, folder in (("low", "low"), ("gt", "high")):
            imwrite_rgb(out_dir / folder / f"{name}.png", sample["inputs"][key].permute(1, 2, 0).numpy())
        lines.append(json.dumps(dict(name=name, seed=meta.get("degradation_seed"), **meta["degradation"])))
    atomic_write_text(out_dir / "degradations.jsonl", "\n".join(lines) + "\n")
    return out_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    from uptflow.cli import add_work_dir, fraction

    parser.add_argument("--data-root", default="", help="folder the photo folders are relative to")
    parser.add_argument("--photo-dirs", nargs="*", default=[], help="folders of normal-light photos")
    parser.add_argument("--skimage-photos", nargs="*", default=[], help=f"any of {', '.join(SKIMAGE_PHOTOS)}")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fixed degradations")
    parser.add_argument("--level", type=int, help="a fixed darkness level (1-5) instead of the random degradation")
    parser.add_argument("--light-prob", type=fraction("a probability"), default=0.0,
                        help="fraction of the random degradation's pairs that get light sources (default 0)")
    add_work_dir(parser, what="output folder (low/, high/, degradations.jsonl)")


def run(args: argparse.Namespace) -> int:
    """Write the split's pairs to ``--work-dir``; return 0."""
    from uptflow.cli import work_dir

    out = work_dir(args)
    if args.level and args.light_prob:
        raise ValueError("--light-prob: a darkness level has no light sources; give one or the other")
    degradation = dict(level=args.level) if args.level else dict(light_prob=args.light_prob)
    pipeline = [dict(type="LoadImagePair"), dict(type="SynthesizeLowLight", degradation=degradation),
                dict(type="PackPairedInputs", meta_keys=("name", "degradation", "degradation_seed"))]
    ds = PhotoLowLightPairs(photo_dirs=args.photo_dirs, data_root=args.data_root, skimage_photos=args.skimage_photos,
                            split=args.split, seed=args.seed, fixed_degradation=True, pipeline=pipeline,
                            test_mode=True)
    print(f"wrote {len(ds)} pairs to {write_pairs(ds, out)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Write a fixed, seeded split of synthetic pairs to a low/high folder."""
    from uptflow.cli import run_standalone

    return run_standalone(add_arguments, run, "python -m uptflow.data.make_pairs", __doc__,
                          None if argv is None else list(argv))


if __name__ == "__main__":
    raise SystemExit(main())

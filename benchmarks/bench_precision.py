"""How much do the low precisions change the output? PSNR of bf16 (fp16 on CUDA) against fp32, per real image.

The same trained network enhances every image in fp32 and in each lower precision (``UPTFlow.precision``: the
encoder and the coupling sub-networks under autocast, the invertible flow in float32); the clamped [0, 1] outputs
are compared (peak 1). Which weights:

* ``--weights PATH``: any checkpoint; ``default``: the uptflow default model (``uptflow/assets``).
* otherwise a tiny network trained here on synthetic pairs (``configs/uptflow/uptflow_tiny_synthetic.py``,
  ``--train-iters`` iterations into ``--train-dir``, reused when already there).

Images: ``../shared/data/lol/low`` and ``../shared/data/unpaired/*`` (or ``--images`` globs), at their own size.

Usage:
    python benchmarks/bench_precision.py --limit 3                   # quick
    python benchmarks/bench_precision.py --weights default --threads 2
"""

import argparse
import glob
import math
import sys
from pathlib import Path

from _harness import timed

TINY_CONFIG = "configs/uptflow/uptflow_tiny_synthetic.py"


def _train_tiny(work_dir: Path, iters: int) -> Path:
    """Train the tiny synthetic config for ``iters`` iterations (or reuse the result); return the exported network."""
    final = work_dir / "uptflow_final.pth"
    if final.is_file():
        return final
    from uptflow.engine.train import train

    milestones = [int(iters * f) for f in (0.4, 0.6, 0.8, 0.9)]
    options = {"train_cfg.max_iters": iters, "train_cfg.val_interval": max(iters // 4, 1),
               "default_hooks.checkpoint.interval": max(iters // 4, 1),
               "param_scheduler": [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=10),
                                   dict(type="MultiStepLR", by_epoch=False, begin=0, end=iters, gamma=0.5,
                                        milestones=milestones)]}
    return train(TINY_CONFIG, work_dir, cfg_options=options, resume=None)


def _images(patterns: list[str] | None) -> list[Path]:
    if patterns:
        return sorted(Path(p) for pat in patterns for p in glob.glob(pat, recursive=True))
    from uptflow.utils.paths import shared_root

    root = shared_root()
    if root is None:
        raise SystemExit("no images: pass --images, or place the shared data at ../shared")
    data = root / "data"
    return sorted([*(data / "lol" / "low").glob("*.png"), *(p for p in (data / "unpaired").glob("*/*") if p.is_file())])


def psnr(ref, out) -> float:
    """PSNR in dB of ``out`` against ``ref`` (both in [0, 1])."""
    mse = float((ref.double() - out.double()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def main() -> int:
    """Enhance every image in fp32 and in the lower precisions; print the per-image PSNR table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", help="checkpoint path, or 'default' for the uptflow default model")
    p.add_argument("--train-dir", default="/tmp/uptflow-bench-tiny", help="where the tiny network is trained")
    p.add_argument("--train-iters", type=int, default=400)
    p.add_argument("--images", nargs="*", help="image globs (default: the shared LOL low and unpaired images)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--precisions", help="comma-separated (default: bf16 on CPU, bf16,fp16 on CUDA)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    import pandas as pd
    import torch

    from uptflow.models import load_model
    from uptflow.utils.io import imread_rgb

    torch.set_num_threads(args.threads)
    if args.weights == "default":
        weights = None
    elif args.weights:
        weights = Path(args.weights)
    else:
        weights = _train_tiny(Path(args.train_dir), args.train_iters)
    precisions = (args.precisions or ("bf16,fp16" if args.device.startswith("cuda") else "bf16")).split(",")
    model = load_model(weights, device=args.device)
    images = _images(args.images)[: args.limit]
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else lambda: None  # GPU work is asynchronous

    def run(img: torch.Tensor, precision: str) -> tuple[torch.Tensor, float]:
        """The output and the seconds of a second call: the first pays for this size's kernels, plans and masks."""
        model.precision = precision
        out = model.enhance(img)
        return out, timed(lambda: model.enhance(img), 1, sync)[0]

    rows = []
    for path in images:
        img = torch.from_numpy(imread_rgb(path)).permute(2, 0, 1)[None].float().div(255).to(args.device)
        row = {"image": f"{path.parent.name}/{path.name}", "size": f"{img.shape[3]}x{img.shape[2]}"}
        ref, row["fp32 s"] = run(img, "fp32")
        for precision in precisions:
            out, row[f"{precision} s"] = run(img, precision)
            row[f"{precision} PSNR dB"] = psnr(ref, out)
            row[f"{precision} max abs diff"] = float((ref - out).abs().max())
        rows.append(row)
    table = pd.DataFrame(rows)
    summary = {"image": "mean / min PSNR"}
    for precision in precisions:
        col = table[f"{precision} PSNR dB"]
        summary[f"{precision} PSNR dB"] = f"{col.mean():.2f} / {col.min():.2f}"
    # numbers as text, so the summary row (text) sits under them without turning the columns unformatted
    shown = table.copy()
    for c in table.columns[2:]:
        shown[c] = table[c].map(("{:.4f}" if "diff" in c else "{:.2f}").format)
    print(f"weights: {weights or 'uptflow default model'}; outputs clamped to [0, 1], PSNR against fp32 (peak 1); "
          f"{args.device}, {args.threads} threads")
    print(pd.concat([shown, pd.DataFrame([summary])]).fillna("").to_markdown(index=False, disable_numparse=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

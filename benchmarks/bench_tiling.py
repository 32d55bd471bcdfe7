"""Does tiling show? PSNR of tiled vs. untiled UPT-Flow output on a realistic low-light image (target: >= 45 dB).

The image is scikit-image's astronaut, resized to ``--size`` (square) and darkened by
``uptflow.data.synthetic.LowLightDegradation`` (seeded). The untiled output is the reference; each tile/overlap
setting is scored against it. Which weights:

* ``--weights PATH`` (e.g. a trained checkpoint, or ``uptflow_best.pth`` of the tiny synthetic config): outputs are
  clamped to [0, 1] as in normal use, PSNR with peak 1.
* ``--weights golden`` (default when ``../shared/golden`` exists): the official-format, fully perturbed random
  full-size weights of the golden tests. Their outputs are far outside [0, 1] (about +-300), so clamping would
  compare saturated garbage; the *raw* decode is compared instead, with the reference's dynamic range
  (max - min) as the PSNR peak. This measures how much the full-size architecture's global operations (MDTA's
  channel attention, ECA and CBAM pools) change when they only see a tile.

Usage:
    python benchmarks/bench_tiling.py --size 1024 --tiles 640:64 --threads 2 --statistics image,tile
    python benchmarks/bench_tiling.py --weights /tmp/tiny/uptflow_best.pth --size 1024 --tiles 256:32,512:64
"""

import argparse
import math
import resource
import time

import numpy as np
import pandas as pd
import torch

from uptflow.models.tiling import tile_starts, tiled_apply


def _test_image(size: int, seed: int) -> torch.Tensor:
    import cv2

    from uptflow.data.synthetic import LowLightDegradation, load_skimage_photo

    img = cv2.resize(load_skimage_photo("astronaut"), (size, size), interpolation=cv2.INTER_CUBIC)
    low, _ = LowLightDegradation()(img, np.random.default_rng(seed))
    return torch.from_numpy(low).permute(2, 0, 1)[None].float() / 255.0


def _load(weights: str) -> tuple[torch.nn.Module, bool]:
    """The model and whether its outputs are compared raw (random weights) or clamped (trained weights)."""
    from uptflow.models import load_model
    from uptflow.utils.paths import require_file, shared_root

    if weights == "golden":
        path = require_file(shared_root() / "golden" / "official_format_w5_seed0.pth", "golden UPT-Flow weights")
        return load_model(path), True
    return load_model(weights), False


def psnr(ref: torch.Tensor, out: torch.Tensor, peak: float) -> float:
    """10 log10(peak^2 / MSE) in dB (inf when identical)."""
    mse = float((ref.double() - out.double()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def main() -> int:
    """Enhance one image untiled and with every tile setting; print PSNR and time per setting."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default="golden", help="checkpoint path, or 'golden' (perturbed random, raw output)")
    p.add_argument("--size", type=int, default=1024, help="image side in pixels")
    p.add_argument("--tiles", default="640:64", help="comma-separated TILE:OVERLAP settings")
    p.add_argument("--blend", default="cosine", choices=["cosine", "linear"])
    p.add_argument("--statistics", default="image,tile",
                   help="comma-separated: 'image' (tiles share the image's global statistics) and/or 'tile'")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--seed", type=int, default=0, help="seed of the degradation")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, raw = _load(args.weights)
    low = _test_image(args.size, args.seed)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return model.enhance(t, clamp=not raw)

    rows = []
    with torch.inference_mode():
        t0 = time.perf_counter()
        ref = fn(low)
        rows.append({"tile": "none", "overlap": 0, "statistics": "-", "tiles": 1,
                     "seconds": time.perf_counter() - t0, "PSNR_dB": math.inf})
        peak = float(ref.max() - ref.min()) if raw else 1.0
        for setting in args.tiles.split(","):
            tile, overlap = (int(v) for v in setting.split(":"))
            for statistics in args.statistics.split(","):
                share = statistics == "image"
                t0 = time.perf_counter()
                out = tiled_apply(fn, low, tile, overlap, args.blend, share_statistics=share)
                rows.append({"tile": tile, "overlap": overlap, "statistics": statistics,
                             "tiles": len(tile_starts(args.size, tile, overlap)) ** 2,
                             "seconds": time.perf_counter() - t0, "PSNR_dB": psnr(ref, out, peak)})
    scoring = f"raw decode, peak = reference range {peak:.1f}" if raw else "clamped, peak 1"
    print(f"weights={args.weights} ({scoring}), "
          f"astronaut {args.size}x{args.size}, blend={args.blend}, threads={args.threads}")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f"))
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark UPT-Flow enhancement: seconds and peak memory per image size x device, whole image vs tiled.

Each case runs in a fresh subprocess so its peak memory is its own (CPU: peak RSS growth during the enhance call;
CUDA: ``torch.cuda.max_memory_allocated``). Random weights unless ``--weights`` is given (speed does not depend on
them). The per-pixel peak this prints is what ``uptflow.models.tiling.BYTES_PER_PIXEL`` is set from.

Usage:
    python benchmarks/bench_uptflow.py --sizes 256x256,400x600 --devices cpu --tile 256
"""

import argparse
import json
import resource
import subprocess
import sys
import time


def _current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _run_case(size: str, device: str, tile: int, weights: str | None, repeats: int) -> dict:
    import torch

    from uptflow.enhancers.uptflow import UPTFlowEnhancer
    from uptflow.models import build_uptflow, load_model

    h, w = (int(v) for v in size.split("x"))
    model = load_model(weights, device) if weights else build_uptflow().to(device).eval()
    enh = UPTFlowEnhancer(model=model, device=device, tile=tile or None)
    x = torch.rand(1, 3, h, w, device=device) * 0.3
    if device.startswith("cuda"):
        enh.enhance_tensor(x[..., : min(h, 64), : min(w, 64)])  # warm-up (cuDNN autotuning, allocator)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _current_rss_bytes()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        enh.enhance_tensor(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"size": size, "device": device, "tile": tile or "none", "seconds": min(times),
            "peak_MiB": peak / 2**20, "bytes_per_pixel": peak / (h * w), "threads": torch.get_num_threads()}


def main() -> int:
    """Run every (size, device, tiled?) case in a subprocess and print a table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="256x256,400x600", help="comma-separated HxW")
    p.add_argument("--devices", default="cpu", help="comma-separated torch devices")
    p.add_argument("--tile", type=int, default=256, help="tile side of the tiled runs (0: untiled only)")
    p.add_argument("--weights", help="checkpoint to load (default: random weights)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--_case", nargs=3, metavar=("SIZE", "DEVICE", "TILE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._case:
        size, device, tile = args._case
        print(json.dumps(_run_case(size, device, int(tile), args.weights, args.repeats)))
        return 0

    import pandas as pd
    from tqdm import tqdm

    cases = [(s, d, t) for s in args.sizes.split(",") for d in args.devices.split(",")
             for t in ([0, args.tile] if args.tile else [0])]
    rows = []
    for size, device, tile in tqdm(cases, desc="bench", unit="case"):
        cmd = [sys.executable, __file__, "--_case", size, device, str(tile), "--repeats", str(args.repeats)]
        if args.weights:
            cmd += ["--weights", args.weights]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tqdm.write(f"{size} {device} tile={tile}: FAILED\n{res.stderr[-2000:]}")
            continue
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    if rows:
        print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

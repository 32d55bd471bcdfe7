"""Benchmark the MSFormer encoder alone: seconds (wall and process CPU) per image size x window size x device.

Random weights (speed does not depend on them), float32, ``torch.no_grad``; the best of ``--repeats`` runs after
one warm-up run is reported. Process CPU time is the steadier number on a shared machine.

Usage:
    python benchmarks/bench_encoder.py --sizes 120x160,400x600 --windows 5,8 --devices cpu --threads 2
"""

import argparse
import time

import pandas as pd
import torch

from uptflow.models import MSFormer, unbalanced_point_map


def _time_case(model: MSFormer, h: int, w: int, device: str, repeats: int) -> tuple[float, float]:
    low = torch.rand(1, 3, h, w, device=device) * 0.3
    upm = unbalanced_point_map(low)
    best_wall = best_cpu = float("inf")
    with torch.no_grad():
        for i in range(repeats + 1):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            wall, cpu = time.perf_counter(), time.process_time()
            model(low, upm)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i:  # the first run is a warm-up
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main() -> int:
    """Time every (size, window, device) case and print a table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="120x160,400x600", help="comma-separated HxW, multiples of 8")
    p.add_argument("--windows", default="5,8", help="comma-separated window sizes")
    p.add_argument("--devices", default="cpu", help="comma-separated torch devices")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for device in args.devices.split(","):
        for window in (int(v) for v in args.windows.split(",")):
            model = MSFormer(window).eval().to(device)
            for size in args.sizes.split(","):
                h, w = (int(v) for v in size.lower().split("x"))
                wall, cpu = _time_case(model, h, w, device, args.repeats)
                rows.append(
                    {
                        "device": device,
                        "window": window,
                        "size": f"{h}x{w}",
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "Mpx_per_s": h * w / wall / 1e6,
                    }
                )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""UPT-Flow enhancement cost: parameters, FLOPs, latency and peak memory per image size and device, as a table.

* Parameters: of ``build_uptflow(window_size=5)`` (random weights; speed does not depend on them).
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls, FLOPs = 2 x MACs) of one
  enhance pass at 256x256 on fake tensors (nothing is computed), scaled linearly by the pixel count (the cost is
  linear in H*W up to the window padding at 1/8 scale).
* Latency: best of ``--repeats`` ``UPTFlowEnhancer.enhance_tensor`` calls after a small warm-up (float32).
* Peak memory: every case runs in a fresh subprocess. CPU: peak RSS growth during the timed calls
  (``ru_maxrss`` minus the RSS before them); CUDA: ``torch.cuda.max_memory_allocated`` growth.

Sizes are WIDTHxHEIGHT with an optional ``:TILE`` (a tile side, or ``auto`` for the enhancer's memory-budget
policy; the default is untiled). ``--baseline-src DIR`` also runs every case with the ``uptflow`` package found
in DIR (e.g. ``git archive <commit> uptflow | tar -x -C DIR``) and labels those rows ``baseline``: this is how the
first straightforward version was compared with the current one.

Usage:
    python benchmarks/enhance_speed.py --sizes 256x256,600x400 --threads 2
    python benchmarks/enhance_speed.py --devices cuda --sizes 256x256,600x400,1920x1080,3840x2160:1024
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CPU_SIZES = "256x256,600x400"
ALL_SIZES = "256x256,600x400,1920x1080,3840x2160:1024"
FLOP_SIDE = 256


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _parse_size(spec: str) -> tuple[int, int, str]:
    size, _, tile = spec.partition(":")
    w, h = (int(v) for v in size.lower().split("x"))
    return h, w, tile or "0"


def _count_flops() -> dict:
    """Parameters and FLOPs of one enhance pass at FLOP_SIDE x FLOP_SIDE (fake tensors: nothing is computed)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    from uptflow.models import build_uptflow

    model = build_uptflow(window_size=5).eval()
    # fake CPU tensors rather than the meta device, which torch.autocast (used by the flow) does not accept
    with FakeTensorMode(allow_non_fake_inputs=True):
        low = torch.rand(1, 3, FLOP_SIDE, FLOP_SIDE)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model.enhance(low)
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "flops_per_pixel": counter.get_total_flops() / FLOP_SIDE**2}


def _run_case(h: int, w: int, tile: str, device: str, repeats: int, threads: int) -> dict:
    import torch

    from uptflow.enhancers.uptflow import UPTFlowEnhancer
    from uptflow.models import build_uptflow

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_uptflow(window_size=5).to(device).eval()
    enh = UPTFlowEnhancer(model=model, device=device, tile=tile if tile == "auto" else (int(tile) or None))
    x = torch.rand(1, 3, h, w, device=device) * 0.3
    enh.enhance_tensor(x[..., :64, :64])  # warm-up (allocator, cuDNN autotuning, cached masks and inverses)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        enh.enhance_tensor(x)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    peak -= base
    return {"seconds": min(times), "peak_MiB": peak / 2**20, "bytes_per_pixel": peak / (h * w),
            "tile_used": enh.tile_for(h, w) or "none"}


def _subprocess(args: list[str], src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    """Measure every (version, device, size) case in its own subprocess and print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help=f"comma-separated WxH[:TILE] (default: {CPU_SIZES} on CPU, {ALL_SIZES} on CUDA)")
    p.add_argument("--devices", help="comma-separated torch devices (default: cpu, and cuda when present)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--baseline-src", help="folder holding an older uptflow package to compare with")
    p.add_argument("--_case", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._case:
        spec, device, repeats, threads = args._case.split(",")
        out = _count_flops() if spec == "flops" else _run_case(*_parse_size(spec), device, int(repeats), int(threads))
        print(json.dumps(out))
        return 0

    import pandas as pd
    import torch
    from tqdm import tqdm

    threads = args.threads or torch.get_num_threads()
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    versions = [("current", None)] + ([("baseline", args.baseline_src)] if args.baseline_src else [])
    flops = {name: _subprocess(["--_case", "flops,cpu,1,1"], src) for name, src in versions}
    rows = []
    cases = [(v, d, s) for v in versions for d in devices
             for s in (args.sizes or (ALL_SIZES if d.startswith("cuda") else CPU_SIZES)).split(",")]
    for (name, src), device, spec in tqdm(cases, desc="enhance_speed", unit="case"):
        h, w, tile = _parse_size(spec)
        row = {"version": name, "device": device, "size (WxH)": f"{w}x{h}", "tile": tile if tile != "0" else "none",
               "params_M": flops[name]["params"] / 1e6, "GFLOPs": flops[name]["flops_per_pixel"] * h * w / 1e9}
        try:
            res = _subprocess(["--_case", f"{spec},{device},{args.repeats},{threads}"], src)
        except RuntimeError as e:
            tqdm.write(f"{name} {device} {spec}: FAILED\n{e}")
            continue
        rows.append(row | res | {"threads": threads if device == "cpu" else "-"})
    print(f"GFLOPs: counted at {FLOP_SIDE}x{FLOP_SIDE} with FlopCounterMode, scaled by pixels")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

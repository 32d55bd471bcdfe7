"""UPT-Flow enhancement cost: latency, frames per second, GFLOP/s, peak memory and output difference against fp32.

Every case (version x precision x allocator setting x size x batch) runs in a fresh subprocess, so its peak RSS
is its own:

* versions: ``current`` (this checkout) and ``baseline``, the ``uptflow`` package of ``--baseline`` (a git
  revision, ``HEAD`` by default, extracted to a temporary folder), always fp32; the two alternate round by round
  (``--rounds``) and the best round of each case is reported, so that load changes on a shared machine hit both.
* precision: ``UPTFlowEnhancer(precision=...)`` of the current version: fp32, bf16 (fp16: CUDA); a ``+compile``
  suffix (``fp32+compile``) adds ``compile=True``, whose warm-up call on the full input compiles (``first_s``).
* sizes are WIDTHxHEIGHT with an optional ``:TILE`` (a tile side, or ``auto`` for the enhancer's memory policy);
  ``--batch`` sizes give frames per second of batched calls.
* seconds: best of ``--repeats`` ``enhance_tensor`` calls after a warm-up; ``cpu_s``: the process CPU time of that
  call (all threads); GFLOP/s: the version's FLOPs (FlopCounterMode at 256x256 on fake tensors, scaled by pixels)
  per second.
* peak memory: CPU: peak RSS of the process (``peak_MiB``) and its growth during the timed calls over the RSS
  before them (``bytes_per_pixel``); CUDA: ``max_memory_allocated`` growth. ``faults_MiB``: page faults per timed
  call (memory touched afresh), on CPU.
* ``--malloc``: allocator settings (``default``, ``retain``, ``thp``, ``noreuse``; see ``benchmarks/_harness.py``),
  each a case dimension of both versions; speed-ups compare versions under the same setting.
* diff vs fp32: max |out - ref| / max |ref| of the raw (unclamped) untiled output against the current fp32 output
  of the same input and weights, and the PSNR with the reference's range as peak. The weights are
  ``--weights`` (default: the golden perturbed official-format weights when ``../shared/golden`` exists, whose
  outputs depend on every part of the network; else random ones, whose untrained couplings give a constant image).

Usage:
    python benchmarks/enhance_speed.py                                   # quick: 256x256, fp32 + bf16, vs HEAD
    python benchmarks/enhance_speed.py --sizes 600x400 --threads 2 --rounds 3
    python benchmarks/enhance_speed.py --sizes 600x400 --rounds 3 --malloc default,retain,thp --baseline b85be8f
    python benchmarks/enhance_speed.py --sizes 640x360,1280x720 --batch 1,4 --baseline '' --no-diff
    python benchmarks/enhance_speed.py --sizes 600x400 --precisions fp32,fp32+compile,bf16,bf16+compile --baseline ''
    python benchmarks/enhance_speed.py --sizes 3840x2160:auto --precisions fp32 --baseline '' --repeats 1
    python benchmarks/enhance_speed.py --devices cuda --sizes 600x400,1920x1080,3840x2160 --precisions fp32,bf16,fp16
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

from _harness import (
    MALLOC_SETTINGS,
    REPO,
    WAIT_POLICIES,
    baseline_package,
    load_average,
    page_faults_bytes,
    peak_rss_bytes,
    rss_bytes,
    run_case,
)

FLOP_SIDE = 256


def _parse_size(spec: str) -> tuple[int, int, str]:
    size, _, tile = spec.partition(":")
    w, h = (int(v) for v in size.lower().split("x"))
    return h, w, tile or "0"


def _model(weights: str | None, device: str):
    import torch

    from uptflow.models import build_uptflow, load_model

    if weights:
        return load_model(weights, device=device)
    torch.manual_seed(0)
    return build_uptflow(window_size=5).to(device).eval()


def _count_flops(weights: str | None) -> dict:
    """Parameters and FLOPs per pixel of one enhance pass of the network of ``weights`` (None: the full-size one),
    counted in a real pass: the network checks its input's values, which fake tensors do not have."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = _model(weights, "cpu")
    low = torch.rand(1, 3, FLOP_SIDE, FLOP_SIDE)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.enhance(low)
    return {"params": sum(p.numel() for p in model.parameters()),
            "flops_per_pixel": counter.get_total_flops() / FLOP_SIDE**2}


def _run_case(spec: str, batch: int, precision: str, device: str, repeats: int, threads: int, weights: str | None,
              out_path: str) -> dict:
    import torch

    from uptflow.enhancers.uptflow import UPTFlowEnhancer

    torch.set_num_threads(threads)
    h, w, tile = _parse_size(spec)
    model = _model(weights, device)
    precision, _, option = precision.partition("+")
    kwargs = {} if precision == "fp32" else {"precision": precision}  # the baseline has no precision setting
    if option == "compile":
        kwargs["compile"] = True
    enh = UPTFlowEnhancer(model=model, device=device, tile=tile if tile == "auto" else (int(tile) or None), **kwargs)
    x = torch.rand(batch, 3, h, w, generator=torch.Generator().manual_seed(0)).to(device) * 0.3
    cuda = device.startswith("cuda")
    t0 = time.perf_counter()
    # warm-up (allocator, cuDNN autotuning, cached masks and inverses); a compiled encoder compiles for its size
    enh.enhance_tensor(x if option == "compile" else x[:1, :, :64, :64])
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = rss_bytes()
    first = time.perf_counter() - t0
    wall = cpu = math.inf
    faults = page_faults_bytes()
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        enh.enhance_tensor(x)
        if cuda:
            torch.cuda.synchronize()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    faults = (page_faults_bytes() - faults) / repeats
    peak = torch.cuda.max_memory_allocated() if cuda else peak_rss_bytes()
    result = {"seconds": wall, "cpu_s": cpu, "first_s": first, "peak_MiB": peak / 2**20 if not cuda else math.nan,
              "bytes_per_pixel": (peak - base) / (batch * h * w), "tile_used": enh.tile_for(h, w) or "none",
              "faults_MiB": faults / 2**20 if not cuda else math.nan}
    if cuda:
        result["peak_MiB"] = (peak - base) / 2**20
    if out_path and tile in ("0", "auto") and result["tile_used"] == "none":
        with torch.inference_mode():
            torch.save(model.enhance(x, clamp=False).cpu(), out_path)
    return result


def _diff(out_path: str, ref_path: str) -> dict:
    import torch

    if not (os.path.isfile(out_path) and os.path.isfile(ref_path)):
        return {}
    out, ref = torch.load(out_path), torch.load(ref_path)
    err = (out.double() - ref.double()).abs()
    peak = float(ref.max() - ref.min()) or 1.0
    mse = float(err.pow(2).mean())
    return {"max_rel_diff": float(err.max() / ref.abs().max().clamp_min(1e-12)),
            "PSNR_vs_fp32": math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)}


def main() -> int:
    """Measure every case in its own subprocess and print a Markdown table; exit status 1 when a case failed."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="256x256", help="comma-separated WxH[:TILE]")
    p.add_argument("--batch", default="1", help="comma-separated batch sizes")
    p.add_argument("--precisions", default="fp32,bf16", help="precisions of the current version")
    p.add_argument("--devices", default="cpu", help="comma-separated torch devices")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    p.add_argument("--repeats", type=int, default=1, help="timed calls per case (after a warm-up)")
    p.add_argument("--rounds", type=int, default=1, help="alternating rounds of the versions; the best is reported")
    p.add_argument("--baseline", default="HEAD", help="git revision of the baseline ('' for none)")
    p.add_argument("--weights", default="golden", help="checkpoint, 'golden' (default when present) or 'random'")
    p.add_argument("--omp-wait-policy", default="passive", choices=WAIT_POLICIES,
                   help="OpenMP wait policy of every case (see benchmarks/_harness.py)")
    p.add_argument("--malloc", default="default",
                   help=f"comma-separated allocator settings of every case: {', '.join(MALLOC_SETTINGS)}")
    p.add_argument("--no-diff", action="store_true",
                   help="skip the output comparison (it costs one more untiled pass per case)")
    p.add_argument("--_case", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._case:
        if args._case.startswith("flops,"):
            print(json.dumps(_count_flops(args._case.partition(",")[2] or None)))
            return 0
        spec, batch, precision, device, repeats, threads, weights, out_path = args._case.split(",")
        print(json.dumps(_run_case(spec, int(batch), precision, device, int(repeats), int(threads), weights or None,
                                   out_path)))
        return 0

    import pandas as pd

    weights = args.weights
    if weights == "golden":
        golden = REPO.parent / "shared" / "golden" / "official_format_w5_seed0.pth"
        weights = str(golden) if golden.is_file() else ""
    elif weights == "random":
        weights = ""
    precisions = args.precisions.split(",")
    mallocs = list(dict.fromkeys(args.malloc.split(",")))
    unknown = sorted(set(mallocs) - set(MALLOC_SETTINGS))
    if unknown:
        p.error(f"--malloc: unknown setting(s) {unknown}; choose from {list(MALLOC_SETTINGS)}")
    best: dict[tuple, dict] = {}
    failed = 0
    flops: dict[str, dict] = {}
    with baseline_package(args.baseline) as base, tempfile.TemporaryDirectory(prefix="uptflow-speed-") as tmp:
        versions = [("current", None)] + ([("baseline", base)] if base else [])
        cases = [(m, d, s, int(b)) for m in mallocs for d in args.devices.split(",") for s in args.sizes.split(",")
                 for b in args.batch.split(",")]
        for name, src in versions:
            flops[name] = run_case(__file__, ["--_case", f"flops,{weights}"], src, args.threads, args.omp_wait_policy)
        for _ in range(args.rounds):
            for malloc, device, spec, batch in cases:
                for name, src in versions:
                    for precision in precisions if name == "current" else ["fp32"]:
                        key = (name, precision, malloc, device, spec, batch)
                        out_path = "" if args.no_diff else os.path.join(tmp, f"{abs(hash(key))}.pt")
                        case = f"{spec},{batch},{precision},{device},{args.repeats},{args.threads},{weights},{out_path}"
                        try:
                            res = run_case(__file__, ["--_case", case], src, args.threads, args.omp_wait_policy,
                                           malloc)
                        except RuntimeError as e:
                            print(f"{name} {precision} {malloc} {device} {spec} x{batch}: FAILED\n{e}", file=sys.stderr)
                            failed += 1
                            continue
                        res["out_path"] = out_path
                        # each case as it ends, so that a run stopped early still shows what it measured
                        print(f"{name} {precision} {malloc} {device} {spec} x{batch}: {res['seconds']:.4f} s, peak "
                              f"{res['peak_MiB']:.0f} MiB", file=sys.stderr, flush=True)
                        if key not in best or res["seconds"] < best[key]["seconds"]:
                            best[key] = res
        rows = []
        baseline_s = {key[2:]: res for key, res in best.items() if key[0] == "baseline"}
        for (name, precision, malloc, device, spec, batch), res in best.items():
            h, w, tile = _parse_size(spec)
            gflops = flops[name]["flops_per_pixel"] * h * w * batch / 1e9
            row = {"version": name, "precision": precision}
            if mallocs != ["default"]:
                row["malloc"] = malloc
            row |= {"device": device, "size (WxH)": f"{w}x{h}",
                   "tile": tile if tile != "0" else "none", "batch": batch, "seconds": res["seconds"],
                   "cpu_s": res["cpu_s"], "fps": batch / res["seconds"], "GFLOP/s": gflops / res["seconds"]}
            if (malloc, device, spec, batch) in baseline_s:  # wall and CPU time (the latter less sensitive to load)
                base_res = baseline_s[(malloc, device, spec, batch)]
                row["speed-up"] = base_res["seconds"] / res["seconds"]
                row["cpu speed-up"] = base_res["cpu_s"] / res["cpu_s"]
            if any(p.endswith("+compile") for p in precisions):  # compiling is the warm-up call
                row["first call s"] = res.get("first_s", math.nan)
            row |= {"peak_MiB": res["peak_MiB"], "bytes_per_pixel": res["bytes_per_pixel"],
                    "faults_MiB": res["faults_MiB"], "tile_used": res["tile_used"]}
            ref = best.get(("current", "fp32", malloc, device, spec, batch))
            row |= _diff(res["out_path"], ref["out_path"]) if ref else {}
            rows.append(row)
    table = pd.DataFrame(rows)
    print(pd.DataFrame([{"version": n, "params_M": f["params"] / 1e6, "GFLOP per Mpx": f["flops_per_pixel"] * 1e-3}
                        for n, f in flops.items()]).to_markdown(index=False, floatfmt=".1f"))
    print()
    print(table.to_markdown(index=False, floatfmt=".3g"))
    weights_note = weights or "random (build_uptflow, seed 0)"
    print(f"\nweights: {weights_note}; {args.threads} threads on CPU, OMP_WAIT_POLICY {args.omp_wait_policy}; best of "
          f"{args.rounds} alternating round(s) x {args.repeats} call(s); load average at the end: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

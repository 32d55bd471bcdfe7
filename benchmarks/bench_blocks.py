"""Where the time of one UPT-Flow enhance goes, per block, for the current code and the committed baseline.

Each version runs in fresh subprocesses, alternating round by round (``--rounds``), on the same random-weight
network (``build_uptflow(window_size=5)``, seed 0; speed does not depend on the weights) and input. Timing wrappers
around the blocks' methods measure wall-clock time, *exclusive* of the wrapped blocks they call (so the rows of the
second table add up to the total), plus *inclusive* times of the encoder's four resolution levels. The best round
of each version is reported per row.

Usage:
    python benchmarks/bench_blocks.py                                  # quick: 200x304, 1 round
    python benchmarks/bench_blocks.py --size 400x600 --rounds 3 --threads 2
"""

import argparse
import sys
import time
from collections import defaultdict

from _harness import WAIT_POLICIES, baseline_package, load_average, run_case

# exclusive rows: (label, class path, methods) -- a method missing in a version simply counts nothing there
BLOCKS = [
    ("encoder: channel attention (MDTA)", "uptflow.models.encoder.restormer.MDTA", ["forward"]),
    ("encoder: gated feed-forward (GDFN)", "uptflow.models.encoder.restormer.GDFN", ["forward"]),
    ("encoder: Restormer residuals, strips", "uptflow.models.encoder.restormer.TransformerBlock", ["forward"]),
    ("encoder: layer norms", "uptflow.models.encoder.restormer.LayerNorm2d", ["forward"]),
    ("encoder: layer norms", "torch.nn.LayerNorm", ["forward"]),
    ("encoder: window attention", "uptflow.models.encoder.lewin.WindowAttention", ["forward"]),
    ("encoder: LeFF + ECA", "uptflow.models.encoder.lewin.LeFF", ["forward", "local"]),
    ("encoder: LeFF + ECA", "uptflow.models.encoder.lewin.ECA", ["forward", "scale"]),
    ("encoder: window partition, shift, residuals", "uptflow.models.encoder.lewin.LeWinBlock", ["forward"]),
    ("encoder: down/up-sampling convs", "uptflow.models.encoder.msformer.Downsample", ["forward"]),
    ("encoder: down/up-sampling convs", "uptflow.models.encoder.msformer.Upsample", ["forward"]),
    ("encoder: down/up-sampling convs", "uptflow.models.encoder.msformer.OverlapPatchEmbed", ["forward"]),
    ("encoder: UPM features, skips, 1x1 reductions", "uptflow.models.encoder.msformer.MSFormer", ["forward"]),
    ("encoder: conditions (resize, concat)", "uptflow.models.encoder", ["flow_conditions"]),
    ("flow: coupling sub-networks (convs, CBAM)", "uptflow.models.flow.coupling.AffineNet", ["forward", "tail"]),
    ("flow: coupling sub-networks (convs, CBAM)", "uptflow.models.flow.cbam.CBAM", ["forward"]),
    ("flow: coupling updates, condition shares", "uptflow.models.flow.coupling.CrossCouplingAffine",
     ["reverse", "_subnets"]),
    ("flow: 1x1 invertible convs + ActNorms", "uptflow.models.flow.flow_net.FlowStep", ["reverse"]),
    ("flow: 1x1 invertible convs + ActNorms", "uptflow.models.flow.inv_conv.InvConv1x1", ["reverse"]),
    ("flow: 1x1 invertible convs + ActNorms", "uptflow.models.flow.actnorm.ActNorm", ["reverse"]),
    ("flow: squeezes", "uptflow.models.flow.squeeze.Squeeze", ["reverse"]),
    ("flow: level loop, casts", "uptflow.models.flow.flow_net.UPTFlowNet", ["reverse"]),
    ("UPM, padding, clamp (enhance)", "uptflow.models.uptflow.UPTFlow", ["enhance"]),
]
LEVELS = {
    "level 1 (H x W)": ["encoder_level1", "encoderlayer_1", "decoder_level1", "decoderlayer_3", "refinement"],
    "level 2 (H/2)": ["encoder_level2", "encoderlayer_2", "decoder_level2", "decoderlayer_2"],
    "level 3 (H/4)": ["encoder_level3", "encoderlayer_3", "decoder_level3", "decoderlayer_1"],
    "level 4 (H/8)": ["latent", "bottlen"],
}


class _Timer:
    """Exclusive wall time per label through method wrappers (a stack subtracts the wrapped callees)."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = defaultdict(float)
        self.inclusive: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []

    def wrap(self, owner, name: str, label: str, exclusive: bool = True) -> None:
        orig = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            if exclusive:
                self._stack.append([0.0])
            try:
                return orig(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                self.inclusive[label] += dt
                if exclusive:
                    children = self._stack.pop()[0]
                    self.exclusive[label] += dt - children
                    if self._stack:
                        self._stack[-1][0] += dt

        setattr(owner, name, wrapper)


def _case(size: str, threads: int, precision: str) -> dict:
    import importlib

    import torch

    from uptflow.models import build_uptflow

    torch.set_num_threads(threads)
    timer = _Timer()
    for label, path, methods in BLOCKS:
        module, _, attr = path.rpartition(".")
        try:
            owner = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):  # a module-level function: path is the module itself
            owner = importlib.import_module(path)
        for name in methods:
            if hasattr(owner, name):
                timer.wrap(owner, name, label)
    torch.manual_seed(0)
    model = build_uptflow(window_size=5).eval()
    if precision != "fp32":
        model.precision = precision
    for label, names in LEVELS.items():
        for name in names:
            timer.wrap(getattr(model.encoder, name), "forward", label, exclusive=False)
    h, w = (int(v) for v in size.split("x"))
    low = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 0.3
    with torch.inference_mode():
        model.enhance(low[..., :64, :64])  # warm-up (cached masks and inverses, allocator)
        timer.exclusive.clear()
        timer.inclusive.clear()
        t0 = time.perf_counter()
        model.enhance(low)
        total = time.perf_counter() - t0
    return {"exclusive": dict(timer.exclusive), "levels": {k: timer.inclusive[k] for k in LEVELS}, "total": total}


def main() -> int:
    """Time both versions per block and print the two tables."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="200x304", help="HxW of the input")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="alternating rounds per version; the best is reported")
    p.add_argument("--precision", default="fp32", help="precision of the current version (the baseline: fp32)")
    p.add_argument("--baseline", default="HEAD", help="git revision of the baseline ('' for none)")
    p.add_argument("--omp-wait-policy", default="passive", choices=WAIT_POLICIES,
                   help="OpenMP wait policy of every case (see benchmarks/_harness.py)")
    p.add_argument("--_case", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._case:
        import json

        print(json.dumps(_case(args._case, args.threads, args.precision)))
        return 0

    import pandas as pd

    results: dict[str, list[dict]] = defaultdict(list)
    with baseline_package(args.baseline) as base:
        versions = [("current", None)] + ([("baseline", base)] if base else [])
        for _ in range(args.rounds):
            for name, src in versions:
                case = ["--_case", args.size, "--threads", str(args.threads), "--precision", args.precision]
                results[name].append(run_case(__file__, case, src, args.threads, args.omp_wait_policy))

    def best(name: str, key: str, row: str) -> float:
        return min(r[key].get(row, 0.0) for r in results[name])

    labels = list(dict.fromkeys(label for label, _, _ in BLOCKS))
    for title, key, rows in (("per level of the encoder (inclusive)", "levels", list(LEVELS)),
                             ("per block (exclusive; rows add up to the total)", "exclusive", labels)):
        table = []
        for row in rows:
            entry = {title: row}
            for name in results:
                entry[f"{name} s"] = best(name, key, row)
            if "baseline" in results and entry["current s"] > 0:
                entry["speed-up"] = entry["baseline s"] / entry["current s"]
            table.append(entry)
        total = {title: "total enhance"} | {f"{n} s": min(r["total"] for r in results[n]) for n in results}
        if "baseline" in results:
            total["speed-up"] = total["baseline s"] / total["current s"]
        table.append(total)
        print(pd.DataFrame(table).to_markdown(index=False, floatfmt=".2f"))
        print()
    print(f"{args.size}, {args.threads} threads, OMP_WAIT_POLICY {args.omp_wait_policy}, current version in "
          f"{args.precision}, baseline in fp32; best of {args.rounds} alternating round(s) per version, random "
          f"weights; load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

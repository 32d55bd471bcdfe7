"""``python -m evaluation.traffic`` (``uptflow traffic-bench``): the night-traffic benchmark on folders of frames or
video files.

Example:
    $ python -m evaluation.traffic --data night_part1.mp4 --data frames/part2 --every 5 \\
        --enhancer none --enhancer clahe --checkpoint yolov8n.pt --work-dir runs/traffic

Each part x enhancer unit goes to ``WORK_DIR/<part>/<label>/`` (frames.csv, predictions.json, metrics.json ...);
``WORK_DIR/traffic.md`` (with each part's protocol line: detector, thresholds, a warning when its frames do not align)
and ``WORK_DIR/ntm.md`` (the paper's NTM layout) summarise them.
"""

import argparse
import sys

from evaluation.cli import add_detector, add_enhancers
from uptflow.cli import (
    add_device,
    add_limit,
    add_work_dir,
    int_at_least,
    positive_float,
    positive_int,
    run_standalone,
    score_threshold,
)

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the command's options to ``p``."""
    p.add_argument("--data", required=True, action="append",
                   help="folder of frames or video file; repeat for several parts (as the paper's Part 1 / Part 2)")
    add_enhancers(p, default="none")
    add_work_dir(p)
    p.add_argument("--every", type=positive_int, default=1, help="keep every N-th frame (default 1)")
    add_limit(p, "sampled frames per part", old=("--max-frames",))
    p.add_argument("--fps", type=positive_float, default=None, help="frame rate for the timestamps of frame folders")
    add_detector(p, old_checkpoint=("--detector-weights",))
    p.add_argument("--no-detect", action="store_true", help="skip detection")
    p.add_argument("--no-nr", action="store_true", help="skip the LOE / NIQE / BRISQUE scores")
    p.add_argument("--count-conf", type=score_threshold, default=0.25,
                   help="score threshold of the vehicle / person counts")
    p.add_argument("--coco-ann", default=None, help="COCO json of the frames (file_name = frame name) for mAP")
    p.add_argument("--flow-side", type=int_at_least(16), default=320,
                   help="resolution (long side) of the flicker measurement")
    add_device(p)
    p.add_argument("--save-frames", action="store_true", help="also save the enhanced frames")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _default_checkpoint() -> str:
    from uptflow.utils.paths import shared_root

    root = shared_root()
    cand = root / "data" / "weights" / "yolov8n.pt" if root else None
    if cand is None or not cand.is_file():
        raise FileNotFoundError("no detector weights: pass --checkpoint PATH (a COCO ultralytics .pt, e.g. "
                                "yolov8n.pt), or --no-detect; nothing is downloaded")
    return str(cand)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; print the tables; return the exit code."""
    import pandas as pd

    from evaluation.benchmark import evaluate
    from evaluation.cli import build_enhancers, detector_spec, outside_data, report_skipped
    from evaluation.datasets import build_reader
    from evaluation.traffic.benchmark import TrafficBenchmark, ntm_table
    from uptflow.cli import resolve_device, work_dir
    from uptflow.utils.io import atomic_write_text

    out = outside_data(work_dir(args), args.data)
    device = resolve_device(args.device)
    enhancers = build_enhancers(args, device)  # a misspelt enhancer is refused before the data is read
    readers = [build_reader(dict(type="frames", root=d, every=args.every, limit=args.limit, fps=args.fps), "--data")
               for d in args.data]
    datasets = [r.read() for r in readers]
    parts = [ds.samples[0].group for ds in datasets]
    if len(set(parts)) != len(parts):
        raise ValueError(f"--data: two inputs share a name: {parts}; rename one")
    detector = None
    if not args.no_detect:
        if args.detector != "mmdet" and not args.checkpoint:
            args.checkpoint = _default_checkpoint()
        detector = detector_spec(args)
    metrics = [m for m in TrafficBenchmark.default_metrics
               if not (args.no_nr and m in ("LOE", "NIQE", "BRISQUE"))
               and not (detector is None and m.endswith("_per_frame"))]
    if args.coco_ann and detector is not None:
        metrics += ["COCO AP", "COCO AP50", "COCO AP75"]
    bench = TrafficBenchmark(detector=detector, metrics=metrics, conf=args.count_conf, flow_side=args.flow_side,
                             coco_annotations=args.coco_ann, save_frames=args.save_frames, device=device)
    for ds in datasets:  # every part, before the first one's frames are enhanced
        bench.check_annotated(ds)
    summaries, skipped, protocols = [], [], []
    for part, ds in zip(parts, datasets, strict=True):
        summary, bad = evaluate(bench, ds, enhancers, out / part, progress=not args.no_progress)
        summaries.append(summary.assign(part=part))
        protocols += [f"Protocol ({part}): {p}" for p in summary.attrs["protocols"]]
        skipped += bad
    table = pd.concat(summaries, ignore_index=True)
    # the protocol lines carry each part's detector, thresholds and unaligned-frames warning under the table
    body = table.round(3).to_markdown(index=False) + "\n\n" + "\n".join(protocols)
    atomic_write_text(out / "traffic.csv", table.to_csv(index=False))
    atomic_write_text(out / "traffic.md", body + "\n")
    print(body)
    ntm = ntm_table(table)
    if ntm:
        atomic_write_text(out / "ntm.md", ntm + "\n")
        print(ntm)
    return report_skipped(skipped, f"written to {out}")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run."""
    return run_standalone(add_arguments, run, "python -m evaluation.traffic", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m evaluation.traffic``: the night-traffic benchmark on folders of frames or video files.

Example:
    $ python -m evaluation.traffic --data night_part1.mp4 --data frames/part2 --every 5 \\
        --enhancer none --enhancer clahe --out runs/traffic
"""

import argparse
import sys

from uptflow.cli import run_standalone

__all__ = ["add_arguments", "run", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the command's options to ``p``."""
    p.add_argument("--data", required=True, action="append",
                   help="folder of frames or video file; repeat for several parts (as the paper's Part 1 / Part 2)")
    p.add_argument("--enhancer", action="append", default=None,
                   help="enhancer name (uptflow.enhancers) or 'none' for the input; repeatable (default: none)")
    p.add_argument("--enhancer-weights", action="append", default=[], metavar="NAME=PATH",
                   help="weights of a learned enhancer, e.g. zero_dce=weights/zero_dce/Epoch99.pth")
    p.add_argument("--out", required=True, help="output folder (finished part x enhancer units are skipped)")
    p.add_argument("--every", type=int, default=1, help="keep every N-th frame (default 1)")
    p.add_argument("--max-frames", type=int, default=None, help="at most this many sampled frames per part")
    p.add_argument("--fps", type=float, default=None, help="frame rate for the timestamps of frame folders")
    p.add_argument("--detector", default="yolov8", help="registered detector (default yolov8 = ultralytics)")
    p.add_argument("--detector-weights", default=None,
                   help="COCO detector weights (default: ../shared/data/weights/yolov8n.pt when present)")
    p.add_argument("--no-detect", action="store_true", help="skip detection")
    p.add_argument("--no-nr", action="store_true", help="skip the LOE / NIQE / BRISQUE scores")
    p.add_argument("--conf", type=float, default=0.25, help="score threshold of the vehicle / person counts")
    p.add_argument("--coco-ann", default=None, help="COCO json of the frames (file_name = frame name) for mAP")
    p.add_argument("--flow-side", type=int, default=320, help="resolution (long side) of the flicker measurement")
    p.add_argument("--device", default="cpu")
    p.add_argument("--save-frames", action="store_true", help="also save the enhanced frames")
    p.add_argument("--overwrite", action="store_true", help="recompute finished units")


def _weights_map(items: list[str]) -> dict[str, str]:
    out = {}
    for it in items:
        name, sep, path = it.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--enhancer-weights expects NAME=PATH, got {it!r}")
        out[name] = path
    return out


def _default_detector_weights() -> str:
    from uptflow.utils.paths import shared_root

    root = shared_root()
    cand = root / "data" / "weights" / "yolov8n.pt" if root else None
    if cand is None or not cand.is_file():
        raise FileNotFoundError("no detector weights: pass --detector-weights PATH (a COCO ultralytics .pt, e.g. "
                                "yolov8n.pt), or --no-detect; nothing is downloaded")
    return str(cand)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; print the tables; return the exit code."""
    from pathlib import Path

    from evaluation.traffic.frames import open_source
    from evaluation.traffic.run import run_traffic

    weights = _weights_map(args.enhancer_weights)
    names = args.enhancer or ["none"]
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"--enhancer-weights given for {sorted(unknown)}, which are not among --enhancer {names}")
    sources = [open_source(d, every=args.every, max_frames=args.max_frames, fps=args.fps) for d in args.data]
    if len({s.name for s in sources}) != len(sources):
        raise ValueError(f"two --data inputs share a name: {[s.name for s in sources]}; rename one")
    enhancers = {}
    for name in names:
        if name == "none":
            enhancers[name] = None
        else:
            from uptflow.enhancers import build_enhancer

            enhancers[name] = build_enhancer(name, weights=weights.get(name), device=args.device)
    detector = None
    if not args.no_detect:
        from evaluation.detection.detectors import build_detector

        detector = build_detector(args.detector, weights=args.detector_weights or _default_detector_weights(),
                                  device=args.device)
    df = run_traffic(sources, enhancers, args.out, detector=detector, no_reference=not args.no_nr, conf=args.conf,
                     coco_ann=args.coco_ann, flow_side=args.flow_side, save_frames=args.save_frames,
                     overwrite=args.overwrite)
    out = Path(args.out)
    print((out / "traffic.md").read_text())
    if (out / "ntm.md").is_file():
        print((out / "ntm.md").read_text())
    print(f"per-frame scores: {out / 'frames.csv'}; detections: {out / 'detections'}")
    return 0 if len(df) else 1


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run."""
    return run_standalone(add_arguments, run, "python -m evaluation.traffic", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

"""Run the whole evaluation suite: enhancer -> enhance once (cached) -> task benchmarks -> tables and HTML report.

Examples:
    $ python evaluation/run_all.py                                  # embedded quick suite (configs/eval/quick.py)
    $ python evaluation/run_all.py --config configs/eval/paper.py --data-root /data --work-dir runs/paper
    $ python evaluation/run_all.py --only enhancement,detection --enhancers uptflow,zero_dce --resume
    $ python evaluation/run_all.py --shard 0/4 ...; ...; python evaluation/run_all.py --merge   # split + merge

See docs/run_all.md for the stages, the outputs layout, resuming and sharding.
"""

import argparse
import sys
from pathlib import Path

# run as a script, Python puts evaluation/ first on sys.path, where its sub-packages (tables, ...) could shadow
# installed packages of the same name; the repository root is what the imports below mean
_REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "evaluation"]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(prog="python evaluation/run_all.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--config", default=None, help="suite config (mmengine .py); default configs/eval/quick.py")
    p.add_argument("--data-root", default=None, help="datasets folder (default: the config's, then ../shared/data)")
    p.add_argument("--work-dir", default=None, help="output folder (default: the config's work_dir)")
    p.add_argument("--cache-dir", default=None, help="enhanced-image cache shared by runs (default ~/.cache/uptflow)")
    p.add_argument("--only", type=_csv, default=None,
                   help="comma-separated tasks: enhancement,detection,segmentation,traffic (default: all configured)")
    p.add_argument("--enhancers", type=_csv, default=None, help="comma-separated enhancer labels (default: all)")
    p.add_argument("--resume", action="store_true", help="continue the run found in the work dir")
    p.add_argument("--shard", default=None, help="i/N: do shard i of N (default: RANK/WORLD_SIZE, else 0/1)")
    p.add_argument("--merge", nargs="*", default=None, metavar="DIR",
                   help="only build the tables from shard results (this work dir, or the given work dirs / CSVs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, validate the config before any work, run the suite; return the exit code."""
    args = build_parser().parse_args(argv)
    from evaluation.suite.config import TASKS, ConfigError, load_config
    from evaluation.suite.shard import parse_shard
    from evaluation.suite.stages import ResumeError, Suite

    try:
        cfg = load_config(args.config, data_root=args.data_root, work_dir=args.work_dir, cache_dir=args.cache_dir)
        unknown = [t for t in args.only or () if t not in TASKS]
        if unknown:
            raise ConfigError(f"--only: unknown task(s) {', '.join(unknown)} (known: {', '.join(TASKS)})")
        labels = [e["label"] for e in cfg["enhancers"]]
        unknown = [e for e in args.enhancers or () if e not in labels]
        if unknown:
            raise ConfigError(f"--enhancers: no enhancer labelled {', '.join(unknown)} (labels: {', '.join(labels)})")
        shard = parse_shard(args.shard)
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    suite = Suite(cfg, shard=shard, only=args.only, enhancer_labels=args.enhancers, resume=args.resume,
                  progress=not args.no_progress)
    try:
        if args.merge is not None:
            return suite.merge(args.merge)
        return suite.run()
    except ResumeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

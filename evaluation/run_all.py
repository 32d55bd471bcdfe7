"""Run the whole evaluation suite: enhancer -> enhance once (cached) -> task benchmarks -> tables and HTML report.

Examples:
    $ python evaluation/run_all.py                                  # embedded quick suite (configs/eval/quick.py)
    $ python evaluation/run_all.py --config configs/eval/paper.py --data-root /data --work-dir runs/paper
    $ python evaluation/run_all.py --only enhancement,detection --enhancers uptflow,zero_dce --resume
    $ python evaluation/run_all.py --cfg-options tasks.detection.detector.conf=0.01 --device cuda
    $ python evaluation/run_all.py --config configs/eval/paper.py --limit 20   # a quick check, its own results
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command-line options."""
    from uptflow.cli import add_cfg_options, add_device, add_limit

    p.add_argument("--config", default=None, help="suite config (mmengine .py); default configs/eval/quick.py")
    p.add_argument("--data-root", default=None, help="datasets folder (default: the config's, then ../shared/data)")
    p.add_argument("--work-dir", default=None, help="output folder (default: the config's work_dir)")
    p.add_argument("--cache-dir", default=None,
                   help="enhanced-image cache shared by runs (default ~/.cache/uptflow/enhanced)")
    add_device(p)
    add_cfg_options(p)
    p.add_argument("--only", type=_csv, default=None,
                   help="comma-separated task names of the config, e.g. enhancement,detection (default: all)")
    p.add_argument("--enhancers", type=_csv, default=None, help="comma-separated enhancer labels (default: all)")
    add_limit(p, "images (frames) of every dataset; limited results are units of their own, never mixed with full "
                 "ones")
    p.add_argument("--resume", action="store_true", help="continue the run found in the work dir")
    p.add_argument("--shard", default=None, help="i/N: do shard i of N (default: RANK/WORLD_SIZE, else 0/1)")
    p.add_argument("--merge", nargs="*", default=None, metavar="DIR",
                   help="only build the tables from shard results (this work dir, or the given work dirs / CSVs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Validate the config before any work, run the suite (or merge shards); return the exit code."""
    from evaluation.suite.config import ConfigError, load_config
    from evaluation.suite.shard import parse_shard
    from evaluation.suite.stages import ResumeError, Suite

    try:
        cfg = load_config(args.config, data_root=args.data_root, work_dir=args.work_dir, cache_dir=args.cache_dir,
                          device=None if args.device == "auto" else args.device, cfg_options=args.cfg_options,
                          limit=args.limit)
        if args.only is not None:
            if not args.only:
                raise ConfigError("--only: the list is empty (name at least one task of the config)")
            unknown = [t for t in args.only if t not in cfg["tasks"]]
            if unknown:
                raise ConfigError(f"--only: unknown task(s) {', '.join(unknown)} (the config's: "
                                  f"{', '.join(cfg['tasks'])})")
        labels = [e["label"] for e in cfg["enhancers"]]
        if args.enhancers is not None:
            if not args.enhancers:
                raise ConfigError("--enhancers: the list is empty (name at least one enhancer label)")
            unknown = [e for e in args.enhancers if e not in labels]
            if unknown:
                raise ConfigError(f"--enhancers: no enhancer labelled {', '.join(unknown)} (labels: "
                                  f"{', '.join(labels)})")
        shard = parse_shard(args.shard)
        suite = Suite(cfg, shard=shard, only=args.only, enhancer_labels=args.enhancers, resume=args.resume,
                      progress=not args.no_progress)
        if args.merge is not None:
            return suite.merge(args.merge)
        return suite.run()
    except ResumeError as e:
        raise ValueError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python evaluation/run_all.py`` (and ``uptflow run-all``)."""
    from uptflow.cli import run_standalone

    return run_standalone(add_arguments, run, "python evaluation/run_all.py", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

"""``uptflow`` command line: one entry point, one subcommand per job.

Examples:
    $ uptflow setup-mm                      # build + cache mmcv with compiled ops for this torch
    $ uptflow enhance in/ 'more/*.jpg' --weights W.pth -o out/
    $ uptflow train configs/uptflow/uptflow_tiny_synthetic.py --work-dir work_dirs/tiny

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
the table below maps names to modules so ``uptflow --help`` imports nothing heavy.
"""

import argparse
import importlib
import sys
from collections.abc import Callable

__all__ = ["main", "run_standalone", "SUBCOMMANDS"]

# name -> (module, one-line help); subcommand modules keep heavy imports inside run()
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "setup-mm": ("uptflow.setup_mm", "build, cache and verify mmcv with compiled ops for the installed torch"),
    "train": ("uptflow.engine.train", "train UPT-Flow from a config with mmengine's Runner (resumable, distributed)"),
    "enhance": ("uptflow.tools.enhance", "enhance images, folders or globs with UPT-Flow or another enhancer"),
    "enhance-bench": ("evaluation.enhancement.__main__", "score enhancers on paired / unpaired image sets"),
    "exdark-detect": ("evaluation.detection.cli", "enhance, detect and score ExDark (COCO AP, VOC mAP@0.5)"),
    "night-seg": ("evaluation.segmentation.__main__", "enhance, segment and score night data (mIoU, mmseg models)"),
    "night-traffic": ("evaluation.traffic.__main__", "night-traffic video: LOE/NIQE/BRISQUE, detections, flicker"),
}


def run_standalone(add_arguments: Callable[[argparse.ArgumentParser], None],
                   run: Callable[[argparse.Namespace], int | None], prog: str, doc: str | None,
                   argv: list[str] | None = None) -> int:
    """Parse ``argv`` with a subcommand's options and run it: the ``main`` of ``python -m <module>``."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    add_arguments(parser)
    return int(run(parser.parse_args(argv)) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the uptflow CLI with ``argv`` (defaults to ``sys.argv[1:]``) and return the exit code."""
    parser = argparse.ArgumentParser(prog="uptflow", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (mod, help_) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_)
        p.set_defaults(_module=mod)
        importlib.import_module(mod).add_arguments(p)
    args = parser.parse_args(argv)
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

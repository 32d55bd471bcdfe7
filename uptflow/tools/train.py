"""``uptflow train CONFIG``: train UPT-Flow with mmengine's Runner (resumable, single process or distributed).

Examples:
    $ uptflow train configs/uptflow/uptflow_tiny_synthetic.py --work-dir work_dirs/tiny
    $ uptflow train configs/uptflow/uptflow_lolv2-real_50k.py --cfg-options data_root=/data/LOL-v2
    $ uptflow train configs/uptflow/uptflow_lolv2-real_50k.py --cfg-options data_root=/data/LOL-v2 --resume
    $ uptflow train configs/uptflow/uptflow_small_my-pairs_cpu.py --cfg-options data_root=DATA  # your own pairs
    $ torchrun --nproc_per_node 2 -m uptflow train CONFIG --launcher pytorch
    $ uptflow train configs/uptflow/uptflow_tiny_synthetic.py --device cpu   # CPU even where a GPU is visible

Priority of settings: command line > config file; the work dir defaults to ``work_dirs/<config name>``.
"""

import argparse
import logging
import os

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to ``parser``."""
    from uptflow.cli import add_cfg_options, add_device

    parser.add_argument("config", help="training config (an mmengine Python config under configs/uptflow/)")
    parser.add_argument("--work-dir", help="folder for logs and checkpoints (default: work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CHECKPOINT",
                        help="resume training: from CHECKPOINT, or (no value) from the latest one in the work dir")
    add_cfg_options(parser, help="override config entries, e.g. train_cfg.max_iters=1000 data_root=/data/LOL-v2")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none",
                        help="job launcher; 'pytorch' under torchrun")
    add_device(parser)
    parser.add_argument("--no-amp", action="store_true",
                        help="train in fp32: no CUDA AMP (on by default), no CPU bf16 autocast (SafeBf16OptimWrapper)")


def run(args: argparse.Namespace) -> int:
    """Train; return 0 on success."""
    from mmengine.logging import print_log

    from uptflow.cli import resolve_device
    from uptflow.engine.train import build_runner, prepare_config, runner_device
    from uptflow.utils.mmconfig import config_mistakes

    # under torchrun every process resolves the device; one says which
    device = resolve_device(args.device, quiet=int(os.environ.get("RANK", "0")) > 0)
    with runner_device(device, args.launcher):
        cfg = prepare_config(args.config, args.work_dir, args.resume, args.cfg_options, args.launcher,
                             amp=not args.no_amp, device=device)
        # mmengine builds the model at once and the loops when training starts
        with config_mistakes(args.config):
            runner = build_runner(cfg)
            print_log(f"device: {device}; optimizer wrapper: {cfg.optim_wrapper.type}; work dir: {cfg.work_dir}",
                      logger="current", level=logging.INFO)
            runner.train()
    return 0

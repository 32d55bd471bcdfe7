"""Average the weights of UPT-Flow networks trained from one starting point (a uniform "model soup").

    python -m uptflow.engine.average default work_dirs/default_lights/uptflow_best.pth --out work_dirs/soup.pth

Networks fine-tuned from the same weights stay in one basin of the loss, so their parameter mean is itself a
network, often better than each (Wortsman et al., *Model soups*, ICML 2022): the packaged default model is such a mean
(docs/model-card.md). The sources are anything ``python -m uptflow.engine.export`` reads, or ``default`` for the
packaged model; they must have the same network config and the same constant buffers. The mean (float32) is written
in the uptflow format; export it with ``python -m uptflow.engine.export`` to ship it.
"""

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import torch

__all__ = ["add_arguments", "average_networks", "main", "run"]

DEFAULT_SOURCE = "default"


def _load(src: str | os.PathLike) -> torch.nn.Module:
    from uptflow.engine.export import load_network
    from uptflow.models.checkpoint import load_model

    if str(src) == DEFAULT_SOURCE:
        return load_model(None)
    if not Path(src).is_file():
        raise FileNotFoundError(f"checkpoint not found: {src}")
    return load_network(src)


def _check_compatible(first: torch.nn.Module, other: torch.nn.Module, names: tuple[str, str]) -> None:
    if dict(first.config) != dict(other.config):
        raise ValueError(f"{names[1]}: network config {dict(other.config)} differs from {names[0]}'s "
                         f"{dict(first.config)}; only networks of one config can be averaged")
    theirs = dict(other.named_buffers())
    for name, buf in first.named_buffers():
        if not torch.equal(buf, theirs[name]):
            raise ValueError(f"{names[1]}: buffer {name!r} differs from {names[0]}'s; not trained from one start")


def average_networks(sources: Sequence[str | os.PathLike]) -> torch.nn.Module:
    """The network whose parameters are the uniform mean of the ``sources``' (at least two; ``'default'``: the
    packaged model)."""
    from torch.optim.swa_utils import AveragedModel

    if len(sources) < 2:
        raise ValueError(f"averaging needs at least two networks, got {len(sources)}")
    networks = [_load(src) for src in sources]
    for src, net in zip(sources[1:], networks[1:], strict=True):
        _check_compatible(networks[0], net, (str(sources[0]), str(src)))
    # parameters only: the buffers (window indices, ActNorm flags) are constants, checked equal above
    mean = AveragedModel(networks[0], use_buffers=False)
    for net in networks:
        mean.update_parameters(net)
    return mean.module.eval()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The average command's options."""
    parser.add_argument("sources", nargs="+", metavar="SRC",
                        help=f"networks to average (at least two): uptflow_best.pth / _final.pth, runner checkpoints "
                             f"iter_N.pth, or {DEFAULT_SOURCE!r} for the packaged default model")
    parser.add_argument("--out", required=True, help="file to write (float32, uptflow format)")


def run(args: argparse.Namespace) -> int:
    """Average ``args.sources`` and write the mean to ``args.out``; return 0."""
    from uptflow.models.checkpoint import save_model

    model = average_networks(args.sources)
    save_model(model, args.out)
    print(f"wrote {args.out}: the mean of {len(args.sources)} networks ({', '.join(map(str, args.sources))}), "
          f"config {dict(model.config)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Average networks trained from one start."""
    from uptflow.cli import run_standalone

    return run_standalone(add_arguments, run, "python -m uptflow.engine.average", __doc__,
                          None if argv is None else list(argv))


if __name__ == "__main__":
    raise SystemExit(main())

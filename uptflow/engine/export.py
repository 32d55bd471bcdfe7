"""Export a trained network as the packaged default model: float16 weights, size-checked, verified by reloading.

    python -m uptflow.engine.export work_dirs/default_model/uptflow_best.pth --out uptflow/assets/uptflow_default.pth

The source is any file ``uptflow.models.load_model`` reads, typically ``<work_dir>/uptflow_best.pth`` (rewritten by
``ExportModelHook`` at every new best validation PSNR) or ``uptflow_final.pth``, or one of the runner's own
checkpoints (``iter_N.pth``, ``best_psnr_iter_N.pth``), whose embedded config gives the network's size, so that any
validated iteration can be shipped (e.g. the best by SSIM rather than PSNR). The exported file is reloaded and
its heat-0 enhancement of a darkened scikit-image photo compared with the float32 network's; the PSNR between the two
is printed (float16 weights cost far less than the model's own error).
"""

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = ["add_arguments", "export_fp16", "load_network", "main", "run"]

DEFAULT_MAX_MB = 15.0


def _enhance(model: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        return (model.enhance(x)[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)


def load_network(src: str | os.PathLike) -> torch.nn.Module:
    """The UPTFlow network of an uptflow / official checkpoint, or of an mmengine runner checkpoint of ``uptflow
    train`` (its ``net.*`` weights, built with the ``model.network`` of the config stored in the checkpoint)."""
    from mmengine.config import Config

    from uptflow.models.checkpoint import load_model, load_weights
    from uptflow.models.uptflow import UPTFlow
    from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_torch_load

    obj = safe_torch_load(src, "checkpoint", mmengine_checkpoint_globals())
    state = obj.get("state_dict") if isinstance(obj, dict) else None
    if not (isinstance(state, dict) and isinstance(obj.get("meta"), dict) and "cfg" in obj["meta"]
            and any(k.startswith("net.") for k in state)):
        return load_model(src)
    network = dict(Config.fromstring(obj["meta"]["cfg"], ".py").model.network)
    if network.pop("type", "UPTFlow") not in ("UPTFlow", "uptflow.UPTFlow"):
        raise ValueError(f"{src}: the runner checkpoint's model.network is not a UPTFlow")
    model = UPTFlow(**network)
    load_weights(model, {k[len("net."):]: v for k, v in state.items() if k.startswith("net.")}, source=str(src))
    return model.eval()


def export_fp16(src: str | os.PathLike, out: str | os.PathLike, max_mb: float = DEFAULT_MAX_MB) -> dict:
    """Write ``src``'s network to ``out`` with float16 weights; return size and fp16-vs-fp32 agreement."""
    from uptflow.data.degradation import darkness_level
    from uptflow.data.synthetic import load_skimage_photo
    from uptflow.metrics.functional import psnr
    from uptflow.models.checkpoint import load_model, save_model
    from uptflow.utils.io import atomic_path

    model = load_network(src)
    reference = load_network(src)
    # written beside ``out`` and checked there: a refused export leaves whatever ``out`` held (by default the
    # packaged model itself) untouched
    with atomic_path(out) as tmp:
        save_model(model.half(), tmp)
        os.chmod(tmp, 0o644)  # a packaged asset must be readable by everyone, whatever the user's umask
        size_mb = tmp.stat().st_size / 2**20
        if size_mb > max_mb:
            raise ValueError(f"{src}: the fp16 network takes {size_mb:.1f} MiB, over the {max_mb} MiB limit; export a "
                             f"smaller network ({out} left as it was)")
        low, _ = darkness_level(3)(load_skimage_photo("chelsea")[::2, ::2], np.random.default_rng(0))
        agreement = psnr(_enhance(load_model(tmp), low), _enhance(reference, low))
    return dict(path=str(out), size_mb=size_mb, config=dict(reference.config), fp16_vs_fp32_psnr=agreement)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The export command's options."""
    parser.add_argument("src", help="trained network: uptflow_best.pth / _final.pth or a runner checkpoint iter_N.pth")
    # no default: a path relative to the current folder would write a stray uptflow/ package there, or from the
    # checkout's root replace the shipped model without being asked to
    parser.add_argument("--out", required=True, help="file to write, e.g. uptflow/assets/uptflow_default.pth to "
                                                     "replace the packaged default model (from the checkout's root)")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, help="largest allowed file size (MiB)")


def run(args: argparse.Namespace) -> int:
    """Export ``args.src`` as float16 weights and print the size and agreement; return 0."""
    if not Path(args.src).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.src}")
    info = export_fp16(args.src, args.out, args.max_mb)
    print(f"wrote {info['path']} ({info['size_mb']:.2f} MiB, config {info['config']}); heat-0 output of the fp16 "
          f"weights vs fp32: {info['fp16_vs_fp32_psnr']:.1f} dB PSNR")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Export a checkpoint as float16 weights (the packaged default model)."""
    from uptflow.cli import run_standalone

    return run_standalone(add_arguments, run, "python -m uptflow.engine.export", __doc__,
                          None if argv is None else list(argv))


if __name__ == "__main__":
    raise SystemExit(main())

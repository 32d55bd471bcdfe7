"""Train a detector on (enhanced) ExDark with ultralytics or mmdet: the "enhance once offline" protocol.

Retinexformer/IAT-style: every image is enhanced once by a frozen enhancer (cached), the enhanced dataset is
exported (COCO json + ultralytics yaml, images are symlinks into the cache), then the detector is trained and
tested on the enhanced images. Evaluate the result with ``python -m evaluation.detection`` and the same
``--enhancer``.

    $ python -m evaluation.detection.train --data ExDark_root --split random --framework ultralytics \\
        --model yolov8n.pt --enhancer clahe --epochs 50 --out runs/exdark_train_clahe
    $ python -m evaluation.detection.train --data ExDark_root --split random --framework mmdet \\
        --config configs/detection/yolov3_d53_exdark_608_random.py --enhancer clahe --out runs/yolov3_clahe
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from uptflow.utils.io import atomic_write_json

from .exdark import ExDarkDataset, read_exdark, read_image_raw
from .export import export_dataset
from .splits import make_split

__all__ = ["enhance_dataset", "prepare_dataset", "train_ultralytics", "train_mmdet", "main"]


def enhance_dataset(ds: ExDarkDataset, enhancer: Any, cache_dir: str | None = None, device: str = "cpu",
                    progress: bool = True) -> dict[str, Path]:
    """Enhance every image once (disk cache) and return ``{image name: enhanced PNG}``.

    Args:
        ds: the dataset.
        enhancer: enhancer name, ``dict(type=..., weights=...)`` or Enhancer instance.
        cache_dir: cache root.
        device: torch device.
        progress: show a tqdm bar.
    """
    from uptflow.plugins.cache import cached_enhancer

    cache = cached_enhancer(enhancer, cache=True, cache_dir=cache_dir, device=device)
    out = {}
    for im in tqdm(ds.images, desc=f"enhance ({cache.identity['name']})", unit="img", disable=not progress):
        out[im.name] = cache.enhance_to_path(read_image_raw(im.path))[1]
    return out


def prepare_dataset(data: str | os.PathLike, out: str | os.PathLike, split: str = "random", seed: int = 0,
                    classlist: str | None = None, enhancer: Any = None, cache_dir: str | None = None,
                    device: str = "cpu") -> dict[str, Path]:
    """Read ExDark, split it, enhance it (unless ``enhancer`` is None/'none') and export it to ``out``."""
    ds = read_exdark(data, classlist)
    sp = make_split(ds, split, seed)
    source = None
    if enhancer not in (None, "none"):
        enhanced = enhance_dataset(ds, enhancer, cache_dir, device)
        source = lambda im: enhanced[im.name]  # noqa: E731 - tiny adapter
    paths = export_dataset(ds, sp, out, image_source=source)
    atomic_write_json(Path(out) / "export.json", {"data": str(ds.root), "split": sp.protocol, "seed": sp.seed,
                                                  "enhancer": enhancer, "reader_stats": {
                                                      k: v for k, v in ds.stats.items() if k != "clipped"}})
    return paths


def train_ultralytics(data_yaml: str | os.PathLike, model: str, out: str | os.PathLike, epochs: int = 50,
                      imgsz: int = 640, batch: int = 16, device: str = "cpu", **kw: Any) -> Path:
    """Train an ultralytics model (``.pt`` to fine-tune, ``.yaml`` from scratch) offline; return best weights."""
    from .detectors import load_yolo

    out = Path(out).resolve()
    args = dict(data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, device=device, project=str(out),
                name="ultralytics", exist_ok=True, plots=False, verbose=False, amp=False, workers=0)
    args.update(kw)
    load_yolo(model).train(**args)
    weights = out / "ultralytics" / "weights"
    best = weights / "best.pt"
    return best if best.is_file() else weights / "last.pt"


def train_mmdet(config: str | os.PathLike, export_dir: str | os.PathLike, work_dir: str | os.PathLike,
                cfg_options: dict | None = None) -> Path:
    """Train an mmdet config on an exported dataset with mmengine's Runner; return the last checkpoint.

    The config's train/val/test datasets are pointed at ``export_dir`` (``annotations/<subset>.json``,
    ``images/<subset>/``); ``cfg_options`` override anything else (dotted keys).
    """
    from mmdet.utils import register_all_modules
    from mmengine.runner import Runner

    from uptflow.utils.mm_compat import load_config

    register_all_modules(init_default_scope=True)
    export_dir = Path(export_dir).resolve()
    eval_subset = "val" if (export_dir / "annotations" / "val.json").is_file() else "test"
    if not (export_dir / "annotations" / f"{eval_subset}.json").is_file():
        eval_subset = "train"
    opts = {
        "work_dir": str(work_dir),
        "train_dataloader.dataset.data_root": str(export_dir) + "/",
        "train_dataloader.dataset.ann_file": "annotations/train.json",
        "train_dataloader.dataset.data_prefix": {"img": "images/train/"},
    }
    for loader in ("val_dataloader", "test_dataloader"):
        opts[f"{loader}.dataset.data_root"] = str(export_dir) + "/"
        opts[f"{loader}.dataset.ann_file"] = f"annotations/{eval_subset}.json"
        opts[f"{loader}.dataset.data_prefix"] = {"img": f"images/{eval_subset}/"}
    cfg = load_config(config, {**opts, **(cfg_options or {})})
    for key in ("val_evaluator", "test_evaluator"):
        evaluators = cfg.get(key)
        for ev in evaluators if isinstance(evaluators, list) else [evaluators] if evaluators else []:
            if ev.get("type") == "CocoMetric":
                ev["ann_file"] = str(export_dir / "annotations" / f"{eval_subset}.json")
    runner = Runner.from_cfg(cfg)
    runner.train()
    last = Path(work_dir) / "last_checkpoint"
    return Path(last.read_text().strip()) if last.is_file() else Path(work_dir)


def _parse_option(text: str) -> tuple[str, Any]:
    import ast

    if "=" not in text:
        raise SystemExit(f"--cfg-options expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare string such as a path


def main(argv: list[str] | None = None) -> int:
    """``python -m evaluation.detection.train``: enhance once, export, train."""
    p = argparse.ArgumentParser(prog="python -m evaluation.detection.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="ExDark root")
    p.add_argument("--split", choices=["official", "random"], default="random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classlist")
    p.add_argument("--framework", choices=["ultralytics", "mmdet"], required=True)
    p.add_argument("--model", default="yolov8n.yaml", help="ultralytics .pt (fine-tune) or .yaml (scratch)")
    p.add_argument("--config", help="mmdet config (e.g. configs/detection/yolov3_d53_exdark_608_random.py)")
    p.add_argument("--cfg-options", nargs="*", default=[], help="mmdet overrides key=value (python literals)")
    p.add_argument("--enhancer", default="none", help="enhancer applied offline to every image, or 'none'")
    p.add_argument("--enhancer-weights")
    p.add_argument("--epochs", type=int, default=50, help="ultralytics epochs")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    enh = args.enhancer if args.enhancer_weights is None else {"type": args.enhancer, "weights": args.enhancer_weights}
    out = Path(args.out)
    paths = prepare_dataset(args.data, out / "dataset", args.split, args.seed, args.classlist, enh, args.cache_dir,
                            args.device)
    if args.framework == "ultralytics":
        result = train_ultralytics(paths["yaml"], args.model, out, args.epochs, args.imgsz, args.batch, args.device)
    else:
        if not args.config:
            raise SystemExit("--framework mmdet needs --config")
        opts = dict(_parse_option(o) for o in args.cfg_options)
        result = train_mmdet(args.config, out / "dataset", out / "mmdet", opts)
    print(f"trained weights: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

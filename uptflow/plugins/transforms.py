"""``EnhanceLowLight``: an mmcv/mmdet/mmseg pipeline transform that enhances ``results['img']`` (BGR uint8).

Put it right after ``LoadImageFromFile`` in a train or test pipeline::

    custom_imports = dict(imports=["uptflow.plugins"], allow_failed_imports=False)
    test_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="EnhanceLowLight", enhancer=dict(type="uptflow", weights="weights/uptflow_lolv2_real.pth")),
        ...
    ]

It is registered in uptflow's TRANSFORMS and in mmengine's root TRANSFORMS, so configs with
``default_scope='mmdet'`` or ``'mmseg'`` find it once ``uptflow.plugins`` is imported (``custom_imports``);
``type='uptflow.EnhanceLowLight'`` works without ``custom_imports`` (mmengine imports uptflow's registry).
"""

from pathlib import Path
from typing import Any

import numpy as np
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

from uptflow.enhancers import build_enhancer
from uptflow.registry import TRANSFORMS

__all__ = ["EnhanceLowLight", "pipeline_enhancers"]

try:
    from mmcv.transforms import BaseTransform
except ImportError:  # mmcv absent: keep the same call protocol so plain mmengine pipelines can still use it

    class BaseTransform:  # type: ignore[no-redef]
        """Minimal stand-in for mmcv's BaseTransform: ``__call__`` delegates to ``transform``."""

        def __call__(self, results: dict) -> dict | None:
            return self.transform(results)


class EnhanceLowLight(BaseTransform):
    """Enhance the loaded image with a registered uptflow enhancer (optionally cached on disk).

    The enhancer is built (and its name, settings and weights checked) when the pipeline is built, so a misspelt
    name or a missing weights file fails before any model or data is loaded.

    Required Keys:

    - img (uint8 HxWx3, ``channel_order``)

    Modified Keys:

    - img

    Args:
        enhancer: enhancer name (``'clahe'``) or ``dict(type=name, weights=..., **params)``.
        cache: reuse enhanced images stored under ``cache_dir`` (keyed by enhancer and pixels).
        cache_dir: cache root (default ``~/.cache/uptflow/enhanced``).
        device: torch device of learned enhancers.
        channel_order: order of ``results['img']``; mmdet/mmseg's LoadImageFromFile gives 'bgr'.
    """

    def __init__(self, enhancer: str | dict = "identity", cache: bool = True, cache_dir: str | None = None,
                 device: str = "cpu", channel_order: str = "bgr") -> None:
        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.spec, self.cache, self.cache_dir, self.device, self.channel_order = (
            enhancer, cache, cache_dir, device, channel_order)
        self._fn: Any = build_enhancer(enhancer, device=device, cache=cache, cache_dir=cache_dir)

    def describe(self) -> dict[str, Any]:
        """The enhancer's identity (name, params, weights and checksum), for protocol records."""
        return self._fn.describe()

    def transform(self, results: dict) -> dict:
        """Replace ``results['img']`` by its enhanced version (same shape, dtype uint8, same channel order)."""
        img = results["img"]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"EnhanceLowLight expects results['img'] as uint8 HxWx3, got "
                             f"{getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}: put it right after "
                             "LoadImageFromFile, and load colour 8-bit images there (no to_float32=True, no "
                             "color_type='grayscale' / 'unchanged')")
        rgb = img[..., ::-1] if self.channel_order == "bgr" else img
        out = np.asarray(self._fn(np.ascontiguousarray(rgb)))
        results["img"] = np.ascontiguousarray(out[..., ::-1] if self.channel_order == "bgr" else out)
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(enhancer={self.spec!r}, cache={self.cache}, "
                f"channel_order={self.channel_order!r})")


def _weights_sha256(spec: str | dict) -> str | None:
    """SHA-256 of the weights file an enhancer spec loads (None: it loads none, or the file is missing)."""
    from uptflow.registry import ENHANCERS
    from uptflow.utils.io import file_sha256

    name, weights = (spec.get("type"), spec.get("weights")) if isinstance(spec, dict) else (spec, None)
    if weights is None and ENHANCERS.get(name) is not None:
        weights = ENHANCERS.get(name).default_weights()
    path = Path(str(weights)).expanduser() if weights else None
    return file_sha256(path) if path is not None and path.is_file() else None


def pipeline_enhancers(cfg: Any) -> list[dict[str, Any]]:
    """The ``EnhanceLowLight`` entries of every pipeline in an mmengine config (plain dicts, with the checksum of
    the weights each loads as ``weights_sha256``), to record in a protocol and an identity that a model's own
    pipeline enhances its input: replacing a weights file in place is then a new identity."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).split(".")[-1] == "EnhanceLowLight":
                entry = {k: v for k, v in node.items() if k != "type"}
                sha = _weights_sha256(entry.get("enhancer", "identity"))
                found.append(entry if sha is None else {**entry, "weights_sha256": sha})
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(cfg.to_dict() if hasattr(cfg, "to_dict") else cfg)
    unique = {repr(sorted(f.items())): f for f in found}
    return list(unique.values())


TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)
if "EnhanceLowLight" not in MMENGINE_TRANSFORMS.module_dict:
    MMENGINE_TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)

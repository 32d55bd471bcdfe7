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

from typing import Any

import numpy as np
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

from uptflow.registry import TRANSFORMS

from .cache import cached_enhancer

__all__ = ["EnhanceLowLight"]

try:
    from mmcv.transforms import BaseTransform
except ImportError:  # mmcv absent: keep the same call protocol so plain mmengine pipelines can still use it

    class BaseTransform:  # type: ignore[no-redef]
        """Minimal stand-in for mmcv's BaseTransform: ``__call__`` delegates to ``transform``."""

        def __call__(self, results: dict) -> dict | None:
            return self.transform(results)


class EnhanceLowLight(BaseTransform):
    """Enhance the loaded image with a registered uptflow enhancer (optionally cached on disk).

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
        self._fn: Any = None  # built on first use, so dataloader workers build their own copy

    def transform(self, results: dict) -> dict:
        """Replace ``results['img']`` by its enhanced version (same shape, dtype uint8, same channel order)."""
        if self._fn is None:
            self._fn = cached_enhancer(self.spec, cache=self.cache, cache_dir=self.cache_dir, device=self.device)
        img = results["img"]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"EnhanceLowLight expects results['img'] as uint8 HxWx3 (put it right after "
                             f"LoadImageFromFile), got {getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}")
        rgb = img[..., ::-1] if self.channel_order == "bgr" else img
        out = np.asarray(self._fn(np.ascontiguousarray(rgb)))
        results["img"] = np.ascontiguousarray(out[..., ::-1] if self.channel_order == "bgr" else out)
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(enhancer={self.spec!r}, cache={self.cache}, "
                f"channel_order={self.channel_order!r})")


TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)
if "EnhanceLowLight" not in MMENGINE_TRANSFORMS.module_dict:
    MMENGINE_TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)

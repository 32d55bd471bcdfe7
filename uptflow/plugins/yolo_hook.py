"""Plug an uptflow enhancer into ultralytics prediction: every image is enhanced before YOLO sees it.

    from ultralytics import YOLO
    from uptflow.plugins import attach_enhancer, detach_enhancer

    model = attach_enhancer(YOLO("yolov8n.pt"), "clahe")          # or dict(type="uptflow", weights=...)
    results = model.predict("night.jpg")                           # results[0].orig_img is the enhanced image
    detach_enhancer(model)                                         # back to plain YOLO

Attaching again replaces the enhancer (it never stacks two). For training / validation on enhanced images, enhance
the dataset once offline (evaluation.detection.train): ultralytics' trainer and validator letterbox and augment
before any callback could see the original pixels.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from uptflow.enhancers import build_enhancer

__all__ = ["enhance_callback", "attach_enhancer", "detach_enhancer", "attached_enhancer"]

_EVENT = "on_predict_batch_start"
_ATTR = "_uptflow_enhance_callback"  # where the model remembers the callback it got from attach_enhancer


def enhance_callback(enhancer: Any, cache: bool = True, cache_dir: str | None = None,
                     device: str = "cpu") -> Callable[[Any], None]:
    """Return an ``on_predict_batch_start`` callback that enhances the predictor's batch images in place.

    Args:
        enhancer: enhancer name, ``dict(type=..., weights=...)`` or an Enhancer instance.
        cache: reuse enhanced images from the disk cache.
        cache_dir: cache root.
        device: torch device of learned enhancers.
    """
    fn = build_enhancer(enhancer, device=device, cache=cache, cache_dir=cache_dir)

    def on_predict_batch_start(predictor: Any) -> None:
        _, im0s, _ = predictor.batch
        for i, im in enumerate(im0s):  # ultralytics holds BGR uint8 arrays (cv2 order)
            rgb = np.ascontiguousarray(np.asarray(im)[..., ::-1])
            im0s[i] = np.ascontiguousarray(np.asarray(fn(rgb))[..., ::-1])

    on_predict_batch_start.enhancer = fn  # type: ignore[attr-defined]
    return on_predict_batch_start


def detach_enhancer(model: Any) -> Any:
    """Remove the enhancer :func:`attach_enhancer` added (nothing happens if there is none); return the model."""
    cb = getattr(model, _ATTR, None)
    if cb is not None:
        callbacks = model.callbacks.get(_EVENT, [])  # a predictor built earlier shares this dict of lists
        if cb in callbacks:
            callbacks.remove(cb)
        setattr(model, _ATTR, None)
    return model


def attach_enhancer(model: Any, enhancer: Any, **kw: Any) -> Any:
    """Enhance every image an ultralytics ``YOLO`` model predicts on; replaces an enhancer attached before."""
    detach_enhancer(model)
    cb = enhance_callback(enhancer, **kw)
    model.add_callback(_EVENT, cb)
    setattr(model, _ATTR, cb)
    return model


def attached_enhancer(model: Any) -> Any:
    """The enhancer attached to ``model`` (with ``describe()``), or None."""
    cb = getattr(model, _ATTR, None)
    return None if cb is None else cb.enhancer

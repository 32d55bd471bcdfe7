"""Plug an uptflow enhancer into ultralytics prediction: every image is enhanced before YOLO sees it.

    from ultralytics import YOLO
    from uptflow.plugins import attach_enhancer

    model = attach_enhancer(YOLO("yolov8n.pt"), "clahe")          # or dict(type="uptflow", weights=...)
    results = model.predict("night.jpg")                           # results[0].orig_img is the enhanced image

For training / validation on enhanced images, enhance the dataset once offline (evaluation.detection.train) —
ultralytics' trainer and validator letterbox and augment before any callback could see the original pixels.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from .cache import cached_enhancer

__all__ = ["enhance_callback", "attach_enhancer"]


def enhance_callback(enhancer: Any, cache: bool = True, cache_dir: str | None = None,
                     device: str = "cpu") -> Callable[[Any], None]:
    """Return an ``on_predict_batch_start`` callback that enhances the predictor's batch images in place.

    Args:
        enhancer: enhancer name, ``dict(type=..., weights=...)`` or an Enhancer instance.
        cache: reuse enhanced images from the disk cache.
        cache_dir: cache root.
        device: torch device of learned enhancers.
    """
    fn = cached_enhancer(enhancer, cache=cache, cache_dir=cache_dir, device=device)

    def on_predict_batch_start(predictor: Any) -> None:
        _, im0s, _ = predictor.batch
        for i, im in enumerate(im0s):  # ultralytics holds BGR uint8 arrays (cv2 order)
            rgb = np.ascontiguousarray(np.asarray(im)[..., ::-1])
            im0s[i] = np.ascontiguousarray(np.asarray(fn(rgb))[..., ::-1])

    return on_predict_batch_start


def attach_enhancer(model: Any, enhancer: Any, **kw: Any) -> Any:
    """Add :func:`enhance_callback` to an ultralytics ``YOLO`` model and return the model."""
    model.add_callback("on_predict_batch_start", enhance_callback(enhancer, **kw))
    return model

"""Plug an uptflow enhancer into ultralytics prediction: every image is enhanced before YOLO sees it.

    from ultralytics import YOLO
    from uptflow.plugins import attach_enhancer, detach_enhancer

    model = attach_enhancer(YOLO("yolov8n.pt"), "clahe")          # or dict(type="uptflow", weights=...)
    results = model.predict("night.jpg")                           # results[0].orig_img is the enhanced image
    detach_enhancer(model)                                         # back to plain YOLO

Attaching again replaces the enhancer (it never stacks two). Sources are files, folders, globs, videos, numpy arrays
(BGR uint8) and PIL images; a torch tensor is refused (it is already float and letterboxed-size, the enhancers take
8-bit images). ``model.val()``, ``train()``, ``tune()`` and ``benchmark()`` with an enhancer attached raise:
ultralytics' validator and trainer letterbox and augment before any callback could see the original pixels, so they
would score or learn from un-enhanced images. Enhance the dataset once offline instead (``python -m
evaluation.detection.train``, or ``evaluation.detection.export.export_dataset``; docs/detection.md), and validate /
train on that copy.
"""

from typing import Any

import numpy as np

from uptflow.enhancers import build_enhancer

__all__ = ["EnhanceCallback", "enhance_callback", "attach_enhancer", "detach_enhancer", "attached_enhancer",
           "EnhancerNotAppliedError"]

_EVENT = "on_predict_batch_start"
_ATTR = "_uptflow_enhance_callback"  # where the model remembers the callback it got from attach_enhancer


class EnhancerNotAppliedError(RuntimeError):
    """``val()`` / ``train()`` / ``tune()`` / ``benchmark()`` with an enhancer attached: the hook only acts on
    ``predict()``."""


class _Refusal:
    """What ``model.val`` / ``train`` / ``tune`` / ``benchmark`` become while an enhancer is attached: they raise
    before ultralytics builds a validator or trainer, so nothing is written (no run folder) and multi-GPU training,
    whose workers rebuild the model without the hook, is refused too. A class, not a closure, so that the model
    still pickles."""

    def __init__(self, method: str) -> None:
        self.method = method

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise EnhancerNotAppliedError(
            f"{self.method}(): the enhancer attached with uptflow.plugins.attach_enhancer only acts on predict(); "
            f"ultralytics' {self.method}() would use un-enhanced images. Enhance the dataset offline (python -m "
            "evaluation.detection.train, or evaluation.detection.export.export_dataset; docs/detection.md, "
            "'Fine-tuning on enhanced images') and run it on that copy, or detach_enhancer(model) first")


# the model methods shadowed on the instance while an enhancer is attached: each builds its own validator or
# trainer (tune() and benchmark() too), which never sees the hook
_REFUSED = ("val", "train", "tune", "benchmark")


class EnhanceCallback:
    """An ``on_predict_batch_start`` callback that enhances the predictor's batch images in place (a class, not a
    closure, so that a model with it attached still pickles, e.g. into worker processes)."""

    def __init__(self, enhancer: Any) -> None:
        self.enhancer = enhancer

    def __call__(self, predictor: Any) -> None:
        _, im0s, _ = predictor.batch
        if not isinstance(im0s, list) or any(not isinstance(im, np.ndarray) for im in im0s):
            got = type(im0s[0] if isinstance(im0s, list) and im0s else im0s)
            raise TypeError(f"predict(): the attached enhancer takes files, folders, videos, numpy arrays (BGR "
                            f"uint8) and PIL images as the source, not {got.__module__}.{got.__name__} (a torch "
                            "tensor is float RGB the 8-bit enhancers cannot take exactly): pass the images "
                            "themselves, or enhance first and detach_enhancer(model)")
        for i, im in enumerate(im0s):  # ultralytics holds BGR uint8 arrays (cv2 order)
            rgb = np.ascontiguousarray(np.asarray(im)[..., ::-1])
            im0s[i] = np.ascontiguousarray(np.asarray(self.enhancer(rgb))[..., ::-1])


def enhance_callback(enhancer: Any, cache: bool = True, cache_dir: str | None = None,
                     device: str = "auto") -> EnhanceCallback:
    """Return an ``on_predict_batch_start`` callback that enhances the predictor's batch images in place.

    Args:
        enhancer: enhancer name, ``dict(type=..., weights=...)`` or an Enhancer instance.
        cache: reuse enhanced images from the disk cache.
        cache_dir: cache root.
        device: torch device of learned enhancers; ``auto`` (default) is CUDA when a GPU is visible, else the CPU,
            as for every command.
    """
    from uptflow.cli import resolve_device

    return EnhanceCallback(build_enhancer(enhancer, device=resolve_device(device, quiet=True), cache=cache,
                                          cache_dir=cache_dir))


def detach_enhancer(model: Any) -> Any:
    """Remove the enhancer :func:`attach_enhancer` added (nothing happens if there is none); return the model."""
    cb = getattr(model, _ATTR, None)
    if cb is not None:
        callbacks = model.callbacks.get(_EVENT, [])  # a predictor built earlier shares this list
        if cb in callbacks:
            callbacks.remove(cb)
        for method in _REFUSED:
            vars(model).pop(method, None)  # the class's own method again
        setattr(model, _ATTR, None)
    return model


def attach_enhancer(model: Any, enhancer: Any, **kw: Any) -> Any:
    """Enhance every image an ultralytics ``YOLO`` model predicts on (``val()``, ``train()``, ``tune()`` and
    ``benchmark()`` then raise :class:`EnhancerNotAppliedError`); replaces an enhancer attached before. ``kw``:
    :func:`enhance_callback`'s."""
    detach_enhancer(model)
    cb = enhance_callback(enhancer, **kw)
    model.add_callback(_EVENT, cb)
    for method in _REFUSED:
        setattr(model, method, _Refusal(method))
    setattr(model, _ATTR, cb)
    return model


def attached_enhancer(model: Any) -> Any:
    """The enhancer attached to ``model`` (with ``describe()``), or None."""
    cb = getattr(model, _ATTR, None)
    return None if cb is None else cb.enhancer

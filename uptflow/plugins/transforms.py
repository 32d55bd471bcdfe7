"""``EnhanceLowLight``: an mmcv/mmdet/mmseg pipeline transform that enhances ``results['img']`` (BGR uint8).

Put it right after ``LoadImageFromFile``, in ``test_pipeline`` and in the test dataloader's pipeline alike (mmdet's
``inference_detector`` and every ``Runner.test()`` run the dataloader's, mmseg's ``inference_model`` runs
``test_pipeline``; mmengine resolves a base config's ``test_dataloader`` before a child's ``test_pipeline`` is
read)::

    test_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="uptflow.EnhanceLowLight", enhancer=dict(type="uptflow", weights="weights/uptflow_lolv2_real.pth")),
        ...
    ]
    val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
    test_dataloader = val_dataloader

``type='uptflow.EnhanceLowLight'`` needs no ``custom_imports`` (mmengine imports uptflow's registry). The plain
``'EnhanceLowLight'`` resolves under ``default_scope='mmdet'`` / ``'mmseg'`` once ``uptflow.plugins`` is imported
(it is also in mmengine's root TRANSFORMS); a child config's ``custom_imports`` replaces its base's, so list the
base's modules there too.
"""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

from uptflow.enhancers import build_enhancer
from uptflow.registry import TRANSFORMS

__all__ = ["EnhanceLowLight", "pipeline_enhancers", "build_pipeline_enhancers", "pipeline_label", "enhancer_label",
           "custom_imports_hint"]

_FRAMEWORKS = ("mmdet", "mmseg")
# mmdet's inference_detector and mmseg's inference_model build their pipeline again for every image: the enhancers
# built for it are kept per spec, device, cache and weights checksum, so a network is loaded once, not per image
_BUILT: dict[str, Any] = {}
_BUILT_MAX = 4

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
        device: torch device of learned enhancers (default ``cpu``): the transform usually runs in DataLoader
            workers forked from the main process (mmengine's default with ``num_workers > 0``), where CUDA cannot
            run once the parent started it. ``auto`` (CUDA when a GPU is visible) suits pipelines run in the main
            process: ``inference_detector`` / ``inference_model``, or ``num_workers=0``.
        channel_order: order of ``results['img']``; mmdet/mmseg's LoadImageFromFile gives 'bgr'.
    """

    def __init__(self, enhancer: str | dict = "identity", cache: bool = True, cache_dir: str | None = None,
                 device: str = "cpu", channel_order: str = "bgr") -> None:
        from uptflow.cli import resolve_device

        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        device = resolve_device(device, quiet=True)
        self.spec, self.cache, self.cache_dir, self.device, self.channel_order = (
            enhancer, cache, cache_dir, device, channel_order)
        key = _memo_key(enhancer, device, cache, cache_dir)
        if key is None:
            self._fn: Any = build_enhancer(enhancer, device=device, cache=cache, cache_dir=cache_dir)
            return
        if key not in _BUILT:
            _BUILT[key] = build_enhancer(enhancer, device=device, cache=cache, cache_dir=cache_dir)
            while len(_BUILT) > _BUILT_MAX:  # the oldest network goes (dicts keep insertion order)
                _BUILT.pop(next(iter(_BUILT)))
        self._fn = _BUILT[key]

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


def _memo_key(spec: Any, device: Any, cache: bool, cache_dir: str | None) -> str | None:
    """What an enhancer built for a pipeline is kept under; None when the spec is not made of plain values only
    (a built enhancer, a network object: their str shows no weights), so it is never shared."""
    if not isinstance(spec, (str, dict)):
        return None
    try:
        return json.dumps([spec, str(device), cache, cache_dir, os.environ.get("UPTFLOW_CACHE"),
                           _weights_sha256(spec)], sort_keys=True)
    except TypeError:
        return None


def _weights_sha256(spec: str | dict) -> str | None:
    """SHA-256 of the weights file an enhancer spec loads (None: it loads none, or the file is missing)."""
    from uptflow.registry import ENHANCERS
    from uptflow.utils.io import file_sha256

    name, weights = (spec.get("type"), spec.get("weights")) if isinstance(spec, dict) else (spec, None)
    if weights is None and ENHANCERS.get(name) is not None:
        weights = ENHANCERS.get(name).default_weights()
    path = Path(str(weights)).expanduser() if weights else None
    return file_sha256(path) if path is not None and path.is_file() else None


def _entries(node: Any) -> list[dict[str, Any]]:
    """The ``EnhanceLowLight`` steps anywhere under ``node`` (nested pipelines too) in order, repeats kept, with
    their weights' checksum."""
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

    walk(node)
    return found


def _dataset_pipeline(dataset: Any) -> Any:
    """A dataset config's pipeline, through wrappers (``dataset``, first of ``datasets``) as mmdet's
    ``get_test_pipeline_cfg`` finds it; None without one."""
    while isinstance(dataset, dict):
        if "pipeline" in dataset:
            return dataset["pipeline"]
        dataset = dataset.get("dataset") or next(iter(dataset.get("datasets") or ()), None)
    return None


def pipeline_enhancers(cfg: Any, framework: str | None = None, where: str | None = None) -> list[dict[str, Any]]:
    """The ``EnhanceLowLight`` steps of the pipeline an mmdet / mmseg config runs for inference (plain dicts, with
    the checksum of the weights each loads as ``weights_sha256``), to record in a protocol that the model's own
    pipeline enhances its input: replacing a weights file in place is then a new identity.

    mmdet's ``inference_detector`` runs the test dataloader's dataset pipeline, mmseg's ``inference_model`` runs
    ``test_pipeline``, and both frameworks' ``Runner.test()`` the dataloader's; a config whose two disagree about
    ``EnhanceLowLight`` is refused, so a number is never recorded under the other's enhancer.

    Args:
        cfg: an mmengine ``Config`` or its dict.
        framework: ``mmdet`` or ``mmseg``; default the config's ``default_scope``. Neither: the steps of every
            pipeline in the config (an identity, not a record of what runs).
        where: the config's name in errors (default the file name of a ``Config``).

    Raises:
        ValueError: ``test_pipeline`` and ``test_dataloader``'s pipeline hold different ``EnhanceLowLight`` steps.
    """
    name = where or getattr(cfg, "filename", None)
    prefix = f"{name}: " if name else ""
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
    framework = framework or d.get("default_scope")
    if framework not in _FRAMEWORKS:  # the same step in several pipelines (test_pipeline and its loader) counts once
        return list({repr(sorted(f.items())): f for f in _entries(d)}.values())
    in_test = _entries(d.get("test_pipeline"))
    loader_pipeline = _dataset_pipeline((d.get("test_dataloader") or {}).get("dataset"))
    in_loader = _entries(loader_pipeline)
    if "test_pipeline" in d and loader_pipeline is not None and in_test != in_loader:
        raise ValueError(
            f"{prefix}test_pipeline enhances with {pipeline_label(in_test)} but test_dataloader.dataset.pipeline "
            f"with {pipeline_label(in_loader)} (mmdet's inference_detector and Runner.test run the dataloader's, "
            "mmseg's inference_model runs test_pipeline): put the same EnhanceLowLight step in both, e.g. "
            "test_dataloader = dict(dataset=dict(pipeline=test_pipeline)) after test_pipeline in the config")
    return in_loader if framework == "mmdet" else in_test


def build_pipeline_enhancers(entries: list[dict[str, Any]]) -> None:
    """Build the enhancer of every step :func:`pipeline_enhancers` found, before the model is: mmdet and mmseg build
    the pipeline only at the first inference, after loading the checkpoint. The built enhancers are kept for it."""
    for entry in entries:
        EnhanceLowLight(**{k: v for k, v in entry.items() if k != "weights_sha256"})


def pipeline_label(entries: list[dict[str, Any]]) -> str:
    """Short name of what :func:`pipeline_enhancers` found, for tables: ``gamma``, ``clahe, uptflow``, or ``none``."""
    names = []
    for e in entries:
        spec = e.get("enhancer", "identity")
        names.append(str(spec.get("type") if isinstance(spec, dict) else getattr(spec, "name", spec)))
    return ", ".join(names) or "none"


def enhancer_label(name: str, entries: list[dict[str, Any]] | None) -> str:
    """A results table's enhancer column: ``name`` of the enhancer applied before the model, and what the model's own
    pipeline enhances with, if anything (``none (pipeline: gamma)``)."""
    return f"{name} (pipeline: {pipeline_label(entries)})" if entries else name


def custom_imports_hint(cfg: Any) -> str:
    """Why a type may be missing from a registry when a config sets ``custom_imports`` ("" when it sets none)."""
    imports = (cfg.get("custom_imports") or {}).get("imports")
    if not imports:
        return ""
    return (f"; this config's custom_imports imports only {list(imports)}: a child config's custom_imports replaces "
            "its base's, so list the base's modules too, or drop it and write type='uptflow.EnhanceLowLight'")


TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)
if "EnhanceLowLight" not in MMENGINE_TRANSFORMS.module_dict:
    MMENGINE_TRANSFORMS.register_module(name="EnhanceLowLight", module=EnhanceLowLight)

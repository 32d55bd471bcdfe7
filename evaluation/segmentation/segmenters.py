"""Semantic segmenters behind the project's model protocol (``__call__`` on one uint8 HxWx3 RGB image -> uint8 HxW
train-id map, ``describe()``), registered in ``evaluation.registry.MODELS``.

``MMSegSegmenter`` wraps any mmsegmentation 1.x config (``mmseg::`` package paths allowed) + checkpoint
(DeepLabV3+, SegFormer, ESPNet, ...) through ``mmseg.apis.init_model`` / ``inference_model``; whole-image or
sliding-window inference follows the config's ``model.test_cfg`` unless ``mode`` overrides it.
"""

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.registry import MODELS
from uptflow.registry import SettingsError, build_checked
from uptflow.utils.mmconfig import config_mistakes, load_config, resolve_config_path
from uptflow.utils.paths import require_file

__all__ = ["Segmenter", "MMSegSegmenter", "build_segmenter", "list_segmenters", "config_protocol"]


class Segmenter:
    """Base class: ``__call__(img)`` maps a uint8 HxWx3 RGB image to a uint8 HxW map of train ids."""

    name: str = "segmenter"
    num_classes: int = 19

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """Segment one uint8 HxWx3 RGB image; return uint8 HxW class ids at the input resolution."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Settings that identify the model in protocols and resume checks."""
        return {"name": self.name}


@MODELS.register_module(name="mmseg")
class MMSegSegmenter(Segmenter):
    """An mmsegmentation model built from a config file, on CPU or GPU.

    Args:
        config: mmseg config path (may inherit mmseg's packaged configs via ``mmseg::``).
        checkpoint: trained weights; None builds the model with random weights (a warning says so, and
            ``describe()`` marks it) which is only meaningful for testing the pipeline.
        device: "cpu", "cuda", "cuda:1", ...
        mode: "whole" or "slide" to override the config's ``model.test_cfg.mode``.
        crop_size / stride: sliding-window crop and stride (H, W) when ``mode="slide"``.
        cfg_options: extra config overrides (``Config.merge_from_dict`` keys).
        seed: seed of the random initialisation when no checkpoint is given.
    """

    name = "mmseg"

    def __init__(self, config: str | os.PathLike, checkpoint: str | os.PathLike | None = None, device: str = "cpu",
                 mode: str | None = None, crop_size: tuple[int, int] | None = None,
                 stride: tuple[int, int] | None = None, cfg_options: dict | None = None, seed: int = 0) -> None:
        import torch
        from mmengine.model import revert_sync_batchnorm
        from mmengine.runner import load_checkpoint
        from mmseg.apis import init_model

        from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_loading

        self.config_path = Path(resolve_config_path(config))
        cfg = load_config(config, cfg_options, for_inference=True)
        if "test_pipeline" not in cfg:
            raise ValueError(f"{config}: config has no top-level test_pipeline (inherit an mmseg dataset config)")
        if mode is not None:
            if mode not in ("whole", "slide"):
                raise ValueError(f"mode must be 'whole' or 'slide', got {mode!r}")
            test_cfg = dict(mode=mode)
            if mode == "slide":
                old = cfg.model.get("test_cfg") or {}
                test_cfg["crop_size"] = tuple(crop_size or old.get("crop_size") or (512, 1024))
                test_cfg["stride"] = tuple(stride or old.get("stride") or (341, 682))
            cfg.model.test_cfg = test_cfg
        self.checkpoint = str(require_file(checkpoint, "segmentation checkpoint")) if checkpoint else None
        if self.checkpoint is None:
            warnings.warn(f"{self.config_path.name}: no checkpoint given, the segmenter has RANDOM weights "
                          f"(seed {seed}); its scores are meaningless", stacklevel=2)
            torch.manual_seed(seed)
        self.seed = seed
        self.device = str(device)
        # init_model reads checkpoint['meta'], which bare state dicts (ESPNet's release) lack: load the weights
        # with mmengine's loader instead, which accepts both
        from uptflow.plugins.transforms import build_pipeline_enhancers, custom_imports_hint, pipeline_enhancers

        # what inference_model will run (test_pipeline), refused when Runner.test's dataloader would run another
        self.pipeline_enhancers = pipeline_enhancers(cfg, "mmseg", where=str(config))
        build_pipeline_enhancers(self.pipeline_enhancers)
        with config_mistakes(config):
            try:
                model = init_model(cfg, None, device=self.device)
            except KeyError as err:
                if "registry" not in str(err) or not (hint := custom_imports_hint(cfg)):
                    raise
                raise ValueError(f"{config}: {err.args[0].split('. ')[0]}{hint}") from err
        if self.checkpoint is not None:
            with safe_loading(self.checkpoint, "segmentation checkpoint", mmengine_checkpoint_globals()):
                load_checkpoint(model, self.checkpoint, map_location="cpu")
        if not self.device.startswith("cuda"):
            # SyncBN (the Cityscapes configs' norm) only runs in a distributed GPU job
            model = revert_sync_batchnorm(model)
        self.model = model
        self.cfg = model.cfg
        self.num_classes = int(model.decode_head.num_classes)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """Segment one uint8 HxWx3 RGB image; return uint8 HxW train ids at the input resolution."""
        from mmseg.apis import inference_model

        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected uint8 HxWx3 RGB, got {img.dtype} {img.shape}")
        # mmseg pipelines load BGR (cv2 convention); its data_preprocessor converts back with bgr_to_rgb
        result = inference_model(self.model, np.ascontiguousarray(img[..., ::-1]))
        return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)

    def describe(self) -> dict[str, Any]:
        """Config, checkpoint (or random init), device, test mode and any enhancer in the test_pipeline it runs."""
        test_cfg = dict(self.cfg.model.get("test_cfg") or {})
        from uptflow.utils.io import file_sha256

        return dict(name=self.name, config=str(self.config_path), checkpoint=self.checkpoint,
                    checkpoint_sha256=file_sha256(self.checkpoint) if self.checkpoint else None,
                    random_init=self.checkpoint is None, seed=self.seed if self.checkpoint is None else None,
                    test_cfg={k: list(v) if isinstance(v, tuple) else v for k, v in test_cfg.items()},
                    model=self.cfg.model.get("type"), backbone=self.cfg.model.backbone.get("type"),
                    num_classes=self.num_classes, pipeline_enhancers=self.pipeline_enhancers)


def list_segmenters() -> list[str]:
    """Names of the registered segmenters."""
    MODELS.import_from_location()
    return sorted(k for k, v in MODELS.module_dict.items() if isinstance(v, type) and issubclass(v, Segmenter))


def build_segmenter(cfg: dict[str, Any], where: str = "segmenter") -> Segmenter:
    """Build a registered segmenter from ``dict(type=..., config=..., checkpoint=...)``; a bad key raises naming it."""
    if cfg.get("type") not in list_segmenters():
        raise SettingsError(f"{where}.type: unknown segmenter {cfg.get('type')!r} (registered: "
                            f"{', '.join(list_segmenters())})")
    return build_checked(MODELS, cfg, where)


def config_protocol(config: str | os.PathLike) -> str:
    """Return the protocol name a config declares (``uptflow_protocol = "..."``), default ``cityscapes19``."""
    return str(load_config(config).get("uptflow_protocol", "cityscapes19"))

"""Object detectors behind the project's model protocol (``__call__`` on one uint8 RGB image -> Detections,
``describe()``), registered in ``evaluation.registry.MODELS``.

* ``yolov8`` / ``ultralytics``: any local ultralytics ``.pt`` (read in ultralytics' safe mode) or model ``.yaml``;
* ``mmdet``: any mmdet 3.x config (``mmdet::`` package paths allowed) + checkpoint.

Detector labels are mapped to a dataset's classes with :func:`class_map`: by name (a COCO detector on a COCO-layout
dataset, an ExDark-trained detector on ExDark), or a COCO detector on ExDark through the zero-shot map
``COCO_TO_EXDARK`` (detections of other COCO classes are dropped).
"""

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation.datasets.exdark import EXDARK_CLASSES
from evaluation.registry import MODELS
from uptflow.registry import SettingsError, build_checked
from uptflow.utils.io import file_sha256
from uptflow.utils.paths import require_file

__all__ = ["Detections", "Detector", "UltralyticsDetector", "MMDetDetector", "COCO_TO_EXDARK", "COCO80",
           "class_map", "build_detector", "list_detectors", "ultralytics_offline", "load_yolo"]

# zero-shot use of a COCO model on ExDark: every ExDark class has one COCO counterpart
COCO_TO_EXDARK: dict[str, str] = {
    "bicycle": "Bicycle", "boat": "Boat", "bottle": "Bottle", "bus": "Bus", "car": "Car", "cat": "Cat",
    "chair": "Chair", "cup": "Cup", "dog": "Dog", "motorcycle": "Motorbike", "person": "People",
    "dining table": "Table",
}

# the 80 COCO detection classes in the label order of COCO-trained ultralytics and mmdet models
COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant",
    "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
    "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
    "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet",
    "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)


@dataclass
class Detections:
    """Detections of one image: ``boxes`` [N,4] xyxy pixels, ``scores`` [N], ``labels`` [N] into ``names``."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise ValueError(f"inconsistent detections: {len(self.boxes)} boxes, {len(self.scores)} scores, "
                             f"{len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.scores)


class Detector:
    """Base class: ``__call__(uint8 HxWx3 RGB) -> Detections``; ``describe()`` identifies the model in results."""

    name = "detector"
    class_names: tuple[str, ...] = ()

    def __call__(self, img: np.ndarray) -> Detections:
        """Detect objects in one uint8 HxWx3 RGB image."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Detector, weights (+ checksum), input size and thresholds, for the protocol record of every number."""
        return {"detector": self.name}


def class_map(names: tuple[str, ...] | list[str], classes: tuple[str, ...], kind: str = "auto"
              ) -> tuple[str, dict[int, str]]:
    """Return ``(kind, {detector label -> dataset class})`` for a detector with class ``names`` on a dataset.

    Args:
        names: the detector's class names, indexed by label.
        classes: the dataset's class names.
        kind: ``auto`` (by name; a COCO detector on ExDark through ``COCO_TO_EXDARK``), or ``coco`` / ``dataset`` to
            map labels by index in COCO-80 / dataset order, for models without meaningful names (an untrained model
            yaml names its classes '0', '1', ...).

    Raises:
        ValueError: the detector's classes cover neither the dataset's classes nor (on ExDark) COCO's.
    """
    zero_shot = tuple(classes) == EXDARK_CLASSES
    coco_map = {n: COCO_TO_EXDARK[n] for n in COCO80 if n in COCO_TO_EXDARK} if zero_shot else {n: n for n in COCO80}
    if kind == "coco":
        return "coco-zero-shot" if zero_shot else "by-name", {i: coco_map[n] for i, n in enumerate(COCO80)
                                                              if n in coco_map and coco_map[n] in classes}
    if kind == "dataset":
        return "by-name", dict(enumerate(classes))
    if kind != "auto":
        raise ValueError(f"class_map must be 'auto', 'coco' or 'dataset', got {kind!r}")
    lower = [str(n).lower().replace("_", " ") for n in names]  # mmdet's fallback names are 'traffic_light'...
    wanted = {c.lower(): c for c in classes}
    if set(wanted) <= set(lower):
        return "by-name", {i: wanted[n] for i, n in enumerate(lower) if n in wanted}
    if zero_shot and set(COCO_TO_EXDARK) <= set(lower):
        return "coco-zero-shot", {i: COCO_TO_EXDARK[n] for i, n in enumerate(lower) if n in COCO_TO_EXDARK}
    raise ValueError(f"detector classes {list(names)[:15]}... cover neither the dataset's {len(classes)} classes "
                     f"{list(classes)[:12]} nor (on ExDark) the COCO classes {sorted(COCO_TO_EXDARK)}; train it on "
                     "the dataset first, or set class_map 'coco' / 'dataset'")


def ultralytics_offline() -> None:
    """Keep ultralytics off the network and its weights loading safe (set before/at first import).

    YOLO_OFFLINE=1 and settings sync off: nothing is downloaded. ULTRALYTICS_SAFE_LOAD=1: ``.pt`` files are read with
    torch's weights-only unpickler and ultralytics' allow-list of its model classes, so a crafted weights file
    cannot run code (ultralytics' default unpickles with ``weights_only=False``). ultralytics reads the flag when it
    is imported; if it was imported earlier, its module-level copies are switched on too.
    """
    import sys

    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"
    for mod in ("ultralytics.utils", "ultralytics.nn.tasks"):
        if mod in sys.modules:
            sys.modules[mod].SAFE_LOAD = True
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", False):
        SETTINGS.update(sync=False)


def load_yolo(weights: str | os.PathLike) -> Any:
    """An ultralytics ``YOLO`` from a local ``.pt`` (safely unpickled) or a model ``.yaml``; errors name the file."""
    ultralytics_offline()
    from ultralytics import YOLO

    with _refusals_named(weights):
        return YOLO(str(weights))


def load_ultralytics_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict of an ultralytics ``.pt`` (safely unpickled); errors name the file."""
    ultralytics_offline()
    from ultralytics.nn.tasks import torch_safe_load

    with _refusals_named(path):
        return torch_safe_load(str(path))[0]


@contextlib.contextmanager
def _refusals_named(path: str | os.PathLike) -> Iterator[None]:
    """Turn ultralytics' TypeError for a refused or unreadable ``.pt`` into ours, naming the file (and the refused
    global: :class:`~uptflow.utils.safe_load.UnsafeWeightsError`)."""
    import pickle

    try:
        yield
    except TypeError as e:
        if isinstance(e.__cause__, pickle.UnpicklingError):
            from uptflow.utils.safe_load import safe_loading

            with safe_loading(path, "ultralytics weights"):
                raise e.__cause__ from None
        raise ValueError(f"{path}: not a loadable ultralytics checkpoint ({str(e).splitlines()[0]})") from None


@MODELS.register_module(name="ultralytics")
@MODELS.register_module(name="yolov8")
class UltralyticsDetector(Detector):
    """An ultralytics YOLO model from a local ``.pt`` checkpoint or a model ``.yaml`` (random init).

    Args:
        checkpoint: local ``.pt`` file, or a model yaml name/path (``yolov8n.yaml``) for an untrained model.
        imgsz: inference size (long side, letterboxed).
        conf: score threshold; 0.001 as in ultralytics' own mAP validation.
        iou: NMS IoU threshold (0.7 as in ultralytics validation).
        max_det: maximum detections per image.
        device: torch device string.
    """

    name = "ultralytics"

    def __init__(self, checkpoint: str, imgsz: int = 640, conf: float = 0.001, iou: float = 0.7,
                 max_det: int = 300, device: str = "cpu") -> None:
        bad = [f"{k} {v} ({rule})" for k, v, ok, rule in (
            ("imgsz", imgsz, imgsz >= 32, "at least 32"), ("conf", conf, 0 <= conf <= 1, "0-1"),
            ("iou", iou, 0 <= iou <= 1, "0-1"), ("max_det", max_det, max_det >= 1, "at least 1")) if not ok]
        if bad:
            raise ValueError(f"ultralytics detector: {', '.join(bad)}: out of range")
        w = str(checkpoint)
        if not w.endswith((".pt", ".yaml", ".yml")):  # ultralytics asserts on any other suffix, in a traceback
            raise ValueError(f"ultralytics detector: checkpoint {w}: not an ultralytics .pt or model .yaml; for an "
                             "mmdet checkpoint give --detector mmdet --config CONFIG (detector type 'mmdet')")
        if w.endswith((".yaml", ".yml")):
            self.checkpoint, self.sha256 = w, None
        else:
            p = require_file(w, "ultralytics weights")
            self.checkpoint, self.sha256 = str(p), file_sha256(p)
        self.model = load_yolo(self.checkpoint)
        self.imgsz, self.conf, self.iou, self.max_det, self.device = imgsz, conf, iou, max_det, device
        names = self.model.names
        self.class_names = tuple(names[i] for i in sorted(names))

    def __call__(self, img: np.ndarray) -> Detections:
        """Run the YOLO model on one uint8 RGB image."""
        bgr = np.ascontiguousarray(np.asarray(img)[..., ::-1])  # ultralytics treats numpy input as BGR (cv2)
        res = self.model.predict(bgr, imgsz=self.imgsz, conf=self.conf, iou=self.iou, max_det=self.max_det,
                                 device=self.device, verbose=False)[0]
        b = res.boxes
        return Detections(b.xyxy.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy(), self.class_names)

    def describe(self) -> dict[str, Any]:
        """Model file, checksum, input size, thresholds."""
        return {"detector": "ultralytics", "checkpoint": self.checkpoint, "checkpoint_sha256": self.sha256,
                "input_size": self.imgsz, "score_thr": self.conf, "nms_iou": self.iou, "max_det": self.max_det,
                "framework": "ultralytics"}


@MODELS.register_module(name="mmdet")
class MMDetDetector(Detector):
    """An mmdet 3.x detector from a config file (``mmdet::`` package paths allowed) and an optional checkpoint.

    Args:
        config: mmdet config path, or a packaged one such as ``mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py``.
        checkpoint: checkpoint path; None builds the model with random init (tests, smoke runs).
        device: torch device string.
        cfg_options: config overrides (dotted keys), applied before building.
    """

    name = "mmdet"

    def __init__(self, config: str, checkpoint: str | None = None, device: str = "cpu",
                 cfg_options: dict | None = None) -> None:
        from mmdet.apis import init_detector
        from mmdet.utils import register_all_modules

        from uptflow.utils.mmconfig import config_mistakes, load_config
        from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_loading

        register_all_modules(init_default_scope=True)
        cfg = load_config(config, cfg_options, for_inference=True)
        self.config = str(config)
        self.checkpoint = str(require_file(checkpoint, "mmdet checkpoint")) if checkpoint is not None else None
        self.sha256 = file_sha256(self.checkpoint) if self.checkpoint else None
        from uptflow.plugins.transforms import build_pipeline_enhancers, custom_imports_hint, pipeline_enhancers

        # what inference_detector will run, checked before the model is built
        self.pipeline_enhancers = pipeline_enhancers(cfg, "mmdet", where=str(config))
        build_pipeline_enhancers(self.pipeline_enhancers)
        self.input_size = _mmdet_test_scale(cfg)
        with config_mistakes(config), safe_loading(self.checkpoint, "mmdet checkpoint", mmengine_checkpoint_globals()):
            try:
                self.model = init_detector(cfg, self.checkpoint, device=device)
            except KeyError as err:
                if "registry" not in str(err) or not (hint := custom_imports_hint(cfg)):
                    raise
                raise ValueError(f"{config}: {err.args[0].split('. ')[0]}{hint}") from err
        meta = (cfg.get("test_dataloader") or {}).get("dataset", {}).get("metainfo")
        if self.checkpoint is None and meta and "classes" in meta:
            # without a checkpoint mmdet falls back to COCO names; the config knows the real classes
            self.model.dataset_meta = {"classes": tuple(meta["classes"])}
        self.class_names = tuple(self.model.dataset_meta["classes"])

    def __call__(self, img: np.ndarray) -> Detections:
        """Run mmdet's test pipeline and model on one uint8 RGB image."""
        from mmdet.apis import inference_detector

        bgr = np.ascontiguousarray(np.asarray(img)[..., ::-1])  # mmdet pipelines expect BGR like LoadImageFromFile
        inst = inference_detector(self.model, bgr).pred_instances
        return Detections(inst.bboxes.cpu().numpy(), inst.scores.cpu().numpy(), inst.labels.cpu().numpy(),
                          self.class_names)

    def describe(self) -> dict[str, Any]:
        """Config, checkpoint, checksum, test scale and any enhancer inside the pipeline inference_detector runs."""
        return {"detector": "mmdet", "config": self.config, "checkpoint": self.checkpoint,
                "checkpoint_sha256": self.sha256, "input_size": self.input_size, "framework": "mmdet",
                "pipeline_enhancers": self.pipeline_enhancers}


def _mmdet_test_scale(cfg: Any) -> Any:
    """The Resize scale of the pipeline ``inference_detector`` runs (the test dataloader's, as mmdet finds it)."""
    from mmdet.utils import get_test_pipeline_cfg

    for t in get_test_pipeline_cfg(cfg):
        if str(t.get("type")).split(".")[-1] == "Resize":
            return list(t.get("scale")) if t.get("scale") is not None else None
    return None


def list_detectors() -> list[str]:
    """Names of the registered detectors."""
    MODELS.import_from_location()
    return sorted(k for k, v in MODELS.module_dict.items() if isinstance(v, type) and issubclass(v, Detector))


def build_detector(cfg: dict[str, Any], where: str = "detector") -> Detector:
    """Build a registered detector from ``dict(type=..., checkpoint=..., ...)``; a bad key raises naming it."""
    cfg = dict(cfg)
    if cfg.get("type") not in list_detectors():
        raise SettingsError(f"{where}.type: unknown detector {cfg.get('type')!r} (registered: "
                            f"{', '.join(list_detectors())})")
    return build_checked(MODELS, cfg, where)

"""Registries of uptflow, children of mmengine's roots so configs can mix uptflow, mmdet and mmseg types.

A new enhancer, dataset, detector or segmenter is one file with a ``@REGISTRY.register_module()``
decorator plus one entry in ``locations`` below (so building ``dict(type=...)`` imports it lazily).
"""

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

__all__ = ["MODELS", "FLOWS", "DATASETS", "TRANSFORMS", "METRICS", "ENHANCERS", "DETECTORS", "SEGMENTERS", "HOOKS",
           "OPTIM_WRAPPERS"]

# networks (UPT-Flow and its parts) and the mmengine model wrappers used for training
MODELS = Registry("model", parent=MMENGINE_MODELS, scope="uptflow", locations=["uptflow.models", "uptflow.engine"])
# invertible layers; every class here is tested for round trip and log-det by tests/models/flow
FLOWS = Registry("flow", scope="uptflow", locations=["uptflow.models.flow"])
# paired / unpaired image datasets
DATASETS = Registry("dataset", parent=MMENGINE_DATASETS, scope="uptflow", locations=["uptflow.data"])
# data transforms, including the EnhanceLowLight plug-in for mmdet / mmseg pipelines
TRANSFORMS = Registry(
    "transform", parent=MMENGINE_TRANSFORMS, scope="uptflow", locations=["uptflow.data", "uptflow.plugins"]
)
# image-quality metrics
METRICS = Registry("metric", parent=MMENGINE_METRICS, scope="uptflow", locations=["uptflow.metrics", "uptflow.engine"])
# enhancers: uint8 HxWx3 RGB in, same out (see uptflow.enhancers.base.Enhancer)
ENHANCERS = Registry("enhancer", scope="uptflow", locations=["uptflow.enhancers"])
# object detectors behind one interface (image in, boxes / scores / labels out)
DETECTORS = Registry("detector", scope="uptflow", locations=["evaluation.detection.detectors"])
# semantic segmenters behind one interface (image in, trainId map out)
SEGMENTERS = Registry("segmenter", scope="uptflow", locations=["evaluation.segmentation.segmenters"])
# training hooks (RNG state in checkpoints, model export, progress bar) and optimizer wrappers that skip
# non-finite steps, used by the mmengine Runner in ``uptflow train``
HOOKS = Registry("hook", parent=MMENGINE_HOOKS, scope="uptflow", locations=["uptflow.engine"])
OPTIM_WRAPPERS = Registry(
    "optim_wrapper", parent=MMENGINE_OPTIM_WRAPPERS, scope="uptflow", locations=["uptflow.engine"]
)

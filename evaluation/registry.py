"""Registries of the evaluation suite: benchmarks, dataset readers, and the detector / segmenter wrappers.

A new benchmark, dataset type, detector or segmenter is one file with a ``@REGISTRY.register_module()`` decorator
plus one entry in ``locations`` below (building ``dict(type=...)`` imports it lazily) and one entry in a suite
config. Detectors and segmenters share ``MODELS``, a child of mmengine's model registry, as mmdet's and mmseg's
models do (their builders check the base class); like uptflow's registries it builds in its own scope whatever
default scope mmdet / mmseg left set.
"""

from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from mmengine.registry.build_functions import build_from_cfg

from uptflow.registry import own_scope

__all__ = ["BENCHMARKS", "DATASETS", "MODELS"]

_BUILD = own_scope(build_from_cfg)

# one class per task: what it reads, what it measures, how it runs one (enhancer, dataset) unit
BENCHMARKS = Registry("benchmark", scope="evaluation",
                      locations=["evaluation.enhancement.benchmark", "evaluation.detection.benchmark",
                                 "evaluation.segmentation.benchmark", "evaluation.traffic.benchmark"])
# one reader per dataset type, each producing evaluation.datasets.Dataset records
DATASETS = Registry("dataset type", scope="evaluation",
                    locations=["evaluation.datasets.images", "evaluation.datasets.frames",
                               "evaluation.datasets.exdark", "evaluation.datasets.coco",
                               "evaluation.datasets.segmentation", "evaluation.datasets.photo_pairs"])
# detectors (uint8 RGB in, Detections out) and segmenters (uint8 RGB in, uint8 train-id map out)
MODELS = Registry("model", build_func=_BUILD, parent=MMENGINE_MODELS, scope="evaluation",
                  locations=["evaluation.detection.detectors", "evaluation.segmentation.segmenters"])

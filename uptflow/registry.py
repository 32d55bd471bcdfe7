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
from mmengine.registry import DefaultScope, Registry
from mmengine.registry.build_functions import build_from_cfg, build_model_from_cfg


def _in_own_scope(build_func):
    """Wrap a build function so our registries with an mmengine parent resolve plain type names in scope 'uptflow'.

    mmengine resolves ``dict(type='X')`` in the process-wide default scope; after any mmdet/mmseg code has set it
    (``register_all_modules(init_default_scope=True)``, ``init_model``) uptflow's own types would no longer be
    found. Building from such a registry therefore starts in its scope; scoped names such as ``'mmdet.YOLOV3'``
    and the parents' types still resolve as usual. Registries without a parent (enhancers, flows, detectors,
    segmenters) need no wrapper: mmengine falls back to the registry itself, and their objects may build mmdet /
    mmseg models that must see the caller's scope.
    """

    def build(cfg, registry, *args, **kwargs):
        with DefaultScope.overwrite_default_scope(registry.scope):
            return build_func(cfg, registry, *args, **kwargs)

    return build


_BUILD = _in_own_scope(build_from_cfg)
_BUILD_MODEL = _in_own_scope(build_model_from_cfg)

__all__ = [
    "MODELS",
    "FLOWS",
    "DATASETS",
    "TRANSFORMS",
    "METRICS",
    "ENHANCERS",
    "DETECTORS",
    "SEGMENTERS",
    "HOOKS",
    "OPTIM_WRAPPERS",
]

# networks (UPT-Flow and its parts) and the mmengine model wrappers used for training
MODELS = Registry(
    "model",
    build_func=_BUILD_MODEL,
    parent=MMENGINE_MODELS,
    scope="uptflow",
    locations=["uptflow.models", "uptflow.engine"],
)
# invertible layers; every class here is tested for round trip and log-det by tests/models/flow
FLOWS = Registry("flow", scope="uptflow", locations=["uptflow.models.flow"])
# paired / unpaired image datasets
DATASETS = Registry("dataset", build_func=_BUILD, parent=MMENGINE_DATASETS, scope="uptflow", locations=["uptflow.data"])
# data transforms, including the EnhanceLowLight plug-in for mmdet / mmseg pipelines
TRANSFORMS = Registry(
    "transform",
    build_func=_BUILD,
    parent=MMENGINE_TRANSFORMS,
    scope="uptflow",
    locations=["uptflow.data", "uptflow.plugins"],
)
# image-quality metrics
METRICS = Registry(
    "metric",
    build_func=_BUILD,
    parent=MMENGINE_METRICS,
    scope="uptflow",
    locations=["uptflow.metrics", "uptflow.engine"],
)
# enhancers: uint8 HxWx3 RGB in, same out (see uptflow.enhancers.base.Enhancer)
ENHANCERS = Registry(
    "enhancer",
    scope="uptflow",
    locations=["uptflow.enhancers.classical", "uptflow.enhancers.learned", "uptflow.enhancers.uptflow"],
)
# object detectors behind one interface (image in, boxes / scores / labels out)
DETECTORS = Registry("detector", scope="uptflow", locations=["evaluation.detection.detectors"])
# semantic segmenters behind one interface (image in, trainId map out)
SEGMENTERS = Registry("segmenter", scope="uptflow", locations=["evaluation.segmentation.segmenters"])
# training hooks (RNG state in checkpoints, model export, progress bar) and optimizer wrappers that skip
# non-finite steps, used by the mmengine Runner in ``uptflow train``
HOOKS = Registry("hook", build_func=_BUILD, parent=MMENGINE_HOOKS, scope="uptflow", locations=["uptflow.engine"])
OPTIM_WRAPPERS = Registry(
    "optim_wrapper", build_func=_BUILD, parent=MMENGINE_OPTIM_WRAPPERS, scope="uptflow", locations=["uptflow.engine"]
)

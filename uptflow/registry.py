"""Registries of uptflow, children of mmengine's roots so configs can mix uptflow, mmdet and mmseg types.

A new enhancer, dataset or flow layer is one file with a ``@REGISTRY.register_module()`` decorator plus one entry
in ``locations`` below (so building ``dict(type=...)`` imports it lazily). :func:`build_checked` builds from any
registry with the settings checked against the constructor first, so a misspelt key fails naming the key.
"""

import difflib
import inspect
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import DefaultScope, Registry
from mmengine.registry import root as mmengine_root
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


own_scope = _in_own_scope  # public: the suite's registries with an mmengine parent build the same way
_BUILD = _in_own_scope(build_from_cfg)
_BUILD_MODEL = _in_own_scope(build_model_from_cfg)

__all__ = [
    "MODELS",
    "FLOWS",
    "DATASETS",
    "TRANSFORMS",
    "METRICS",
    "ENHANCERS",
    "HOOKS",
    "OPTIM_WRAPPERS",
    "SettingsError",
    "check_settings",
    "build_checked",
    "own_scope",
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
# training hooks (RNG state in checkpoints, model export, progress bar) and optimizer wrappers that skip
# non-finite steps, used by the mmengine Runner in ``uptflow train``
HOOKS = Registry("hook", build_func=_BUILD, parent=MMENGINE_HOOKS, scope="uptflow", locations=["uptflow.engine"])
OPTIM_WRAPPERS = Registry(
    "optim_wrapper", build_func=_BUILD, parent=MMENGINE_OPTIM_WRAPPERS, scope="uptflow", locations=["uptflow.engine"]
)
# Empty children of the other roots the Runner builds from: under the training configs' default_scope='uptflow'
# mmengine looks in each root for a child of that scope and, finding none, logs a warning that "may cause
# unexpected failure", one per registry (six or seven in every `uptflow train`); with a child it builds the
# parent's types.
_RUNNER_SCOPES = tuple(Registry(root.name, parent=root, scope="uptflow") for root in (
    mmengine_root.DATA_SAMPLERS, mmengine_root.EVALUATOR, mmengine_root.LOG_PROCESSORS, mmengine_root.LOOPS,
    mmengine_root.MODEL_WRAPPERS, mmengine_root.OPTIM_WRAPPER_CONSTRUCTORS, mmengine_root.OPTIMIZERS,
    mmengine_root.PARAM_SCHEDULERS, mmengine_root.VISBACKENDS, mmengine_root.VISUALIZERS,
    mmengine_root.WEIGHT_INITIALIZERS))


class SettingsError(KeyError):
    """A setting a constructor does not take, or of the wrong type; the message starts with its key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _accepts(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (plain types, unions, Optional, containers; else True)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    cls = origin or hint
    if not isinstance(cls, type):
        return True
    if cls is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if cls is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if issubclass(cls, Sequence) and cls is not str:
        return isinstance(value, (list, tuple))
    if issubclass(cls, Mapping):
        return isinstance(value, Mapping)
    return isinstance(value, cls)


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` was most likely a misspelling of, or None."""
    found = difflib.get_close_matches(word, sorted(known), n=1)
    return found[0] if found else None


def _hint_text(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check_settings(cls: type, settings: Mapping[str, Any], where: str) -> None:
    """Raise :class:`SettingsError` for a key ``cls(**settings)`` does not take or a value of the wrong type.

    Args:
        cls: the class (its ``__init__`` signature and annotations are the schema).
        settings: keyword arguments for it.
        where: what to call the settings in messages, e.g. ``tasks.detection.detector``.
    """
    sig = inspect.signature(cls.__init__)
    params = {k: p for k, p in sig.parameters.items() if k != "self"}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - unresolvable annotations: check the names only
        hints = {}
    known = [k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key, value in settings.items():
        if key not in known:
            guess = closest(key, known)
            raise SettingsError(f"{where}.{key}: unknown setting of {cls.__name__} ("
                                + (f"did you mean {guess}? " if guess else "") + f"known: {', '.join(known)})")
        hint = hints.get(key, inspect.Parameter.empty)
        if not _accepts(value, hint):
            raise SettingsError(f"{where}.{key}: expected {_hint_text(hint)}, got {type(value).__name__} ({value!r})")
    missing = [k for k in known if params[k].default is inspect.Parameter.empty and k not in settings]
    if missing:
        raise SettingsError(f"{where}.{missing[0]}: required setting of {cls.__name__} is missing")


def build_checked(registry: Registry, cfg: Mapping[str, Any], where: str, type_key: str | None = None) -> Any:
    """Build ``cfg`` (``dict(type=name, **settings)``) from ``registry`` after :func:`check_settings`.

    ``type_key`` is what messages call the type (default ``<where>.type``; empty: the name alone says it).

    Raises:
        SettingsError: unknown type (listing the registered ones), unknown setting or wrong type, naming the key.
    """
    registry.import_from_location()
    cfg = dict(cfg)
    name = cfg.pop("type", None)
    cls = registry.get(name) if isinstance(name, str) else None
    if cls is None:
        key = f"{where}.type" if type_key is None else type_key
        registered = sorted(registry.module_dict)
        guess = closest(name, registered) if isinstance(name, str) else None
        raise SettingsError((f"{key}: " if key else "") + f"unknown {registry.name} {name!r} ("
                            + (f"did you mean {guess}? " if guess else "") + f"registered: {', '.join(registered)})")
    check_settings(cls, cfg, where)
    return cls(**cfg)

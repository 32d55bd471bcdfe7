"""Training UPT-Flow with mmengine's Runner: configs prepared and checked, the runner built, ``train()`` for Python.

The ``uptflow train`` command is ``uptflow.tools.train``; this module is its library side.
"""

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from uptflow.utils.mmconfig import check_cfg_options, value_at

__all__ = ["prepare_config", "build_runner", "check_data_roots", "check_validation_set",
           "runner_device", "train"]


def _datasets(node, path: str = ""):
    """Yield (config path, dataset config) for every dict that has a ``data_root`` key."""
    if isinstance(node, dict):
        if "data_root" in node and "type" in node:
            yield path, node
        for k, v in node.items():
            yield from _datasets(v, f"{path}.{k}" if path else k)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _datasets(v, f"{path}.{i}")  # as --cfg-options writes list items


def check_data_roots(cfg) -> None:
    """Raise early, before any work dir is created, when a dataset's ``data_root`` does not exist."""
    for where in ("train_dataloader", "val_dataloader", "test_dataloader"):
        for path, ds in _datasets(cfg.get(where), where):
            root = ds.get("data_root")
            if root and not Path(root).is_dir():
                # the config's top-level data_root reaches every dataset that uses it (prepare_config)
                key = "data_root" if root == cfg.get("data_root") else f"{path}.data_root"
                raise FileNotFoundError(
                    f"{path}.data_root = {root!r} does not exist. Download the dataset (see docs/training.md for "
                    f"the expected folder tree) and pass --cfg-options {key}=/path/to/it, or set "
                    f"data_root in the config.")


# top-level keys of the training configs that are neither Runner settings nor plain variables: prepare_config reads
# them (data_root also reaches every dataset using it), and mmengine's Config.fromfile acts on custom_imports
_READ_AT_TOP_LEVEL = ("data_root", "amp", "custom_imports")


def _accepted_keys(cls: type) -> set[str] | None:
    """The settings ``cls(**settings)`` takes, following ``**kwargs`` into the bases' ``__init__`` (None: any)."""
    import inspect

    keys: set[str] = set()
    for base in cls.__mro__:
        if "__init__" not in vars(base):
            continue
        params = inspect.signature(vars(base)["__init__"]).parameters.values()
        keys |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return keys - {"self"}
    return None


def _new_typed_key(cfg_dict: dict, key: str) -> tuple[str, str, str] | None:
    """``(entry path, type name, setting)`` when ``--cfg-options key`` adds a setting the config does not have
    directly inside an entry with a ``type`` (``model.network.foo``, ``train_cfg.max_iter``), else None."""
    parts = key.split(".")
    for i in range(1, len(parts)):
        entry = value_at(cfg_dict, ".".join(parts[:i]))
        if isinstance(entry, dict) and parts[i] not in entry:
            return (".".join(parts[:i]), entry["type"], parts[i]) if isinstance(entry.get("type"), str) else None
    return None


# settings a builder takes out of an entry before building its class: mmengine's Runner.register_hook (priority),
# build_scheduler_from_cfg (convert_to_iter_based, epoch_length), the optimizer wrapper constructor (constructor,
# paramwise_cfg) and every builder (_scope_)
_BUILDER_KEYS = ("priority", "convert_to_iter_based", "epoch_length", "constructor", "paramwise_cfg", "_scope_")


def _check_typed_key(cfg_dict: dict, key: str, options: dict) -> None:
    """Refuse a setting that the class of its entry does not take, before the Runner prints its environment and
    config and fails building it; only for the registries whose builders pass every setting to the class but those
    in ``_BUILDER_KEYS`` (uptflow's networks, datasets, transforms, hooks, metrics and optimizer wrappers, mmengine's
    loops, optimizers and parameter schedulers), so no setting a builder consumes itself is refused."""
    from mmengine.registry import LOOPS, OPTIMIZERS, PARAM_SCHEDULERS, DefaultScope

    from uptflow.registry import DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS, TRANSFORMS, closest

    found = _new_typed_key(cfg_dict, key)
    if found is None or f"{found[0]}.type" in options:  # a class switched in the same command: its own settings
        return
    _, name, setting = found
    if setting in _BUILDER_KEYS:
        return
    with DefaultScope.overwrite_default_scope("uptflow"):
        registries = (MODELS, DATASETS, TRANSFORMS, HOOKS, METRICS, OPTIM_WRAPPERS, LOOPS, OPTIMIZERS, PARAM_SCHEDULERS)
        classes = [c for reg in registries if (c := reg.get(name))]
    accepted = [_accepted_keys(c) for c in classes if isinstance(c, type)]
    if not accepted or any(a is None or setting in a for a in accepted):
        return
    known = sorted(set().union(*accepted))
    guess = closest(setting, known)
    raise ValueError(f"--cfg-options {key}: {name} takes no setting '{setting}'"
                     + (f" (did you mean {guess}?)" if guess else f" (it takes: {', '.join(known)})"))


def _check_overrides(cfg_dict: dict, options: dict, config_name: str) -> None:
    """Refuse ``--cfg-options`` a run would ignore or fail on later: those :func:`check_cfg_options` refuses for
    any config, and a new setting its entry's class does not take."""
    check_cfg_options(cfg_dict, options, config_name, also_known=("data_root",), read_at_top_level=_READ_AT_TOP_LEVEL)
    for key in options:
        _check_typed_key(cfg_dict, key, options)


def _check_fresh(work_dir: Path) -> None:
    """A run without --resume must not write over another run's checkpoints and exported networks."""
    found = sorted(p.name for pattern in ("last_checkpoint", "iter_*.pth", "epoch_*.pth", "*_best.pth", "*_final.pth")
                   for p in work_dir.glob(pattern)) if work_dir.is_dir() else []
    if found:
        raise ValueError(f"{work_dir} already holds a training run ({', '.join(found[:3])}"
                         f"{', ...' if len(found) > 3 else ''}); pass --resume to continue it, or choose another "
                         "--work-dir")


def prepare_config(config: str | os.PathLike, work_dir: str | None = None, resume: str | None = None,
                   cfg_options: dict | None = None, launcher: str = "none", amp: bool = True,
                   device: str | None = None):
    """Load and complete a training config (work dir, resume, launcher, AMP, available log backends).

    ``device`` (``cpu``, ``cuda``, ``cuda:N``; None: CUDA when a GPU is visible) decides AMP and the distributed
    backend; train under :func:`runner_device` with the same device.
    """
    import torch
    from mmengine.config import Config

    from uptflow.utils.devices import native_bf16, usable_device

    on_cuda = usable_device(device).type == "cuda" if device else torch.cuda.is_available()

    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"config not found: {path}")
    cfg = Config.fromfile(str(path))
    if cfg_options:
        _check_overrides(cfg.to_dict(), cfg_options, path.name)
        if "data_root" in cfg_options:
            # a top-level data_root is the configs' single knob: propagate it to every dataset that used it
            root = cfg_options["data_root"]
            for where in ("train_dataloader", "val_dataloader", "test_dataloader"):
                for _, ds in _datasets(cfg.get(where), where):
                    if ds.get("data_root") == cfg.get("data_root"):
                        ds["data_root"] = root
        cfg.merge_from_dict(cfg_options)
    for key in ("model", "train_dataloader", "train_cfg", "optim_wrapper"):
        if key not in cfg:
            raise KeyError(f"{path}: a training config needs '{key}'")
    for key in ("max_iters", "max_epochs", "val_interval"):
        value = cfg.train_cfg.get(key)
        # mmengine's loops take integral floats too (5e4)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1
                                  or value != int(value)):
            raise ValueError(f"train_cfg.{key}: expected a whole number >= 1, got {value!r}")
    cfg.work_dir = work_dir or cfg.get("work_dir") or str(Path("work_dirs") / path.stem)
    cfg.launcher = launcher
    if resume is None:
        _check_fresh(Path(cfg.work_dir))
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == "auto" else resume
        if resume != "auto" and not Path(resume).is_file():
            raise FileNotFoundError(f"checkpoint to resume from not found: {resume}")
    use_amp = amp and cfg.get("amp", False) and on_cuda
    wrapper = cfg.optim_wrapper.get("type")
    if use_amp and wrapper in ("SafeOptimWrapper", "SafeBf16OptimWrapper"):
        cfg.optim_wrapper.type = "SafeAmpOptimWrapper"
    elif not amp and wrapper == "SafeBf16OptimWrapper":
        cfg.optim_wrapper.type = "SafeOptimWrapper"
    elif not use_amp and wrapper == "SafeAmpOptimWrapper":
        # mmengine's AmpOptimWrapper needs a GPU: a GPU config runs on the CPU with bf16 autocast, or in fp32
        for key in ("dtype", "loss_scale", "use_fsdp"):
            cfg.optim_wrapper.pop(key, None)
        cfg.optim_wrapper.type = "SafeBf16OptimWrapper" if amp and cfg.get("amp", False) else "SafeOptimWrapper"
    if not on_cuda and cfg.optim_wrapper.type == "SafeBf16OptimWrapper" and not native_bf16("cpu"):
        # emulated bf16 ran the default model 18x slower than fp32 on an AVX2 CPU (docs/speed.md)
        warnings.warn("this CPU has no bf16 instructions (AVX512-BF16 or AMX): training in float32 instead of with "
                      "bf16 autocast", stacklevel=2)
        cfg.optim_wrapper.type = "SafeOptimWrapper"
    if not on_cuda and launcher != "none":
        # NCCL and mmengine's default DDP wrapper need CUDA; see uptflow.engine.ddp
        cfg.env_cfg = {**cfg.get("env_cfg", {}), "dist_cfg": dict(backend="gloo")}
        cfg.model_wrapper_cfg = cfg.get("model_wrapper_cfg") or dict(type="CPUDistributedDataParallel")
    vis = cfg.get("visualizer")
    if vis is not None and vis.get("vis_backends"):
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            vis.vis_backends = [b for b in vis.vis_backends if b.get("type") != "TensorboardVisBackend"]
    check_data_roots(cfg)
    return cfg


def build_runner(cfg):
    """Build the mmengine Runner for a prepared config (registers uptflow's modules first)."""
    from mmengine.device import get_device

    import uptflow.data  # noqa: F401 - registers datasets / transforms
    import uptflow.engine  # noqa: F401 - registers the wrapper, hooks, optimizer wrappers, metric, file backend
    from uptflow.engine.ddp import init_cpu_process_group
    from uptflow.engine.runner import UPTFlowRunner

    check_validation_set(cfg)
    if cfg.get("launcher", "none") == "pytorch" and get_device() != "cuda":
        init_cpu_process_group()
    return UPTFlowRunner.from_cfg(cfg)


def check_validation_set(cfg) -> None:
    """Load every validation sample through its pipeline once, before training: a file that cannot be read would
    otherwise stop the run only at its first validation, hours in. Errors name the file."""
    import copy
    import time

    from mmengine.logging import print_log
    from tqdm import tqdm

    from uptflow.registry import DATASETS

    loader = cfg.get("val_dataloader")
    if not loader or not loader.get("dataset") or cfg.get("val_cfg") is None or int(os.environ.get("RANK", "0")):
        return  # under torchrun the first process reads it for all
    start = time.perf_counter()
    dataset = DATASETS.build(copy.deepcopy(loader["dataset"]))
    # disable=None: hidden when stderr is not a terminal, as the training bar, so a redirected train.log keeps only
    # the summary line below
    for i in tqdm(range(len(dataset)), desc="checking the validation set", unit="sample", leave=False, disable=None):
        dataset[i]
    print_log(f"validation set: {len(dataset)} samples read in {time.perf_counter() - start:.1f} s",
              logger="current", level=logging.INFO)


@contextmanager
def runner_device(device: str | None, launcher: str = "none") -> Iterator[None]:
    """Build and train mmengine Runners on ``device`` (``cpu``, ``cuda``, ``cuda:N``) within the block.

    mmengine's Runner puts the model, resumed checkpoints and autocast on ``mmengine.device.get_device()``, a value
    fixed when mmengine is imported (CUDA whenever a GPU is visible) that no config key changes; by then torch has
    read ``CUDA_VISIBLE_DEVICES`` (the commands import mmengine to build their parsers), so hiding the GPU comes too
    late. The block sets that value, and for ``cuda:N`` torch's current GPU, and restores both after. None changes
    nothing (mmengine's own choice).
    """
    import mmengine.device.utils as mm_device
    import torch

    from uptflow.utils.devices import usable_device

    if device is None:
        yield
        return
    dev = usable_device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device}: training runs on cpu, cuda or cuda:N")
    if dev.index is not None and launcher != "none":
        raise ValueError(f"device {device}: under launcher {launcher} each process trains on the GPU of its "
                         "LOCAL_RANK; use cuda")
    mm_before = mm_device.DEVICE
    gpu_before = torch.cuda.current_device() if dev.index is not None else None
    mm_device.DEVICE = dev.type
    if dev.index is not None:
        torch.cuda.set_device(dev.index)
    try:
        yield
    finally:
        mm_device.DEVICE = mm_before
        if gpu_before is not None:
            torch.cuda.set_device(gpu_before)


def train(config: str | os.PathLike, work_dir: str | os.PathLike, cfg_options: dict | None = None,
          resume: str | None = "auto", amp: bool = True, device: str | None = None) -> Path:
    """Train from ``config`` in ``work_dir`` (resuming its latest checkpoint there) and return the exported network.

    ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (None: CUDA when a GPU is visible). The returned file is
    ``<work_dir>/uptflow_final.pth`` in uptflow's format, written by the config's ``ExportModelHook``;
    ``uptflow.load_model`` reads it.
    """
    cfg = prepare_config(config, work_dir=str(work_dir), resume=resume, cfg_options=cfg_options, amp=amp,
                         device=device)
    with runner_device(device):
        build_runner(cfg).train()
    hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") in ("ExportModelHook", "uptflow.ExportModelHook")]
    weights = Path(cfg.work_dir) / f"{(hooks[0].get('prefix') if hooks else None) or 'uptflow'}_final.pth"
    if not weights.is_file():
        raise FileNotFoundError(f"training with {config} finished without writing {weights}: the config needs "
                                "dict(type='ExportModelHook') in custom_hooks")
    return weights

"""Load and validate an evaluation-suite config (mmengine format) before any work starts.

The suite checks only its own top level here; every dataset entry is checked by building its registered reader
and every task by checking its settings against its registered benchmark's constructor (the constructors are the
schemas), so a new dataset type or task needs no change in this file. Every problem is reported as a
:class:`ConfigError` whose message starts with the offending key (``tasks.detection.detector.checkpoint: ...``).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmengine.config import Config

__all__ = ["ConfigError", "SuiteConfig", "load_config", "validate_config", "SUITE_DATASET_KEYS", "SUITE_TASK_KEYS"]

# keys of a dataset entry that belong to the suite (the rest are the reader's settings); "series" is set by the
# expansion of degrade=dict(levels=[...]) and names the family a darkness level belongs to
SUITE_DATASET_KEYS = ("type", "optional", "title", "paper_key", "enhancers", "series")
# keys of a task entry that belong to the suite (besides the benchmark's dataset keys)
SUITE_TASK_KEYS = ("type", "enhancers")
# the top level: key -> (allowed types, required)
_TOP: dict[str, tuple[tuple[type, ...], bool]] = {
    "suite": ((str,), True),
    "data_root": ((str, type(None)), False),
    "work_dir": ((str,), True),
    "cache_dir": ((str, type(None)), False),
    "seed": ((int,), False),
    "device": ((str,), False),
    "enhancers": ((list, tuple), True),
    "datasets": ((dict,), True),
    "tasks": ((dict,), True),
    "report": ((dict,), False),
    "custom_imports": ((dict,), False),
}
_ENHANCER: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), True),
    "label": ((str, type(None)), False),
    "weights": ((str, type(None)), False),
    "params": ((dict,), False),
    "train": ((dict, type(None)), False),
    "optional": ((bool,), False),
}
_TRAIN: dict[str, tuple[tuple[type, ...], bool]] = {"config": ((str,), True), "options": ((dict,), False)}
_REPORT: dict[str, tuple[tuple[type, ...], bool]] = {
    "html": ((bool,), False), "grid_images": ((int,), False), "grid_max_side": ((int,), False),
}
# a detector / segmenter entry in the format of earlier suite configs: weights -> checkpoint, params merged in
_LEGACY_MODEL_KEYS = ("weights", "params")


class ConfigError(ValueError):
    """A config problem; the message starts with the offending key."""


@dataclass
class SuiteConfig:
    """A validated suite config: plain settings with paths resolved, plus the readers and benchmarks it defines.

    ``cfg`` keeps the suite's view (enhancers, datasets and tasks as dicts); ``readers`` maps dataset names to
    their reader objects and ``benchmarks`` task names to benchmark objects.
    """

    cfg: dict[str, Any]
    source: str
    data_root: Path
    work_dir: Path
    cache_dir: Path | None
    readers: dict[str, Any]
    benchmarks: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.cfg[key]


def _check_table(obj: dict, table: dict, where: str) -> None:
    for key in obj:
        if key not in table:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(table))})".lstrip("."))
    for key, (types, required) in table.items():
        name = f"{where}.{key}".lstrip(".")
        if key not in obj:
            if required:
                raise ConfigError(f"{name}: required key is missing")
            continue
        value = obj[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(f"{name}: expected {want}, got {type(value).__name__} ({value!r})")


def _fill(value: Any, subs: dict[str, str]) -> Any:
    """Resolve ``{data_root}`` / ``{shared}`` / ``{repo}`` / ``{work_dir}`` placeholders in strings (recursively)."""
    if isinstance(value, str):
        try:
            return os.path.expanduser(value.format(**subs)) if "{" in value else value
        except KeyError as e:
            raise ConfigError(f"unknown placeholder {{{e.args[0]}}} in {value!r} (known: {', '.join(subs)})") from None
    if isinstance(value, dict):
        return {k: _fill(v, subs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v, subs) for v in value)
    return value


def _shown(path: str) -> str:
    """``path`` for an error message; a relative one with the folder it was resolved from (the current one)."""
    return path if Path(path).is_absolute() else f"{path} (relative to {Path.cwd()})"


def _default_data_root() -> Path:
    from uptflow.utils.paths import shared_root

    shared = shared_root()
    return shared / "data" if shared is not None else Path("data")


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    from uptflow.utils.devices import torch_device

    return torch_device("auto").type


def load_config(path: str | os.PathLike | None = None, data_root: str | None = None, work_dir: str | None = None,
                cache_dir: str | None = None, device: str | None = None,
                cfg_options: dict[str, Any] | None = None, limit: int | None = None) -> SuiteConfig:
    """Read a suite config (default ``configs/eval/quick.py``), apply command-line overrides and validate it.

    Args:
        path: mmengine Python config file.
        data_root / work_dir / cache_dir / device: override the config's keys of the same name.
        cfg_options: any other overrides, mmengine style (``{"tasks.detection.detector.conf": 0.25}``).
        limit: at most this many samples (images, frames) of every dataset: each dataset's own ``limit`` setting,
            lowered to it. Being a reader setting, it is part of every unit's identity, so limited results get
            their own units and never mix with full ones.
    """
    path = Path(path) if path is not None else Path(__file__).resolve().parents[2] / "configs" / "eval" / "quick.py"
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        cfg = Config.fromfile(str(path), import_custom_modules=False)  # imported by validate_config, with hints
    except Exception as e:  # noqa: BLE001 - any parse error is a config error naming the file
        raise ConfigError(f"cannot parse config {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                          ) from None
    for key, value in (cfg_options or {}).items():
        try:
            cfg.merge_from_dict({key: value})
        except (KeyError, IndexError, TypeError, ValueError) as e:  # e.g. a list index past the end
            why = str(e.args[0] if e.args else e).split(" [")[0]  # mmengine appends the whole list
            raise ConfigError(f"--cfg-options {key}: {why}") from None
    raw = cfg.to_dict()
    if data_root is not None and not Path(data_root).expanduser().is_dir():  # else every dataset is 'absent'
        raise ConfigError(f"--data-root {data_root}: not a folder")
    for key, value in (("data_root", data_root), ("work_dir", work_dir), ("cache_dir", cache_dir),
                       ("device", device)):
        if value is not None:
            raw[key] = value
    if limit is not None:
        raw["datasets"] = _limited(raw.get("datasets"), limit)
    return validate_config(raw, source=str(path))


def _limited(datasets: Any, limit: int) -> Any:
    """The dataset entries with ``limit`` set to at most ``limit`` (an entry's own smaller limit stays)."""
    if limit < 1:
        raise ConfigError(f"limit: must be >= 1, got {limit}")
    if not isinstance(datasets, dict):
        return datasets  # validate_config names the problem
    out = {}
    for name, d in datasets.items():
        if isinstance(d, dict):
            own = d.get("limit")
            if own is None or (isinstance(own, int) and own > limit):
                d = {**d, "limit": limit}
            # a smaller own limit stays, and a malformed one is left for the reader to report with its key
        out[name] = d
    return out


def _enhancers(raw: list, subs: dict[str, str]) -> list[dict[str, Any]]:
    from uptflow.enhancers import list_enhancers
    from uptflow.registry import ENHANCERS, SettingsError, check_settings, closest

    registered = set(list_enhancers())
    labels: set[str] = set()
    out = []
    for i, e in enumerate(raw):
        where = f"enhancers[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{where}: expected dict, got {type(e).__name__}")
        _check_table(e, _ENHANCER, where)
        if e["name"] not in registered:
            guess = closest(e["name"], registered) if isinstance(e["name"], str) else None
            raise ConfigError(f"{where}.name: unknown enhancer {e['name']!r} ("
                              + (f"did you mean {guess}? " if guess else "")
                              + f"registered: {', '.join(sorted(registered))})")
        e = {"label": e["name"], "weights": None, "params": {}, "train": None, "optional": False, **e}
        if e["label"] in labels:
            raise ConfigError(f"{where}.label: duplicate enhancer label {e['label']!r}")
        labels.add(e["label"])
        e["weights"] = _fill(e["weights"], subs)
        try:
            check_settings(ENHANCERS.get(e["name"]), e["params"], f"{where}.params")
        except SettingsError as err:
            raise ConfigError(str(err)) from None
        if e["train"] is not None:
            _check_table(e["train"], _TRAIN, f"{where}.train")
            if e["weights"] is not None:
                raise ConfigError(f"{where}.train: give either weights or train, not both")
            e["train"] = {"options": {}, **e["train"]}
            e["train"]["config"] = _fill(e["train"]["config"], subs)
            if not Path(e["train"]["config"]).is_file():
                raise ConfigError(f"{where}.train.config: file not found: {_shown(e['train']['config'])}")
        if e["weights"] is not None and not e["optional"] and not Path(e["weights"]).is_file():
            raise ConfigError(f"{where}.weights: file not found: {_shown(e['weights'])} (put the weights there, or set "
                              "optional=True to skip this enhancer when they are absent)")
        out.append(e)
    if not out:
        raise ConfigError("enhancers: the list is empty")
    return out


def _check_labels(labels_used: Any, labels: set[str], where: str) -> None:
    for j, label in enumerate(labels_used or ()):
        if label not in labels:
            raise ConfigError(f"{where}.enhancers[{j}]: no enhancer labelled {label!r} "
                              f"(labels: {', '.join(sorted(labels))})")


def _expand_levels(raw: dict) -> tuple[dict, dict[str, list[str]]]:
    """``degrade=dict(levels=[1, 3, 5])`` -> one dataset per darkness level (``<name>_level<L>``, titled
    ``<title>, darkness L``, series ``<title>``); returns the entries and ``name -> expanded names``."""
    out, expanded = {}, {}
    for name, d in raw.items():
        degrade = d.get("degrade") if isinstance(d, dict) else None
        levels = degrade.get("levels") if isinstance(degrade, dict) else None
        if levels is None:
            out[name] = d
            continue
        if set(d["degrade"]) != {"levels"} or not isinstance(levels, (list, tuple)) or not levels:
            raise ConfigError(f"datasets.{name}.degrade: levels=[...] takes a non-empty list and no other key")
        title = d.get("title", name)
        expanded[name] = [f"{name}_level{lv}" for lv in levels]
        for lv, new in zip(levels, expanded[name], strict=True):
            out[new] = {**d, "degrade": dict(level=lv), "title": f"{title}, darkness {lv}", "series": title}
    return out, expanded


def _datasets(raw: dict, subs: dict[str, str], labels: set[str]) -> tuple[dict[str, dict], dict[str, Any]]:
    from evaluation.datasets import build_reader, dataset_types
    from uptflow.registry import SettingsError

    types = dataset_types()
    datasets, readers = {}, {}
    for name, d in raw.items():
        where = f"datasets.{name}"
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: expected dict, got {type(d).__name__}")
        if d.get("type") not in types:
            raise ConfigError(f"{where}.type: unknown dataset type {d.get('type')!r} (known: {', '.join(types)})")
        d = {"optional": False, "title": name, "paper_key": None, "enhancers": None, "series": None,
             **_fill(d, subs)}
        _check_labels(d["enhancers"], labels, where)
        settings = {k: v for k, v in d.items() if k not in SUITE_DATASET_KEYS}
        try:
            reader = build_reader(dict(type=d["type"], **settings), where)
        except SettingsError as e:
            raise ConfigError(str(e)) from None
        except (ValueError, TypeError) as e:
            key = str(e).split(":", 1)[0]  # a message naming its setting ("every: must be >= 1") extends the path
            raise ConfigError(f"{where}.{e}" if key in settings else f"{where}: {e}") from None
        if not d["optional"] and not reader.present():
            raise ConfigError(f"{where}.root: not found: {reader.root} (expected layout: {types[d['type']]}; "
                              "set optional=True to skip the dataset when it is absent)")
        same = next((other for other, o in datasets.items() if o["title"] == d["title"]), None)
        if same is not None:
            raise ConfigError(f"{where}.title: {d['title']!r} is also the title of datasets.{same} (tables and report "
                              "grids are keyed by title)")
        datasets[name], readers[name] = d, reader
    return datasets, readers


def _model_spec(spec: dict, where: str, runs: bool) -> dict:
    """A detector / segmenter entry: legacy ``weights`` / ``params`` folded in, settings and files checked."""
    from evaluation.registry import MODELS
    from uptflow.registry import SettingsError, check_settings

    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"{where}: expected dict(type=..., checkpoint=..., ...)")
    spec = dict(spec)
    if "weights" in spec:
        if "checkpoint" in spec:
            raise ConfigError(f"{where}.weights: give checkpoint (weights is its old name), not both")
        spec["checkpoint"] = spec.pop("weights")
    spec.update(spec.pop("params", None) or {})
    MODELS.import_from_location()
    cls = MODELS.get(spec["type"])
    if cls is None:
        raise ConfigError(f"{where}.type: unknown model {spec['type']!r} (registered: "
                          f"{', '.join(sorted(MODELS.module_dict))})")
    try:
        check_settings(cls, {k: v for k, v in spec.items() if k != "type"}, where)
    except SettingsError as e:
        raise ConfigError(str(e)) from None
    ckpt, config = spec.get("checkpoint"), spec.get("config")
    # paths are only required when the task will run, i.e. when one of its datasets is present
    if runs and ckpt is not None and not str(ckpt).endswith((".yaml", ".yml")) and not Path(ckpt).is_file():
        raise ConfigError(f"{where}.checkpoint: file not found: {ckpt}")
    if runs and config is not None:
        from uptflow.utils.mmconfig import resolve_config_path

        try:
            resolve_config_path(config)
        except FileNotFoundError as e:
            raise ConfigError(f"{where}.config: {e}") from None
    return spec


def _expand_refs(t: dict, keys: Any, expanded: dict[str, list[str]]) -> dict:
    """A task entry with references to level-expanded datasets replaced by all their levels."""
    t = dict(t)
    for key in keys:
        value = t.get(key)
        if isinstance(value, str) and value in expanded:
            t.pop(key)
            plural = "datasets" if key == "dataset" else key
            t[plural] = [*(t.get(plural) or []), *expanded[value]]
        elif isinstance(value, (list, tuple)):
            t[key] = [n for v in value for n in expanded.get(v, [v])]
    return t


def _tasks(raw: dict, datasets: dict[str, dict], readers: dict[str, Any], labels: set[str], device: str,
           expanded: dict[str, list[str]]) -> tuple[dict[str, dict], dict[str, Any]]:
    from evaluation.registry import BENCHMARKS
    from uptflow.registry import SettingsError, check_settings

    BENCHMARKS.import_from_location()
    tasks, benchmarks = {}, {}
    for name, t in raw.items():
        where = f"tasks.{name}"
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: expected dict, got {type(t).__name__}")
        t = dict(t)
        bench_type = t.get("type", name)
        cls = BENCHMARKS.get(bench_type)
        if cls is None:
            raise ConfigError(f"{where}: unknown task {bench_type!r} (registered benchmarks: "
                              f"{', '.join(sorted(BENCHMARKS.module_dict))}; name one with type=...)")
        _check_labels(t.get("enhancers"), labels, where)
        t = _expand_refs(t, cls.dataset_keys, expanded)
        refs = list(cls.dataset_refs(t))
        for key, ref, accepted in refs:
            if ref not in datasets:
                raise ConfigError(f"{where}.{key}: dataset {ref!r} is not defined in datasets")
            if datasets[ref]["type"] not in accepted:
                raise ConfigError(f"{where}.{key}: dataset {ref!r} has type {datasets[ref]['type']!r}; this task "
                                  f"reads {', '.join(accepted)}")
        if not refs:
            raise ConfigError(f"{where}: names no dataset (keys: {', '.join(cls.dataset_keys)})")
        runs = any(readers[ref].present() for _, ref, _ in refs)
        settings = {k: v for k, v in t.items() if k not in SUITE_TASK_KEYS and k not in cls.dataset_keys}
        for key in ("detector", "segmenter"):
            if settings.get(key) is not None:
                settings[key] = _model_spec(settings[key], f"{where}.{key}", runs)
        try:
            check_settings(cls, settings, where)
            benchmarks[name] = cls(device=device, **settings)
        except SettingsError as e:
            raise ConfigError(str(e)) from None
        except (ValueError, TypeError, KeyError) as e:
            raise ConfigError(f"{where}.{str(e).strip(chr(39))}") from None
        tasks[name] = dict(t, type=bench_type)
    if not tasks:
        raise ConfigError("tasks: no task configured")
    return tasks, benchmarks


def _import_custom_modules(spec: dict[str, Any] | None, source: str) -> None:
    """Import the modules of ``custom_imports=dict(imports=[...])`` (a user's enhancer, dataset or task registers
    itself on import), from the config file's folder or ``sys.path``."""
    if spec is None:
        return
    _check_table(spec, {"imports": ((list, tuple, str), True), "allow_failed_imports": ((bool,), False)},
                 "custom_imports")
    names = [spec["imports"]] if isinstance(spec["imports"], str) else list(spec["imports"])
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise ConfigError(f"custom_imports.imports: expected module names, got {bad}")
    folder = Path(source).resolve().parent
    if Path(source).is_file() and str(folder) not in sys.path:
        sys.path.append(str(folder))  # after the installed packages, so a file there never shadows one
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            if spec.get("allow_failed_imports"):
                continue
            where = (f"; put {name}.py in {folder} or on PYTHONPATH" if e.name == name
                     else f" (while importing {name})")
            raise ConfigError(f"custom_imports.imports: cannot import {name!r}: {e}{where}") from e


def validate_config(raw: dict[str, Any], source: str = "<dict>") -> SuiteConfig:
    """Check the top level, every enhancer, dataset and task; return the resolved config with readers and
    benchmarks built (nothing heavy is loaded: models are built when a unit first needs them)."""
    from uptflow.utils.paths import shared_root

    # names starting with "_" are the config file's own helper variables (e.g. a shared list of labels)
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}
    _check_table(raw, _TOP, "")
    _import_custom_modules(raw.get("custom_imports"), source)
    shared = shared_root()
    root = Path(os.path.expanduser(raw["data_root"])) if raw.get("data_root") else _default_data_root()
    repo = Path(__file__).resolve().parents[2]
    subs = {"data_root": str(root), "shared": str(shared) if shared else "<shared data not found>", "repo": str(repo)}
    work_dir = Path(_fill(raw["work_dir"], subs))
    subs["work_dir"] = str(work_dir)
    # None: the enhanced-image cache's own default (~/.cache/uptflow/enhanced), shared by every run
    cache = Path(_fill(raw["cache_dir"], subs)) if raw.get("cache_dir") else None
    cfg: dict[str, Any] = {k: v for k, v in raw.items() if k in _TOP}
    cfg.setdefault("seed", 0)
    device = cfg.get("device") or "auto"
    cfg["device"] = default_device() if device == "auto" else device
    if cfg["device"].startswith("cuda") and default_device() != "cuda":
        raise ConfigError(f"device: {cfg['device']!r} asked for, but torch sees no GPU (use 'cpu' or 'auto')")
    cfg["report"] = {"html": True, "grid_images": 3, "grid_max_side": 256, **(raw.get("report") or {})}
    _check_table(cfg["report"], _REPORT, "report")
    for key, least in (("grid_images", 0), ("grid_max_side", 1)):
        if cfg["report"][key] < least:
            raise ConfigError(f"report.{key}: must be >= {least}, got {cfg['report'][key]}")
    cfg["enhancers"] = _enhancers(raw["enhancers"], subs)
    labels = {e["label"] for e in cfg["enhancers"]}
    if not isinstance(raw["datasets"], dict):
        raise ConfigError("datasets: expected dict")
    entries, expanded = _expand_levels(raw["datasets"])
    cfg["datasets"], readers = _datasets(entries, subs, labels)
    cfg["tasks"], benchmarks = _tasks(_fill(raw["tasks"], subs), cfg["datasets"], readers, labels, cfg["device"],
                                      expanded)
    return SuiteConfig(cfg=cfg, source=source, data_root=root, work_dir=work_dir, cache_dir=cache, readers=readers,
                       benchmarks=benchmarks)

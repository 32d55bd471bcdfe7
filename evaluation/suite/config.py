"""Load and validate an evaluation-suite config (mmengine format) before any work starts.

Every problem is reported as a :class:`ConfigError` naming the key (``tasks.detection.detector.weights``),
so a typo fails in a second instead of after an hour of enhancement. The schema is a few declarative
tables below; it is hand-written because mmengine configs carry no schema and a schema library
(pydantic, jsonschema) is not a dependency of the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmengine.config import Config

__all__ = ["ConfigError", "TASKS", "DATASET_TYPES", "SuiteConfig", "load_config", "validate_config", "dataset_present"]

# the task benchmarks in the order they run; `--only` takes a comma-separated subset
TASKS = ("enhancement", "detection", "segmentation", "traffic")

# dataset type -> the layout expected under its root (quoted in "skipped, put the dataset at ..." messages)
DATASET_TYPES: dict[str, str] = {
    "synthetic": "made by the project from package-shipped photos (nothing to put anywhere)",
    "paired": "sub-folders low/ + high/ (LOL), Low/ + Normal/ (LOL-v2) or input/ + gt/, matched by file stem",
    "unpaired": "<root>/*.{png,jpg,jpeg,bmp} (no ground truth)",
    "exdark": "ExDark/<Class>/<image>, ExDark_Annno/<Class>/<image>.txt, imageclasslist.txt "
              "(or the flat sample layout images/, annotations/)",
    "cityscapes": "leftImg8bit/<split>/<city>/*_leftImg8bit.png, gtFine/<split>/<city>/*_gtFine_labelTrainIds.png",
    "acdc": "rgb_anon/night/<split>/<seq>/*_rgb_anon.png, gt/night/<split>/<seq>/*_gt_labelTrainIds.png",
    "darkzurich": "rgb_anon/<split>/night/<seq>/*_rgb_anon.png, gt/<split>/night/<seq>/*_gt_labelTrainIds.png",
    "nightcity": "images/<split>/*.png, label/<split>/<stem>_labelIds.png",
    "frames": "a folder of frames (natural-sorted) or a video file",
}

_ANY_STR = (str,)
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_NUM = (int, float)

# key -> (allowed types, required); nested dicts are validated by their own table
_TOP: dict[str, tuple[tuple[type, ...], bool]] = {
    "suite": (_ANY_STR, True),
    "data_root": (_OPT_STR, False),
    "work_dir": (_ANY_STR, True),
    "cache_dir": (_OPT_STR, False),
    "seed": ((int,), False),
    "device": (_ANY_STR, False),
    "enhancers": ((list, tuple), True),
    "datasets": ((dict,), True),
    "tasks": ((dict,), True),
    "report": ((dict,), False),
}
_ENHANCER: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": (_ANY_STR, True),
    "label": (_OPT_STR, False),
    "weights": (_OPT_STR, False),
    "params": ((dict,), False),
    "train": ((dict, type(None)), False),
    "optional": ((bool,), False),
}
_TRAIN: dict[str, tuple[tuple[type, ...], bool]] = {
    "config": (_ANY_STR, True),
    "options": ((dict,), False),
}
_DATASET_COMMON: dict[str, tuple[tuple[type, ...], bool]] = {
    "type": (_ANY_STR, True),
    "root": (_OPT_STR, False),
    "optional": ((bool,), False),
    "limit": (_OPT_INT, False),
    "split": (_OPT_STR, False),
    "paper_key": (_OPT_STR, False),
    "title": (_OPT_STR, False),
    # restrict the enhancers run on this dataset (labels), e.g. keep a slow model off full-size images
    "enhancers": ((list, tuple, type(None)), False),
}
_SEG_DATASET = {"degrade": (_OPT_STR, False)}
_DATASET_EXTRA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "synthetic": {"num_images": ((int,), False), "size": ((int,), False), "seed": ((int,), False)},
    "paired": {"allow_unmatched": ((bool,), False)},
    "unpaired": {},
    "exdark": {"classlist": (_OPT_STR, False), "split_kind": (_ANY_STR, False)},
    "cityscapes": _SEG_DATASET, "acdc": _SEG_DATASET, "darkzurich": _SEG_DATASET, "nightcity": _SEG_DATASET,
    "frames": {"every": ((int,), False), "fps": ((int, float, type(None)), False)},
}
# every task may restrict itself to some enhancer labels with `enhancers=[...]` (default: all)
_TASK_ENH = {"enhancers": ((list, tuple, type(None)), False)}
_TASK: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "enhancement": {
        "paired": ((list, tuple), False), "unpaired": ((list, tuple), False),
        "metrics": ((list, tuple), False), "nr_metrics": ((list, tuple), False), **_TASK_ENH,
    },
    "detection": {"dataset": (_ANY_STR, True), "detector": ((dict,), True), **_TASK_ENH},
    "segmentation": {"dataset": (_ANY_STR, True), "segmenter": ((dict,), True), **_TASK_ENH},
    "traffic": {"datasets": ((list, tuple), True), "metrics": ((list, tuple), False),
                "detector": ((dict, type(None)), False), **_TASK_ENH},
}
# which dataset types each task can read
_TASK_DATASETS: dict[str, tuple[str, ...]] = {
    "enhancement.paired": ("synthetic", "paired"),
    "enhancement.unpaired": ("unpaired", "frames"),
    "detection": ("exdark",),
    "segmentation": ("cityscapes", "acdc", "darkzurich", "nightcity"),
    "traffic": ("frames", "unpaired"),
}
# detector / segmenter: a registered type, its config file (mmdet / mmseg) and weights; params go to the builder
# metric names a task config may ask for (the names used in the tables)
_METRIC_NAMES = {
    "enhancement": ("PSNR", "SSIM", "SSIM-G11", "PSNR-GTmean", "SSIM-GTmean", "SSIM-G11-GTmean", "LPIPS", "NIQE",
                    "BRISQUE", "LOE"),
    "traffic": ("LOE", "NIQE", "BRISQUE", "vehicles_per_frame", "persons_per_frame", "flicker_ratio", "warp_ratio"),
}
_MODEL_SPEC: dict[str, tuple[tuple[type, ...], bool]] = {
    "type": (_ANY_STR, True),
    "config": (_OPT_STR, False),
    "weights": (_OPT_STR, False),
    "params": ((dict,), False),
}
_REPORT: dict[str, tuple[tuple[type, ...], bool]] = {
    "html": ((bool,), False),
    "grid_images": ((int,), False),
    "grid_max_side": ((int,), False),
}


class ConfigError(ValueError):
    """A config problem; the message starts with the offending key."""


@dataclass
class SuiteConfig:
    """A validated suite config with paths resolved (``{data_root}``, ``{shared}``, ``{repo}``, ``{work_dir}``)."""

    cfg: dict[str, Any]
    source: str
    data_root: Path
    work_dir: Path
    cache_dir: Path | None

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
        # bool is an int in Python; refuse it where a number is meant
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(f"{name}: expected {want}, got {type(value).__name__} ({value!r})")


def _fill(value: str | None, subs: dict[str, str]) -> str | None:
    if value is None:
        return None
    try:
        return os.path.expanduser(value.format(**subs))
    except KeyError as e:
        raise ConfigError(f"unknown placeholder {{{e.args[0]}}} in {value!r} (known: {', '.join(subs)})") from None


def dataset_present(d: dict[str, Any]) -> bool:
    """Whether a (validated) dataset entry's data is there: synthetic data always is."""
    if d["type"] == "synthetic":
        return True
    return Path(d["root"]).exists() if d["type"] == "frames" else Path(d["root"]).is_dir()


def _registered(registry: str) -> list[str] | None:
    """Names in a uptflow registry after importing its lazy locations; None when they cannot be imported."""
    import uptflow.registry as reg

    r = getattr(reg, registry)
    try:
        r.import_from_location()
    except Exception:  # noqa: BLE001 - a missing optional module is reported when the task runs
        return None
    return sorted(r.module_dict)


def _default_data_root() -> Path:
    from uptflow.utils.paths import shared_root

    shared = shared_root()
    return shared / "data" if shared is not None else Path("data")


def load_config(path: str | os.PathLike | None = None, data_root: str | None = None,
                work_dir: str | None = None, cache_dir: str | None = None) -> SuiteConfig:
    """Read a suite config (default ``configs/eval/quick.py``), apply command-line overrides and validate it.

    Args:
        path: mmengine Python config file.
        data_root: overrides the config's ``data_root``.
        work_dir: overrides the config's ``work_dir``.
        cache_dir: overrides the config's ``cache_dir`` (enhanced-image cache shared by runs).
    """
    path = Path(path) if path is not None else Path(__file__).resolve().parents[2] / "configs" / "eval" / "quick.py"
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = Config.fromfile(str(path)).to_dict()
    except Exception as e:  # noqa: BLE001 - any parse error is a config error naming the file
        raise ConfigError(f"cannot parse config {path}: {e}") from e
    if data_root is not None:
        raw["data_root"] = data_root
    if work_dir is not None:
        raw["work_dir"] = work_dir
    if cache_dir is not None:
        raw["cache_dir"] = cache_dir
    return validate_config(raw, source=str(path))


def validate_config(raw: dict[str, Any], source: str = "<dict>") -> SuiteConfig:
    """Check every key, type, referenced dataset, enhancer name and required path; return the resolved config."""
    from uptflow.enhancers import list_enhancers
    from uptflow.utils.paths import shared_root

    # names starting with "_" are the config file's own helper variables (e.g. a shared list of labels)
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}
    _check_table(raw, _TOP, "")
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
    cfg.setdefault("device", "cpu")
    cfg["report"] = {"html": True, "grid_images": 3, "grid_max_side": 256, **(raw.get("report") or {})}
    _check_table(cfg["report"], _REPORT, "report")

    registered = set(list_enhancers())
    labels: set[str] = set()
    enhancers = []
    for i, e in enumerate(raw["enhancers"]):
        where = f"enhancers[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{where}: expected dict, got {type(e).__name__}")
        _check_table(e, _ENHANCER, where)
        if e["name"] not in registered:
            raise ConfigError(f"{where}.name: unknown enhancer {e['name']!r} "
                              f"(registered: {', '.join(sorted(registered))})")
        e = {"label": e["name"], "weights": None, "params": {}, "train": None, "optional": False, **e}
        if e["label"] in labels:
            raise ConfigError(f"{where}.label: duplicate enhancer label {e['label']!r}")
        labels.add(e["label"])
        e["weights"] = _fill(e["weights"], subs)
        if e["train"] is not None:
            _check_table(e["train"], _TRAIN, f"{where}.train")
            if e["weights"] is not None:
                raise ConfigError(f"{where}.train: give either weights or train, not both")
            e["train"] = {"options": {}, **e["train"]}
            e["train"]["config"] = _fill(e["train"]["config"], subs)
            if not Path(e["train"]["config"]).is_file():
                raise ConfigError(f"{where}.train.config: file not found: {e['train']['config']}")
        if e["weights"] is not None and not e["optional"] and not Path(e["weights"]).is_file():
            raise ConfigError(f"{where}.weights: file not found: {e['weights']} (put the weights there, "
                              "or set optional=True to skip this enhancer when they are absent)")
        enhancers.append(e)
    if not enhancers:
        raise ConfigError("enhancers: the list is empty")
    cfg["enhancers"] = enhancers

    datasets = {}
    for name, d in raw["datasets"].items():
        where = f"datasets.{name}"
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: expected dict, got {type(d).__name__}")
        dtype = d.get("type")
        if dtype not in _DATASET_EXTRA:
            raise ConfigError(f"{where}.type: unknown dataset type {dtype!r} (known: {', '.join(DATASET_TYPES)})")
        _check_table(d, {**_DATASET_COMMON, **_DATASET_EXTRA[dtype]}, where)
        d = {"optional": False, "limit": None, "split": None, "paper_key": None, "title": name, **d}
        if dtype != "synthetic":
            if not d.get("root"):
                raise ConfigError(f"{where}.root: required for dataset type {dtype!r}")
            d["root"] = _fill(d["root"], subs)
            exists = Path(d["root"]).exists() if dtype == "frames" else Path(d["root"]).is_dir()
            if not d["optional"] and not exists:
                raise ConfigError(f"{where}.root: not found: {d['root']} (expected layout: {DATASET_TYPES[dtype]}; "
                                  "set optional=True to skip the dataset when it is absent)")
        for j, label in enumerate(d.get("enhancers") or ()):
            if label not in labels:
                raise ConfigError(f"{where}.enhancers[{j}]: no enhancer labelled {label!r} "
                                  f"(labels: {', '.join(sorted(labels))})")
        datasets[name] = d
    cfg["datasets"] = datasets

    tasks = {}
    for name, t in raw["tasks"].items():
        where = f"tasks.{name}"
        if name not in _TASK:
            raise ConfigError(f"{where}: unknown task (known: {', '.join(TASKS)})")
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: expected dict, got {type(t).__name__}")
        _check_table(t, _TASK[name], where)
        t = dict(t)
        for key, role in (("paired", "enhancement.paired"), ("unpaired", "enhancement.unpaired"),
                          ("dataset", name), ("datasets", name)):
            if key not in t:
                continue
            refs = [t[key]] if isinstance(t[key], str) else list(t[key])
            for j, ref in enumerate(refs):
                at = f"{where}.{key}" + (f"[{j}]" if not isinstance(t[key], str) else "")
                if ref not in datasets:
                    raise ConfigError(f"{at}: dataset {ref!r} is not defined in datasets")
                if datasets[ref]["type"] not in _TASK_DATASETS[role]:
                    raise ConfigError(f"{at}: dataset {ref!r} has type {datasets[ref]['type']!r}; "
                                      f"this task reads {', '.join(_TASK_DATASETS[role])}")
        refs = [t["dataset"]] if "dataset" in t else list(t.get("datasets", ()))
        runs = any(dataset_present(datasets[r]) for r in refs)
        for key, registry in (("detector", "DETECTORS"), ("segmenter", "SEGMENTERS")):
            if t.get(key) is None:
                continue
            _check_table(t[key], _MODEL_SPEC, f"{where}.{key}")
            spec = {"config": None, "weights": None, "params": {}, **t[key]}
            known = _registered(registry)
            if known is not None and spec["type"] not in known:
                raise ConfigError(f"{where}.{key}.type: unknown {key} {spec['type']!r} "
                                  f"(registered: {', '.join(known)})")
            for path_key in ("config", "weights"):
                spec[path_key] = _fill(spec[path_key], subs)
                # paths are only required when the task will run, i.e. when one of its datasets is present
                if spec[path_key] is not None and runs and not Path(spec[path_key]).is_file():
                    raise ConfigError(f"{where}.{key}.{path_key}: file not found: {spec[path_key]}")
            t[key] = spec
        for j, label in enumerate(t.get("enhancers") or ()):
            if label not in labels:
                raise ConfigError(f"{where}.enhancers[{j}]: no enhancer labelled {label!r} "
                                  f"(labels: {', '.join(sorted(labels))})")
        for key in ("metrics", "nr_metrics"):
            known = _METRIC_NAMES.get(name, ())
            for j, m in enumerate(t.get(key, ())):
                if not isinstance(m, str):
                    raise ConfigError(f"{where}.{key}[{j}]: expected str, got {type(m).__name__}")
                if m not in known:
                    raise ConfigError(f"{where}.{key}[{j}]: unknown metric {m!r} (known: {', '.join(known)})")
        tasks[name] = t
    cfg["tasks"] = tasks
    return SuiteConfig(cfg=cfg, source=source, data_root=root, work_dir=work_dir, cache_dir=cache)

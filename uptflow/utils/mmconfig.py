"""Load mmengine configs from a file or from an installed package (``mmdet::yolo/x.py``), with overrides.

mmengine resolves ``package::`` paths only inside ``_base_``; commands of this project accept them wherever a
config is taken, as mmdet's and mmseg's users write them. (Packaged bases need ``pkg_resources``, which the ``mm``
extra keeps by pinning ``setuptools<81``.)
"""

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CONFIG_SUFFIXES", "load_config", "resolve_config_path", "config_mistakes", "check_cfg_options",
           "value_at"]

CONFIG_SUFFIXES = (".py", ".json", ".yaml", ".yml")  # what mmengine's Config.fromfile reads
# what mmengine's Runner reads from its config besides its constructor's settings (runner.py, self.cfg.get)
_RUNNER_CFG_READS = ("model_wrapper_cfg", "find_unused_parameters", "sync_bn", "compile", "activation_checkpointing",
                     "efficient_conv_bn_eval")
_MISSING = object()  # value_at's answer for a key the config does not have
# top-level variables of an mmdet / mmseg config that inference reads itself: mmseg's inference_model builds
# cfg.test_pipeline; mmdet runs the test loader's copy, but uptflow's pipeline_enhancers reads test_pipeline too and
# refuses a config whose two enhance differently, so an override of one is caught there
_INFERENCE_VARIABLES = ("test_pipeline",)


def _package_dir(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"package {package!r} is not installed (needed for '{package}::' configs)")
    return os.path.dirname(spec.origin)


def resolve_config_path(path: str | os.PathLike) -> str:
    """A config file path, also for mmengine's package form ``mmdet::yolo/x.py`` (the file the wheel ships under
    ``.mim/configs``); raises FileNotFoundError naming what was looked for."""
    text = str(path)
    if "::" in text:
        package, _, rel = text.partition("::")
        full = os.path.join(_package_dir(package), ".mim", "configs", rel)
        if not os.path.isfile(full):
            raise FileNotFoundError(f"{text}: the {package} package has no config {rel} (looked at {full})")
        return full
    if not os.path.isfile(os.path.expanduser(text)):
        raise FileNotFoundError(f"config file not found: {text}")
    return os.path.expanduser(text)


def load_config(path: str | os.PathLike, cfg_options: dict[str, Any] | None = None, for_inference: bool = False):
    """``mmengine.Config.fromfile`` of a file or a ``package::`` config, plus optional overrides (checked, see
    :func:`check_cfg_options`; ``for_inference``: the config builds an mmdet / mmseg model that predicts); a file
    that is not a readable config raises ValueError naming it (mmengine's OSError / SyntaxError would end in a
    traceback)."""
    from mmengine.config import Config

    full = resolve_config_path(path)
    if os.path.splitext(full)[1] not in CONFIG_SUFFIXES:
        raise ValueError(f"{path}: not a config file (mmengine reads {', '.join(CONFIG_SUFFIXES)})")
    try:
        cfg = Config.fromfile(full)
    except SyntaxError as err:
        raise ValueError(f"{path} (or a _base_ file of it): syntax error in line {err.lineno}: {err.msg}") from err
    if cfg_options:
        check_cfg_options(cfg.to_dict(), cfg_options, os.path.basename(full),
                          read_at_top_level=("custom_imports", *(_INFERENCE_VARIABLES if for_inference else ())))
        cfg.merge_from_dict(cfg_options)
    return cfg


def _runner_keys() -> set[str]:
    """The settings mmengine's Runner takes from a config (every other top-level key is a variable of the file)."""
    import inspect

    from mmengine.runner import Runner

    return set(inspect.signature(Runner.__init__).parameters) | set(_RUNNER_CFG_READS)


def value_at(node: Any, key: str) -> Any:
    """The config value at dotted ``key`` (list items by index), or a sentinel object when it has none."""
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _nested_uses(node: Any, match: Callable[[Any, Any], bool], where: str = "") -> list[str]:
    """The ``--cfg-options`` paths (list items by index) of the entries ``(key, value)`` below the top level of a
    config dict for which ``match(key, value)`` holds (not looking inside a match)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    found: list[str] = []
    for k, v in items:
        path = f"{where}.{k}" if where else str(k)
        found += [path] if where and match(k, v) else _nested_uses(v, match, path)
    return found


def _variable_override(cfg_dict: dict, key: str, runner: set[str], read_at_top_level: tuple[str, ...]) -> str | None:
    """Why ``--cfg-options key`` would change nothing, when ``key`` lies in a top-level variable of the config file
    (``crop_size``, ``train_pipeline.1.crop_size``): mmengine copied the variable's value where it was used when
    the file was read, and the Runner (or the inference API) reads only its own settings and ``read_at_top_level``.
    None: ``key`` is not in such a variable."""
    top, _, rest = key.partition(".")
    if top in runner or top not in cfg_dict or top in read_at_top_level:
        return None
    used = {k: v for k, v in cfg_dict.items() if k in runner}
    value = cfg_dict[top]
    if isinstance(value, (dict, list, tuple)):  # a structure (a pipeline): where equal ones are
        found = [f"{w}.{rest}" if rest else w for w in _nested_uses(used, lambda k, v: v == value)]
    else:  # a scalar: the settings of that name and value
        found = [] if rest else _nested_uses(used, lambda k, v: k == top and v == value)
    if not found:
        return f"set the settings the file computed from '{top}' instead (none of the Runner's is named so)"
    return f"set {' / '.join(found)} instead (and any other setting the file computed from '{top}')"


def check_cfg_options(cfg_dict: dict, options: dict[str, Any], config_name: str, also_known: tuple[str, ...] = (),
                      read_at_top_level: tuple[str, ...] = ("custom_imports",)) -> None:
    """Refuse ``--cfg-options`` that a run would silently ignore or fail on later: a top-level key that neither the
    config nor mmengine's Runner knows; a key inside a variable of the file (``crop_size``, ``test_pipeline.1.scale``
    where the test loader holds a copy), which mmengine resolved when it read the file, unless the code reads that
    variable itself (``read_at_top_level``: mmseg's ``inference_model`` reads ``test_pipeline``); a new key beside a
    near-identical one in an entry without a ``type`` (whose reader would never look at it; entries with a ``type``
    are checked by their class, and mappings of names such as ``custom_keys`` take any); and a value of another kind
    than the one it replaces (text for a number or a flag)."""
    from uptflow.registry import closest

    runner = _runner_keys()
    known = set(cfg_dict) | runner | set(also_known)
    for key, value in options.items():
        parts = key.split(".")
        if parts[0] not in known:
            guess = closest(parts[0], known)
            raise ValueError(f"--cfg-options {key}: {config_name} has no '{parts[0]}' and mmengine's Runner takes no "
                             "such setting" + (f" (did you mean {guess}?)" if guess else ""))
        why = _variable_override(cfg_dict, key, runner, (*also_known, *read_at_top_level))
        if why is not None:
            raise ValueError(f"--cfg-options {key}: in a variable of {config_name}, already used when the file was "
                             f"read, so setting it changes nothing; {why}")
        parent = value_at(cfg_dict, ".".join(parts[:-1])) if len(parts) > 1 else _MISSING
        names_only = isinstance(parent, dict) and parent and all(isinstance(v, dict) for v in parent.values())
        if isinstance(parent, dict) and "type" not in parent and not names_only and parts[-1] not in parent \
                and (guess := closest(parts[-1], [str(k) for k in parent])):
            raise ValueError(f"--cfg-options {key}: {config_name} has no '{parts[-1]}' in {'.'.join(parts[:-1])} "
                             f"(did you mean {guess}?)")
        old = value_at(cfg_dict, key)
        if old is _MISSING or old is None or value is None:  # None: mmengine's "unset" (e.g. randomness.seed)
            continue
        number = isinstance(old, (int, float)) and not isinstance(old, bool)
        if (number and (isinstance(value, bool) or not isinstance(value, (int, float)))) or \
                (isinstance(old, bool) and not isinstance(value, bool)):
            kind = "a number" if number else "True or False"
            raise ValueError(f"--cfg-options {key}={value!r}: expected {kind} like the config's {old!r}")


@contextmanager
def config_mistakes(config: str | os.PathLike) -> Iterator[None]:
    """While building a model from ``config``: a setting its class does not take (mmengine's builders raise
    TypeError, e.g. after ``--cfg-options model.nosuch=1``) becomes a ValueError naming the config."""
    try:
        yield
    except TypeError as err:
        if "keyword argument" not in str(err) and "positional argument" not in str(err):
            raise  # not a constructor called with the config's settings: a bug, keep its traceback
        raise ValueError(f"{config}: {err}") from err

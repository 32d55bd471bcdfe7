"""Load mmengine configs from a file or from an installed package (``mmdet::yolo/x.py``), with overrides.

mmengine resolves ``package::`` paths only inside ``_base_``; commands of this project accept them wherever a
config is taken, as mmdet's and mmseg's users write them. (Packaged bases need ``pkg_resources``, which the ``mm``
extra keeps by pinning ``setuptools<81``.)
"""

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CONFIG_SUFFIXES", "load_config", "resolve_config_path", "config_mistakes"]

CONFIG_SUFFIXES = (".py", ".json", ".yaml", ".yml")  # what mmengine's Config.fromfile reads


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


def load_config(path: str | os.PathLike, cfg_options: dict[str, Any] | None = None):
    """``mmengine.Config.fromfile`` of a file or a ``package::`` config, plus optional overrides; a file that is not
    a readable config raises ValueError naming it (mmengine's OSError / SyntaxError would end in a traceback)."""
    from mmengine.config import Config

    full = resolve_config_path(path)
    if os.path.splitext(full)[1] not in CONFIG_SUFFIXES:
        raise ValueError(f"{path}: not a config file (mmengine reads {', '.join(CONFIG_SUFFIXES)})")
    try:
        cfg = Config.fromfile(full)
    except SyntaxError as err:
        raise ValueError(f"{path} (or a _base_ file of it): syntax error in line {err.lineno}: {err.msg}") from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


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

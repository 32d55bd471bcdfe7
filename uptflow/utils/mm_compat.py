"""Let mmengine 0.10.7 resolve ``mmdet::`` / ``mmseg::`` config bases when setuptools no longer ships pkg_resources.

mmengine's ``is_installed`` / ``get_installed_path`` import ``pkg_resources``, which setuptools >= 81 removed;
``Config.fromfile`` then fails on any config inheriting a packaged config (``_base_ = "mmseg::..."``). This
module swaps in importlib-based equivalents where pkg_resources is missing, and does nothing otherwise.
"""

import importlib.metadata
import importlib.util
import os
from typing import Any

__all__ = ["patch_mmengine_package_utils", "load_config"]


def _module_name(package: str) -> str:
    """Top-level module of a distribution (``mmsegmentation`` -> ``mmseg``); the name itself if unknown."""
    try:
        top = importlib.metadata.distribution(package).read_text("top_level.txt")
    except importlib.metadata.PackageNotFoundError:
        top = None
    return top.split()[0] if top and top.split() else package.replace("-", "_")


def _is_installed(package: str) -> bool:
    spec = importlib.util.find_spec(_module_name(package))
    return spec is not None and spec.origin is not None


def _get_installed_path(package: str) -> str:
    spec = importlib.util.find_spec(_module_name(package))
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"package {package!r} is not installed (needed to resolve '{package}::' configs)")
    return os.path.dirname(spec.origin)


def patch_mmengine_package_utils() -> None:
    """Replace mmengine's pkg_resources-based package lookups by importlib ones when pkg_resources is absent."""
    try:
        import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    import mmengine.config.config as config_mod
    import mmengine.utils as utils_mod
    import mmengine.utils.package_utils as pkg_mod

    for mod in (config_mod, utils_mod, pkg_mod):
        if hasattr(mod, "is_installed"):
            mod.is_installed = _is_installed
        if hasattr(mod, "get_installed_path"):
            mod.get_installed_path = _get_installed_path


def load_config(path: str | os.PathLike, cfg_options: dict[str, Any] | None = None):
    """``mmengine.Config.fromfile`` with packaged-config bases working, plus optional overrides."""
    from mmengine.config import Config

    patch_mmengine_package_utils()
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg

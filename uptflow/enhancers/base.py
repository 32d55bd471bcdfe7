"""The enhancer protocol shared by UPT-Flow and every baseline, and the registry-backed builder."""

import functools
import hashlib
import importlib
import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from uptflow.registry import ENHANCERS, SettingsError, build_checked
from uptflow.utils.devices import usable_device
from uptflow.utils.io import file_sha256, imread_rgb, pil_to_rgb, to_rgb_uint8

__all__ = ["Enhancer", "build_enhancer", "code_sha256", "code_sources", "list_enhancers"]


class Enhancer:
    """Base class: subclasses implement ``enhance_tensor`` ([B,3,H,W] float in [0,1] -> same).

    The protocol every model wrapper of the project shares (enhancers, detectors, segmenters): ``__call__`` on
    one image and ``describe()``, the identity of what it computes. Here ``__call__`` accepts uint8 HxWx3 RGB
    arrays, PIL images or paths and returns uint8 HxWx3 RGB, without autograd.
    """

    name: str = "enhancer"  # the registry name when a subclass leaves it (build_enhancer)
    weights: str | os.PathLike | None = None  # the weights file, for enhancers that have one
    takes_weights: bool = True  # whether a weights file can be given at all (False: training-free methods)
    # constructor settings params() need not list: they never change the output, or params() records their effect
    # itself where there is one; every other setting a build gives must be a key of params()
    params_exempt: ClassVar[tuple[str, ...]] = ()
    # modules / packages whose code computes the output besides the modules of the class and its bases, added up
    # along the bases (part of describe()); image decoding decides the pixels every enhancer sees
    code_packages: ClassVar[tuple[str, ...]] = ("uptflow.utils.io",)

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = usable_device(device)

    @classmethod
    def default_weights(cls) -> str | os.PathLike | None:
        """The weights file loaded when none is given (None: the enhancer needs one, or takes none)."""
        return None

    def params(self) -> dict[str, Any]:
        """Return the settings that change the output (used in cache keys and protocol lines)."""
        return {}

    def output_variant(self, height: int, width: int) -> str | None:
        """How this enhancer will process an image of this size, where that changes the output beyond ``params()``
        (e.g. tiles chosen from the memory available now); None when it does not. Part of cache keys."""
        return None

    def describe(self) -> dict[str, Any]:
        """What identifies the outputs: name, params (weights aside), weights file and its SHA-256, and the SHA-256
        of the code that computes them (:func:`code_sha256`), so an edited enhancer never reuses older outputs."""
        w = self.weights
        return {"name": self.name, "params": {k: v for k, v in self.params().items() if k != "weights"},
                "weights": str(w) if w is not None else None, "weights_sha256": self.weights_sha256(),
                "code_sha256": code_sha256(type(self))}

    def weights_sha256(self) -> str | None:
        """SHA-256 of ``self.weights`` as it was when first asked; loaders ask right after reading the file (and
        build_enhancer does), so a file replaced later never lends its checksum to the network already in memory."""
        w = self.weights
        if w is None:
            return None
        if getattr(self, "_weights_checked", (None,))[0] != str(w):
            self._weights_checked = (str(w), file_sha256(w))
        return self._weights_checked[1]

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance a batch [B,3,H,W] of float RGB in [0,1]; return the same shape and range."""
        raise NotImplementedError

    def __call__(self, img: Any) -> np.ndarray:
        """Enhance one image (uint8 HxWx3 RGB array, PIL image or path) and return uint8 HxWx3 RGB."""
        arr = self._as_uint8(img)
        if not arr.flags.writeable:  # np.asarray(PIL image) is read-only, which torch.from_numpy warns about
            arr = arr.copy()
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).to(self.device, torch.float32) / 255.0
        with torch.inference_mode():
            y = self.enhance_tensor(x)
        if y.shape != x.shape:
            raise RuntimeError(f"{self.name}: output shape {tuple(y.shape)} differs from input {tuple(x.shape)}")
        return (y[0].clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()

    def enhance_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Enhance same-size uint8 HxWx3 RGB images in one batched pass (video frames, folders of one size)."""
        arrs = [self._as_uint8(im) for im in images]
        if not arrs:
            return []
        shapes = sorted({a.shape for a in arrs})
        if len(shapes) != 1:
            raise ValueError(f"{self.name}: enhance_batch needs images of one size, got {shapes}")
        x = torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).to(self.device, torch.float32) / 255.0
        with torch.inference_mode():
            y = self.enhance_tensor(x)
        out = (y.clamp(0, 1) * 255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        return list(out)

    @staticmethod
    def _as_uint8(img: Any) -> np.ndarray:
        if isinstance(img, (str, os.PathLike)):
            return imread_rgb(img)
        if isinstance(img, Image.Image):
            return pil_to_rgb(img)
        if isinstance(img, np.ndarray):
            return to_rgb_uint8(img)
        raise TypeError(f"expected a path, PIL image or numpy array, got {type(img).__name__}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


@functools.cache
def code_sha256(cls: type) -> str:
    """SHA-256 (16 hex digits) of :func:`code_sources`: the code that turns an input into the output."""
    sources = code_sources(cls)
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name])
    return h.hexdigest()[:16]


def code_sources(cls: type) -> dict[str, bytes]:
    """``{module or package-relative file: source}`` of ``cls``'s module, its enhancer bases' modules and every
    ``code_packages`` entry along its bases (named by module, not path, so the hash is the same on every machine)."""
    sources: dict[str, bytes] = {}
    for c in cls.__mro__:
        if isinstance(c, type) and issubclass(c, Enhancer):
            sources.update(_class_source(c))
            for name in vars(c).get("code_packages", ()):
                module = importlib.import_module(name)
                roots = getattr(module, "__path__", None)
                if roots is None:  # a module
                    sources[name] = Path(inspect.getfile(module)).read_bytes()
                for root in roots or ():
                    sources.update((f"{name}/{p.relative_to(root).as_posix()}", p.read_bytes())
                                   for p in Path(root).rglob("*.py"))
    return sources


def _class_source(cls: type) -> dict[str, bytes]:
    """``{module: bytes}`` of the module defining ``cls``; for a class typed into a notebook or a REPL, whose file
    is gone, its own source as the interpreter kept it (or, failing that, its name)."""
    try:
        return {cls.__module__: Path(inspect.getfile(cls)).read_bytes()}
    except (OSError, TypeError):
        try:
            return {f"<{cls.__qualname__}>": inspect.getsource(cls).encode()}
        except (OSError, TypeError):
            return {f"<{cls.__qualname__}>": cls.__qualname__.encode()}


def _check_identity(enhancer: Enhancer, registered: str, settings: Mapping[str, Any], weights: Any) -> None:
    """Make sure the enhancer's identity covers what it was built with, so cached images and results made with
    other settings, weights or by another enhancer are never taken for its own."""
    where = f"enhancer {registered!r} ({type(enhancer).__name__})"
    registered = ENHANCERS.split_scope_key(registered)[1]  # "uptflow.gamma" is gamma
    if enhancer.name == Enhancer.name:
        enhancer.name = registered
    elif enhancer.name != registered:
        raise ValueError(f"{where}: its name {enhancer.name!r} differs from its registry name {registered!r}; the "
                         "enhanced-image cache and the suite's results are keyed by the name, so it must be the same")
    ident = enhancer.describe()
    missing = [k for k in settings if k not in ("device", "weights", *enhancer.params_exempt)
               and k not in ident["params"]]
    if missing:
        raise ValueError(f"{where}: the setting(s) {missing} are not in its params(); return them from params() "
                         "(they key its cached images and results), or list them in params_exempt if they never "
                         "change the output")
    if weights is not None and ident["weights_sha256"] is None:
        raise ValueError(f"{where}: built with weights {weights} but its describe() has no weights checksum; store "
                         "the weights file's path as self.weights")


def list_enhancers() -> list[str]:
    """Return the names of all registered enhancers."""
    ENHANCERS.import_from_location()  # registers the built-in enhancers (see uptflow.registry)
    return sorted(ENHANCERS.module_dict)


def build_enhancer(spec: "str | Mapping[str, Any] | Enhancer", weights: str | os.PathLike | None = None,
                   device: str | torch.device = "cpu", cache: bool = False, cache_dir: str | os.PathLike | None = None,
                   **params: Any) -> Any:
    """Build an enhancer, optionally behind the on-disk cache of enhanced images; the one way to make one.

    Args:
        spec: a registered name (``"zero_dce"``), ``dict(type=name, weights=..., **params)`` or a built Enhancer.
        weights: weights file (overrides the dict's).
        device: torch device of learned enhancers.
        cache: wrap it in :class:`~uptflow.enhancers.cache.EnhancedImageCache` (enhanced images stored and reused).
        cache_dir: cache root (implies ``cache``); default ``~/.cache/uptflow/enhanced``.
        **params: constructor settings; an unknown one raises naming it.

    Raises:
        uptflow.registry.SettingsError: unknown enhancer name or setting, or a setting of the wrong type.
    """
    if isinstance(spec, Mapping):
        params = {**{k: v for k, v in spec.items() if k not in ("type", "weights")}, **params}
        weights = weights if weights is not None else spec.get("weights")
        spec = spec.get("type")
    if spec == "none":  # the evaluation commands' name for the input as is, which is no enhancer object
        raise SettingsError("enhancer 'none' is the evaluation commands' unenhanced input, not an enhancer: use "
                            "'identity' (the input unchanged, with an identity record), or leave the step out")
    if isinstance(spec, str):
        cfg: dict[str, Any] = dict(type=spec, device=device, **params)
        if weights is not None:
            cfg["weights"] = str(weights)
        enhancer = build_checked(ENHANCERS, cfg, spec, type_key="")
        _check_identity(enhancer, spec, params, weights)
    elif callable(spec) and hasattr(spec, "describe"):
        enhancer = spec
    else:
        raise TypeError(f"enhancer must be a name, a dict(type=...) or an Enhancer, got {type(spec).__name__}")
    if cache or cache_dir is not None:
        from uptflow.enhancers.cache import EnhancedImageCache

        return EnhancedImageCache(enhancer, root=cache_dir)
    return enhancer

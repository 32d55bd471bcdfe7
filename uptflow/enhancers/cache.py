"""A disk cache of enhanced images, keyed by enhancer name + params + weights checksum and by image content.

A dataset is enhanced once: detection runs, training epochs and pipelines that see the same pixels again read
the PNG (lossless, so a cached image equals a recomputed one) instead of re-running the enhancer.
Layout: ``<root>/<enhancer key>/enhancer.json`` and ``<root>/<enhancer key>/<h[:2]>/<h>.png`` where ``h`` hashes
the input pixels. Files are written atomically, so parallel workers at worst compute an image twice.
"""

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from uptflow.utils.io import atomic_write_json, imwrite_rgb
from uptflow.utils.paths import cache_dir

__all__ = ["file_sha256", "enhancer_identity", "EnhancedImageCache", "cached_enhancer"]


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file (memoised on path, size and mtime, so big checkpoints are hashed once per process)."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    return _sha256_cached(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def enhancer_identity(enhancer: Any, weights: str | os.PathLike | None = None) -> dict[str, Any]:
    """What identifies an enhancer's output: name, params() and the checksum of its weights file (if any)."""
    params = dict(enhancer.params()) if hasattr(enhancer, "params") else {}
    w = weights or getattr(enhancer, "weights", None) or params.get("weights")
    ident: dict[str, Any] = {"name": getattr(enhancer, "name", type(enhancer).__name__),
                             "params": {k: v for k, v in params.items() if k != "weights"}}
    if w is not None and Path(str(w)).expanduser().is_file():
        ident["weights"] = str(w)
        ident["weights_sha256"] = file_sha256(w)
    return ident


class EnhancedImageCache:
    """Enhance uint8 RGB images through an enhancer, reusing results stored on disk."""

    def __init__(self, enhancer: Any, root: str | os.PathLike | None = None,
                 weights: str | os.PathLike | None = None) -> None:
        """Args:
            enhancer: a ``uptflow.enhancers.Enhancer`` (any callable uint8 RGB -> uint8 RGB with ``name``/``params``).
            root: cache root; ``~/.cache/uptflow/enhanced`` (or ``$UPTFLOW_CACHE/enhanced``) when None.
            weights: weights file to checksum if the enhancer does not expose one.
        """
        self.enhancer = enhancer
        self.identity = enhancer_identity(enhancer, weights)
        blob = json.dumps({k: v for k, v in self.identity.items() if k != "weights"}, sort_keys=True, default=str)
        self.key = f"{self.identity['name']}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
        self.dir = (Path(root).expanduser() if root is not None else cache_dir("enhanced")) / self.key
        self.hits = self.misses = 0

    @staticmethod
    def content_hash(img: np.ndarray) -> str:
        """Hash of the pixels (shape included), independent of the file the image came from."""
        a = np.ascontiguousarray(img)
        h = hashlib.sha256(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
        return h.hexdigest()

    def path_for(self, img: np.ndarray) -> Path:
        """Where the enhanced version of ``img`` is (or will be) stored."""
        h = self.content_hash(img)
        return self.dir / h[:2] / f"{h}.png"

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """Return the enhanced uint8 HxWx3 RGB image, from disk when it was computed before."""
        return self.enhance_to_path(img)[0]

    def enhance_to_path(self, img: np.ndarray) -> tuple[np.ndarray, Path]:
        """Return ``(enhanced image, cached PNG path)``; computes and stores it on a miss."""
        from uptflow.utils.io import imread_rgb

        path = self.path_for(img)
        if path.is_file():
            try:
                out = imread_rgb(path)
                if out.shape == img.shape:
                    self.hits += 1
                    return out, path
            except ValueError:
                pass  # a damaged entry is recomputed below
        out = np.asarray(self.enhancer(img))
        if out.shape != img.shape or out.dtype != np.uint8:
            raise RuntimeError(f"enhancer {self.identity['name']} returned {out.dtype} {out.shape} "
                               f"for a uint8 {img.shape} image")
        if not (self.dir / "enhancer.json").is_file():
            atomic_write_json(self.dir / "enhancer.json", self.identity)
        imwrite_rgb(path, out)
        self.misses += 1
        return out, path


def cached_enhancer(spec: Any, cache: bool = True, cache_dir: str | os.PathLike | None = None,
                    device: str = "cpu") -> Any:
    """Turn an enhancer spec into a uint8 RGB -> uint8 RGB callable, cached on disk unless ``cache=False``.

    Args:
        spec: a registered enhancer name (``'clahe'``), a dict ``dict(type=name, weights=..., **params)`` or an
            Enhancer instance.
        cache: store and reuse enhanced images (see :class:`EnhancedImageCache`).
        cache_dir: cache root (default ``~/.cache/uptflow/enhanced``).
        device: torch device for learned enhancers built from a name or dict.
    """
    weights = None
    if isinstance(spec, str):
        from uptflow.enhancers import build_enhancer

        enhancer = build_enhancer(spec, device=device)
    elif isinstance(spec, dict):
        from uptflow.enhancers import build_enhancer

        kw = dict(spec)
        if "type" not in kw:
            raise KeyError(f"enhancer dict needs a 'type' (registered enhancer name), got {spec}")
        name, weights = kw.pop("type"), kw.pop("weights", None)
        enhancer = build_enhancer(name, weights=weights, device=kw.pop("device", device), **kw)
    elif callable(spec):
        enhancer = spec
    else:
        raise TypeError(f"enhancer must be a name, a dict(type=...) or an Enhancer, got {type(spec).__name__}")
    return EnhancedImageCache(enhancer, root=cache_dir, weights=weights) if cache else enhancer

"""A disk cache of enhanced images, keyed by enhancer name + params + weights checksum and by image content.

A dataset is enhanced once: detection runs, training epochs and pipelines that see the same pixels again read
the PNG (lossless, so a cached image equals a recomputed one) instead of re-running the enhancer.
Layout: ``<root>/<enhancer key>/enhancer.json`` and ``<root>/<enhancer key>/<h[:2]>/<h>.png`` where ``h`` hashes
the input pixels. Files are written atomically, so parallel workers at worst compute an image twice.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from uptflow.utils.io import atomic_write_json, imread_rgb, imwrite_rgb
from uptflow.utils.paths import cache_dir

__all__ = ["EnhancedImageCache"]


class EnhancedImageCache:
    """Enhance uint8 RGB images through an enhancer, reusing results stored on disk."""

    def __init__(self, enhancer: Any, root: str | os.PathLike | None = None) -> None:
        """Args:
            enhancer: a ``uptflow.enhancers.Enhancer`` (any callable uint8 RGB -> uint8 RGB with ``describe()``).
            root: cache root; ``~/.cache/uptflow/enhanced`` (or ``$UPTFLOW_CACHE/enhanced``) when None.
        """
        self.enhancer = enhancer
        self.identity = enhancer.describe()
        # the weights file's path does not change the outputs, its checksum does
        blob = json.dumps({k: v for k, v in self.identity.items() if k != "weights"}, sort_keys=True, default=str)
        self.key = f"{self.identity['name']}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
        self.dir = (Path(root).expanduser() if root is not None else cache_dir("enhanced")) / self.key
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        """The wrapped enhancer's name."""
        return self.identity["name"]

    @property
    def weights(self) -> str | None:
        """The wrapped enhancer's weights file."""
        return self.identity.get("weights")

    def params(self) -> dict[str, Any]:
        """The wrapped enhancer's settings."""
        return self.enhancer.params()

    def describe(self) -> dict[str, Any]:
        """The wrapped enhancer's identity (the cached images are its outputs)."""
        return dict(self.identity)

    @staticmethod
    def content_hash(img: np.ndarray) -> str:
        """Hash of the pixels (shape included), independent of the file the image came from."""
        a = np.ascontiguousarray(img)
        h = hashlib.sha256(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
        return h.hexdigest()

    def path_for(self, img: np.ndarray) -> Path:
        """Where the enhanced version of ``img`` is (or will be) stored: by its pixels and, when the enhancer processes
        this size in a way its params do not fix (``output_variant``, e.g. the tiles chosen from the free memory),
        by that as well, so an output made the other way is never reused."""
        h = self.content_hash(img)
        variant = getattr(self.enhancer, "output_variant", None)
        variant = variant(*img.shape[:2]) if callable(variant) else None
        if variant is not None:
            h = hashlib.sha256(f"{h} {variant}".encode()).hexdigest()
        return self.dir / h[:2] / f"{h}.png"

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """Return the enhanced uint8 HxWx3 RGB image, from disk when it was computed before."""
        return self.enhance_to_path(img)[0]

    def cached(self, img: np.ndarray) -> np.ndarray | None:
        """The stored enhanced version of ``img``, or None when there is none (or it is damaged); never computes."""
        return self._stored(self.path_for(img), img.shape)

    @staticmethod
    def _stored(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
        try:
            out = imread_rgb(path) if path.is_file() else None
        except ValueError:
            return None  # a damaged entry counts as missing (and is recomputed on a miss)
        return out if out is not None and out.shape == shape else None

    def enhance_to_path(self, img: np.ndarray) -> tuple[np.ndarray, Path]:
        """Return ``(enhanced image, cached PNG path)``; computes and stores it on a miss."""
        path = self.path_for(img)
        out = self._stored(path, img.shape)
        if out is not None:
            self.hits += 1
            return out, path
        out = np.asarray(self.enhancer(img))
        if out.shape != img.shape or out.dtype != np.uint8:
            raise RuntimeError(f"enhancer {self.identity['name']} returned {out.dtype} {out.shape} "
                               f"for a uint8 {img.shape} image")
        if not (self.dir / "enhancer.json").is_file():
            atomic_write_json(self.dir / "enhancer.json", self.identity)
        imwrite_rgb(path, out)
        self.misses += 1
        return out, path

"""An mmengine file backend whose writes are atomic, so a crash never leaves a truncated checkpoint.

mmengine's ``LocalBackend.put`` opens the target with ``'wb'`` and writes in place: a run killed while saving
leaves a corrupt ``iter_N.pth`` (and ``last_checkpoint`` may point at it). This backend writes to a temporary
file beside the target and renames it over the target (``uptflow.utils.io.atomic_write_bytes``). Configs select it
with ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``.
"""

from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

from uptflow.utils.io import atomic_write_bytes

__all__ = ["AtomicLocalBackend", "BACKEND_NAME"]

BACKEND_NAME = "atomic_local"


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` with atomic ``put`` / ``put_text`` (temp file + fsync + rename)."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write ``obj`` to ``filepath`` atomically, creating parent folders."""
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(filepath, obj.encode(encoding))


register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)

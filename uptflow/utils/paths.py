"""Where user-provided files live (the shared sample data, the cache of built wheels / weights) and how folders of
images are listed: one listing, in one natural order, for training data, `uptflow enhance` and the suite."""

import os
import re
from pathlib import Path

from uptflow.utils.io import IMAGE_SUFFIXES

__all__ = ["shared_root", "cache_dir", "require_file", "natural_key", "list_images"]


def shared_root() -> Path | None:
    """Return the shared data folder (``$UPTFLOW_SHARED`` or ``../shared`` beside the checkout), or None."""
    env = os.environ.get("UPTFLOW_SHARED")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared", Path.cwd().parent / "shared"]
    for cand in candidates:
        if (cand / "data").is_dir() or (cand / "golden").is_dir():
            return cand.resolve()
    return None


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under ``$UPTFLOW_CACHE`` or ``~/.cache/uptflow``."""
    root = Path(os.environ.get("UPTFLOW_CACHE", Path.home() / ".cache" / "uptflow"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` if it exists, else raise FileNotFoundError saying what to put there (nothing is downloaded)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"{what} not found at {p}. uptflow never downloads files: place the file at that path "
            f"(or, where the command or setting takes one, give another path) and run again."
        )
    return p


def natural_key(text: str | os.PathLike) -> list:
    """Sort key that orders ``img2`` before ``img10`` (case-insensitive): the one ordering of file lists."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


def list_images(folder: str | os.PathLike, recursive: bool = False, suffixes: tuple[str, ...] = IMAGE_SUFFIXES
                ) -> list[Path]:
    """Image files in ``folder`` (and below it when ``recursive``) in natural order of their path below it.

    Hidden files are never images: macOS's ``._name.jpg`` resource forks, and the temporary files of
    :func:`uptflow.utils.io.atomic_path` (``.<name>.uptflow-tmp-*``) that a killed run may leave beside its outputs.
    """
    folder = Path(folder)
    it = folder.rglob("*") if recursive else folder.iterdir()
    found = [p for p in it if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")]
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))

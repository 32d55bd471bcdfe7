"""Where user-provided files live (the shared sample data, the cache of built wheels / weights) and how folders of
images are listed: one listing, in one natural order, for training data, `uptflow enhance` and the suite."""

import os
import re
from pathlib import Path

from uptflow.utils.io import IMAGE_SUFFIXES

__all__ = ["shared_root", "cache_dir", "require_file", "natural_key", "list_images", "VIDEO_SUFFIXES"]

# what users point image tools at by mistake; the traffic benchmark reads these (evaluation.datasets.frames)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".mts", ".m2ts", ".3gp")


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
    """Return ``path`` if it is a file, else raise FileNotFoundError saying what to put there (nothing is downloaded),
    or IsADirectoryError when it is a folder."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise IsADirectoryError(f"{what}: {p} is a folder, not a file; give the path of the file itself")
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

    Hidden files are never images, and hidden folders below ``folder`` are not searched: macOS's ``._name.jpg``
    resource forks, thumbnail caches (``.thumbnails/``), and the temporary files of
    :func:`uptflow.utils.io.atomic_path` (``.<name>.uptflow-tmp-*``) that a killed run may leave beside its outputs.
    Linked folders are searched under the link's name, each real folder once (so a link cycle ends).
    """
    folder = Path(folder)
    if not recursive:
        found = [p for p in folder.iterdir() if _is_image(p, suffixes)]
    else:
        found, searched = [], set()
        # pathlib's rglob does not follow linked folders; os.walk does, when told to
        for root, dirs, files in os.walk(folder, followlinks=True):
            real = os.path.realpath(root)
            if real in searched:
                dirs.clear()
                continue
            searched.add(real)
            # walked in natural order, so a folder reachable twice is listed under its first name
            dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
            found += [p for p in map(Path(root).joinpath, files) if _is_image(p, suffixes)]
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))


def _is_image(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.suffix.lower() in suffixes and not path.name.startswith(".") and path.is_file()

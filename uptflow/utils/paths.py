"""Where user-provided files live: the shared sample data and the cache of built wheels / weights."""

import os
from pathlib import Path

__all__ = ["shared_root", "cache_dir", "require_file"]


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
            f"(or pass another path) and run again."
        )
    return p

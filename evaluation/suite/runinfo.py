"""What a run was made with: library versions, git commit, config, seeds and weight checksums."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "versions", "git_commit"]

# recorded when installed; absent ones are listed as None so the record shows what was missing
PACKAGES = ("torch", "torchvision", "numpy", "opencv-python-headless", "scikit-image", "pandas", "mmengine",
            "mmcv", "mmdet", "mmsegmentation", "ultralytics", "pycocotools", "uptflow")


def versions() -> dict[str, Any]:
    """Python, platform and package versions (None for packages that are not installed)."""
    out: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def git_commit(repo: str | Path | None = None) -> dict[str, Any]:
    """HEAD commit of the checkout and whether it has uncommitted changes (None outside a git checkout)."""
    repo = Path(repo) if repo is not None else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}

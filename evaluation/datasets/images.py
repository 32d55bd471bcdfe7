"""Readers for enhancement benchmarks: LOL v1, LOL-v2, any paired folder (matched by file stem) and unpaired folders.

A prefix equal to the folder name is ignored when matching (LOL-v2 real pairs ``Low/low00001.png`` with
``Normal/normal00001.png``).

Every reader returns a list of ``Sample`` (group, name, low path, ground-truth path or None), sorted.
"""

from dataclasses import dataclass
from pathlib import Path

from uptflow.data.paired import key_by_stem
from uptflow.utils.io import IMAGE_SUFFIXES

__all__ = ["Sample", "list_images", "read_paired", "read_unpaired", "read_dataset", "UnmatchedError"]

# (low, ground truth) folder-name pairs, compared case-insensitively
_PAIR_DIRS = (("low", "high"), ("low", "normal"), ("input", "gt"), ("input", "target"), ("lq", "gt"))


@dataclass(frozen=True)
class Sample:
    """One benchmark image: ``group`` (subset, e.g. 'eval15' or 'DICM'), unique ``name`` within it, paths."""

    group: str
    name: str
    low: Path
    gt: Path | None = None


class UnmatchedError(ValueError):
    """Raised when paired mode finds low-light images without a ground truth (or the reverse)."""


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (sorted; hidden files skipped)."""
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _find_child(folder: Path, name: str) -> Path | None:
    for child in folder.iterdir():
        if child.is_dir() and child.name.lower() == name:
            return child
    return None


def _pair_dirs(folder: Path) -> tuple[Path, Path] | None:
    for low, gt in _PAIR_DIRS:
        lo, hi = _find_child(folder, low), _find_child(folder, gt)
        if lo is not None and hi is not None:
            return lo, hi
    return None


def _common_prefix(paths: list[Path], folder: Path) -> str:
    """The folder's own name when every stem starts with it (LOL-v2 real: ``Low/low00001.png``), else ''."""
    prefix = folder.name.lower()
    return prefix if paths and all(p.stem.startswith(prefix) for p in paths) else ""


def _pair_folder(group: str, low_dir: Path, gt_dir: Path, allow_unmatched: bool) -> list[Sample]:
    low_files, gt_files = list_images(low_dir), list_images(gt_dir)
    lows = key_by_stem(low_files, _common_prefix(low_files, low_dir), low_dir)
    gts = key_by_stem(gt_files, _common_prefix(gt_files, gt_dir), gt_dir)
    if not lows:
        raise ValueError(f"no images in {low_dir}")
    missing_gt = sorted(set(lows) - set(gts))
    missing_low = sorted(set(gts) - set(lows))
    if (missing_gt or missing_low) and not allow_unmatched:
        raise UnmatchedError(
            f"paired data {low_dir.parent}: {len(missing_gt)} low-light image(s) without ground truth in {gt_dir}"
            f" {missing_gt}; {len(missing_low)} ground truth(s) without low-light image in {low_dir} {missing_low}."
            " Pairs are matched by file stem; pass --allow-unmatched to score the unmatched ones as unpaired."
        )
    return [Sample(group, stem, lows[stem], gts.get(stem)) for stem in sorted(lows)]


def read_paired(root: str | Path, allow_unmatched: bool = False) -> list[Sample]:
    """Paired data: LOL v1 (``our485``/``eval15`` with ``low``/``high``), LOL-v2 (``Train``/``Test`` with
    ``Low``/``Normal``) or any folder with a (low, high|normal|gt) pair of sub-folders, searched recursively.

    Args:
        root: dataset folder (a split folder such as ``LOL/eval15`` also works).
        allow_unmatched: keep low-light images without ground truth (as unpaired samples) instead of raising.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    samples: list[Sample] = []
    for folder in sorted([root, *[d for d in root.rglob("*") if d.is_dir()]]):
        dirs = _pair_dirs(folder)
        if dirs is None:
            continue
        group = folder.relative_to(root).as_posix() if folder != root else root.name
        samples += _pair_folder(group, dirs[0], dirs[1], allow_unmatched)
    if not samples:
        raise ValueError(
            f"{root}: no paired sub-folders found (expected e.g. low/ + high/, Low/ + Normal/ or input/ + gt/)"
        )
    return samples


def read_unpaired(root: str | Path) -> list[Sample]:
    """Every image under ``root`` (recursively); the group is the image's parent folder relative to ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    images = list_images(root, recursive=True)
    if not images:
        raise ValueError(f"no images under {root} (extensions: {', '.join(IMAGE_SUFFIXES)})")
    samples = []
    for p in images:
        rel = p.parent.relative_to(root).as_posix()
        samples.append(Sample(rel if rel != "." else root.name, p.stem, p))
    names = [(s.group, s.name) for s in samples]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{root}: several images share a folder and stem (e.g. a.png + a.jpg): {dup}")
    return samples


def read_dataset(root: str | Path, paired: bool, allow_unmatched: bool = False) -> list[Sample]:
    """``read_paired`` or ``read_unpaired``."""
    return read_paired(root, allow_unmatched) if paired else read_unpaired(root)

"""Train/val/test splits of a detection dataset: the dataset's official one, a seeded random 80/20 (MAET/IAT), or
lists of names.

A split is a plain record (protocol name, seed, image names per subset) so it can be written next to the results
and reused exactly. Names are the samples' names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.datasets.base import Sample

__all__ = ["Split", "SPLIT_KINDS", "official_split", "random_split", "split_from_lists", "make_split"]

SPLIT_KINDS = ("official", "random")


@dataclass
class Split:
    """Image names per subset plus how they were chosen."""

    protocol: str
    subsets: dict[str, list[str]]
    seed: int | None = None
    description: str = ""
    unassigned: list[str] = field(default_factory=list)

    def names(self, subset: str) -> list[str]:
        """Image names of ``subset`` ('train', 'val', 'test' or 'all')."""
        if subset == "all":
            return sorted({n for v in self.subsets.values() for n in v} | set(self.unassigned), key=str.lower)
        if subset not in self.subsets:
            raise KeyError(f"split {self.protocol!r} has no subset {subset!r}; it has {sorted(self.subsets)} and 'all'")
        return list(self.subsets[subset])

    def to_dict(self, with_names: bool = True) -> dict[str, Any]:
        """JSON-ready record (counts first, for people reading it)."""
        d = asdict(self)
        if not with_names:
            d.pop("subsets")
            d.pop("unassigned")
        return {"counts": {k: len(v) for k, v in self.subsets.items()}, **d}


def official_split(samples: Sequence[Sample], meta_key: str, source: str | None) -> Split:
    """Train/val/test from each sample's ``meta[meta_key]`` (samples without it stay unassigned)."""
    if source is None:
        raise FileNotFoundError("the official split needs the dataset's split list (ExDark: imageclasslist.txt in "
                                "the root, its Groundtruth/ folder or its parent; or give it: --classlist PATH on the "
                                "command line, classlist=PATH in a suite config)")
    subsets: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unassigned = []
    for s in samples:
        split = s.meta.get(meta_key)
        (subsets[split] if split in subsets else unassigned).append(s.name)
    return Split("official", subsets, None, f"official split from {source}", unassigned)


def random_split(samples: Sequence[Sample], seed: int = 0, test_fraction: float = 0.2) -> Split:
    """Seeded random train/test split (MAET/IAT protocol: 80/20, no val); names are sorted before shuffling."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    names = sorted((s.name for s in samples), key=str.lower)
    order = np.random.default_rng(seed).permutation(len(names))
    n_test = int(round(test_fraction * len(names)))
    test = sorted((names[i] for i in order[:n_test]), key=str.lower)
    train = sorted((names[i] for i in order[n_test:]), key=str.lower)
    desc = (f"random {100 - round(100 * test_fraction)}/{round(100 * test_fraction)} split, numpy default_rng({seed}) "
            "over sorted names (MAET/IAT protocol; not MAET's own file list - pass it with split_from_lists)")
    return Split("random", {"train": train, "test": test}, seed, desc)


def split_from_lists(samples: Sequence[Sample], lists: dict[str, str | os.PathLike]) -> Split:
    """Split from text files of image names or stems (e.g. MAET's main/train.txt and main/val.txt)."""
    by_stem = {Path(s.name).stem.lower(): s.name for s in samples}
    subsets = {}
    for subset, path in lists.items():
        names = []
        for no, raw in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
            token = raw.strip()
            if not token:
                continue
            stem = Path(token.split()[0]).stem.lower()
            if stem not in by_stem:
                raise ValueError(f"{path}:{no}: image {token!r} is not in the dataset")
            names.append(by_stem[stem])
        subsets[subset] = names
    return Split("lists", subsets, None, "from files " + ", ".join(f"{k}={v}" for k, v in lists.items()))


def make_split(samples: Sequence[Sample], kind: str, seed: int = 0, meta_key: str = "split",
               source: str | None = None) -> Split:
    """Build the ``official`` (from ``meta[meta_key]``, listed in ``source``) or ``random`` split."""
    if kind == "official":
        return official_split(samples, meta_key, source)
    if kind == "random":
        return random_split(samples, seed)
    raise ValueError(f"unknown split {kind!r}; use one of {SPLIT_KINDS}")

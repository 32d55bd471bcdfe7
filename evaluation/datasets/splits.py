"""ExDark train/val/test splits: the official one (imageclasslist.txt) and the seeded random 80/20 of MAET/IAT.

A split is a plain record (protocol name, seed, image names per subset) so it can be written next to the
results and reused exactly.
"""

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .exdark import ExDarkDataset

__all__ = ["Split", "official_split", "random_split", "split_from_lists", "make_split"]


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

    def to_dict(self) -> dict:
        """JSON-ready record (counts first, for people reading it)."""
        d = asdict(self)
        d["counts"] = {k: len(v) for k, v in self.subsets.items()}
        return d


def official_split(ds: ExDarkDataset) -> Split:
    """Train/val/test from the 5th column of imageclasslist.txt (images absent from the list stay unassigned)."""
    if ds.classlist is None:
        raise FileNotFoundError(
            f"the official split needs imageclasslist.txt; none found in {ds.root}, {ds.root / 'Groundtruth'} "
            f"or {ds.root.parent} (pass --classlist PATH)"
        )
    subsets: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unassigned = []
    for im in ds.images:
        (subsets[im.meta.split] if im.meta else unassigned).append(im.name)
    return Split("official", subsets, None, f"ExDark imageclasslist.txt column 5 ({ds.classlist})", unassigned)


def random_split(ds: ExDarkDataset, seed: int = 0, test_fraction: float = 0.2) -> Split:
    """Seeded random train/test split (MAET/IAT protocol: 80/20, no val); names are sorted before shuffling."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    names = sorted((im.name for im in ds.images), key=str.lower)
    order = np.random.default_rng(seed).permutation(len(names))
    n_test = int(round(test_fraction * len(names)))
    test = sorted((names[i] for i in order[:n_test]), key=str.lower)
    train = sorted((names[i] for i in order[n_test:]), key=str.lower)
    desc = (f"random {100 - round(100 * test_fraction)}/{round(100 * test_fraction)} split, numpy default_rng({seed}) "
            "over sorted names (MAET/IAT protocol; not MAET's own file list - pass it with split_from_lists)")
    return Split("random", {"train": train, "test": test}, seed, desc)


def split_from_lists(ds: ExDarkDataset, lists: dict[str, str | os.PathLike]) -> Split:
    """Split from text files of image names or stems (e.g. MAET's main/train.txt and main/val.txt)."""
    by_stem = {im.stem.lower(): im.name for im in ds.images}
    subsets = {}
    for subset, path in lists.items():
        names = []
        for no, raw in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
            token = raw.strip()
            if not token:
                continue
            stem = Path(token.split()[0]).stem.lower()
            if stem not in by_stem:
                raise ValueError(f"{path}:{no}: image {token!r} is not in the dataset at {ds.root}")
            names.append(by_stem[stem])
        subsets[subset] = names
    return Split("lists", subsets, None, "from files " + ", ".join(f"{k}={v}" for k, v in lists.items()))


def make_split(ds: ExDarkDataset, kind: str, seed: int = 0) -> Split:
    """Build the ``official`` or ``random`` split."""
    if kind == "official":
        return official_split(ds)
    if kind == "random":
        return random_split(ds, seed)
    raise ValueError(f"unknown split {kind!r}; use 'official' or 'random'")

"""Held-out low-light pairs synthesised from folders of real photos, as the default model's training data makes them.

The photos of one split (``uptflow.data.photos.split_of``: a hash of each file's name, so the ``test`` split is
never seen in training) are darkened once with fixed, seeded degradations (``uptflow.data.degradation``: random
realistic low light, or one darkness level) and written as ``low/`` + ``high/`` PNGs with their parameters
(``degradations.jsonl``) under the suite's data folder, then read like any paired folder. The folder is named by the
settings and the SHA-256 of the source photos' names and bytes, so an edited, added or removed photo makes new pairs
(and new units), while the same photos under another root share them.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from evaluation.datasets.base import DatasetReader, Sample
from evaluation.datasets.images import read_paired
from evaluation.registry import DATASETS
from uptflow.utils.io import hash_file

__all__ = ["PhotoPairs"]


@DATASETS.register_module(name="photo_pairs")
class PhotoPairs(DatasetReader):
    """Low-light pairs made from the ``split`` of photo folders under ``root`` (BSDS500, coco128...).

    Args:
        root: folder the photo folders are relative to (e.g. ``../shared/data``).
        photo_dirs: folders of normal-light photos under ``root``.
        split: ``'test'`` (default), ``'val'``, ``'train'`` or ``'all'`` (see ``uptflow.data.photos``).
        level: a fixed darkness level 1-5 instead of the random realistic degradation.
        seed: seed of the degradations (default: the suite's seed).
        **kw: ``limit``.
    """

    type = "photo_pairs"
    layout = "<root>/<photo_dir>/*.jpg|png (normal-light photos; the low-light inputs are made by the project)"
    default_split = "test"

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 photo_dirs: tuple[str, ...] | list[str] = (), level: int | None = None,
                 seed: int | None = None) -> None:
        super().__init__(root, split, limit)
        from uptflow.data.photos import SPLITS

        if self.split not in SPLITS:
            raise ValueError(f"photo_pairs: split must be one of {SPLITS}, got {self.split!r}")
        if not photo_dirs:
            raise ValueError("photo_pairs: photo_dirs is empty; name the photo folders under root")
        if level is not None and level not in range(1, 6):
            raise ValueError(f"photo_pairs: level must be 1-5 or None, got {level!r}")
        self.photo_dirs, self.level, self.seed = tuple(photo_dirs), level, seed

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "photo_dirs": list(self.photo_dirs), "level": self.level, "seed": self.seed}

    def present(self) -> bool:
        return super().present() and all((self.root / d).is_dir() for d in self.photo_dirs)

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        from uptflow.data.make_pairs import write_pairs
        from uptflow.data.photos import PhotoLowLightPairs

        seed = self.seed if self.seed is not None else seed
        pipeline = [dict(type="LoadImagePair"),
                    dict(type="SynthesizeLowLight", degradation=dict(level=self.level) if self.level else None),
                    dict(type="PackPairedInputs", meta_keys=("name", "degradation", "degradation_seed"))]
        pairs = PhotoLowLightPairs(photo_dirs=self.photo_dirs, data_root=str(self.root), split=self.split, seed=seed,
                                   fixed_degradation=True, pipeline=pipeline, test_mode=True)
        photos = [pairs.get_data_info(i) for i in range(len(pairs))]
        sources = [(p["name"], hash_file(p["gt_path"])) for p in photos]
        identity = json.dumps(dict(dirs=self.photo_dirs, split=self.split, level=self.level, seed=seed,
                                   photos=sources))
        folder = Path(data_dir) / f"photo_pairs-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"
        if not (folder / "degradations.jsonl").is_file():  # written last: its presence means the pairs are whole
            write_pairs(pairs, folder)
        return read_paired(folder), {"made_in": str(folder)}

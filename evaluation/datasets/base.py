"""The dataset layer: one sample record for every dataset type, the Dataset that loads its images, the reader base.

A reader (one per dataset type, registered in ``evaluation.registry.DATASETS``) turns a folder in its official
layout into a :class:`Dataset` of :class:`Sample` records, once per run; the enhance-once pass and every benchmark
read the same records and load pixels through the same :meth:`Dataset.load`, so the images enhanced up front are
exactly the ones the benchmarks later find in the cache. Reader settings are constructor arguments: the
constructor's signature is the dataset entry's schema in suite configs.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from uptflow.utils.io import IMAGE_SUFFIXES, hash_file, imread_rgb
from uptflow.utils.paths import list_images, natural_key  # the one listing and order, shared with the library

__all__ = ["Box", "Sample", "Dataset", "DatasetReader", "natural_key", "list_images", "read_image_raw", "INFO_FILES",
           "META_FILES"]

# Where readers name the other files they parse, so a dataset's identity covers their content: per sample, under
# these ``meta`` keys (ExDark bbGt annotation, YOLO label txt); per dataset, under these ``info`` keys (ExDark
# imageclasslist.txt, YOLO names yaml, COCO instances json). A reader parsing another file names it under one of them.
META_FILES: tuple[str, ...] = ("annotation", "label")
INFO_FILES: tuple[str, ...] = ("classlist", "config", "annotations")


def read_image_raw(path: str | os.PathLike) -> np.ndarray:
    """Read an image as uint8 RGB in stored pixel order, ignoring EXIF orientation (annotations use stored pixels)."""
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) if buf.size else None
    if img is None:
        raise ValueError(f"cannot decode image {path}")
    return np.ascontiguousarray(img[..., ::-1])


@dataclass(frozen=True)
class Box:
    """One annotated object: class name and pixel box ``x1, y1, x2, y2`` (clipped to the image); ``crowd`` marks a
    COCO crowd region (ignored by the evaluation)."""

    cls: str
    x1: float
    y1: float
    x2: float
    y2: float
    crowd: bool = False

    @property
    def xywh(self) -> list[float]:
        """COCO ``[x, y, w, h]``."""
        return [self.x1, self.y1, self.x2 - self.x1, self.y2 - self.y1]


@dataclass(frozen=True)
class Sample:
    """One input image of a dataset and what it is scored against.

    Args:
        name: unique within the dataset; names the per-image outputs (may contain ``/`` for sub-groups).
        path: the input image file (None for frames decoded from a video).
        group: subset it belongs to (LOL ``eval15``, ``DICM``, a video part, ...).
        reference: normal-light ground truth (paired enhancement).
        label: segmentation label file; ``label_kind`` says ``trainIds`` or ``labelIds``.
        boxes: detection ground truth (None: not annotated).
        size: ``(width, height)`` of the stored pixels when the reader knows it.
        meta: anything else the reader knows (lighting type, split, frame index and time, ...); other files the
            ground truth was parsed from go under the keys in ``META_FILES`` (part of the dataset's identity).
    """

    name: str
    path: Path | None
    group: str = ""
    reference: Path | None = None
    label: Path | None = None
    label_kind: str = "trainIds"
    boxes: tuple[Box, ...] | None = None
    size: tuple[int, int] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        """The last part of ``name`` without an image suffix (file names of per-image outputs)."""
        last = self.name.rsplit("/", 1)[-1]
        suffix = Path(last).suffix
        return last[: -len(suffix)] if suffix.lower() in IMAGE_SUFFIXES else last


def _file_digest(path: Path, seen: dict[Path, str]) -> str:
    """SHA-256 of a file's bytes, read in chunks once per ``seen`` memo; an unreadable file gives a fixed marker."""
    # not file_sha256's memo by size and mtime: file times are coarse (a few ms), so an edit could keep both
    if path not in seen:
        try:
            seen[path] = hash_file(path)
        except OSError as e:  # the benchmarks report the file; the marker (no path, no locale) stays machine-neutral
            seen[path] = f"unreadable:{type(e).__name__}"
    return seen[path]


def _sample_files(sample: Sample) -> dict[str, Path]:
    """The files ``sample``'s numbers depend on, by role: its image, reference, label and parsed ``meta`` files."""
    files = dict(image=sample.path, reference=sample.reference, label=sample.label,
                 **{f"meta.{k}": sample.meta.get(k) for k in META_FILES})
    return {role: Path(p) for role, p in files.items() if p}


class Dataset:
    """Samples of one dataset plus how to load their pixels (EXIF policy, synthetic darkening).

    Args:
        type: registered dataset type.
        root: where the data lives.
        samples: the records, in the dataset's order.
        settings: the reader settings that define the data (split, limit, ...), for identities and protocols.
        classes: class names of detection / segmentation ground truth.
        exif: honour EXIF orientation when loading (False where annotations refer to stored pixels).
        degrade: ``f(img, rng) -> (img, params)`` applied on load (synthetic night), with ``describe()``.
        seed: base seed of the per-sample degradation streams.
        info: reader statistics and notes recorded with the results (clipped boxes, split description, ...).
    """

    def __init__(self, type: str, root: str | os.PathLike, samples: list[Sample], settings: Mapping[str, Any],
                 classes: tuple[str, ...] = (), exif: bool = True, degrade: Any = None, seed: int = 0,
                 info: Mapping[str, Any] | None = None) -> None:
        self.type, self.root, self.samples = type, Path(root), list(samples)
        self.settings, self.classes, self.exif = dict(settings), tuple(classes), exif
        self.degrade, self.seed, self.info = degrade, seed, dict(info or {})
        self._content_sha256: str | None = None
        names = [s.name for s in self.samples]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})[:5]
            raise ValueError(f"{self.root}: several samples share a name (e.g. a.png + a.jpg): {dup}")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def unread(self) -> list[dict[str, str]]:
        """The files the reader left out (``{file, reason}``): counted with every unit's own skipped images."""
        return list(self.info.get("skipped", ()))

    @property
    def paired(self) -> bool:
        """Whether any sample has a normal-light reference."""
        return any(s.reference is not None for s in self.samples)

    def read(self, sample: Sample) -> np.ndarray:
        """The stored image of ``sample`` as uint8 RGB, before any degradation."""
        if sample.path is None:
            raise ValueError(f"{self.root}: sample {sample.name} has no file; iterate images() instead")
        return imread_rgb(sample.path) if self.exif else read_image_raw(sample.path)

    def _rng(self, sample: Sample) -> np.random.Generator:
        # the stream depends on the name only, so a resumed, sharded or reordered run degrades identically
        return np.random.default_rng([self.seed, zlib.crc32(sample.name.encode("utf-8"))])

    def load(self, sample: Sample) -> np.ndarray:
        """The benchmark input of ``sample``: the stored image, darkened when the dataset has a degradation."""
        return self._degraded(sample, self.read(sample))

    def _degraded(self, sample: Sample, img: np.ndarray) -> np.ndarray:
        return img if self.degrade is None else self.degrade(img, self._rng(sample))[0]

    def degradation(self, sample: Sample) -> dict[str, Any] | None:
        """The degradation parameters of ``sample`` (None without a degradation)."""
        if self.degrade is None:
            return None
        return self.degrade.sample_params(self._rng(sample))

    def images(self, skip: Collection[str] = ()) -> Iterator[tuple[Sample, np.ndarray | Exception]]:
        """``(sample, benchmark input)`` in order, leaving out the names in ``skip`` (done already); a sample whose
        image cannot be loaded yields the exception instead, so the caller reports it and goes on."""
        for s in self.samples:
            if s.name in skip:
                continue
            try:
                yield s, self.load(s)
            except (OSError, ValueError) as e:
                yield s, e

    def identity(self) -> dict[str, Any]:
        """What defines the data: type, root, settings, degradation, the sample names and their content.

        Data a reader makes itself (``info["made_in"]``, a folder named by its settings) is identified by that name,
        not by where it was written nor by its bytes: every work dir, shard or machine makes the same data and must
        agree on the units' ids. Read data is also identified by :meth:`content_sha256`, so editing an image or an
        annotation in place makes new units.
        """
        names = hashlib.sha256("\n".join(s.name for s in self.samples).encode("utf-8")).hexdigest()[:16]
        made = self.info.get("made_in")
        root = f"made:{Path(made).name}" if made else str(self.root.resolve())
        return dict(type=self.type, root=root, settings=self.settings, samples=len(self),
                    names_sha256=names, content_sha256=None if made else self.content_sha256(),
                    degrade=None if self.degrade is None else self.degrade.describe(),
                    seed=self.seed if self.degrade is not None else None)

    def sources(self) -> dict[str, Path]:
        """Dataset-level files the reader parsed (class list, names yaml, COCO json), by their ``info`` key."""
        return {k: Path(self.info[k]) for k in INFO_FILES if self.info.get(k)}

    def content_sha256(self) -> str:
        """SHA-256 (16 hex) of every file the numbers depend on and the parsed ground truth, hashed on first call."""
        if self._content_sha256 is None:
            h, seen = hashlib.sha256(), {}
            for s in self.samples:
                files = {role: _file_digest(p, seen) for role, p in _sample_files(s).items()}
                gt = dict(boxes=None if s.boxes is None else [astuple(b) for b in s.boxes], size=s.size,
                          label_kind=s.label_kind, group=s.group)
                h.update(json.dumps([s.name, files, gt], sort_keys=True).encode("utf-8") + b"\n")
            files = {key: _file_digest(p, seen) for key, p in self.sources().items()}
            h.update(json.dumps([files, self.classes], sort_keys=True).encode("utf-8"))
            self._content_sha256 = h.hexdigest()[:16]
        return self._content_sha256

    def digest(self) -> str:
        """Short hash of :meth:`identity`."""
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


class DatasetReader:
    """Base of the registered readers: settings in the constructor, ``read(seed, data_dir) -> Dataset``.

    Subclasses set ``type`` (the registered name) and ``layout`` (the folder layout quoted when data is missing),
    and implement :meth:`samples`.

    Args:
        root: dataset folder (or file, for videos).
        split: which split to read (reader-specific; None for the reader's default). The image folder readers
            (``paired``, ``unpaired``) read ``root/<split>`` when ``root`` has a sub-folder of that name (any case:
            LOL-v2's ``Real_captured`` with ``split='test'`` reads ``Test/``, never ``Train/`` with it), else the
            whole of ``root``, recording ``split`` as the name of the split the folder holds (``Real_captured/Test``
            itself with ``split='test'``); it appears in the protocol lines and decides whether the paper's rows
            apply.
        limit: keep only the first ``limit`` samples (smoke runs; part of the identity).
        degrade: darken every input on load: ``"synthetic"`` (random realistic low light per image) or
            ``dict(level=L)`` (a fixed darkness level), see ``evaluation.datasets.degrade``.
    """

    type: ClassVar[str] = ""
    layout: ClassVar[str] = ""
    exif: ClassVar[bool] = True
    default_split: ClassVar[str | None] = None

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 degrade: str | dict | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit: must be >= 1, got {limit}")
        self.root = Path(os.path.expanduser(root)) if root else None
        self.split = split or self.default_split
        self.limit, self.degrade = limit, degrade
        if degrade is not None:
            from evaluation.datasets.degrade import build_degradation

            build_degradation(degrade)  # validate now: a bad level fails with the config, not after hours

    def settings(self) -> dict[str, Any]:
        """The settings that define the data (part of every unit's identity)."""
        return dict(split=self.split, limit=self.limit, degrade=self.degrade)

    def split_folder(self) -> Path:
        """The folder an image folder reader reads: ``root``'s sub-folder named like ``split`` (any case) where there
        is one, so a root holding several splits is not read whole under one split's name; else ``root``."""
        root = Path(self.root or ".")
        if self.split and root.is_dir():
            named = [d for d in root.iterdir() if d.is_dir() and d.name.lower() == str(self.split).lower()]
            if len(named) == 1:
                return named[0]
        return root

    def present(self) -> bool:
        """Whether the data is there."""
        return self.root is not None and self.root.is_dir()

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        """All samples in the dataset's order, plus reader statistics (``info``; see ``INFO_FILES``)."""
        raise NotImplementedError

    def classes(self) -> tuple[str, ...]:
        """Class names of the ground truth (detection, segmentation); empty for image datasets."""
        return ()

    def make_dataset(self, samples: list[Sample], info: Mapping[str, Any], seed: int) -> Dataset:
        """The :class:`Dataset` for ``samples`` (readers with their own loading return a subclass)."""
        from evaluation.datasets.degrade import build_degradation

        degrade = build_degradation(self.degrade) if self.degrade is not None else None
        return Dataset(self.type, self.root or Path("."), samples, self.settings(), classes=self.classes(),
                       exif=self.exif, degrade=degrade, seed=seed, info=info)

    def read(self, seed: int = 0, data_dir: str | os.PathLike | None = None) -> Dataset:
        """Read the dataset (``data_dir``: where a reader may write data it makes itself; default the uptflow cache,
        never the current folder)."""
        from uptflow.utils.paths import cache_dir

        if not self.present():
            raise FileNotFoundError(f"{self.type} dataset not found at {self.root} (expected layout: {self.layout})")
        samples, info = self.samples(seed, Path(data_dir) if data_dir is not None else cache_dir("made_data"))
        if not samples:
            raise ValueError(f"{self.root}: no images found (expected layout: {self.layout})")
        kept = samples[: self.limit]
        with_ref = sum(s.reference is not None for s in samples)
        if with_ref and not any(s.reference is not None for s in kept):
            warnings.warn(f"{self.root}: limit {self.limit} keeps the first {len(kept)} of {len(samples)} images, none "
                          f"of the {with_ref} with a reference: no full-reference metric can be reported",
                          stacklevel=2)
        return self.make_dataset(kept, info, seed)

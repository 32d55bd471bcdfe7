"""Paired (low-light, normal-light) and unpaired image datasets on mmengine's ``BaseDataset``.

Each dataset lists samples as ``{'low_path', 'gt_path', 'name'}`` dicts and leaves reading, cropping and
packing to its pipeline (see :mod:`uptflow.data.transforms`). Pairs are matched by file stem, never by sort
order, and any file without a partner is named in the error. Expected folder trees (``data_root`` is what the
config points at):

LOL v1 (``LOLDataset``)::

    data_root/our485/{low,high}/<n>.png       # 485 training pairs
    data_root/eval15/{low,high}/<n>.png       # 15 test pairs

LOL-v2 (``LOLv2Dataset``, ``subset='real'`` or ``'synthetic'``)::

    data_root/Real_captured/{Train,Test}/Low/low00001.png      # 689 / 100 pairs, matched on the digits
    data_root/Real_captured/{Train,Test}/Normal/normal00001.png
    data_root/Synthetic/{Train,Test}/{Low,Normal}/<name>.png    # 900 / 100 pairs, identical names

MIT-Adobe FiveK (``FiveKDataset``; MBPNet's recommendation: the first 97 % of the name-sorted pairs train,
the last 3 % test)::

    data_root/input/<name>.{jpg,png,tif}       # the low-quality input renditions
    data_root/expertC/<name>.{jpg,png,tif}     # expert C retouches (the usual target)

SMID as distributed by SNR-Aware (``SMIDDataset``; RGB ``.npy`` arrays converted from RAW with rawpy)::

    data_root/SMID_LQ_np/<scene>/<frame>.npy   # several low-light frames per scene
    data_root/SMID_Long_np/<scene>/<ref>.npy   # the long-exposure reference (first file not containing
                                               #   '.ARW' or 'half' in its name, as SNR-Aware picks it)
    data_root/test_list.txt                    # test scene names, one per line (SNR-Aware's list, 49 scenes)

SDSD static, as distributed by SNR-Aware (``SDSDDataset``, ``subset='indoor'`` or ``'outdoor'``)::

    data_root/indoor_static_np/{input,GT}/<scene>/<frame>.npy    # frames matched by stem within a scene
    data_root/outdoor_static_np/{input,GT}/<scene>/<frame>.npy

Any paired folder (``PairedImageDataset``) or a folder of low-light images alone (``UnpairedImageDataset``,
e.g. DICM / MEF / NPE) works the same way.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from mmengine.dataset import BaseDataset

from uptflow.registry import DATASETS, TRANSFORMS
from uptflow.utils.io import IMAGE_SUFFIXES
from uptflow.utils.paths import list_images as _image_files
from uptflow.utils.paths import natural_key
from uptflow.utils.text import listed

__all__ = ["IMG_EXTENSIONS", "list_images", "key_by_stem", "match_pairs", "PairedImageDataset", "UnpairedImageDataset",
           "LOLDataset", "LOLv2Dataset", "FiveKDataset", "SMIDDataset", "SDSDDataset", "SDSD_TEST_SCENES"]

IMG_EXTENSIONS = (*IMAGE_SUFFIXES, ".npy")  # SNR-Aware distributes SMID / SDSD as .npy arrays

# SNR-Aware's held-out static-SDSD scenes (its data-preparation code); everything else trains
SDSD_TEST_SCENES = {
    "indoor": ("pair13", "pair15", "pair21", "pair23", "pair31", "pair33", "pair50", "pair52", "pair58", "pair60",
               "pair68", "pair70"),
    "outdoor": ("pair1", "pair5", "pair14", "pair36", "pair46", "pair48", "pair49", "pair60", "pair62", "pair63",
                "pair66", "pair75", "pair76"),
}

def _layout(tree: str) -> str:
    """`` Expected layout: a; b`` on one line (commands print the first line of an error), "" without a tree."""
    return f" Expected layout: {'; '.join(line.strip() for line in tree.splitlines())}" if tree else ""


def _require_dir(path: Path, what: str, tree: str = "") -> Path:
    """Return ``path`` if it is a folder, else raise naming it and the tree that was expected."""
    if not path.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {path}. Set data_root in the config (or pass "
                                f"--cfg-options <dataloader>.dataset.data_root=PATH).{_layout(tree)}")
    return path


def list_images(folder: str | Path, extensions: Sequence[str] = IMG_EXTENSIONS) -> list[Path]:
    """Return the image files directly inside ``folder`` (:func:`uptflow.utils.paths.list_images`: natural order, no
    hidden files); raise when it is missing or empty."""
    folder = _require_dir(Path(folder), "image")
    files = _image_files(folder, suffixes=tuple(extensions))
    if not files:
        raise FileNotFoundError(f"no image files ({', '.join(extensions)}) in {folder}")
    return files


def _names(items: Iterable[str]) -> str:
    """Names for a message: natural order, capped (:func:`uptflow.utils.text.listed`)."""
    return listed(sorted(items, key=natural_key))


def key_by_stem(files: Sequence[Path], prefix: str, folder: Path) -> dict[str, Path]:
    """Map pair key (file stem without ``prefix``) to file; raise naming both files when two share a key."""
    out: dict[str, Path] = {}
    for f in files:
        key = f.stem[len(prefix):] if prefix and f.stem.startswith(prefix) else f.stem
        if key in out:
            raise ValueError(f"two files in {folder} share the pair key {key!r}: {out[key].name} and {f.name}")
        out[key] = f
    return out


def match_pairs(low_dir: str | Path, gt_dir: str | Path, low_prefix: str = "", gt_prefix: str = "",
                extensions: Sequence[str] = IMG_EXTENSIONS) -> list[tuple[str, Path, Path]]:
    """Pair the images of two folders by file stem (after removing an optional prefix from each side).

    Args:
        low_dir: folder of low-light images.
        gt_dir: folder of normal-light images.
        low_prefix: prefix dropped from low-light stems before matching (LOL-v2 real: ``'low'``).
        gt_prefix: prefix dropped from normal-light stems (LOL-v2 real: ``'normal'``).
        extensions: file suffixes that count as images.

    Returns:
        ``[(key, low_path, gt_path), ...]`` naturally sorted by key.

    Raises:
        ValueError: when some file has no partner (all unmatched files are named) or two files share a key.
    """
    low_dir, gt_dir = Path(low_dir), Path(gt_dir)
    low = key_by_stem(list_images(low_dir, extensions), low_prefix, low_dir)
    gt = key_by_stem(list_images(gt_dir, extensions), gt_prefix, gt_dir)
    only_low, only_gt = set(low) - set(gt), set(gt) - set(low)
    if only_low or only_gt:
        parts = []
        if only_low:
            parts.append(f"{len(only_low)} in {low_dir} without a partner: "
                         f"{_names(low[k].name for k in only_low)}")
        if only_gt:
            parts.append(f"{len(only_gt)} in {gt_dir} without a partner: "
                         f"{_names(gt[k].name for k in only_gt)}")
        raise ValueError("unmatched images (pairs are matched by file stem"
                         f"{', prefixes ' + repr((low_prefix, gt_prefix)) if low_prefix or gt_prefix else ''}): "
                         + "; ".join(parts) + _prefix_hint(low, only_low, gt, only_gt, low_prefix or gt_prefix))
    return [(k, low[k], gt[k]) for k in sorted(low, key=natural_key)]


def _prefix_hint(low: dict[str, Path], only_low: set[str], gt: dict[str, Path], only_gt: set[str],
                 prefixed: str) -> str:
    """A hint naming the prefixes for numbered names that differ only by their leading word (LOL-v2's low00001 /
    normal00001), or ""."""
    words = [re.match(r"^([A-Za-z]+)\d+$", files[min(keys, key=natural_key)].stem) if keys else None
             for files, keys in ((low, only_low), (gt, only_gt))]
    if prefixed or not all(words) or words[0].group(1) == words[1].group(1):
        return ""
    return (f" (names like {words[0].group(0)} / {words[1].group(0)}: set low_prefix={words[0].group(1)!r} and "
            f"gt_prefix={words[1].group(1)!r})")


def _build_pipeline(pipeline: Sequence[dict | Callable]) -> list[Callable]:
    """Build pipeline steps from uptflow's TRANSFORMS, so configs need no default scope to find them."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]


class _FolderDataset(BaseDataset):
    """Base of the folder datasets: builds the pipeline from uptflow's registry and checks ``data_root``."""

    TREE = ""

    def __init__(self, data_root: str = "", pipeline: Sequence[dict | Callable] = (), test_mode: bool = False,
                 indices: int | Sequence[int] | None = None, serialize_data: bool = True,
                 lazy_init: bool = False) -> None:
        super().__init__(data_root=str(data_root), pipeline=_build_pipeline(pipeline), test_mode=test_mode,
                         indices=indices, serialize_data=serialize_data, lazy_init=lazy_init)

    def _root(self) -> Path:
        if not self.data_root:
            raise ValueError(f"{type(self).__name__}: data_root is empty; set it in the config.{_layout(self.TREE)}")
        return _require_dir(Path(self.data_root), f"{type(self).__name__} data_root", self.TREE)

    def _pairs(self, low_dir: Path, gt_dir: Path, low_prefix: str = "", gt_prefix: str = "") -> list[dict]:
        def under_root(folder: Path) -> str:  # data_root/<folder> where it is inside data_root, else its path
            root = Path(self.data_root)
            inside = bool(self.data_root) and folder.is_relative_to(root)
            return f"data_root/{folder.relative_to(root).as_posix()}" if inside else folder.as_posix()

        # the generic tree with this dataset's own folders in it
        tree = self.TREE.replace("data_root/<low_dir>", under_root(low_dir)).replace(
            "data_root/<gt_dir>", under_root(gt_dir))
        _require_dir(low_dir, "low-light", tree)
        _require_dir(gt_dir, "normal-light", tree)
        return [dict(low_path=str(lp), gt_path=str(gp), name=key)
                for key, lp, gp in match_pairs(low_dir, gt_dir, low_prefix, gt_prefix)]


@DATASETS.register_module()
class PairedImageDataset(_FolderDataset):
    """Pairs of images from two folders, matched by file stem.

    Args:
        data_root: folder the two sub-folders are relative to (may be empty when they are absolute).
        low_dir: low-light folder, relative to ``data_root``.
        gt_dir: normal-light folder, relative to ``data_root``.
        low_prefix: prefix dropped from low-light stems before matching.
        gt_prefix: prefix dropped from normal-light stems before matching.
        pipeline: transforms (configs or callables), applied in order.
        test_mode: mmengine's flag (no re-fetch of another sample on ``None``).
        indices: keep only these samples (or the first N).
        serialize_data: mmengine's shared-memory serialisation of the sample list.
        lazy_init: defer listing the folders to the first access.
    """

    TREE = "    data_root/<low_dir>/<name>.png\n    data_root/<gt_dir>/<name>.png"

    def __init__(self, low_dir: str, gt_dir: str, data_root: str = "", low_prefix: str = "", gt_prefix: str = "",
                 **kwargs) -> None:
        self.low_dir, self.gt_dir = low_dir, gt_dir
        self.low_prefix, self.gt_prefix = low_prefix, gt_prefix
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the matched pairs."""
        root = Path(self.data_root)
        return self._pairs(root / self.low_dir, root / self.gt_dir, self.low_prefix, self.gt_prefix)


@DATASETS.register_module()
class UnpairedImageDataset(_FolderDataset):
    """Low-light images without ground truth (qualitative sets such as DICM, MEF, NPE, LIME).

    Args:
        data_root: the folder of images.
        img_dir: sub-folder of ``data_root`` holding the images. Defaults to ``''``.
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = "    data_root/<img_dir>/<name>.png"

    def __init__(self, data_root: str, img_dir: str = "", **kwargs) -> None:
        self.img_dir = img_dir
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the images."""
        folder = self._root() / self.img_dir
        return [dict(low_path=str(p), name=p.stem) for p in list_images(folder)]


def _split_dir(split: str, names: dict[str, str], who: str) -> str:
    if split not in names:
        raise ValueError(f"{who}: split must be one of {sorted(names)}, got {split!r}")
    return names[split]


@DATASETS.register_module()
class LOLDataset(_FolderDataset):
    """LOL v1 (Wei et al., BMVC 2018): ``our485`` for training, ``eval15`` for testing.

    Args:
        data_root: the LOL folder holding ``our485`` and ``eval15``.
        split: ``'train'`` or ``'test'``.
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = "    data_root/our485/{low,high}/<n>.png\n    data_root/eval15/{low,high}/<n>.png"

    def __init__(self, data_root: str, split: str = "train", **kwargs) -> None:
        self.split = _split_dir(split, {"train": "our485", "test": "eval15"}, type(self).__name__)
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the matched pairs of the split."""
        base = self._root() / self.split
        return self._pairs(base / "low", base / "high")


@DATASETS.register_module()
class LOLv2Dataset(_FolderDataset):
    """LOL-v2 (Yang et al., TIP 2021), ``Real_captured`` or ``Synthetic`` subset.

    Args:
        data_root: the LOL-v2 folder holding ``Real_captured`` and ``Synthetic``.
        subset: ``'real'`` or ``'synthetic'``.
        split: ``'train'`` or ``'test'``.
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = ("    data_root/Real_captured/{Train,Test}/Low/low00001.png\n"
            "    data_root/Real_captured/{Train,Test}/Normal/normal00001.png\n"
            "    data_root/Synthetic/{Train,Test}/{Low,Normal}/<name>.png")

    def __init__(self, data_root: str, subset: str = "real", split: str = "train", **kwargs) -> None:
        self.subset = _split_dir(subset, {"real": "Real_captured", "synthetic": "Synthetic"}, type(self).__name__)
        self.split = _split_dir(split, {"train": "Train", "test": "Test"}, type(self).__name__)
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the matched pairs (real: ``lowNNNNN`` pairs with ``normalNNNNN``)."""
        base = self._root() / self.subset / self.split
        prefixes = ("low", "normal") if self.subset == "Real_captured" else ("", "")
        return self._pairs(base / "Low", base / "Normal", *prefixes)


@DATASETS.register_module()
class FiveKDataset(_FolderDataset):
    """MIT-Adobe FiveK input / expert retouch pairs, split by name order (first 97 % train, last 3 % test).

    UPT-Flow defers to MBPNet (TIP 2023), whose README recommends that split; the exact split UPT-Flow used is
    not published.

    Args:
        data_root: folder holding ``low_dir`` and ``gt_dir``.
        split: ``'train'`` (the first ``train_fraction`` of the name-sorted pairs) or ``'test'`` (the rest).
        low_dir: input rendition folder. Defaults to ``'input'``.
        gt_dir: target folder. Defaults to ``'expertC'``.
        train_fraction: fraction of pairs used for training. Defaults to 0.97.
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = "    data_root/input/<name>.jpg\n    data_root/expertC/<name>.jpg"

    def __init__(self, data_root: str, split: str = "train", low_dir: str = "input", gt_dir: str = "expertC",
                 train_fraction: float = 0.97, **kwargs) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"{type(self).__name__}: split must be 'train' or 'test', got {split!r}")
        if not 0.0 < train_fraction < 1.0:
            raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
        self.split, self.low_dir, self.gt_dir, self.train_fraction = split, low_dir, gt_dir, train_fraction
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the pairs of the split."""
        root = self._root()
        pairs = self._pairs(root / self.low_dir, root / self.gt_dir)
        n_train = round(len(pairs) * self.train_fraction)
        return pairs[:n_train] if self.split == "train" else pairs[n_train:]


class _SceneDataset(_FolderDataset):
    """Datasets stored as ``<low_root>/<scene>/<frame>`` and ``<gt_root>/<scene>/...``, split by scene."""

    def _scene_dirs(self, low_root: Path, gt_root: Path) -> list[tuple[str, Path, Path]]:
        _require_dir(low_root, "low-light scene", self.TREE)
        _require_dir(gt_root, "normal-light scene", self.TREE)
        low = {p.name: p for p in low_root.iterdir() if p.is_dir()}
        gt = {p.name: p for p in gt_root.iterdir() if p.is_dir()}
        if set(low) != set(gt):
            raise ValueError(f"scene folders differ: only in {low_root}: "
                             f"{_names(set(low) - set(gt)) or '-'}; "
                             f"only in {gt_root}: {_names(set(gt) - set(low)) or '-'}")
        if not low:
            raise FileNotFoundError(f"no scene folders in {low_root}")
        return [(s, low[s], gt[s]) for s in sorted(low, key=natural_key)]

    @staticmethod
    def _select(scenes: list, test_scenes: Sequence[str], split: str, where: Path) -> list:
        names = {s[0] for s in scenes}
        missing = set(test_scenes) - names
        if missing:
            raise ValueError(f"test scenes not found under {where}: {_names(missing)}")
        keep_test = split == "test"
        return [s for s in scenes if (s[0] in test_scenes) == keep_test]


@DATASETS.register_module()
class SDSDDataset(_SceneDataset):
    """Static SDSD (Wang et al., ICCV 2021) as distributed by SNR-Aware, indoor or outdoor; frames by stem.

    The ``.npy`` frames are read by the pipeline's ``LoadImagePair`` (see its ``npy_order``).

    Args:
        data_root: folder holding ``indoor_static_np`` / ``outdoor_static_np``.
        subset: ``'indoor'`` or ``'outdoor'``.
        split: ``'train'`` (all scenes but the test ones) or ``'test'``.
        test_scenes: held-out scene names. Defaults to SNR-Aware's list (:data:`SDSD_TEST_SCENES`).
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = ("    data_root/indoor_static_np/{input,GT}/<scene>/<frame>.npy\n"
            "    data_root/outdoor_static_np/{input,GT}/<scene>/<frame>.npy")

    def __init__(self, data_root: str, subset: str = "indoor", split: str = "train",
                 test_scenes: Sequence[str] | None = None, **kwargs) -> None:
        if subset not in SDSD_TEST_SCENES:
            raise ValueError(f"{type(self).__name__}: subset must be 'indoor' or 'outdoor', got {subset!r}")
        self.subset = subset
        self.split = _split_dir(split, {"train": "train", "test": "test"}, type(self).__name__)
        self.test_scenes = tuple(test_scenes) if test_scenes is not None else SDSD_TEST_SCENES[subset]
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List every frame pair of the split's scenes."""
        base = self._root() / f"{self.subset}_static_np"
        scenes = self._select(self._scene_dirs(base / "input", base / "GT"), self.test_scenes, self.split, base)
        out = []
        for scene, low_dir, gt_dir in scenes:
            out += [dict(low_path=str(lp), gt_path=str(gp), name=f"{scene}/{key}")
                    for key, lp, gp in match_pairs(low_dir, gt_dir)]
        return out


@DATASETS.register_module()
class SMIDDataset(_SceneDataset):
    """SMID (Chen et al., ICCV 2019) as distributed by SNR-Aware: every low frame of a scene pairs with its reference.

    Args:
        data_root: folder holding ``SMID_LQ_np`` and ``SMID_Long_np``.
        split: ``'train'`` (scenes not in the test list) or ``'test'``.
        test_list: text file of test scene names, relative to ``data_root``. Defaults to ``'test_list.txt'``.
        max_frames: keep at most this many (name-sorted) low frames per scene; ``None`` keeps all. SNR-Aware's
            SMID test loader keeps 30. Defaults to None.
        **kwargs: as for :class:`PairedImageDataset`.
    """

    TREE = ("    data_root/SMID_LQ_np/<scene>/<frame>.npy\n"
            "    data_root/SMID_Long_np/<scene>/<reference>.npy\n"
            "    data_root/test_list.txt   (test scene names, one per line)")

    def __init__(self, data_root: str, split: str = "train", test_list: str = "test_list.txt",
                 max_frames: int | None = None, **kwargs) -> None:
        self.split = _split_dir(split, {"train": "train", "test": "test"}, type(self).__name__)
        self.test_list, self.max_frames = test_list, max_frames
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List (low frame, scene reference) pairs of the split's scenes."""
        root = self._root()
        list_file = root / self.test_list
        if not list_file.is_file():
            raise FileNotFoundError(f"SMID test scene list not found: {list_file} (SNR-Aware distributes it as "
                                    f"test_list.txt; one scene name per line)")
        test_scenes = [ln.strip() for ln in list_file.read_text().splitlines() if ln.strip()]
        scenes = self._select(self._scene_dirs(root / "SMID_LQ_np", root / "SMID_Long_np"), test_scenes,
                              self.split, root)
        out = []
        for scene, low_dir, gt_dir in scenes:
            refs = [p for p in list_images(gt_dir) if ".ARW" not in p.name and "half" not in p.name]
            if not refs:
                raise FileNotFoundError(f"no reference image in {gt_dir}")
            lows = list_images(low_dir)[: self.max_frames]
            out += [dict(low_path=str(lp), gt_path=str(refs[0]), name=f"{scene}/{lp.stem}") for lp in lows]
        return out

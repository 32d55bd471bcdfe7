"""Data transforms for paired low-/normal-light images (mmengine pipeline steps operating on a results dict).

Every random transform applies the *same* draw to the low-light image and its ground truth. Randomness comes
from numpy's global generator, which mmengine seeds per process and per data-loader worker (``randomness``
in the config); the dataloader's replay on ``--resume`` therefore reproduces the same crops.

Images travel through the pipeline as uint8 HxWx3 RGB arrays under ``low`` / ``gt``; ``PackPairedInputs``
turns them into uint8 [3, H, W] tensors, and the model's data preprocessor scales them to float [0, 1].
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from mmengine.structures import BaseDataElement

from uptflow.registry import TRANSFORMS
from uptflow.utils.io import imread_rgb, to_rgb_uint8

__all__ = ["LoadImagePair", "PairedRandomCrop", "PairedCenterCrop", "PairedHFlip", "AddPointMap",
           "PackPairedInputs", "read_image"]


def read_image(path: str | Path, npy_order: str = "bgr") -> np.ndarray:
    """Read an image file or a ``.npy`` array as uint8 HxWx3 RGB; errors name the file and the problem.

    Args:
        path: image file (anything PIL reads) or ``.npy`` array (HxWx3 uint8, or float in [0, 1]).
        npy_order: channel order stored in ``.npy`` files: ``'bgr'`` (SNR-Aware's SMID / SDSD arrays, which its
            loader flips with ``[..., [2, 1, 0]]``) or ``'rgb'``.
    """
    p = Path(path)
    if p.suffix.lower() != ".npy":
        return imread_rgb(p)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"cannot read array {p}: {e}") from e
    img = to_rgb_uint8(arr, source=str(p))
    if npy_order == "bgr":
        img = np.ascontiguousarray(img[..., ::-1])
    elif npy_order != "rgb":
        raise ValueError(f"npy_order must be 'bgr' or 'rgb', got {npy_order!r}")
    return img


def _check_pair(results: dict, keys: Sequence[str], who: str) -> tuple[int, int]:
    """Return the common (H, W) of ``results[k]`` for ``k`` in ``keys``; raise naming the files when they differ."""
    shapes = {k: results[k].shape[:2] for k in keys if k in results}
    if not shapes:
        raise KeyError(f"{who}: none of the keys {list(keys)} is in the results (have {sorted(results)})")
    if len(set(shapes.values())) > 1:
        files = ", ".join(f"{k}={results.get(f'{k}_path', '<array>')} {shapes[k][1]}x{shapes[k][0]}" for k in shapes)
        raise ValueError(f"{who}: images of a pair differ in size (WxH): {files}")
    return next(iter(shapes.values()))


def _parse_size(crop_size: int | Sequence[int]) -> tuple[int, int]:
    """Return (H, W) from an int or a pair of positive ints."""
    size = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
    if len(size) != 2 or any(not isinstance(s, int) or s <= 0 for s in size):
        raise ValueError(f"crop_size must be a positive int or (H, W) of positive ints, got {crop_size!r}")
    return size


def _check_fits(results: dict, keys: Sequence[str], size: tuple[int, int], who: str) -> tuple[int, int]:
    """Return the pair's (H, W); raise naming the file when it is smaller than ``size``."""
    h, w = _check_pair(results, keys, who)
    if h < size[0] or w < size[1]:
        raise ValueError(f"{who}: image {results.get('low_path', '<array>')} is {w}x{h} (WxH), smaller than the "
                         f"crop {size[1]}x{size[0]}; use a smaller crop_size or drop the image")
    return h, w


def _crop(results: dict, keys: Sequence[str], y0: int, x0: int, ch: int, cw: int) -> dict:
    """Crop ``results[k]`` for every present key and record the box."""
    for k in keys:
        if k in results:
            results[k] = np.ascontiguousarray(results[k][y0:y0 + ch, x0:x0 + cw])
    results["crop_box"] = (x0, y0, x0 + cw, y0 + ch)
    return results


@TRANSFORMS.register_module()
class LoadImagePair:
    """Load the low-light image and the ground truth from whichever of their paths are present.

    Required Keys:

    - low_path (optional: pairs synthesised from normal-light photos have none)
    - gt_path (optional: unpaired samples have none)

    Added Keys:

    - low (np.uint8, HxWx3 RGB)
    - gt (np.uint8, HxWx3 RGB)
    - ori_shape (tuple[int, int]: H, W)

    Args:
        npy_order (str): channel order of ``.npy`` inputs, ``'bgr'`` or ``'rgb'`` (see :func:`read_image`).
            Defaults to ``'bgr'``.
    """

    def __init__(self, npy_order: str = "bgr") -> None:
        if npy_order not in ("bgr", "rgb"):
            raise ValueError(f"npy_order must be 'bgr' or 'rgb', got {npy_order!r}")
        self.npy_order = npy_order

    def __call__(self, results: dict) -> dict:
        """Read the files named by ``low_path`` / ``gt_path``; images already in the sample as arrays are kept."""
        paths = {k: results.get(f"{k}_path") for k in ("low", "gt")}
        if all(p is None and k not in results for k, p in paths.items()):
            raise KeyError(f"{type(self).__name__}: the sample has neither 'low_path' nor 'gt_path' "
                           f"(keys: {sorted(results)})")
        for key, path in paths.items():
            if path is not None:
                results[key] = read_image(path, self.npy_order)
        results["ori_shape"] = _check_pair(results, ("low", "gt"), type(self).__name__)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(npy_order={self.npy_order!r})"


class _PairedCrop:
    """Crop the same ``crop_size`` window from every image of ``keys``; subclasses choose the window's origin."""

    def __init__(self, crop_size: int | Sequence[int], keys: Sequence[str] = ("low", "gt")) -> None:
        self.crop_size = _parse_size(crop_size)
        self.keys = tuple(keys)

    def origin(self, h: int, w: int) -> tuple[int, int]:
        """Top-left (y0, x0) of the crop in an h x w image."""
        raise NotImplementedError

    def __call__(self, results: dict) -> dict:
        """Crop every key at the window given by :meth:`origin`."""
        h, w = _check_fits(results, self.keys, self.crop_size, type(self).__name__)
        y0, x0 = self.origin(h, w)
        return _crop(results, self.keys, y0, x0, *self.crop_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size}, keys={self.keys})"


@TRANSFORMS.register_module()
class PairedRandomCrop(_PairedCrop):
    """Crop the same random ``crop_size`` window from every image of a pair.

    Required Keys:

    - low
    - gt (optional)

    Modified Keys:

    - low
    - gt

    Added Keys:

    - crop_box (tuple[int, int, int, int]: x0, y0, x1, y1 in the input image)

    Args:
        crop_size (int | tuple[int, int]): (H, W) of the crop; an int means a square. Defaults to 160
            (UPT-Flow's ``GT_size``).
        keys (Sequence[str]): images cropped together. Defaults to ``('low', 'gt')``.
    """

    def __init__(self, crop_size: int | Sequence[int] = 160, keys: Sequence[str] = ("low", "gt")) -> None:
        super().__init__(crop_size, keys)

    def origin(self, h: int, w: int) -> tuple[int, int]:
        """A top-left corner drawn uniformly from the valid ones."""
        ch, cw = self.crop_size
        return int(np.random.randint(0, h - ch + 1)), int(np.random.randint(0, w - cw + 1))


@TRANSFORMS.register_module()
class PairedCenterCrop(_PairedCrop):
    """Crop the central ``crop_size`` window (no randomness; for validation on fixed-size patches).

    Required Keys:

    - low
    - gt (optional)

    Modified Keys:

    - low
    - gt

    Added Keys:

    - crop_box (tuple[int, int, int, int]: x0, y0, x1, y1 in the input image)

    Args:
        crop_size (int | tuple[int, int]): (H, W) of the crop; an int means a square.
        keys (Sequence[str]): images cropped together. Defaults to ``('low', 'gt')``.
    """

    def origin(self, h: int, w: int) -> tuple[int, int]:
        """The top-left corner of the central window."""
        return (h - self.crop_size[0]) // 2, (w - self.crop_size[1]) // 2


@TRANSFORMS.register_module()
class PairedHFlip:
    """Flip every image of a pair left-right together with probability ``prob``.

    Required Keys:

    - low
    - gt (optional)

    Modified Keys:

    - low
    - gt

    Added Keys:

    - flip (bool)

    Args:
        prob (float): probability of flipping. Defaults to 0.5 (UPT-Flow / LLFlow ``use_flip``).
        keys (Sequence[str]): images flipped together. Defaults to ``('low', 'gt')``.
    """

    def __init__(self, prob: float = 0.5, keys: Sequence[str] = ("low", "gt")) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = prob
        self.keys = tuple(keys)

    def __call__(self, results: dict) -> dict:
        """Flip all keys, or none."""
        _check_pair(results, self.keys, type(self).__name__)
        # always draw, so the random stream does not depend on prob being 0 or 1
        flip = bool(np.random.rand() < self.prob)
        if flip:
            for k in self.keys:
                if k in results:
                    results[k] = np.ascontiguousarray(results[k][:, ::-1])
        results["flip"] = flip
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, keys={self.keys})"


@TRANSFORMS.register_module()
class AddPointMap:
    """Add the Unbalanced Point Map of the (cropped) low-light image, for inspection and visualisation.

    UPTFlow computes the UPM itself from ``low``, so training pipelines do not need this step.

    Required Keys:

    - low

    Added Keys:

    - point_map (np.uint8, HxW, values 0 / 1)
    """

    def __call__(self, results: dict) -> dict:
        """Compute the UPM with the model's own function, on the image as it is at this pipeline step."""
        from uptflow.models.upm import unbalanced_point_map

        low = torch.from_numpy(results["low"]).permute(2, 0, 1)[None].float() / 255.0
        results["point_map"] = unbalanced_point_map(low)[0, 0].to(torch.uint8).numpy()
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@TRANSFORMS.register_module()
class PackPairedInputs:
    """Pack the images into uint8 [3, H, W] tensors and the rest into a metadata dict.

    Required Keys:

    - low
    - gt (optional)

    Added Keys:

    - inputs (dict: ``low`` and, when present, ``gt``, each torch.uint8 [3, H, W])
    - data_samples (mmengine ``BaseDataElement`` whose metainfo holds the keys of ``meta_keys`` that are present;
      a data element, not a dict, so the collate function keeps one per sample)

    Args:
        meta_keys (Sequence[str]): keys copied into ``data_samples``. Defaults to
            ``('low_path', 'gt_path', 'ori_shape', 'crop_box', 'flip', 'name')``.
    """

    def __init__(self, meta_keys: Sequence[str] = ("low_path", "gt_path", "ori_shape", "crop_box", "flip",
                                                   "name")) -> None:
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        """Return ``{'inputs': {...}, 'data_samples': {...}}``."""
        _check_pair(results, ("low", "gt"), type(self).__name__)
        inputs = {k: torch.from_numpy(np.ascontiguousarray(results[k].transpose(2, 0, 1)))
                  for k in ("low", "gt") if k in results}
        meta = {k: results[k] for k in self.meta_keys if k in results}
        return {"inputs": inputs, "data_samples": BaseDataElement(metainfo=meta)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"

"""Image-wide statistics for tiled inference: the tiles of one image share what UPT-Flow pools over all pixels.

Three operations of UPT-Flow pool over every pixel of a map: MDTA's channel attention (the Gram matrices and the
norms of q and k), ECA's channel means (LeFF, full resolution) and CBAM's channel means and maxima (the coupling
sub-networks). A tile on its own pools over the tile, so its output differs from the untiled one everywhere, not only
near a seam. With :class:`ImageStatistics` a first pass over the tiles records, call by call, the sums and maxima of
every tile over the part of the image it owns (overlaps split in the middle, so no pixel counts twice); a later
recording pass may already use those totals (one more fixed-point step, since the first pass's values were computed
from tile-local ones upstream); a final pass uses the image's totals in every tile. The result approaches the untiled
one without reproducing it exactly (measured in ``benchmarks/bench_tiling.py``; docs/speed.md).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor

__all__ = ["ImageStatistics", "owned_region", "pooled_amax", "pooled_mean", "pooled_sums", "statistics_active"]

_ACTIVE: ContextVar["ImageStatistics | None"] = ContextVar("uptflow_image_statistics", default=None)


class ImageStatistics:
    """The pooled statistics of one image, recorded tile by tile (:meth:`recording`) and then used (:meth:`sharing`).

    Calls are matched by their order within one network pass, which is the same for every tile of an image.
    """

    def __init__(self) -> None:
        self._totals: list[list[Tensor]] = []
        self._replay = False
        self._call = 0
        self._owned: tuple[float, float, float, float] | None = None
        self._previous: list[list[Tensor]] = []

    @contextmanager
    def _active(self, replay: bool) -> Iterator["ImageStatistics"]:
        token = _ACTIVE.set(self)
        self._replay = replay
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    @contextmanager
    def recording(self) -> Iterator["ImageStatistics"]:
        """Within this block every network pass is one tile; its statistics are added to the image's.

        When statistics were recorded before, the passes use those (one more fixed-point step) and the new totals
        replace them at the end of the block; otherwise every pass uses its own tile's.
        """
        self._previous, self._totals = self._totals, []
        try:
            with self._active(replay=False):
                yield self
        finally:
            self._previous = []

    @contextmanager
    def sharing(self) -> Iterator["ImageStatistics"]:
        """Within this block every network pass uses the image's recorded statistics instead of its own."""
        if not self._totals:
            raise RuntimeError("ImageStatistics.sharing(): nothing was recorded; run the tiles under recording() first")
        with self._active(replay=True):
            yield self

    def start_pass(self, owned: tuple[float, float, float, float] | None = None) -> None:
        """Mark the start of one tile's network pass (calls are numbered from here).

        Args:
            owned: the part of the tile that is its own, as fractions (top, bottom, left, right) of its height and
                width; while recording, only those pixels of every pooled map count (None: the whole tile).
        """
        self._call = 0
        self._owned = owned

    def _region(self, h: int, w: int) -> tuple[slice, slice] | None:
        if self._replay or self._owned is None:
            return None
        top, bottom, left, right = self._owned
        return slice(round(top * h), round(bottom * h)), slice(round(left * w), round(right * w))

    def _pool(self, values: list[Tensor], ops: tuple[str, ...], owned: list[Tensor] | None = None) -> list[Tensor]:
        """Sharing: the image's totals. Recording: add ``owned`` (the tile's own pixels' values; default ``values``)
        to the new totals and return what the pass goes on with (the previous totals, else the tile's ``values``)."""
        i = self._call
        self._call += 1
        if self._replay:
            return self._check(i, values, self._totals)
        used = self._check(i, values, self._previous) if self._previous else values
        owned = values if owned is None else owned
        if i == len(self._totals):
            self._totals.append([v.float().clone() for v in owned])
        else:
            for total, v, op in zip(self._totals[i], owned, ops, strict=True):
                if op == "sum":
                    total.add_(v)
                else:
                    torch.maximum(total, v.float(), out=total)
        return used

    @staticmethod
    def _check(i: int, values: list[Tensor], totals: list[list[Tensor]]) -> list[Tensor]:
        """The totals of call ``i`` in the dtypes of ``values``, which they must match in number and shape."""
        if i >= len(totals) or len(totals[i]) != len(values) or any(
                t.shape != v.shape for t, v in zip(totals[i], values, strict=True)):
            raise RuntimeError(f"image statistics: call {i} of this pass does not match the recorded passes "
                               "(a different network, batch or precision than the one recorded)")
        return [t.to(v.dtype) for t, v in zip(totals[i], values, strict=True)]


def statistics_active() -> bool:
    """Whether the current pass records or uses image-wide statistics (a tile of an image being enhanced in tiles)."""
    return _ACTIVE.get() is not None


def owned_region(h: int, w: int) -> tuple[slice, slice] | None:
    """Rows and columns of an h x w map over which a pool should sum while tiles are recorded (None: all of it)."""
    active = _ACTIVE.get()
    return None if active is None else active._region(h, w)


def pooled_sums(values: list[Tensor], owned: list[Tensor] | None = None) -> list[Tensor]:
    """``values`` (sums over the pixels of a map), or the whole image's sums while its tiles share statistics.

    ``owned`` are the same sums over :func:`owned_region` only, which is what a recorded tile contributes.
    """
    active = _ACTIVE.get()
    return values if active is None else active._pool(values, ("sum",) * len(values), owned)


def pooled_mean(x: Tensor) -> Tensor:
    """Per-channel mean [B, C] of ``x`` [B, C, H, W], over the whole image while its tiles share statistics."""
    active = _ACTIVE.get()
    if active is None:
        return x.mean(dim=(2, 3))
    owned = _owned(active, x)
    total, count = active._pool(_sum_and_count(x), ("sum", "sum"), None if owned is None else _sum_and_count(owned))
    return (total / count).to(x.dtype)


def pooled_amax(x: Tensor) -> Tensor:
    """Per-channel maximum [B, C] of ``x`` [B, C, H, W], over the whole image while its tiles share statistics."""
    active = _ACTIVE.get()
    if active is None:
        return x.amax(dim=(2, 3))
    owned = _owned(active, x)
    return active._pool([x.amax(dim=(2, 3))], ("max",), None if owned is None else [owned.amax(dim=(2, 3))])[0]


def _sum_and_count(x: Tensor) -> list[Tensor]:
    count = torch.full((x.shape[0], 1), float(x.shape[2] * x.shape[3]), device=x.device)
    return [x.sum(dim=(2, 3), dtype=torch.float32), count]


def _owned(active: ImageStatistics, x: Tensor) -> Tensor | None:
    """The pixels of ``x`` [B, C, H, W] a recorded tile owns; None when all of them count."""
    region = active._region(*x.shape[2:])
    return None if region is None else x[:, :, region[0], region[1]]

"""Tiled inference for images too large to enhance in one pass: overlapping tiles blended with smooth weights.

Tiling is an approximation for UPT-Flow: the encoder's transposed (channel) attention pools statistics over the
whole image, and its windows and convolutions see only the tile, so a tiled result differs from the untiled one
(mostly near tile borders, which the overlap blending hides). Untiled is therefore the default whenever the image
fits the memory budget; see :func:`choose_tile`.
"""

import math
import os
from collections.abc import Callable
from contextlib import nullcontext

import torch

from uptflow.models.image_statistics import ImageStatistics

__all__ = ["BYTES_PER_PIXEL", "BYTES_PER_PIXEL_BY_PRECISION", "BYTES_PER_PIXEL_BY_WIDTH", "CPU_BUDGET_CAP",
           "MEMORY_FRACTION", "RETAINED_HEAP_GROWTH", "STATISTICS_REFINEMENTS", "available_memory", "blend_weights",
           "bytes_per_pixel", "choose_tile", "default_budget", "retention_fits", "tile_starts", "tiled_apply"]

# Recording passes after the first when tiles share statistics: one more brings the statistics about as close to the
# untiled ones as the tiles' limited context allows (measured in benchmarks/bench_tiling.py, docs/speed.md).
STATISTICS_REFINEMENTS = 1

# Peak memory growth of one UPT-Flow enhance pass per input pixel, by precision, measured with
# benchmarks/enhance_speed.py (peak RSS growth of a fresh process, CPU, 2 threads); the values cover the largest
# per-pixel growth measured (see docs/speed.md). Full-size network (encoder dim 48): 600x400 to 1920x1080.
BYTES_PER_PIXEL_BY_PRECISION = {"fp32": 3_600, "bf16": 3_600, "fp16": 3_600}
BYTES_PER_PIXEL = BYTES_PER_PIXEL_BY_PRECISION["fp32"]
# Narrower encoders need less: the default model (encoder dim 24) grew by 1,830 (fp32) and 1,260 (bf16) bytes per
# pixel at 2048x1024. Planned with about 10 % margin; a width between two measured ones plans as the wider one.
BYTES_PER_PIXEL_BY_WIDTH = {24: {"fp32": 2_000, "bf16": 1_400, "fp16": 1_400}, 48: BYTES_PER_PIXEL_BY_PRECISION}
# Share of the available memory an enhance pass may use by default.
MEMORY_FRACTION = 0.8
# On CPU a pass never plans for more than this by default: larger passes are no faster (the encoder works in strips)
# and a 3840x2160 frame then runs in tiles of about 1,300 px within 8 GB peak RSS.
CPU_BUDGET_CAP = 6 * 2**30
# A CPU pass that reuses the memory it frees (uptflow.utils.heap) peaks higher, because the heap fragments: measured
# +9 % at 600x400 and +47 % at 1920x1080 (full-size network, fp32), +18-20 % for the default model at 2048x1024
# (docs/speed.md). Passes reuse memory only when the planned bytes times this factor fit the budget.
RETAINED_HEAP_GROWTH = 1.5


def bytes_per_pixel(precision: str = "fp32", device: str | torch.device = "cpu", encoder_dim: int = 48) -> int:
    """Planned memory per input pixel of an enhance pass in ``precision`` on ``device`` for a network whose encoder
    has width ``encoder_dim`` (widths above the measured ones scale linearly from the widest)."""
    if precision not in BYTES_PER_PIXEL_BY_PRECISION:
        raise ValueError(f"precision must be one of {', '.join(BYTES_PER_PIXEL_BY_PRECISION)}, got {precision!r}")
    widest = max(BYTES_PER_PIXEL_BY_WIDTH)
    if encoder_dim > widest:
        return math.ceil(BYTES_PER_PIXEL_BY_WIDTH[widest][precision] * encoder_dim / widest)
    return BYTES_PER_PIXEL_BY_WIDTH[min(w for w in BYTES_PER_PIXEL_BY_WIDTH if w >= encoder_dim)][precision]


def retention_fits(pixels: int, bytes_per_pixel: int, budget_bytes: int) -> bool:
    """Whether a pass over ``pixels`` input pixels may keep the memory it frees within ``budget_bytes``."""
    return pixels * bytes_per_pixel * RETAINED_HEAP_GROWTH <= budget_bytes


def available_memory(device: str | torch.device) -> int:
    """Bytes that can be used now: free GPU memory on CUDA, MemAvailable (free + reclaimable cache) otherwise."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # non-POSIX: assume a modest budget
        return 4 * 1024**3


def default_budget(device: str | torch.device) -> int:
    """Bytes an enhance pass may use on ``device`` by default: :data:`MEMORY_FRACTION` of the available memory,
    at most :data:`CPU_BUDGET_CAP` on CPU."""
    budget = int(MEMORY_FRACTION * available_memory(device))
    return budget if torch.device(device).type == "cuda" else min(budget, CPU_BUDGET_CAP)


def choose_tile(height: int, width: int, budget_bytes: int, bytes_per_pixel: int = BYTES_PER_PIXEL,
                multiple: int = 8, min_tile: int = 64) -> int | None:
    """Return None if the whole image fits ``budget_bytes``, else the largest square tile side that fits.

    The side is a multiple of ``multiple`` (the model pads to 8) and at least ``min_tile``.
    """
    if height * width * bytes_per_pixel <= budget_bytes:
        return None
    side = int(math.sqrt(budget_bytes / bytes_per_pixel)) // multiple * multiple
    return max(side, min_tile)


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, size)`` with tiles of ``tile`` overlapping by at least ``overlap``."""
    if tile >= size:
        return [0]
    if overlap >= tile:
        raise ValueError(f"overlap={overlap} must be smaller than tile={tile}")
    n = math.ceil((size - overlap) / (tile - overlap))
    if n == 1:
        return [0]
    # spread the tiles evenly so every overlap is at least ``overlap``
    return [round(i * (size - tile) / (n - 1)) for i in range(n)]


def _ramp(n: int, length: int, rise: bool, fall: bool, mode: str) -> torch.Tensor:
    w = torch.ones(n, dtype=torch.float64)
    length = min(length, n // 2)
    if length <= 0:
        return w
    t = (torch.arange(length, dtype=torch.float64) + 0.5) / length  # strictly inside (0, 1): weights stay > 0
    r = t if mode == "linear" else 0.5 - 0.5 * torch.cos(math.pi * t)
    if rise:
        w[:length] = r
    if fall:
        w[n - length:] = r.flip(0)
    return w


def blend_weights(h: int, w: int, overlap: int, sides: tuple[bool, bool, bool, bool], mode: str = "cosine"):
    """Separable tile weights that ramp over ``overlap`` pixels on the sides (top, bottom, left, right) that
    touch a neighbouring tile and stay 1 elsewhere (image borders are not faded)."""
    if mode not in ("linear", "cosine"):
        raise ValueError(f"blend mode must be 'linear' or 'cosine', got {mode!r}")
    top, bottom, left, right = sides
    return _ramp(h, overlap, top, bottom, mode)[:, None] * _ramp(w, overlap, left, right, mode)[None, :]


def _owned(starts: list[int], i: int, tile: int, size: int) -> tuple[float, float]:
    """The part of tile ``i`` along one axis that is its own (overlaps split in the middle), as fractions of it."""
    end = min(starts[i] + tile, size)
    lo = 0 if i == 0 else (starts[i] + min(starts[i - 1] + tile, size)) / 2
    hi = size if i == len(starts) - 1 else (end + starts[i + 1]) / 2
    return (lo - starts[i]) / (end - starts[i]), (hi - starts[i]) / (end - starts[i])


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int = 32,
                blend: str = "cosine", progress: Callable[[int, int], None] | None = None,
                share_statistics: bool = False) -> torch.Tensor:
    """Apply an image-to-image ``fn`` ([B,C,h,w] -> same shape) to overlapping tiles of ``x`` and blend them.

    Args:
        fn: the per-tile function (e.g. ``model.enhance``).
        x: images [B, C, H, W].
        tile: tile side in pixels.
        overlap: minimum overlap between neighbouring tiles.
        blend: ``"cosine"`` or ``"linear"`` weight ramps across the overlaps.
        progress: optional callback ``(done, total)`` after each tile.
        share_statistics: record the image-wide statistics of the network's global pools over the tiles, refine
            them once more with a second recording pass that uses them, then enhance every tile with them
            (:mod:`uptflow.models.image_statistics`): three passes, which for UPT-Flow bring the tiled output far
            closer to the untiled one (docs/speed.md).
    """
    b, c, h, w = x.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    boxes = [(iy, ix, y0, x0, min(tile, h - y0), min(tile, w - x0))
             for iy, y0 in enumerate(ys) for ix, x0 in enumerate(xs)]
    records = 1 + STATISTICS_REFINEMENTS if share_statistics else 0
    total, done = len(boxes) * (1 + records), 0
    stats = ImageStatistics() if share_statistics else None
    for _ in range(records):
        with stats.recording():
            for iy, ix, y0, x0, th, tw in boxes:
                stats.start_pass(_owned(ys, iy, tile, h) + _owned(xs, ix, tile, w))
                fn(x[:, :, y0:y0 + th, x0:x0 + tw])
                done += 1
                if progress is not None:
                    progress(done, total)
    out = torch.zeros(b, c, h, w, dtype=torch.float64, device=x.device)
    norm = torch.zeros(h, w, dtype=torch.float64, device=x.device)
    with stats.sharing() if stats is not None else nullcontext():
        for iy, ix, y0, x0, th, tw in boxes:
            if stats is not None:
                stats.start_pass()
            pred = fn(x[:, :, y0:y0 + th, x0:x0 + tw])
            sides = (iy > 0, iy < len(ys) - 1, ix > 0, ix < len(xs) - 1)
            # ramps span ``overlap`` pixels, which tile_starts guarantees lie inside the neighbour's tile
            wgt = blend_weights(th, tw, overlap, sides, blend).to(x.device)
            out[:, :, y0:y0 + th, x0:x0 + tw] += pred.double() * wgt
            norm[y0:y0 + th, x0:x0 + tw] += wgt
            done += 1
            if progress is not None:
                progress(done, total)
    return (out / norm).to(x.dtype)

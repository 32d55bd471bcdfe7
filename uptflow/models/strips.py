"""Evaluate row-local maps in horizontal strips, so that their wide intermediate maps stay small.

The feed-forward networks of the encoder expand the channels 2.66x (GDFN) or 4x (LeFF) before a 3x3 depthwise
convolution, so at full resolution their intermediate maps are several times larger than the features. Computed
strip by strip (each strip with the rows its 3x3 convolutions read, the "halo", recomputed), the results are the same
up to float rounding (matrix products may block their sums differently for a smaller map), but the intermediates
are a few MiB: they are served from the allocator's free lists and stay in cache between the element-wise steps,
instead of being fresh page-faulting allocations of hundreds of MiB. Peak memory drops accordingly.

Strips are used only in eager inference; with gradients, or while ``torch.compile`` traces the network, the whole
map is one strip (a traced graph would unroll every strip, so compiling would take longer the larger the image).
"""

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

__all__ = ["STRIP_BYTES", "GPU_STRIP_BYTES", "map_strips", "row_strips", "strip_rows"]

# Size of the widest intermediate map of one strip. Below glibc's 32 MiB ceiling for heap allocations, so strips are
# served from the heap's free lists (larger blocks are fresh mmaps that page-fault on first touch, about 0.3 ms per
# MiB here), and small enough to stay mostly in cache between the element-wise steps; large enough that per-call
# overheads stay small (benchmarks/bench_blocks.py).
STRIP_BYTES = 24 * 2**20
# On a GPU every operation of a strip is a kernel launch with about 15 us of host-side cost (an H200 ran the 25,700
# operations of a 600x400 pass of the full-size network in 0.38 s, whatever the precision), and a pass without strips
# has 10,000 operations instead. So strips there are as large as memory comfortably allows: 256 MiB intermediates
# (a 600x400 map in one strip, 1080p at full resolution in about six), a small share of a GPU's memory that the
# tiling plan's measured bytes per pixel (taken with CPU strips) does not include.
GPU_STRIP_BYTES = 256 * 2**20


def strip_rows(height: int, row_bytes: int, min_rows: int = 4, device: torch.device | None = None) -> int:
    """Rows per strip so that a map of ``row_bytes`` per row stays within :data:`STRIP_BYTES` on the CPU
    (:data:`GPU_STRIP_BYTES` on another ``device``), at least ``min_rows``; ``height`` (one strip) when autograd is
    recording or torch.compile is tracing."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return height
    budget = STRIP_BYTES if device is None or device.type == "cpu" else GPU_STRIP_BYTES
    return max(min_rows, budget // max(row_bytes, 1))


def row_strips(height: int, rows: int, halo: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(r0, r1, a, e)``: output rows [r0, r1) are computed from input rows [a, e) = [r0 - halo, r1 + halo)
    clipped to the map."""
    for r0 in range(0, height, rows):
        r1 = min(r0 + rows, height)
        yield r0, r1, max(r0 - halo, 0), min(r1 + halo, height)


def map_strips(fn: Callable[[Tensor], Tensor], x: Tensor, channels: int, halo: int, rows: int) -> Tensor:
    """Apply ``fn`` ([1, C, h, W] -> [1, channels, h, W], each output row reading input rows within ``halo``) to
    ``x`` [B, C, H, W] strip by strip; returns [B, channels, H, W] channels-last (``fn(x)`` itself for one strip)."""
    b, _, h, w = x.shape
    if rows >= h:
        return fn(x)
    out = None
    for i in range(b):
        for r0, r1, a, e in row_strips(h, rows, halo):
            part = fn(x[i:i + 1, :, a:e])[:, :, r0 - a:r1 - a]
            if out is None:  # the dtype fn gives (autocast may lower it)
                out = torch.empty((b, h, w, channels), dtype=part.dtype, device=part.device).permute(0, 3, 1, 2)
            out[i:i + 1, :, r0:r1] = part
    return out

"""Temporal stability of an enhanced video: frame-to-frame flicker, measured relative to the input video.

For consecutive sampled frames (t-1, t), on BT.601 luma Y in [0, 255]:

* ``dL``        = |mean Y_t - mean Y_{t-1}|                        global brightness flicker
* ``rel_dL``    = dL / (mean of the two mean lumas)                brightness-normalised, so a plain gain is neutral
* ``diff``      = mean |Y_t - Y_{t-1}|                             unwarped change (motion + flicker + noise)
* ``warp_err``  = mean |Y_t - W(Y_{t-1})| over pixels inside the frame after warping
* ``rel_warp_err`` = warp_err / (mean of the two mean lumas)

W warps frame t-1 onto t with dense Farneback optical flow estimated once on the *input* pair (at most
``flow_side`` pixels on the long side), so input and enhanced video are compared under the same motion and the
enhancer cannot hide flicker by changing the flow. The per-video summary is the mean over pairs, and the
ratios ``flicker_ratio`` = rel_dL(enhanced) / rel_dL(input) and ``warp_ratio`` = rel_warp_err(enhanced) /
rel_warp_err(input): 1 means as stable as the input, > 1 means the enhancer adds temporal instability.

Both ratios assume consecutive frames of one video. A pair whose *input* frames the flow cannot align
(``in_rel_warp_err`` above :data:`UNALIGNED_WARP_ERR`) is counted in ``unaligned_pairs``: a cut, or frames that are
not a video at all.
"""

import math

import cv2
import numpy as np

__all__ = ["luma", "FlickerMeter", "PAIR_KEYS", "UNALIGNED_WARP_ERR", "summarize_pairs"]

PAIR_KEYS = ("dL", "rel_dL", "diff", "warp_err", "rel_warp_err")
# input rel_warp_err of a pair that is not two frames of one shot. Measured at flow_side 320: 0.02 for a slow pan over
# a night-street photo with sensor noise, 0.09-0.13 for a pan of 30 px per frame with 10 % brightness flicker, 0.43-0.63
# between the six unrelated night-street photos of ../shared and 0.57-1.50 between the DICM photos
UNALIGNED_WARP_ERR = 0.3


def luma(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of a uint8 HxWx3 RGB image as float32 HxW in [0, 255]."""
    x = img.astype(np.float32)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _resize_long(y: np.ndarray, side: int) -> np.ndarray:
    h, w = y.shape
    s = side / max(h, w)
    if s >= 1:
        return y
    return cv2.resize(y, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _backward_maps(prev_in: np.ndarray, cur_in: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampling maps taking frame t-1 onto frame t, and the mask of pixels whose source lies inside the frame."""
    flow = cv2.calcOpticalFlowFarneback(cur_in.astype(np.uint8), prev_in.astype(np.uint8), None,
                                        pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                                        poly_sigma=1.2, flags=0)
    h, w = cur_in.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return mx, my, inside


def _pair_stats(prev: np.ndarray, cur: np.ndarray, maps: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict:
    mx, my, inside = maps
    mp, mc = float(prev.mean()), float(cur.mean())
    level = max((mp + mc) / 2.0, 1e-6)
    warped = cv2.remap(prev, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warp_err = float(np.abs(cur - warped)[inside].mean()) if inside.any() else float("nan")
    return dict(dL=abs(mc - mp), rel_dL=abs(mc - mp) / level, diff=float(np.abs(cur - prev).mean()),
                warp_err=warp_err, rel_warp_err=warp_err / level)


class FlickerMeter:
    """Streaming flicker measurement: ``update(input_frame, enhanced_frame)`` per sampled frame, then ``summary()``.

    Args:
        flow_side: long side (pixels) at which flow and differences are computed; keeps it cheap on CPU.
    """

    def __init__(self, flow_side: int = 320) -> None:
        self.flow_side = flow_side
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self.pairs: list[dict] = []

    def update(self, inp: np.ndarray, out: np.ndarray) -> dict | None:
        """Add the next (input, enhanced) uint8 RGB frame pair; return this step's stats (None for the first)."""
        yi, yo = _resize_long(luma(inp), self.flow_side), _resize_long(luma(out), self.flow_side)
        if yi.shape != yo.shape:
            raise ValueError(f"enhanced frame {out.shape} and input frame {inp.shape} differ in size")
        stats = None
        if self._prev is not None:
            pi, po = self._prev
            if pi.shape != yi.shape:
                raise ValueError(f"frame size changed within the video: {pi.shape} -> {yi.shape}")
            maps = _backward_maps(pi, yi)
            s_in, s_out = _pair_stats(pi, yi, maps), _pair_stats(po, yo, maps)
            stats = {**{f"in_{k}": v for k, v in s_in.items()}, **{f"out_{k}": v for k, v in s_out.items()}}
            self.pairs.append(stats)
        self._prev = (yi, yo)
        return stats

    def summary(self) -> dict:
        """Means over frame pairs of every statistic for input and enhanced video, and the two ratios."""
        return summarize_pairs(self.pairs)


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else float("nan")


def summarize_pairs(pairs: list[dict]) -> dict:
    """:meth:`FlickerMeter.summary` of stored per-pair statistics (a resumed run keeps them on disk)."""
    res: dict = {"pairs": len(pairs)}
    for side in ("in", "out"):
        for k in PAIR_KEYS:
            vals = [p[f"{side}_{k}"] for p in pairs if math.isfinite(p[f"{side}_{k}"])]
            res[f"{side}_{k}"] = float(np.mean(vals)) if vals else float("nan")
    # NaN: no pixel of the earlier frame landed inside the frame, the least aligned a pair can be
    res["unaligned_pairs"] = sum(not p["in_rel_warp_err"] <= UNALIGNED_WARP_ERR for p in pairs)
    res["flicker_ratio"] = _ratio(res["out_rel_dL"], res["in_rel_dL"])
    res["warp_ratio"] = _ratio(res["out_rel_warp_err"], res["in_rel_warp_err"])
    return res

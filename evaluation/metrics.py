"""The metric catalogue: every number the suite reports, with its unit, direction and convention.

Benchmarks compute fractions and raw values; the catalogue is the one place that names them, converts them for
tables (``to_table``: fractions to percent), says which direction is better (the arrows in table headers) and
gives the convention text that goes into protocol lines. Suite configs, result rows, tables and the HTML report
all read it, so a metric means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Metric", "CATALOGUE", "metric", "to_table", "conventions", "UnknownMetricError"]


@dataclass(frozen=True)
class Metric:
    """One reported number.

    Args:
        name: the name in configs, rows and table headers.
        unit: ``"dB"``, ``"%"``, ``"per frame"``, ``"ratio"`` or ``""``.
        higher_is_better: the direction of improvement (None when neither, e.g. counts).
        convention: how it is computed, for protocol lines; ``{setting}`` fields name the benchmark settings it
            depends on, filled in by :func:`conventions` with the values used.
        percent: the benchmark returns a fraction in [0, 1] that tables show in percent.
    """

    name: str
    unit: str
    higher_is_better: bool | None
    convention: str
    percent: bool = False

    @property
    def arrow(self) -> str:
        """``↑``, ``↓`` or ``""`` for table headers."""
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")


class UnknownMetricError(KeyError):
    """A metric name that is not in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0])


_GTMEAN = ("; GT-mean: the output is first multiplied by mean_gray(GT) / mean_gray(output), grey = 0.299R + 0.587G "
           "+ 0.114B, then rounded and clipped to uint8 (uses the ground truth)")
_COCO = "pycocotools COCOeval bbox, 101-point interpolation, maxDets=100"
_VOC = "VOC mAP@0.5, eval_mode='area', legacy +1 pixel coordinates (mmdet 3.x VOCMetric)"
_SEG = "mmseg IoUMetric definitions, ignore index 255"
_M = Metric
CATALOGUE: dict[str, Metric] = {m.name: m for m in (
    _M("PSNR", "dB", True, "PSNR on uint8 RGB, per image, mean over images"),
    _M("SSIM", "", True, "SSIM, skimage 7x7 uniform window, channel_axis=2 (UPT-Flow's test.py)"),
    _M("SSIM-G11", "", True, "SSIM, 11x11 Gaussian window sigma 1.5 (MATLAB / BasicSR)"),
    _M("PSNR-GTmean", "dB", True, "PSNR on uint8 RGB" + _GTMEAN),
    _M("SSIM-GTmean", "", True, "SSIM skimage 7x7 uniform" + _GTMEAN),
    _M("SSIM-G11-GTmean", "", True, "SSIM 11x11 Gaussian" + _GTMEAN),
    _M("LPIPS", "", False, "LPIPS AlexNet v0.1 (inputs in [-1, 1])"),
    _M("NIQE", "", False, "NIQE, MATLAB-faithful (equal to BasicSR 1.4.2 calculate_niqe with crop_border=0, "
                          "convert_to='gray': rounded 0.299R+0.587G+0.114B luma, as the MATLAB release after "
                          "rgb2gray)"),
    _M("BRISQUE", "", False, "BRISQUE with the LIVE SVR model (libsvm), grey image"),
    _M("LOE", "", False, "lightness order error (input vs output) as the NPE authors' LOE.m: max-RGB lightness, "
                         "15x15 local maximum, grid with short side {loe_short_side}"),
    _M("COCO AP", "%", True, "COCO AP@[.5:.95], " + _COCO, percent=True),
    _M("COCO AP50", "%", True, "COCO AP@0.5, " + _COCO, percent=True),
    _M("COCO AP75", "%", True, "COCO AP@0.75, " + _COCO, percent=True),
    _M("COCO APs", "%", True, "COCO AP of small objects (< 32^2 px), " + _COCO, percent=True),
    _M("COCO APm", "%", True, "COCO AP of medium objects, " + _COCO, percent=True),
    _M("COCO APl", "%", True, "COCO AP of large objects (> 96^2 px), " + _COCO, percent=True),
    _M("VOC mAP50", "%", True, _VOC, percent=True),
    _M("VOC AP50", "%", True, "per-class " + _VOC, percent=True),
    _M("mIoU", "%", True, "mean IoU over the protocol's evaluated classes, " + _SEG, percent=True),
    _M("mAcc", "%", True, "mean class accuracy, " + _SEG, percent=True),
    _M("aAcc", "%", True, "pixel accuracy, " + _SEG, percent=True),
    _M("IoU", "%", True, "per-class IoU, " + _SEG, percent=True),
    _M("vehicles_per_frame", "per frame", None, "COCO bicycle/car/motorcycle/bus/truck detections with score >= "
                                                "the confidence threshold, mean per frame"),
    _M("persons_per_frame", "per frame", None, "COCO person detections with score >= the confidence threshold, "
                                               "mean per frame"),
    _M("flicker_ratio", "ratio", False, "frame-to-frame change of mean luma of the output relative to the input's"),
    _M("warp_ratio", "ratio", False, "optical-flow-warped frame error of the output relative to the input's"),
)}


def metric(name: str) -> Metric:
    """The catalogue entry of ``name``; raises naming the known metrics."""
    try:
        return CATALOGUE[name]
    except KeyError:
        from uptflow.registry import closest

        by_lower = {k.lower(): k for k in CATALOGUE}  # names are case-sensitive, a user's case may differ
        guess = by_lower.get(str(name).lower()) or by_lower.get(closest(str(name).lower(), by_lower) or "")
        raise UnknownMetricError(f"unknown metric {name!r} (" + (f"did you mean {guess}? " if guess else "")
                                 + f"known: {', '.join(CATALOGUE)})") from None


def to_table(name: str, value: float) -> float:
    """``value`` as tables show it: fractions of percent metrics times 100, everything else unchanged."""
    return 100.0 * value if metric(name).percent else value


def conventions(names: Iterable[str], **settings: Any) -> str:
    """``"NAME: convention; ..."`` for a protocol line, with the ``settings`` used (e.g. ``loe_short_side``)."""
    parts = []
    for n in dict.fromkeys(names):
        text = metric(n).convention
        try:
            parts.append(f"{n}: {text.format(**settings)}")
        except KeyError as e:
            # a protocol line must state the value used, so a missing setting is an error, never a default
            raise ValueError(f"the {n} convention needs the setting {e.args[0]!r}") from None
    return "; ".join(parts)

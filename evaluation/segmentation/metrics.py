"""Segmentation scores: a confusion matrix accumulated per image, then per-class IoU, mIoU and pixel accuracy.

The definitions are those of mmseg's ``IoUMetric`` (tests check equality on the same predictions): pixels whose
ground truth is ``ignore_index`` are dropped; IoU_c = |pred=c & gt=c| / |pred=c | gt=c|; aAcc = correct / valid
pixels; mIoU = nan-mean of the IoUs over the protocol's evaluated classes. It is written here with numpy instead
of calling ``IoUMetric`` so scores can be computed from saved prediction maps without the compiled mm stack, and
so the per-image confusion matrices give per-image scores and a resumable total.
"""

from dataclasses import dataclass, field

import numpy as np

from evaluation.segmentation.classes import CLASSES, IGNORE_INDEX

__all__ = ["Protocol", "PROTOCOLS", "get_protocol", "confusion_matrix", "scores_from_confusion"]


@dataclass(frozen=True)
class Protocol:
    """How ground truth is scored: class names, ignore index and the classes removed from the evaluation.

    Removed classes have their ground-truth pixels set to ``ignore_index`` (as in IAT's ``new_gt_labelTrainIds``)
    and are left out of the mIoU mean; predictions of a removed class on a kept class's pixels still count
    as errors for that kept class.
    """

    name: str
    classes: tuple[str, ...] = CLASSES
    ignore_index: int = IGNORE_INDEX
    removed_classes: tuple[str, ...] = ()
    description: str = ""
    reference: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [c for c in self.removed_classes if c not in self.classes]
        if unknown:
            raise ValueError(f"protocol {self.name!r}: removed classes {unknown} are not among {self.classes}")

    @property
    def num_classes(self) -> int:
        """Number of classes the model predicts (19 for Cityscapes-trained models)."""
        return len(self.classes)

    @property
    def removed_ids(self) -> list[int]:
        """Train ids of the removed classes."""
        return [self.classes.index(c) for c in self.removed_classes]

    @property
    def evaluated_ids(self) -> list[int]:
        """Train ids averaged in mIoU."""
        removed = set(self.removed_ids)
        return [i for i in range(self.num_classes) if i not in removed]

    def prepare_gt(self, gt: np.ndarray) -> np.ndarray:
        """Return the ground truth with removed classes set to ``ignore_index``."""
        if not self.removed_ids:
            return gt
        gt = gt.copy()
        gt[np.isin(gt, self.removed_ids)] = self.ignore_index
        return gt

    def to_dict(self) -> dict:
        """JSON-ready description stored next to every score."""
        return dict(name=self.name, description=self.description, num_classes=self.num_classes,
                    ignore_index=self.ignore_index, removed_classes=list(self.removed_classes),
                    evaluated_classes=[self.classes[i] for i in self.evaluated_ids], reference=self.reference)


PROTOCOLS: dict[str, Protocol] = {
    "cityscapes19": Protocol(
        name="cityscapes19",
        description="standard 19-class Cityscapes protocol: labelTrainIds, ignore 255, mIoU over 19 classes",
    ),
    "iat_acdc_night": Protocol(
        name="iat_acdc_night",
        removed_classes=("rider", "truck", "bus", "motorcycle"),
        description=(
            "IAT ACDC-night protocol (IAT_high/IAT_mmseg): num_classes=19 but rider, truck, bus and motorcycle "
            "removed from the ground truth (set to 255); mIoU over the 15 remaining classes; test at 1920x1080, "
            "whole image"
        ),
        reference=dict(source="cuiziteng/Illumination-Adaptive-Transformer IAT_high/IAT_mmseg README (renew)",
                       model="DeepLabV3+ R50-D8 trained on ACDC-night train (400 images), tested on val (106)",
                       miou=dict(baseline=63.33, histeq=61.90, mbllen=62.95, deeplpf=61.88, iat_lol=63.77)),
    ),
}


def get_protocol(name: str) -> Protocol:
    """Return a registered protocol by name, with a clear error listing the known ones."""
    if name not in PROTOCOLS:
        raise KeyError(f"unknown segmentation protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Count pixels per (gt class, predicted class) as an int64 [C, C+1] matrix.

    Column C counts predictions outside [0, C): they are wrong for the gt class but belong to no predicted
    class (mmseg's histogram drops them the same way). Ground truth outside [0, C) other than ``ignore_index``
    is rejected, since it means the label file is not a trainIds map.

    Args:
        pred: HxW predicted train ids.
        gt: HxW ground-truth train ids.
        num_classes: number of classes C.
        ignore_index: ground-truth value that is not scored.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}")
    valid = gt != ignore_index
    g = gt[valid].astype(np.int64)
    p = pred[valid].astype(np.int64)
    if g.size and (g.min() < 0 or g.max() >= num_classes):
        bad = np.unique(g[(g < 0) | (g >= num_classes)])[:10].tolist()
        raise ValueError(f"ground truth has values {bad} outside 0..{num_classes - 1} and {ignore_index}")
    p = np.where((p < 0) | (p >= num_classes), num_classes, p)
    return np.bincount(g * (num_classes + 1) + p, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1)


def scores_from_confusion(cm: np.ndarray, protocol: Protocol) -> dict:
    """Per-class IoU / accuracy, mIoU over the evaluated classes, mAcc and aAcc (fractions in [0, 1]; tables show
    them in percent through ``evaluation.metrics.to_table``).

    ``mIoU_all_classes`` is the nan-mean over every class, i.e. what mmseg / IAT print when the removed classes'
    ground truth is 255 (a removed class then scores IoU 0 if the model predicts it, NaN if it never does).
    """
    c = protocol.num_classes
    inter = np.diag(cm[:, :c]).astype(np.float64)
    area_gt = cm.sum(axis=1).astype(np.float64)
    area_pred = cm[:, :c].sum(axis=0).astype(np.float64)
    union = area_gt + area_pred - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
        acc = inter / area_gt
        aacc = inter.sum() / area_gt.sum()
    ev = protocol.evaluated_ids

    def _nanmean(v: np.ndarray) -> float:
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    return dict(
        mIoU=_nanmean(iou[ev]),
        mAcc=_nanmean(acc[ev]),
        aAcc=float(aacc),
        mIoU_all_classes=_nanmean(iou),
        per_class={name: dict(IoU=float(iou[i]), Acc=float(acc[i]), gt_pixels=int(area_gt[i]),
                              pred_pixels=int(area_pred[i]), evaluated=i in ev)
                   for i, name in enumerate(protocol.classes)},
        valid_pixels=int(area_gt.sum()),
    )

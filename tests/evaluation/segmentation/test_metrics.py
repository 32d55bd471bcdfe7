"""mIoU / aAcc definitions (fractions): hand-computed cases, the IAT removed-class protocol, equality with mmseg's
IoUMetric (in percent)."""

import numpy as np
import pytest

from evaluation.segmentation.metrics import PROTOCOLS, Protocol, confusion_matrix, get_protocol, scores_from_confusion


def test_scores_match_a_hand_computed_example():
    p = Protocol("tiny", classes=("a", "b", "c"))
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 255]], np.uint8)
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 2]], np.uint8)
    s = scores_from_confusion(confusion_matrix(pred, gt, 3), p)
    # a: inter 1, union 3 (gt 2 + pred 2 - 1); b: 2 / 3; c: 1 / 2 (ignored pixels do not count as predictions)
    assert s["per_class"]["a"]["IoU"] == pytest.approx(1 / 3)
    assert s["per_class"]["b"]["IoU"] == pytest.approx(2 / 3)
    assert s["per_class"]["c"]["IoU"] == pytest.approx(0.5)
    assert s["mIoU"] == pytest.approx((1 / 3 + 2 / 3 + 0.5) / 3)
    assert s["aAcc"] == pytest.approx(4 / 6)
    assert s["valid_pixels"] == 6


def test_iat_protocol_ignores_removed_classes_in_gt_and_mean():
    p = get_protocol("iat_acdc_night")
    assert p.removed_classes == ("rider", "truck", "bus", "motorcycle") and p.num_classes == 19
    assert len(p.evaluated_ids) == 15
    gt = np.array([[13, 13, 14], [0, 15, 15]], np.uint8)  # car car truck / road bus bus
    pred = np.array([[13, 14, 14], [0, 15, 0]], np.uint8)
    s = scores_from_confusion(confusion_matrix(pred, p.prepare_gt(gt), 19), p)
    # truck / bus ground truth is ignored, so predictions there cost nothing; truck predicted on a car pixel does
    assert s["per_class"]["car"]["IoU"] == 0.5 and s["per_class"]["road"]["IoU"] == 1
    assert s["mIoU"] == 0.75 and s["aAcc"] == pytest.approx(2 / 3)
    assert s["per_class"]["truck"]["evaluated"] is False and np.isnan(s["per_class"]["bus"]["IoU"])
    # mmseg / IAT nan-mean over all 19 classes: the predicted-but-removed truck scores IoU 0 and counts
    assert s["per_class"]["truck"]["IoU"] == 0 and s["mIoU_all_classes"] == pytest.approx(0.5)


def test_out_of_range_predictions_count_as_errors_but_not_as_a_class():
    p = PROTOCOLS["cityscapes19"]
    gt = np.array([[0, 0]], np.uint8)
    cm = confusion_matrix(np.array([[0, 200]], np.uint8), gt, 19)
    s = scores_from_confusion(cm, p)
    assert s["per_class"]["road"]["IoU"] == 0.5 and s["aAcc"] == 0.5


def test_ground_truth_outside_the_classes_is_rejected():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.zeros((1, 2), np.uint8), np.array([[0, 30]], np.uint8), 19)


@pytest.mark.mm
@pytest.mark.parametrize("protocol", ["cityscapes19", "iat_acdc_night"])
def test_scores_equal_mmseg_iou_metric_on_the_same_predictions(protocol):
    import torch
    from mmseg.evaluation import IoUMetric

    p = get_protocol(protocol)
    rng = np.random.default_rng(1)
    metric = IoUMetric(ignore_index=255, iou_metrics=["mIoU"])
    metric.dataset_meta = dict(classes=p.classes)
    total = np.zeros((19, 20), np.int64)
    areas = []
    for _ in range(3):
        gt = rng.integers(0, 19, (40, 50)).astype(np.uint8)
        gt[rng.random(gt.shape) < 0.15] = 255
        gt[:, :5] = 0  # some class structure so IoUs are not all tiny
        pred = np.where(rng.random(gt.shape) < 0.6, gt, rng.integers(0, 19, gt.shape)).astype(np.uint8)
        pred[pred == 255] = 3
        gt = p.prepare_gt(gt)
        sample = dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                      gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))
        metric.process({}, [sample])
        areas.append(IoUMetric.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(gt), 19, 255))
        total += confusion_matrix(pred, gt, 19)
    ours = {k: v * 100 if isinstance(v, float) else v for k, v in scores_from_confusion(total, p).items()}
    ours["per_class"] = {c: {k: v * 100 for k, v in d.items() if k == "IoU"}
                         for c, d in scores_from_confusion(total, p)["per_class"].items()}
    mm = metric.compute_metrics(metric.results)  # rounded to 2 decimals, as mmseg prints
    inter, union, _, label = (sum(a[i] for a in areas) for i in range(4))
    mm_iou = (inter / union).numpy() * 100
    np.testing.assert_allclose([ours["per_class"][c]["IoU"] for c in p.classes], mm_iou, rtol=1e-6)
    assert ours["aAcc"] == pytest.approx(mm["aAcc"], abs=0.005)
    assert round(ours["mIoU_all_classes"], 2) == pytest.approx(mm["mIoU"], abs=1e-9)
    assert ours["mIoU"] == pytest.approx(float(np.nanmean(mm_iou[p.evaluated_ids])), rel=1e-6)  # mmseg: float32
    if protocol == "cityscapes19":
        assert round(ours["mIoU"], 2) == pytest.approx(mm["mIoU"], abs=1e-9)
        assert round(ours["mAcc"], 2) == pytest.approx(mm["mAcc"], abs=1e-9)

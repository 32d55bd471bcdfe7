"""COCO and VOC scores: perfect predictions give 1.0, empty ones NaN with a warning, VOC equals mmdet's eval_map."""

import numpy as np
import pytest

from evaluation.datasets.exdark import EXDARK_CLASSES
from evaluation.detection.scoring import coco_scores, score_all, voc_eval_map, voc_scores

CATEGORIES = [{"id": i + 1, "name": c} for i, c in enumerate(EXDARK_CLASSES)]


def _gt() -> dict:
    images = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, "light": "Low", "inout": "Indoor"}]
    anns = [{"id": 1, "image_id": 1, "category_id": 4, "bbox": [10, 10, 30, 20], "area": 600, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 11, "bbox": [50, 5, 20, 60], "area": 1200, "iscrowd": 0}]
    return {"images": images, "annotations": anns, "categories": CATEGORIES}


def test_predictions_equal_to_ground_truth_score_one():
    gt = _gt()
    preds = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9}
             for a in gt["annotations"]]
    c, v = coco_scores(gt, preds), voc_scores(gt, preds)
    assert c["AP"] == pytest.approx(1.0) and c["AP50"] == pytest.approx(1.0) and c["AP75"] == pytest.approx(1.0)
    assert v["mAP50"] == pytest.approx(1.0)
    assert c["per_class_AP50"]["Bus"] == pytest.approx(1.0) and np.isnan(c["per_class_AP50"]["Cat"])
    assert score_all(gt, preds)["breakdown"]["light"]["Low"]["voc_mAP50"] == pytest.approx(1.0)


def test_empty_predictions_give_nan_and_a_warning():
    with pytest.warns(UserWarning, match="no predictions"):
        c = coco_scores(_gt(), [])
    with pytest.warns(UserWarning, match="no predictions"):
        v = voc_scores(_gt(), [])
    assert np.isnan(c["AP"]) and np.isnan(v["mAP50"])


def test_voc_area_ap_of_a_known_ranking():
    # one class, 2 GT; ranked dets: TP, FP, TP -> precision/recall points (1, .5), (.667, 1): area AP = .5 + .5*.667
    dets = [[np.array([[0, 0, 9, 9, 0.9], [50, 50, 60, 60, 0.8], [20, 20, 29, 29, 0.7]], dtype=np.float32)]]
    anns = [{"bboxes": np.array([[0, 0, 9, 9], [20, 20, 29, 29]], dtype=np.float32), "labels": np.array([0, 0])}]
    mean_ap, per = voc_eval_map(dets, anns)
    assert mean_ap == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-6) and per[0]["num_gts"] == 2


def _random_case(rng, n_img=6, n_cls=3):
    dets, anns = [], []
    for _ in range(n_img):
        g = rng.integers(0, 4)
        xy = rng.uniform(0, 80, (g, 2))
        gb = np.hstack([xy, xy + rng.uniform(5, 30, (g, 2))]).astype(np.float32)
        anns.append({"bboxes": gb, "labels": rng.integers(0, n_cls, g), "bboxes_ignore": np.zeros((0, 4), np.float32),
                     "labels_ignore": np.zeros(0, np.int64)})
        per_cls = []
        for _c in range(n_cls):
            k = rng.integers(0, 4)
            base = gb[rng.integers(0, g, k)] if g else rng.uniform(0, 80, (k, 4)).astype(np.float32)
            jit = base + rng.normal(0, 3, base.shape)
            per_cls.append(np.hstack([jit, rng.random((k, 1))]).astype(np.float32))
        dets.append(per_cls)
    return dets, anns


@pytest.mark.mm
def test_voc_reimplementation_equals_mmdet_eval_map():
    from mmdet.evaluation.functional import eval_map

    rng = np.random.default_rng(0)
    for _ in range(5):
        dets, anns = _random_case(rng)
        ref, ref_per = eval_map(dets, anns, iou_thr=0.5, eval_mode="area", use_legacy_coordinate=True, nproc=1,
                                logger="silent")
        ours, per = voc_eval_map(dets, anns)
        assert ours == pytest.approx(ref, abs=1e-6)
        assert [p["ap"] for p in per] == pytest.approx([float(p["ap"]) for p in ref_per], abs=1e-6)

"""Detectors behind one interface; the COCO -> ExDark class map; a real COCO model finds the bus, offline."""

import numpy as np
import pytest

from evaluation.detection.detectors import COCO80, COCO_TO_EXDARK, Detections, build_detector, exdark_class_map
from evaluation.detection.exdark import EXDARK_CLASSES
from tests.netguard import no_network
from uptflow.registry import DETECTORS


def test_detectors_are_registered_under_their_names():
    import evaluation.detection.detectors  # noqa: F401

    assert {"yolov8", "ultralytics", "mmdet"} <= set(DETECTORS.module_dict)


def test_random_yolov8n_from_yaml_returns_boxes_scores_labels(seed):
    det = build_detector("yolov8", weights="yolov8n.yaml", imgsz=96)
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    with no_network() as attempts:
        out = det.detect(img)
    assert attempts == []
    assert isinstance(out, Detections) and out.boxes.shape == (len(out), 4) and out.labels.dtype == np.int64
    assert det.protocol()["weights_sha256"] is None and det.protocol()["input_size"] == 96


def test_class_map_by_name_for_exdark_models_and_zero_shot_for_coco():
    kind, m = exdark_class_map([c.lower() for c in EXDARK_CLASSES])
    assert kind == "exdark" and m[10] == "People"
    kind, m = exdark_class_map(COCO80)
    assert kind == "coco-zero-shot" and len(m) == 12 and m[0] == "People" and m[3] == "Motorbike"
    assert sorted(m.values()) == sorted(COCO_TO_EXDARK.values()) == sorted(EXDARK_CLASSES)
    assert exdark_class_map(["0", "1"], "coco")[1] == m
    with pytest.raises(ValueError, match="neither"):
        exdark_class_map(["a", "b"])


def test_missing_weights_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        build_detector("yolov8", weights=str(tmp_path / "nope.pt"))


@pytest.mark.realdata
def test_coco_yolov8n_finds_the_bus_offline(shared):
    from evaluation.detection.exdark import read_image_raw

    det = build_detector("yolov8", weights=str(shared / "data/weights/yolov8n.pt"), conf=0.25)
    with no_network() as attempts:
        out = det.detect(read_image_raw(shared / "data/detection_check/bus.jpg"))
    assert attempts == []
    found = {det.class_names[lab] for lab, s in zip(out.labels, out.scores, strict=True) if s > 0.5}
    assert "bus" in found and "person" in found
    assert len(det.protocol()["weights_sha256"]) == 64


@pytest.mark.mm
@pytest.mark.slow
def test_mmdet_detector_from_the_exdark_config_runs_through_the_interface():
    det = build_detector("mmdet", config="configs/detection/yolov3_d53_exdark_608_random.py", weights=None,
                         cfg_options={"load_from": None, "test_pipeline.1.scale": (128, 128)})
    assert det.class_names == EXDARK_CLASSES
    img = (np.random.default_rng(0).random((100, 120, 3)) * 255).astype(np.uint8)
    with no_network() as attempts:
        out = det.detect(img)
    assert attempts == [] and out.boxes.shape[1] == 4 and len(out.scores) == len(out.labels)

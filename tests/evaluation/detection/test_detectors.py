"""Detectors behind the model protocol; the class maps; unknown settings refused; a COCO model finds the bus."""

import numpy as np
import pytest

from evaluation.datasets.exdark import EXDARK_CLASSES
from evaluation.detection.detectors import COCO80, COCO_TO_EXDARK, Detections, build_detector, class_map, list_detectors
from tests.netguard import no_network
from uptflow.registry import SettingsError


def test_detectors_are_registered_under_their_names():
    assert {"yolov8", "ultralytics", "mmdet"} <= set(list_detectors())


def test_random_yolov8n_from_yaml_returns_boxes_scores_labels(seed):
    det = build_detector(dict(type="yolov8", checkpoint="yolov8n.yaml", imgsz=96))
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    with no_network() as attempts:
        out = det(img)
    assert attempts == []
    assert isinstance(out, Detections) and out.boxes.shape == (len(out), 4) and out.labels.dtype == np.int64
    assert det.describe()["checkpoint_sha256"] is None and det.describe()["input_size"] == 96


def test_unknown_detector_setting_is_refused_naming_the_key():
    with pytest.raises(SettingsError, match=r"detector\.confidence: unknown setting .*known: checkpoint, imgsz, conf"):
        build_detector(dict(type="yolov8", checkpoint="yolov8n.yaml", confidence=0.5))
    with pytest.raises(SettingsError, match=r"detector\.type: unknown detector 'yolo'"):
        build_detector(dict(type="yolo", checkpoint="yolov8n.yaml"))


def test_detector_settings_out_of_range_are_refused_together_naming_each():
    # the commands refuse these in their options; a suite config reaches the detector directly
    says = r"ultralytics detector: imgsz -3 \(at least 32\), conf 2 \(0-1\): out of range"
    with pytest.raises(ValueError, match=says):
        build_detector(dict(type="yolov8", checkpoint="yolov8n.yaml", imgsz=-3, conf=2))


def test_class_map_by_name_and_zero_shot_coco_on_exdark():
    kind, m = class_map([c.lower() for c in EXDARK_CLASSES], EXDARK_CLASSES)
    assert kind == "by-name" and m[10] == "People"
    kind, m = class_map(COCO80, EXDARK_CLASSES)
    assert kind == "coco-zero-shot" and len(m) == 12 and m[0] == "People" and m[3] == "Motorbike"
    assert sorted(m.values()) == sorted(COCO_TO_EXDARK.values()) == sorted(EXDARK_CLASSES)
    assert class_map(["0", "1"], EXDARK_CLASSES, "coco")[1] == m
    kind, m = class_map(COCO80, COCO80)  # a COCO model on COCO-layout data: every class by name
    assert kind == "by-name" and len(m) == 80 and m[79] == "toothbrush"
    with pytest.raises(ValueError, match="cover neither"):
        class_map(["a", "b"], EXDARK_CLASSES)


def test_missing_weights_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        build_detector(dict(type="yolov8", checkpoint=str(tmp_path / "nope.pt")))


@pytest.mark.realdata
def test_coco_yolov8n_finds_the_bus_offline(shared):
    from evaluation.datasets import read_image_raw

    det = build_detector(dict(type="yolov8", checkpoint=str(shared / "data/weights/yolov8n.pt"), conf=0.25))
    with no_network() as attempts:
        out = det(read_image_raw(shared / "data/detection_check/bus.jpg"))
    assert attempts == []
    found = {det.class_names[lab] for lab, s in zip(out.labels, out.scores, strict=True) if s > 0.5}
    assert "bus" in found and "person" in found
    assert len(det.describe()["checkpoint_sha256"]) == 64


@pytest.mark.mm
@pytest.mark.slow
def test_mmdet_detector_from_the_exdark_config_runs_through_the_interface():
    det = build_detector(dict(type="mmdet", config="configs/detection/yolov3_d53_exdark_608_random.py",
                              cfg_options={"load_from": None, "test_dataloader.dataset.pipeline.1.scale": (128, 128)}))
    assert det.class_names == EXDARK_CLASSES
    img = (np.random.default_rng(0).random((100, 120, 3)) * 255).astype(np.uint8)
    with no_network() as attempts:
        out = det(img)
    assert attempts == [] and out.boxes.shape[1] == 4 and len(out.scores) == len(out.labels)


@pytest.mark.mm
@pytest.mark.slow
def test_mmdet_detector_takes_a_packaged_config_name():
    det = build_detector(dict(type="mmdet", config="mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py",
                              cfg_options={"model.backbone.init_cfg": None}))
    assert len(det.class_names) == 80 and det.describe()["config"].startswith("mmdet::")

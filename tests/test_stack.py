"""The dependency stack works together on CPU, offline: mmcv ops, mmdet, mmseg and ultralytics."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.netguard import no_network


def _street_image() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[..., ::-1])  # BGR, as mmdet/mmseg pipelines load it


@pytest.mark.mm
def test_mmcv_nms_and_roialign_run_on_cpu():
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feat = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, torch.tensor([[0, 0, 0, 4, 4.0]]))
    # aligned RoIAlign over the box [0,4]^2 samples bin centres at 1 and 3 (minus the half-pixel shift)
    np.testing.assert_allclose(out.flatten().numpy(), [4.5, 6.5, 20.5, 22.5], atol=1e-5)


def _mm_config(package: str, rel: str):
    import importlib

    from mmengine.config import Config

    root = Path(importlib.import_module(package).__file__).parent / ".mim" / "configs"
    return Config.fromfile(str(root / rel))


@pytest.mark.mm
@pytest.mark.slow
@pytest.mark.parametrize(
    "rel",
    ["yolo/yolov3_d53_8xb8-320-273e_coco.py", "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"],
)
def test_mmdet_detector_builds_and_runs_inference_on_cpu(rel):
    from mmdet.apis import inference_detector, init_detector

    cfg = _mm_config("mmdet", rel)
    cfg.model.backbone.init_cfg = None  # no pretrained download
    with no_network() as attempts:
        model = init_detector(cfg, checkpoint=None, device="cpu")
        result = inference_detector(model, _street_image())
    assert attempts == []
    inst = result.pred_instances
    assert inst.bboxes.ndim == 2 and inst.bboxes.shape[1] == 4
    assert len(inst.scores) == len(inst.labels) == len(inst.bboxes)


@pytest.mark.mm
@pytest.mark.slow
def test_mmseg_segformer_builds_and_segments_on_cpu():
    from mmseg.apis import inference_model, init_model

    cfg = _mm_config("mmseg", "segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py")
    cfg.model.backbone.init_cfg = None
    cfg.test_pipeline[1] = dict(type="Resize", scale=(256, 128), keep_ratio=True)  # small and fast on CPU
    with no_network() as attempts:
        model = init_model(cfg, checkpoint=None, device="cpu")
        result = inference_model(model, _street_image()[:256, :512])
    assert attempts == []
    seg = result.pred_sem_seg.data
    assert seg.shape[-2:] == (256, 512)
    assert int(seg.max()) < 19


def test_ultralytics_predicts_offline_from_model_yaml():
    from ultralytics import YOLO

    with no_network() as attempts:
        model = YOLO("yolov8n.yaml")
        res = model.predict(_street_image(), imgsz=160, device="cpu", verbose=False)
    assert attempts == []
    assert res[0].boxes.xyxy.shape[1] == 4


@pytest.mark.realdata
def test_ultralytics_pretrained_yolov8n_finds_the_bus(shared):
    from ultralytics import YOLO

    weights, image = shared / "data/weights/yolov8n.pt", shared / "data/detection_check/bus.jpg"
    with no_network() as attempts:
        res = YOLO(str(weights)).predict(str(image), imgsz=640, device="cpu", verbose=False)[0]
    assert attempts == []
    names = {res.names[int(c)] for c, s in zip(res.boxes.cls, res.boxes.conf, strict=True) if s > 0.5}
    assert "bus" in names and "person" in names

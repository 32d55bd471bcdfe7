"""Enhancer plug-ins: the disk cache, the EnhanceLowLight pipeline transform (mmdet too) and the ultralytics hook."""

import numpy as np
import pytest
import torch

from tests.netguard import no_network
from uptflow.enhancers.base import Enhancer
from uptflow.plugins import EnhancedImageCache, EnhanceLowLight, attach_enhancer


class CountingBrighten(Enhancer):
    """Test-only enhancer: x -> min(1, x * gain); counts calls."""

    name = "test_brighten"

    def __init__(self, gain: float = 2.0, device: str = "cpu") -> None:
        super().__init__(device)
        self.gain, self.calls = gain, 0

    def params(self) -> dict:
        return {"gain": self.gain}

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return (x * self.gain).clamp(0, 1)


def _img(seed=0, h=24, w=32):
    return (np.random.default_rng(seed).random((h, w, 3)) * 100).astype(np.uint8)


def test_cache_enhances_each_image_once_and_keys_on_params(tmp_path):
    enh = CountingBrighten(2.0)
    cache = EnhancedImageCache(enh, root=tmp_path)
    a = cache(_img())
    b = EnhancedImageCache(enh, root=tmp_path)(_img())  # a fresh cache object reads the stored PNG
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.clip(_img().astype(int) * 2, 0, 255))
    assert enh.calls == 1 and (cache.dir / "enhancer.json").is_file()
    assert EnhancedImageCache(CountingBrighten(3.0), root=tmp_path).key != cache.key
    assert not list(tmp_path.rglob(".*.png"))  # no temp files left behind


def test_cache_key_includes_the_weights_checksum(tmp_path):
    (tmp_path / "w1.pth").write_bytes(b"one")
    (tmp_path / "w2.pth").write_bytes(b"two")
    k1 = EnhancedImageCache(CountingBrighten(), root=tmp_path, weights=tmp_path / "w1.pth").key
    k2 = EnhancedImageCache(CountingBrighten(), root=tmp_path, weights=tmp_path / "w2.pth").key
    assert k1 != k2


def test_transform_enhances_bgr_results_img_in_place_of_the_original(tmp_path):
    rgb = _img()
    results = {"img": np.ascontiguousarray(rgb[..., ::-1]), "img_path": "x.jpg"}
    out = EnhanceLowLight(enhancer=CountingBrighten(2.0), cache_dir=str(tmp_path))(results)
    np.testing.assert_array_equal(out["img"][..., ::-1], np.clip(rgb.astype(int) * 2, 0, 255))
    with pytest.raises(ValueError, match="LoadImageFromFile"):
        EnhanceLowLight(enhancer=CountingBrighten(), cache=False)({"img": np.zeros((4, 4), np.float32)})


def test_transform_is_found_from_the_mmengine_root_registry():
    from mmengine.registry import TRANSFORMS

    t = TRANSFORMS.build(dict(type="EnhanceLowLight", enhancer="identity", cache=False))
    assert isinstance(t, EnhanceLowLight)


@pytest.mark.mm
def test_transform_runs_in_an_mmdet_test_pipeline_with_mmdet_default_scope(tmp_path):
    import cv2
    from mmcv.transforms import Compose
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)  # default_scope='mmdet', as mmdet configs set it
    rgb = _img(h=40, w=50)
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])
    pipeline = Compose([
        dict(type="LoadImageFromFile"),
        dict(type="EnhanceLowLight", enhancer=CountingBrighten(2.0), cache_dir=str(tmp_path / "cache")),
        dict(type="Resize", scale=(50, 40), keep_ratio=True),
        dict(type="PackDetInputs", meta_keys=("img_path", "ori_shape", "img_shape", "scale_factor")),
    ])
    out = pipeline({"img_path": str(tmp_path / "a.png"), "img_id": 0})
    got = out["inputs"].permute(1, 2, 0).numpy()  # BGR, as mmdet packs it
    np.testing.assert_array_equal(got[..., ::-1], np.clip(rgb.astype(int) * 2, 0, 255))


def test_ultralytics_hook_enhances_before_detection(tmp_path):
    from evaluation.detection.detectors import ultralytics_offline

    ultralytics_offline()
    from ultralytics import YOLO

    enh = CountingBrighten(2.0)
    model = attach_enhancer(YOLO("yolov8n.yaml"), enh, cache_dir=str(tmp_path))
    rgb = _img(h=64, w=64)
    with no_network() as attempts:
        res = model.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=64, device="cpu", verbose=False)[0]
    assert attempts == [] and enh.calls == 1
    np.testing.assert_array_equal(res.orig_img[..., ::-1], np.clip(rgb.astype(int) * 2, 0, 255))


@pytest.mark.mm
def test_example_enhanced_config_pipeline_enhances_then_resizes(tmp_path):
    import cv2
    from mmcv.transforms import Compose
    from mmdet.utils import register_all_modules
    from mmengine.utils import import_modules_from_strings

    from uptflow.utils.mm_compat import load_config

    cfg = load_config("configs/detection/yolov3_d53_exdark_608_random_enhanced-online.py")
    import_modules_from_strings(**cfg.custom_imports)
    register_all_modules(init_default_scope=True)
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline if s["type"] != "LoadAnnotations"]
    assert steps[1]["type"] == "EnhanceLowLight" and steps[1]["enhancer"]["type"] == "uptflow"
    steps[1].update(enhancer=dict(type="gamma", gamma=2.0), cache_dir=str(tmp_path / "cache"))  # no weights here
    rgb = _img(h=30, w=40)
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])
    out = Compose(steps)({"img_path": str(tmp_path / "a.png"), "img_id": 0})
    assert tuple(out["inputs"].shape) == (3, 456, 608)  # 608 keep-ratio resize of a 30x40 image
    assert out["inputs"].float().mean() > torch.from_numpy(rgb).float().mean()  # brightened before resizing

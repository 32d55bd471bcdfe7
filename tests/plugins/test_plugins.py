"""Enhancer plug-ins: the disk cache, the EnhanceLowLight pipeline transform (mmdet too) and the ultralytics hook."""

import numpy as np
import pytest
import torch

from tests.netguard import no_network
from uptflow.enhancers.base import Enhancer
from uptflow.enhancers.cache import EnhancedImageCache
from uptflow.plugins import EnhanceLowLight, attach_enhancer, attached_enhancer, detach_enhancer, pipeline_enhancers
from uptflow.registry import SettingsError


class CountingBrighten(Enhancer):
    """Test-only enhancer: x -> min(1, x * gain); counts calls."""

    name = "test_brighten"

    def __init__(self, gain: float = 2.0, device: str = "cpu", weights: str | None = None) -> None:
        super().__init__(device)
        self.gain, self.calls, self.weights = gain, 0, weights

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


def test_an_output_tiled_for_lack_of_memory_is_not_reused_when_the_image_now_fits(tmp_path):
    from tests.models.tiny import tiny_uptflow
    from uptflow.enhancers.uptflow import UPTFlowEnhancer

    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=10**12)
    img = _img(1, 80, 96)
    cache = EnhancedImageCache(enh, root=tmp_path)
    untiled_path = cache.path_for(img)
    assert enh.output_variant(80, 96) is None and untiled_path.name == f"{cache.content_hash(img)}.png"
    enh.memory_budget = 64 * 64 * enh.bytes_per_pixel()  # little memory now: the same image is tiled
    _, tiled_path = cache.enhance_to_path(img)
    assert enh.output_variant(80, 96) == "tile 64" and tiled_path != untiled_path and not untiled_path.exists()
    enh.memory_budget = 10**12
    whole, path = cache.enhance_to_path(img)
    assert path == untiled_path and cache.misses == 2  # computed whole, not read back from the tiled entry
    np.testing.assert_array_equal(whole, enh(img))


def test_cache_key_includes_the_weights_checksum(tmp_path):
    (tmp_path / "w1.pth").write_bytes(b"one")
    (tmp_path / "w2.pth").write_bytes(b"two")
    k1 = EnhancedImageCache(CountingBrighten(weights=str(tmp_path / "w1.pth")), root=tmp_path).key
    k2 = EnhancedImageCache(CountingBrighten(weights=str(tmp_path / "w2.pth")), root=tmp_path).key
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "w1.pth").write_bytes(b"one")  # the same weights elsewhere: the same outputs
    k3 = EnhancedImageCache(CountingBrighten(weights=str(tmp_path / "copy" / "w1.pth")), root=tmp_path).key
    assert k1 != k2 and k1 == k3


def test_transform_enhances_bgr_results_img_in_place_of_the_original(tmp_path):
    rgb = _img()
    results = {"img": np.ascontiguousarray(rgb[..., ::-1]), "img_path": "x.jpg"}
    out = EnhanceLowLight(enhancer=CountingBrighten(2.0), cache_dir=str(tmp_path))(results)
    np.testing.assert_array_equal(out["img"][..., ::-1], np.clip(rgb.astype(int) * 2, 0, 255))
    with pytest.raises(ValueError, match="LoadImageFromFile"):
        EnhanceLowLight(enhancer=CountingBrighten(), cache=False)({"img": np.zeros((4, 4), np.float32)})


def test_a_pipeline_built_again_per_image_loads_its_enhancer_once_until_the_weights_change(tmp_path):
    import shutil

    from uptflow.models.checkpoint import DEFAULT_WEIGHTS

    weights = tmp_path / "w.pth"
    shutil.copy(DEFAULT_WEIGHTS, weights)
    spec = dict(type="uptflow", weights=str(weights))
    first = EnhanceLowLight(enhancer=spec, cache=False, device="cpu")
    assert EnhanceLowLight(enhancer=dict(spec), cache=False, device="cpu")._fn is first._fn
    assert EnhanceLowLight(enhancer=dict(spec, heat=0.5), cache=False, device="cpu")._fn is not first._fn
    from tests.models.tiny import tiny_uptflow
    from uptflow.models.checkpoint import save_model

    save_model(tiny_uptflow(), weights)  # replaced in place by another network: loaded again
    again = EnhanceLowLight(enhancer=spec, cache=False, device="cpu")
    assert again._fn is not first._fn and again.describe()["weights_sha256"] != first.describe()["weights_sha256"]


def test_transform_checks_its_enhancer_when_the_pipeline_is_built(tmp_path):
    with pytest.raises(SettingsError, match="unknown enhancer 'clahee'"):
        EnhanceLowLight(enhancer="clahee")
    with pytest.raises(SettingsError, match=r"gamma\.gama: unknown setting"):
        EnhanceLowLight(enhancer=dict(type="gamma", gama=2.0))
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        EnhanceLowLight(enhancer=dict(type="zero_dce", weights=str(tmp_path / "nope.pth")))


def test_pipeline_enhancers_are_found_for_protocol_records():
    cfg = dict(test_dataloader=dict(dataset=dict(pipeline=[
        dict(type="LoadImageFromFile"), dict(type="EnhanceLowLight", enhancer=dict(type="clahe"))])),
        val_dataloader=dict(dataset=dict(pipeline=[dict(type="uptflow.EnhanceLowLight", enhancer="clahe")])))
    found = pipeline_enhancers(cfg)
    assert {repr(f["enhancer"]) for f in found} == {repr(dict(type="clahe")), repr("clahe")}


def test_pipeline_enhancers_carry_the_checksum_of_the_weights_they_load(tmp_path):
    from evaluation.benchmark import model_identity
    from uptflow.models.checkpoint import DEFAULT_WEIGHTS
    from uptflow.utils.io import file_sha256

    weights = tmp_path / "sci.pt"
    weights.write_bytes(b"first weights")
    config = tmp_path / "seg.py"
    config.write_text(f"test_pipeline = [dict(type='LoadImageFromFile'), dict(type='EnhanceLowLight', "
                      f"enhancer=dict(type='sci', weights={str(weights)!r})), "
                      f"dict(type='EnhanceLowLight', enhancer='uptflow')]\n")
    found = pipeline_enhancers(dict(pipeline=[dict(type="EnhanceLowLight", enhancer=dict(type="sci", weights=str(
        weights))), dict(type="EnhanceLowLight", enhancer="uptflow"), dict(type="EnhanceLowLight", enhancer="clahe")]))
    assert [f.get("weights_sha256") for f in found] == [file_sha256(weights), file_sha256(DEFAULT_WEIGHTS), None]
    before = model_identity(dict(config=str(config)))
    weights.write_bytes(b"other weights, same path")  # replaced in place: the identity must follow
    after = model_identity(dict(config=str(config)))
    assert before["config_sha256"] == after["config_sha256"]
    assert before["pipeline_enhancers"] != after["pipeline_enhancers"]


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
    # attaching again replaces the enhancer instead of stacking a second one; detaching restores plain YOLO
    attach_enhancer(model, CountingBrighten(3.0), cache=False)
    res = model.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=64, device="cpu", verbose=False)[0]
    np.testing.assert_array_equal(res.orig_img[..., ::-1], np.clip(rgb.astype(int) * 3, 0, 255))
    assert attached_enhancer(model).params() == {"gain": 3.0}
    detach_enhancer(model)
    res = model.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=64, device="cpu", verbose=False)[0]
    np.testing.assert_array_equal(res.orig_img[..., ::-1], rgb)
    assert attached_enhancer(model) is None


@pytest.mark.mm
def test_example_enhanced_config_pipeline_enhances_with_the_default_model_then_resizes(tmp_path):
    import cv2
    from mmcv.transforms import Compose
    from mmdet.utils import register_all_modules

    from uptflow.utils.mmconfig import load_config

    cfg = load_config("configs/detection/yolov3_d53_exdark_608_random_enhanced-online.py")
    assert "custom_imports" not in cfg  # the uptflow scope finds the transform
    register_all_modules(init_default_scope=True)
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline if s["type"] != "LoadAnnotations"]
    assert steps[1]["type"] == "uptflow.EnhanceLowLight" and steps[1]["enhancer"] == dict(type="uptflow")
    assert [e["enhancer"] for e in pipeline_enhancers(cfg)] == [dict(type="uptflow")]  # the two pipelines agree
    steps[1].update(cache_dir=str(tmp_path / "cache"))
    from uptflow.data.degradation import darkness_level
    from uptflow.data.synthetic import load_skimage_photo

    rgb, _ = darkness_level(3)(load_skimage_photo("chelsea")[::4, ::4][:60, :80], np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])
    out = Compose(steps)({"img_path": str(tmp_path / "a.png"), "img_id": 0})
    assert tuple(out["inputs"].shape) == (3, 456, 608)  # 608 keep-ratio resize of a 60x80 image
    assert out["inputs"].float().mean() > torch.from_numpy(rgb).float().mean()  # brightened before resizing


@pytest.mark.mm
def test_building_the_transform_under_mmdet_scope_logs_no_registry_warning():
    import logging

    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger
    from mmengine.registry import TRANSFORMS

    register_all_modules(init_default_scope=True)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        TRANSFORMS.build(dict(type="EnhanceLowLight", enhancer="clahe", cache=False))
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == []

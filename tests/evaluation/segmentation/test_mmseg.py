"""The mmseg adapter and the segmentation command (random-init models: no checkpoints offline)."""

import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
CONFIGS = sorted((REPO / "configs" / "segmentation").glob("*.py"))

TINY_SEGFORMER = """
_base_ = ["{base}"]
model = dict(
    backbone=dict(embed_dims=8, num_layers=[1, 1, 1, 1]),
    decode_head=dict(in_channels=[8, 16, 40, 64], channels=16),
    test_cfg=dict(_delete_=True, mode="whole"),
)
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(256, 128), keep_ratio=True),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
"""


def test_mmseg_segmenter_is_found_through_the_registry():
    from evaluation.registry import MODELS
    from evaluation.segmentation.segmenters import MMSegSegmenter, list_segmenters

    assert MODELS.get("mmseg") is MMSegSegmenter and "mmseg" in list_segmenters()


def test_every_segmentation_config_declares_a_known_protocol():
    from evaluation.segmentation.metrics import PROTOCOLS
    from evaluation.segmentation.segmenters import config_protocol

    assert len(CONFIGS) >= 3
    names = {c.name: config_protocol(c) for c in CONFIGS}
    assert set(names.values()) <= set(PROTOCOLS) and "iat_acdc_night" in names.values()


@pytest.mark.mm
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_packaged_configs_build_on_cpu_and_segment_at_input_size(config):
    from evaluation.segmentation.segmenters import build_segmenter

    with pytest.warns(UserWarning, match="RANDOM weights"):
        seg = build_segmenter(dict(type="mmseg", config=str(config), device="cpu",
                                   cfg_options={"test_pipeline.1.scale": (96, 48)}))
    img = np.random.default_rng(0).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    pred = seg(img)
    assert pred.shape == (45, 80) and pred.dtype == np.uint8
    assert set(np.unique(pred)) <= set(range(19)) | {255}  # ESPNet writes its 20th (ignore) class as 255
    d = seg.describe()
    assert d["random_init"] is True and d["num_classes"] in (19, 20)


@pytest.mark.mm
def test_slide_mode_override_matches_input_size(tmp_path):
    from evaluation.segmentation.segmenters import build_segmenter

    cfg = tmp_path / "tiny.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py"))
    with pytest.warns(UserWarning):
        seg = build_segmenter(dict(type="mmseg", config=str(cfg), mode="slide", crop_size=(64, 64), stride=(48, 48)))
    assert seg.describe()["test_cfg"] == {"mode": "slide", "crop_size": [64, 64], "stride": [48, 48]}
    assert seg(np.zeros((70, 130, 3), np.uint8)).shape == (70, 130)


@pytest.mark.mm
def test_an_enhancer_inside_the_configs_pipeline_is_recorded_in_the_protocol(tmp_path):
    from evaluation.benchmark import evaluate
    from evaluation.datasets import build_reader
    from evaluation.segmentation.benchmark import SegmentationBenchmark
    from tests.evaluation.segmentation.helpers import make_acdc

    cfg = tmp_path / "enhanced_segformer.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py")
                   + "custom_imports = dict(imports=['uptflow.plugins'], allow_failed_imports=False)\n"
                   + "test_pipeline.insert(1, dict(type='EnhanceLowLight', enhancer=dict(type='gamma'), "
                     "cache=False))\n"
                   + "test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n")
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=1)
    ds = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"))).read()
    bench = SegmentationBenchmark(segmenter=dict(type="mmseg", config=str(cfg)))
    with pytest.warns(UserWarning, match="RANDOM weights"):
        res = bench.run(ds, None, tmp_path / "out", progress=False)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["enhancer"] == {"name": "none"}  # the CLI added no enhancer ...
    assert metrics["segmenter"]["pipeline_enhancers"][0]["enhancer"] == {"type": "gamma"}  # ... but the model did
    assert "the model's own pipeline enhances with {'type': 'gamma'}" in res.protocol
    # the table the command prints says so too, not only metrics.json
    summary, _ = evaluate(bench, ds, {"none": None}, tmp_path / "out", progress=False)
    assert list(summary["enhancer"]) == ["none (pipeline: gamma)"]


@pytest.mark.mm
def test_a_misspelt_enhancer_in_the_configs_pipeline_stops_before_the_model_is_built(tmp_path, monkeypatch):
    import mmseg.apis

    from evaluation.segmentation.segmenters import build_segmenter
    from uptflow.registry import SettingsError

    def never(*_args, **_kw):
        raise AssertionError("the model was built before the pipeline's enhancer was checked")

    monkeypatch.setattr(mmseg.apis, "init_model", never)
    cfg = tmp_path / "enhanced_segformer.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py")
                   + "custom_imports = dict(imports=['uptflow.plugins'], allow_failed_imports=False)\n"
                   + "test_pipeline.insert(1, dict(type='EnhanceLowLight', enhancer='gama', cache=False))\n"
                   + "test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n")
    with pytest.raises(SettingsError, match="unknown enhancer 'gama' \\(did you mean gamma"), \
            pytest.warns(UserWarning, match="RANDOM weights"):
        build_segmenter(dict(type="mmseg", config=str(cfg)))


@pytest.mark.mm
def test_segmenter_takes_a_packaged_config_name():
    from evaluation.segmentation.segmenters import build_segmenter

    with pytest.warns(UserWarning, match="RANDOM weights"):
        seg = build_segmenter(dict(type="mmseg", config="mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-"
                                   "1024x1024.py", cfg_options={"model.backbone.init_cfg": None}))
    assert seg.describe()["backbone"] == "MixVisionTransformer" and seg.num_classes == 19


@pytest.mark.mm
def test_a_setting_the_model_does_not_take_is_a_one_line_error_naming_the_config():
    from evaluation.segmentation.segmenters import build_segmenter

    config = CONFIGS[0]
    with pytest.raises(ValueError, match=rf"{config.name}: .*unexpected keyword argument 'nosuch'"), \
            pytest.warns(UserWarning, match="RANDOM weights"):
        build_segmenter(dict(type="mmseg", config=str(config), cfg_options={"model.nosuch": 1}))


@pytest.mark.mm
@pytest.mark.realdata
@pytest.mark.slow
def test_segmentation_command_on_the_shared_cityscapes_sample(shared, tmp_path, capsys):
    from evaluation.segmentation.__main__ import main

    cfg = tmp_path / "tiny_segformer.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py"))
    out = tmp_path / "run"
    args = ["--data", str(shared / "data" / "cityscapes_day"), "--dataset", "cityscapes", "--config", str(cfg),
            "--work-dir", str(out), "--limit", "2", "--no-progress", "--device", "cpu", "--no-cache"]
    assert main(args) == 0
    assert "RANDOM weights" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labelled"] == 2 and 0 <= metrics["scores"]["mIoU"] <= 1 and 0 <= metrics["scores"]["aAcc"] <= 1
    assert metrics["protocol"]["name"] == "cityscapes19" and metrics["segmenter"]["random_init"]
    assert "RANDOM-INIT" in metrics["protocol_line"] and len(metrics["scores"]["per_class"]) == 19
    preds = sorted((out / "pred").glob("*_trainIds.png"))
    assert [p.name for p in preds] == ["aachen_000000_000019_trainIds.png", "aachen_000001_000019_trainIds.png"]
    from PIL import Image

    assert Image.open(preds[0]).size == (2048, 1024) and Image.open(preds[0]).mode == "L"
    assert (out / "summary.md").is_file() and (out / "per_class.csv").is_file()
    before = {p.name: p.stat().st_mtime_ns for p in preds}
    assert main(args) == 0  # resumed: nothing recomputed, same scores
    assert {p.name: p.stat().st_mtime_ns for p in preds} == before

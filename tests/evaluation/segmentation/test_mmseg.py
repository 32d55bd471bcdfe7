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
    from evaluation.segmentation.segmenters import MMSegSegmenter
    from uptflow.registry import SEGMENTERS

    assert SEGMENTERS.get("mmseg") is MMSegSegmenter


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
        seg = build_segmenter("mmseg", config=config, device="cpu", cfg_options={"test_pipeline.1.scale": (96, 48)})
    img = np.random.default_rng(0).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    pred = seg(img)
    assert pred.shape == (45, 80) and pred.dtype == np.uint8 and pred.max() < 19
    d = seg.describe()
    assert d["random_init"] is True and d["num_classes"] == 19


@pytest.mark.mm
def test_slide_mode_override_matches_input_size(tmp_path):
    from evaluation.segmentation.segmenters import build_segmenter

    cfg = tmp_path / "tiny.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py"))
    with pytest.warns(UserWarning):
        seg = build_segmenter("mmseg", config=cfg, mode="slide", crop_size=(64, 64), stride=(48, 48))
    assert seg.describe()["test_cfg"] == {"mode": "slide", "crop_size": [64, 64], "stride": [48, 48]}
    assert seg(np.zeros((70, 130, 3), np.uint8)).shape == (70, 130)


@pytest.mark.mm
@pytest.mark.realdata
@pytest.mark.slow
def test_segmentation_command_on_the_shared_cityscapes_sample(shared, tmp_path, capsys):
    from evaluation.segmentation.__main__ import main

    cfg = tmp_path / "tiny_segformer.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py"))
    out = tmp_path / "run"
    args = ["--data", str(shared / "data" / "cityscapes_day"), "--dataset", "cityscapes", "--config", str(cfg),
            "--out", str(out), "--limit", "2"]
    assert main(args) == 0
    assert "RANDOM weights" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_labelled"] == 2 and 0 <= metrics["mIoU"] <= 100 and 0 <= metrics["aAcc"] <= 100
    assert metrics["protocol"]["name"] == "cityscapes19" and metrics["protocol"]["segmenter"]["random_init"]
    assert "RANDOM" in metrics["warning"] and len(metrics["per_class"]) == 19
    preds = sorted((out / "pred").glob("*_trainIds.png"))
    assert [p.name for p in preds] == ["aachen_000000_000019_leftImg8bit_trainIds.png",
                                       "aachen_000001_000019_leftImg8bit_trainIds.png"]
    from PIL import Image

    assert Image.open(preds[0]).size == (2048, 1024) and Image.open(preds[0]).mode == "L"
    assert (out / "summary.md").is_file() and (out / "per_class.csv").is_file()
    assert main(args) == 0  # resumed: nothing recomputed, same scores
    assert json.loads((out / "metrics.json").read_text())["n_reused"] == 2

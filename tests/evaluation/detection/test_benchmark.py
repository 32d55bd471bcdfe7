"""The ExDark command end to end: outputs, protocol on every number, resuming, and (slow) training runs."""

import json
import warnings

import numpy as np
import pytest

from evaluation.detection.pipeline import run_exdark_detection

from .helpers import flat_dataset


def test_command_writes_outputs_and_resumes(tmp_path):
    data = flat_dataset(tmp_path / "d")
    out = tmp_path / "run"
    with warnings.catch_warnings():  # a random model may find nothing: NaN with a warning is fine here
        warnings.simplefilter("ignore")
        run_exdark_detection(data, out, subset="all", weights="yolov8n.yaml", imgsz=64, progress=False,
                             pretraining="none (random init)", class_map="coco")
    for name in ("predictions.json", "gt_coco.json", "split.json", "metrics.json", "overall.csv", "per_class.md",
                 "per_light.csv", "per_inout.md"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["split"]["subset"] == "all" and metrics["protocol"]["enhancer"] == {"name": "none"}
    keys = {"split", "detector", "weights", "pretraining", "input_size", "variant"}
    assert all(keys <= set(r) for r in metrics["rows"])
    partial = out / ".work/predictions.jsonl"
    assert len(partial.read_text().splitlines()) == 3
    # an interrupted run: the last line is cut; the rerun redoes only that image
    lines = partial.read_text().splitlines()
    partial.write_text("\n".join(lines[:2]) + "\n" + lines[2][:5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_exdark_detection(data, out, subset="all", weights="yolov8n.yaml", imgsz=64, progress=False,
                             pretraining="none (random init)", class_map="coco")
    assert len([ln for ln in partial.read_text().splitlines() if ln.startswith("{\"image\"")]) == 3
    with pytest.raises(ValueError, match="different run"):
        run_exdark_detection(data, out, subset="all", weights="yolov8n.yaml", imgsz=96, progress=False,
                             class_map="coco")


def test_empty_subset_is_explained(tmp_path):
    with pytest.raises(ValueError, match="subset 'all'"):
        run_exdark_detection(flat_dataset(tmp_path / "d"), tmp_path / "o", subset="val", weights="yolov8n.yaml",
                             class_map="coco")


@pytest.mark.realdata
def test_command_on_shared_exdark_sample_with_coco_yolov8n_and_identity(shared, tmp_path):
    from evaluation.detection.cli import main

    out = tmp_path / "run"
    rc = main(["--data", str(shared / "data/exdark"), "--subset", "all", "--detector", "yolov8",
               "--weights", str(shared / "data/weights/yolov8n.pt"), "--enhancer", "identity",
               "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["protocol"]["class_map"] == "coco-zero-shot" and m["protocol"]["enhancer"]["name"] == "identity"
    assert m["scores"]["coco"]["n_images"] == 8 and m["scores"]["coco"]["n_gt"] == 23
    # a COCO detector finds ExDark's buses, people and cars even zero-shot
    assert m["scores"]["voc"]["mAP50"] > 0.3 and m["scores"]["coco"]["AP50"] > 0.3
    assert np.isfinite(m["scores"]["voc"]["per_class_AP50"]["Bus"])
    assert m["enhancer_cache"]["misses"] == 8


@pytest.mark.slow
@pytest.mark.realdata
def test_ultralytics_trains_one_epoch_on_the_exported_sample(shared, tmp_path):
    from evaluation.detection.train import prepare_dataset, train_ultralytics
    from tests.netguard import no_network

    paths = prepare_dataset(shared / "data/exdark", tmp_path / "ds", split="random", seed=0, enhancer="identity",
                            cache_dir=str(tmp_path / "cache"))
    with no_network() as attempts:
        best = train_ultralytics(paths["yaml"], "yolov8n.yaml", tmp_path / "train", epochs=1, imgsz=64, batch=4)
    assert attempts == [] and best.is_file()


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.mm
def test_mmdet_yolov3_exdark_config_trains_one_iteration(shared, tmp_path):
    from evaluation.detection.train import prepare_dataset, train_mmdet

    prepare_dataset(shared / "data/exdark", tmp_path / "ds", split="random", seed=0)
    small = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
             dict(type="Resize", scale=(96, 96), keep_ratio=True), dict(type="PackDetInputs")]
    opts = {"load_from": None,
            "train_cfg": dict(_delete_=True, type="IterBasedTrainLoop", max_iters=1, val_interval=1000),
            "param_scheduler": [], "val_cfg": None, "val_dataloader": None, "val_evaluator": None,
            "test_cfg": None, "test_dataloader": None, "test_evaluator": None,
            "train_dataloader.batch_size": 2, "train_dataloader.num_workers": 0,
            "train_dataloader.persistent_workers": False, "train_dataloader.dataset.pipeline": small,
            "default_hooks.checkpoint": dict(_delete_=True, type="CheckpointHook", interval=1, by_epoch=False)}
    ckpt = train_mmdet("configs/detection/yolov3_d53_exdark_608_random.py", tmp_path / "ds", tmp_path / "work", opts)
    assert ckpt.is_file() and ckpt.suffix == ".pth"

"""What the plug-ins record and refuse: only the pipeline a framework runs is recorded, disagreeing pipelines are
refused, the ultralytics hook refuses val/train and tensors, the default device is ``auto``, and tables name an
enhancer inside the model's pipeline."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation.detection.detectors import COCO80, Detections
from uptflow.plugins import (
    EnhanceLowLight,
    EnhancerNotAppliedError,
    attach_enhancer,
    attached_enhancer,
    detach_enhancer,
    enhance_callback,
    pipeline_enhancers,
)

REPO = Path(__file__).resolve().parents[2]
RANDOM_BASE = REPO / "configs" / "detection" / "yolov3_d53_exdark_608_random.py"


def _step(enhancer):
    return dict(type="EnhanceLowLight", enhancer=enhancer, cache=False)


def _pipeline(*middle, scale=(608, 608)):
    return [dict(type="LoadImageFromFile"), *middle, dict(type="Resize", scale=scale, keep_ratio=True),
            dict(type="PackDetInputs")]


def _wrapped(pipeline):
    """A test loader whose pipeline sits inside a dataset wrapper, as mmdet configs may write it."""
    return dict(dataset=dict(type="ConcatDataset", datasets=[dict(type="RepeatDataset", times=2, dataset=dict(
        type="CocoDataset", pipeline=pipeline))]))


def test_only_the_pipeline_the_framework_runs_for_inference_is_recorded():
    gamma, clahe = _step(dict(type="gamma")), _step("clahe")
    mmdet = dict(default_scope="mmdet", train_pipeline=_pipeline(gamma), test_dataloader=_wrapped(_pipeline(clahe)))
    assert [e["enhancer"] for e in pipeline_enhancers(mmdet)] == ["clahe"]  # never the training pipeline's gamma
    mmseg = dict(default_scope="mmseg", train_pipeline=_pipeline(gamma), test_pipeline=_pipeline(clahe),
                 test_dataloader=dict(dataset=dict(pipeline=_pipeline(clahe))))
    assert [e["enhancer"] for e in pipeline_enhancers(mmseg)] == ["clahe"]
    # without a framework: every pipeline's steps, an identity rather than a record of what runs
    assert len(pipeline_enhancers({k: v for k, v in mmseg.items() if k != "default_scope"})) == 2


@pytest.mark.parametrize("framework", ["mmdet", "mmseg"])
def test_test_pipeline_and_test_loader_that_enhance_differently_are_refused(framework):
    cfg = dict(test_pipeline=_pipeline(_step(dict(type="gamma", gamma=5.0))),
               test_dataloader=dict(dataset=dict(pipeline=_pipeline())))
    with pytest.raises(ValueError, match=r"^child\.py: test_pipeline enhances with gamma but test_dataloader\.dataset"
                                         r"\.pipeline with none .*test_dataloader = dict\(dataset=dict\(pipeline="):
        pipeline_enhancers(cfg, framework, where="child.py")
    once, twice = _pipeline(_step("clahe")), _pipeline(_step("clahe"), _step("clahe"))
    with pytest.raises(ValueError, match="test_pipeline enhances with clahe, clahe but test_dataloader"):
        pipeline_enhancers(dict(test_pipeline=twice, test_dataloader=dict(dataset=dict(pipeline=once))), framework)


@pytest.mark.mm
def test_a_child_config_that_sets_only_test_pipeline_is_refused_naming_it(tmp_path):
    from uptflow.utils.mmconfig import load_config

    child = tmp_path / "child_det.py"
    child.write_text(f"_base_ = [{str(RANDOM_BASE)!r}]\n"
                     "test_pipeline = [dict(type='LoadImageFromFile'), dict(type='uptflow.EnhanceLowLight', "
                     "enhancer=dict(type='gamma', gamma=5.0)), dict(type='Resize', scale=(320, 320), keep_ratio=True),"
                     " dict(type='PackDetInputs')]\n")
    with pytest.raises(ValueError, match=r"child_det\.py: test_pipeline enhances with gamma but .* with none"):
        pipeline_enhancers(load_config(child))
    child.write_text(child.read_text() + "val_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n"
                                         "test_dataloader = val_dataloader\n")
    assert [e["enhancer"] for e in pipeline_enhancers(load_config(child))] == [dict(type="gamma", gamma=5.0)]


@pytest.mark.mm
def test_the_loader_pipeline_is_found_as_mmdets_get_test_pipeline_cfg_finds_it():
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.config import ConfigDict

    from uptflow.plugins.transforms import _dataset_pipeline

    for loader in (_wrapped(_pipeline(_step("clahe"))), dict(dataset=dict(pipeline=_pipeline()))):
        assert _dataset_pipeline(loader["dataset"]) == get_test_pipeline_cfg(ConfigDict(test_dataloader=loader))


@pytest.mark.mm
def test_mmdet_input_size_is_read_from_the_pipeline_inference_detector_runs():
    from mmengine.config import ConfigDict

    from evaluation.detection.detectors import _mmdet_test_scale

    cfg = ConfigDict(test_pipeline=_pipeline(scale=(999, 999)),
                     test_dataloader=_wrapped(_pipeline(scale=(320, 320))))
    assert _mmdet_test_scale(cfg) == [320, 320]


@pytest.mark.mm
def test_a_child_custom_imports_that_drops_the_bases_modules_is_explained(tmp_path):
    from evaluation.segmentation.segmenters import build_segmenter

    child = tmp_path / "child_seg.py"
    child.write_text(f"_base_ = [{str(REPO / 'configs/segmentation/segformer_mit-b0_cityscapes19.py')!r}]\n"
                     "custom_imports = dict(imports=['uptflow.plugins'])\n"
                     "model = dict(type='NotImportedSegmentor')\n")
    with pytest.raises(ValueError, match=r"child_seg\.py: NotImportedSegmentor is not in the mmseg::model registry; "
                                         r"this config's custom_imports imports only \['uptflow.plugins'\]: a child "
                                         r"config's custom_imports replaces its base's"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_segmenter(dict(type="mmseg", config=str(child)))


def test_the_yolo_plugin_defaults_to_the_auto_device_and_the_pipeline_transform_to_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # building gamma runs nothing on the device
    assert enhance_callback("gamma", cache=False).enhancer.device.type == "cuda"
    # mm pipelines run in forked DataLoader workers, where CUDA cannot start: the CPU unless asked
    assert EnhanceLowLight(enhancer="gamma", cache=False).device == "cpu"
    assert EnhanceLowLight(enhancer="gamma", cache=False, device="auto").device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert EnhanceLowLight(enhancer="gamma", cache=False, device="auto").device == "cpu"
    with pytest.raises(ValueError, match="torch sees no GPU"):
        EnhanceLowLight(enhancer="gamma", cache=False, device="cuda")


def _yolo(weights: str):
    from evaluation.detection.detectors import load_yolo

    return load_yolo(weights)


def test_ultralytics_hook_refuses_tensor_sources_it_cannot_enhance_exactly():
    model = attach_enhancer(_yolo("yolov8n.yaml"), "gamma", cache=False)
    with pytest.raises(TypeError, match=r"predict\(\): the attached enhancer takes files, .* not torch\.Tensor"):
        model.predict(torch.rand(1, 3, 64, 64), imgsz=64, device="cpu", verbose=False)


def test_ultralytics_train_is_refused_before_anything_is_written_and_restored_on_detach(tmp_path):
    model = attach_enhancer(_yolo("yolov8n.yaml"), "gamma", cache=False)
    attach_enhancer(model, "clahe", cache=False)  # replacing the enhancer keeps the refusal
    methods = ("train", "val", "tune", "benchmark")
    for method in methods:  # multi-GPU training never reaches a trainer either
        with pytest.raises(EnhancerNotAppliedError, match=rf"{method}\(\): the enhancer attached .* only acts on pre"):
            getattr(model, method)(data=str(tmp_path / "missing.yaml"), device="0,1", project=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()
    detach_enhancer(model)
    assert all(getattr(model, m).__func__ is getattr(type(model), m) for m in methods)


def test_an_ultralytics_model_with_an_enhancer_attached_pickles_and_its_copy_still_enhances(tmp_path):
    import pickle

    from uptflow.enhancers import build_enhancer

    model = attach_enhancer(_yolo("yolov8n.yaml"), dict(type="gamma", gamma=3.0), cache_dir=str(tmp_path / "c"))
    copy = pickle.loads(pickle.dumps(model))
    assert attached_enhancer(copy).describe() == attached_enhancer(model).describe()
    with pytest.raises(EnhancerNotAppliedError, match=r"val\(\): "):
        copy.val()
    dark = np.full((64, 64, 3), 20, np.uint8)
    result = copy.predict(dark, imgsz=64, device="cpu", verbose=False)[0]
    assert np.array_equal(result.orig_img, build_enhancer("gamma", gamma=3.0)(dark[..., ::-1])[..., ::-1])
    detach_enhancer(copy)
    assert attached_enhancer(copy) is None and copy.callbacks is not model.callbacks


@pytest.mark.realdata
def test_ultralytics_val_and_train_refuse_while_an_enhancer_is_attached(shared, tmp_path):
    import shutil

    coco = shared / "data" / "coco128_train"
    for sub in ("images", "labels"):
        (tmp_path / sub).mkdir()
        for stem in sorted(p.stem for p in (coco / "images").glob("*.jpg"))[:2]:
            ext = ".jpg" if sub == "images" else ".txt"
            shutil.copy(coco / sub / f"{stem}{ext}", tmp_path / sub / f"{stem}{ext}")
    data = tmp_path / "two.yaml"
    data.write_text(f"path: {tmp_path}\ntrain: images\nval: images\nnames:\n"
                    + "".join(f"  {i}: {n}\n" for i, n in enumerate(COCO80)))
    model = attach_enhancer(_yolo(shared / "data" / "weights" / "yolov8n.pt"), dict(type="gamma", gamma=5.0),
                            cache=False)
    settings = dict(data=str(data), imgsz=320, batch=2, device="cpu", workers=0, plots=False, verbose=False)
    with pytest.raises(EnhancerNotAppliedError, match=r"val\(\): .* only acts on predict\(\).*offline"):
        model.val(**settings)
    with pytest.raises(EnhancerNotAppliedError, match=r"train\(\): .* only acts on predict\(\)"):
        model.train(**settings, epochs=1, project=str(tmp_path / "runs"), name="t")
    assert not (tmp_path / "runs").exists()  # refused before ultralytics wrote anything
    assert detach_enhancer(model).val(**settings).box.map50 > 0  # plain YOLO validates again


class _PipelineEnhancingDetector:
    """A detector whose own (mmdet) pipeline enhances with gamma; finds nothing."""

    class_names = COCO80

    def __call__(self, img):
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0), self.class_names)

    def describe(self):
        return {"detector": "mmdet", "checkpoint": None, "input_size": [64, 64],
                "pipeline_enhancers": [{"enhancer": {"type": "gamma"}}]}


def test_detection_tables_name_the_enhancer_inside_the_models_pipeline(tmp_path):
    import pandas as pd

    from evaluation.datasets import build_reader
    from evaluation.detection.benchmark import DetectionBenchmark
    from tests.evaluation.datasets.exdark_trees import flat_dataset

    ds = build_reader(dict(type="exdark", root=str(flat_dataset(tmp_path / "d")), split="all")).read()
    bench = DetectionBenchmark(detector=dict(type="mmdet"), class_map="coco", pretraining="x")
    bench._detector = _PipelineEnhancingDetector()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench.run(ds, None, tmp_path / "out", progress=False)
    assert pd.read_csv(tmp_path / "out" / "overall.csv")["enhancer"].tolist() == ["none (pipeline: gamma)"]
    assert "| none (pipeline: gamma) |" in (tmp_path / "out" / "overall.md").read_text()


@pytest.mark.mm
def test_segmentation_summary_names_the_enhancer_inside_the_models_pipeline(tmp_path):
    import pandas as pd

    from evaluation.datasets import build_reader
    from evaluation.segmentation.benchmark import SegmentationBenchmark
    from tests.evaluation.segmentation.helpers import make_acdc
    from tests.evaluation.segmentation.test_mmseg import TINY_SEGFORMER

    cfg = tmp_path / "enhanced_segformer.py"
    cfg.write_text(TINY_SEGFORMER.format(base=REPO / "configs/segmentation/segformer_mit-b0_cityscapes19.py")
                   + "test_pipeline.insert(1, dict(type='uptflow.EnhanceLowLight', enhancer=dict(type='gamma'), "
                     "cache=False))\ntest_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n")
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=1)
    ds = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"))).read()
    with pytest.warns(UserWarning, match="RANDOM weights"):
        SegmentationBenchmark(segmenter=dict(type="mmseg", config=str(cfg))).run(ds, None, tmp_path / "out",
                                                                                 progress=False)
    assert pd.read_csv(tmp_path / "out" / "summary.csv")["enhancer"].tolist() == ["none (pipeline: gamma)"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["enhancer"] == {"name": "none"}

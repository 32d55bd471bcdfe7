"""The segmentation benchmark with a fake segmenter: outputs, scores, exact resume, darkening, bad labels."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.benchmark import ProgressLog
from evaluation.datasets import build_reader
from evaluation.datasets.segmentation import read_label
from evaluation.registry import MODELS
from evaluation.segmentation.benchmark import SegmentationBenchmark, read_label_png
from evaluation.segmentation.classes import trainids_to_labelids
from evaluation.segmentation.metrics import confusion_matrix, get_protocol, scores_from_confusion
from evaluation.segmentation.segmenters import Segmenter
from evaluation.work_dirs import OWNER_FILE
from tests.evaluation.segmentation.helpers import make_acdc
from uptflow.enhancers.base import Enhancer
from uptflow.utils.io import imread_rgb


@MODELS.register_module(name="test_fake_segmenter", force=True)
class _Fake(Segmenter):
    """Predicts a fixed function of the image (channel-0 value modulo 19); counts calls."""

    name = "test_fake_segmenter"
    calls = 0

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def __call__(self, img: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        return (img[..., 0] % 19).astype(np.uint8)


class _Invert(Enhancer):
    name = "invert"

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def _acdc(tmp_path, n=3, **kw):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=n)
    return build_reader(dict(type="acdc", root=str(tmp_path / "acdc"), **kw)).read(seed=3)


def _bench(**kw):
    return SegmentationBenchmark(segmenter=dict(type="test_fake_segmenter"), **kw)


def test_unit_writes_maps_and_scores_equal_to_a_direct_computation(tmp_path):
    ds = _acdc(tmp_path)
    res = _bench(protocol="iat_acdc_night", save_label_ids=True).run(ds, _Invert(), tmp_path / "out", progress=False)
    protocol = get_protocol("iat_acdc_night")
    cm = np.zeros((19, 20), np.int64)
    for s in ds.samples:
        pred = (255 - imread_rgb(s.path)[..., 0]) % 19
        np.testing.assert_array_equal(read_label_png(tmp_path / "out" / "pred" / f"{s.stem}_trainIds.png"), pred)
        np.testing.assert_array_equal(read_label_png(tmp_path / "out" / "pred" / f"{s.stem}_labelIds.png"),
                                      trainids_to_labelids(pred))
        assert (tmp_path / "out" / "pred" / f"{s.stem}_color.png").is_file()
        cm += confusion_matrix(pred, protocol.prepare_gt(read_label(s)), 19)
    expected = scores_from_confusion(cm, protocol)
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["scores"]["mIoU"] == pytest.approx(expected["mIoU"])
    assert next(r for r in res.rows if r["metric"] == "mIoU")["value"] == pytest.approx(100 * expected["mIoU"])
    assert saved["protocol"]["name"] == "iat_acdc_night" and saved["enhancer"]["name"] == "invert"
    assert saved["protocol"]["removed_classes"] == ["rider", "truck", "bus", "motorcycle"]
    assert {r["cls"] for r in res.rows if r["metric"] == "IoU"}.isdisjoint({"rider", "truck", "bus", "motorcycle"})
    for table in ("per_class.csv", "per_class.md", "per_image.csv", "summary.csv", "summary.md"):
        assert (tmp_path / "out" / table).is_file()
    summary = (tmp_path / "out" / "summary.md").read_text()  # read without metrics.json: says what it measured
    assert f"Protocol: {res.protocol}" in summary and f"Data: acdc {ds.root}, 3 images" in summary


def test_rerun_segments_only_images_not_done(tmp_path):
    ds = _acdc(tmp_path)
    first = _bench().run(ds, None, tmp_path / "out", progress=False)
    _Fake.calls = 0
    again = _bench().run(ds, None, tmp_path / "out", progress=False)
    assert _Fake.calls == 0 and again.rows == first.rows
    _bench().run(ds, _Invert(), tmp_path / "out", progress=False)  # another enhancer: another identity
    assert _Fake.calls == 3


def test_rerunning_a_unit_with_other_settings_replaces_the_previous_outputs(tmp_path, caplog):
    out = tmp_path / "out"
    bench = _bench(save_label_ids=True)
    bench.run(_acdc(tmp_path), None, out, progress=False)
    assert {p.name for p in out.iterdir()} == {OWNER_FILE, ProgressLog.folder, *bench.outputs}  # all declared
    (out / "notes.txt").write_text("mine")
    fewer = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"), limit=1)).read(seed=3)
    with caplog.at_level(logging.WARNING):
        _bench().run(fewer, None, out, progress=False)
    stem = fewer.samples[0].stem
    assert sorted(p.name for p in (out / "pred").iterdir()) == [f"{stem}_color.png", f"{stem}_trainIds.png"]
    assert len(list((out / "progress").glob("*.jsonl"))) == 1 and (out / "notes.txt").read_text() == "mine"
    assert "held results of another run" in caplog.text


def test_a_unit_whose_segmenter_cannot_be_built_leaves_no_folder(tmp_path):
    with pytest.raises(KeyError, match="segmenter.bogus: unknown setting"):
        SegmentationBenchmark(segmenter=dict(type="test_fake_segmenter", bogus=1)).run(
            _acdc(tmp_path), None, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_synthetic_night_is_seeded_per_image_and_recorded(tmp_path):
    ds = _acdc(tmp_path, n=2, degrade="synthetic")
    again = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"), degrade="synthetic")).read(seed=3)
    for s in ds.samples:
        np.testing.assert_array_equal(ds.load(s), again.load(s))
        assert ds.load(s).mean() < 0.9 * imread_rgb(s.path).mean()  # darker, by a random amount
    _bench().run(ds, None, tmp_path / "out", progress=False)
    per_image = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert per_image.filter(like="degrade_").shape[1] > 0
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["identity"]["dataset"]["degrade"]["spec"] \
        == "synthetic"
    assert "2 images, split=val; darkened with synthetic (seed 3)" in (tmp_path / "out" / "summary.md").read_text()


def test_unlabelled_split_saves_predictions_without_scores(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), split="test", n=2, labels=False)
    with pytest.warns(UserWarning):
        ds = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"), split="test")).read()
    res = _bench().run(ds, None, tmp_path / "out", progress=False)
    assert res.rows == [] and len(list((tmp_path / "out" / "pred").glob("*_trainIds.png"))) == 2


def test_an_image_with_a_missing_label_is_left_out_and_reported(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=3)
    next((tmp_path / "acdc" / "gt").rglob("*000001_gt_labelTrainIds.png")).unlink()
    with pytest.warns(UserWarning, match="label file not found"):
        ds = build_reader(dict(type="acdc", root=str(tmp_path / "acdc"))).read()
    assert len(ds) == 2 and "000001" in ds.info["skipped"][0]["file"]
    _bench().run(ds, None, tmp_path / "out", progress=False)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["reader"]["skipped"] == ds.info["skipped"]
    assert pd.read_csv(tmp_path / "out" / "summary.csv")["skipped"].tolist() == [1]  # left out while reading

"""The segmentation runner with a fake segmenter: outputs, scores, resume and the run-identity guard."""

import json

import numpy as np
import pytest
import torch

from evaluation.segmentation.datasets import read_dataset, read_label
from evaluation.segmentation.metrics import confusion_matrix, get_protocol, scores_from_confusion
from evaluation.segmentation.run import collect_summaries, evaluate_segmentation, read_label_png
from tests.evaluation.segmentation.helpers import FakeSegmenter, make_acdc
from uptflow.enhancers.base import Enhancer
from uptflow.utils.io import imread_rgb


class _Invert(Enhancer):
    name = "invert"

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def test_runner_writes_maps_and_scores_equal_to_a_direct_computation(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=3)
    samples = read_dataset("acdc", tmp_path / "acdc", "val")
    protocol = get_protocol("iat_acdc_night")
    res = evaluate_segmentation(samples, FakeSegmenter(), protocol, tmp_path / "out", enhancer=_Invert(),
                                identity=dict(dataset="acdc"), progress=False)
    cm = np.zeros((19, 20), np.int64)
    for s in samples:
        pred = (255 - imread_rgb(s.image)[..., 0]) % 19
        np.testing.assert_array_equal(read_label_png(tmp_path / "out" / "pred" / f"{s.stem}_trainIds.png"), pred)
        assert (tmp_path / "out" / "pred" / f"{s.stem}_color.png").is_file()
        cm += confusion_matrix(pred, protocol.prepare_gt(read_label(s)), 19)
    expected = scores_from_confusion(cm, protocol)
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["mIoU"] == pytest.approx(expected["mIoU"]) == pytest.approx(res["mIoU"])
    assert saved["protocol"]["name"] == "iat_acdc_night" and saved["protocol"]["enhancer"]["name"] == "invert"
    assert saved["protocol"]["removed_classes"] == ["rider", "truck", "bus", "motorcycle"]
    for table in ("per_class.csv", "per_class.md", "per_image.csv", "summary.csv", "summary.md"):
        assert (tmp_path / "out" / table).is_file()
    assert collect_summaries([tmp_path / "out"]).loc[0, "enhancer"] == "invert"


def test_rerun_skips_done_images_and_gives_the_same_scores(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=3)
    samples = read_dataset("acdc", tmp_path / "acdc", "val")
    protocol = get_protocol("cityscapes19")
    first = evaluate_segmentation(samples[:2], FakeSegmenter(), protocol, tmp_path / "out", progress=False)
    seg = FakeSegmenter()
    second = evaluate_segmentation(samples, seg, protocol, tmp_path / "out", progress=False)
    assert seg.calls == 1 and second["n_reused"] == 2 and first["n_images"] == 2
    again = evaluate_segmentation(samples, FakeSegmenter(), protocol, tmp_path / "out", progress=False)
    assert again["mIoU"] == pytest.approx(second["mIoU"])


def test_output_folder_of_another_run_is_refused(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=1)
    samples = read_dataset("acdc", tmp_path / "acdc", "val")
    evaluate_segmentation(samples, FakeSegmenter(), get_protocol("cityscapes19"), tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="different run.*enhancer"):
        evaluate_segmentation(samples, FakeSegmenter(), get_protocol("cityscapes19"), tmp_path / "out",
                              enhancer=_Invert(), progress=False)


def test_unlabelled_split_saves_predictions_without_scores(tmp_path):
    make_acdc(tmp_path / "acdc", np.random.default_rng(0), split="test", n=2, labels=False)
    with pytest.warns(UserWarning):
        samples = read_dataset("acdc", tmp_path / "acdc", "test")
    res = evaluate_segmentation(samples, FakeSegmenter(), get_protocol("cityscapes19"), tmp_path / "out",
                                progress=False)
    assert res["mIoU"] is None and len(list((tmp_path / "out" / "pred").glob("*_trainIds.png"))) == 2


def test_synthetic_night_degradation_is_seeded_per_image_and_recorded(tmp_path):
    from evaluation.segmentation.degrade import build_degradation

    make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=2)
    samples = read_dataset("acdc", tmp_path / "acdc", "val")
    runs = []
    for name in ("a", "b"):
        evaluate_segmentation(samples, FakeSegmenter(), get_protocol("cityscapes19"), tmp_path / name,
                              degrade=build_degradation("synthetic"), degrade_seed=3, save_inputs=True,
                              progress=False)
        runs.append([imread_rgb(tmp_path / name / "inputs" / f"{s.stem}.png") for s in samples])
    for a, b, s in zip(runs[0], runs[1], samples, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.mean() < 0.6 * imread_rgb(s.image).mean()
    import pandas as pd

    per_image = pd.read_csv(tmp_path / "a" / "per_image.csv")
    assert per_image["degrade_exposure"].between(0.03, 0.15).all()
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["degrade"]["name"] == "LowLightDegradation" and run["degrade"]["seed"] == 3

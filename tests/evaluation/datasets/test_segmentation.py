"""Dataset readers on synthetic folder trees (and the shared Cityscapes sample): pairing, conversion, errors."""

import numpy as np
import pytest

from evaluation.datasets.segmentation import LabelError, check_samples, read_dataset, read_label
from evaluation.segmentation.classes import ID_TO_TRAINID, labelids_to_trainids
from tests.evaluation.segmentation.helpers import make_acdc, rand_image, write_png


def test_acdc_reader_pairs_images_with_trainid_labels(tmp_path):
    rng = np.random.default_rng(0)
    make_acdc(tmp_path, rng, n=3)
    samples = read_dataset("acdc", tmp_path, "val")
    assert [s.stem for s in samples] == [f"GOPR0351_frame_{i:06d}" for i in range(3)]
    assert all(s.label.name == s.path.name.replace("_rgb_anon.png", "_gt_labelTrainIds.png") for s in samples)
    lab = read_label(samples[0])
    assert lab.dtype == np.uint8 and lab.shape == (24, 32)


def test_acdc_test_split_is_read_without_labels(tmp_path):
    make_acdc(tmp_path, np.random.default_rng(0), split="test", labels=False)
    samples = read_dataset("acdc", tmp_path, "test")
    with pytest.warns(UserWarning, match="no ground truth"):
        check_samples(samples)
    assert samples and all(s.label is None for s in samples)


def test_missing_label_is_reported_by_name_and_its_image_left_out(tmp_path):
    make_acdc(tmp_path, np.random.default_rng(0), n=2)
    gone = next((tmp_path / "gt").rglob("*000001_gt_labelTrainIds.png"))
    gone.unlink()
    good, bad = check_samples(read_dataset("acdc", tmp_path, "val"))
    assert len(good) == 1 and gone.name in bad[0]["reason"] and "000001" in bad[0]["file"]


def test_label_with_wrong_size_is_reported_by_name(tmp_path):
    rng = np.random.default_rng(0)
    make_acdc(tmp_path, rng, n=2)
    bad_label = next((tmp_path / "gt").rglob("*000000_gt_labelTrainIds.png"))
    write_png(bad_label, np.zeros((10, 10), np.uint8))
    good, bad = check_samples(read_dataset("acdc", tmp_path, "val"))
    assert len(good) == 1 and bad_label.name in bad[0]["reason"] and "10x10" in bad[0]["reason"]


def test_labelids_file_given_as_trainids_is_rejected_with_its_name(tmp_path):
    rng = np.random.default_rng(0)
    make_acdc(tmp_path, rng, n=1)
    lab = next((tmp_path / "gt").rglob("*_gt_labelTrainIds.png"))
    write_png(lab, np.full((24, 32), 26, np.uint8))  # a labelIds "car" value
    sample = read_dataset("acdc", tmp_path, "val")[0]
    with pytest.raises(LabelError, match="not train ids") as e:
        read_label(sample)
    assert lab.name in str(e.value)


def test_darkzurich_reader_uses_the_night_val_layout(tmp_path):
    rng = np.random.default_rng(0)
    img = tmp_path / "rgb_anon" / "val" / "night" / "GOPR0356" / "GOPR0356_frame_000321_rgb_anon.png"
    write_png(img, rand_image(rng))
    write_png(tmp_path / "gt" / "val" / "night" / "GOPR0356" / "GOPR0356_frame_000321_gt_labelTrainIds.png",
              np.zeros((24, 32), np.uint8))
    (s,) = read_dataset("darkzurich", tmp_path, "val")
    assert s.path == img and s.label_kind == "trainIds"


def test_nightcity_labelids_are_converted_with_the_cityscapes_table(tmp_path):
    rng = np.random.default_rng(0)
    write_png(tmp_path / "images" / "val" / "Chicago_0001.png", rand_image(rng, 4, 9))
    ids = np.arange(36, dtype=np.uint8).reshape(4, 9)  # 0-33 plus two unknown ids
    ids[ids > 33] = 0
    write_png(tmp_path / "label" / "val" / "Chicago_0001_labelIds.png", ids)
    (s,) = read_dataset("nightcity", tmp_path, "val")
    lab = read_label(s)
    expected = np.array([ID_TO_TRAINID[int(i)] for i in ids.ravel()], np.uint8).reshape(ids.shape)
    np.testing.assert_array_equal(lab, expected)
    assert lab[ids == 26].tolist() == [13] and lab[ids == 7].tolist() == [0]  # car, road


def test_cityscapes_reader_accepts_split_and_city_folders(tmp_path):
    rng = np.random.default_rng(0)
    write_png(tmp_path / "leftImg8bit" / "val" / "lindau" / "lindau_000000_000019_leftImg8bit.png", rand_image(rng))
    write_png(tmp_path / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelIds.png",
              np.full((24, 32), 24, np.uint8))
    (s,) = read_dataset("cityscapes", tmp_path, "val")
    assert s.label_kind == "labelIds" and (read_label(s) == 11).all()  # falls back to labelIds: person


def test_unknown_dataset_name_lists_the_known_ones(tmp_path):
    with pytest.raises(KeyError, match="acdc"):
        read_dataset("kitti", tmp_path)


@pytest.mark.realdata
def test_shared_cityscapes_sample_labelids_convert_to_its_trainids(shared):
    import cv2
    from PIL import Image

    samples = read_dataset("cityscapes", shared / "data" / "cityscapes_day")
    assert len(samples) == 4
    for s in samples:
        trainids = read_label(s)
        ids = np.asarray(Image.open(str(s.label).replace("_labelTrainIds", "_labelIds")))
        converted = labelids_to_trainids(ids)
        # the shipped trainIds were rasterised separately from the labelIds; they differ only on class borders
        border = cv2.morphologyEx(ids, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
        differ = converted != trainids
        assert differ.mean() < 0.01
        assert (differ & ~border).sum() <= 0.0005 * differ.size

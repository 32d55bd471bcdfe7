"""Paired transforms: same crop / flip on both images, clear errors, exact repr, packing."""

import numpy as np
import pytest
import torch

from uptflow.data.transforms import (
    AddPointMap,
    LoadImagePair,
    PackPairedInputs,
    PairedCenterCrop,
    PairedHFlip,
    PairedRandomCrop,
    read_image,
)
from uptflow.registry import TRANSFORMS
from uptflow.utils.io import imwrite_rgb


def _pair(h=12, w=20):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return {"low": gt // 4, "gt": gt}


def test_random_crop_takes_the_same_window_from_both_images(seed):
    res = PairedRandomCrop(crop_size=(8, 10))(_pair())
    x0, y0, x1, y1 = res["crop_box"]
    full = _pair()
    assert res["low"].shape == res["gt"].shape == (8, 10, 3)
    np.testing.assert_array_equal(res["gt"], full["gt"][y0:y1, x0:x1])
    np.testing.assert_array_equal(res["low"], full["low"][y0:y1, x0:x1])


def test_random_crop_is_reproducible_under_the_numpy_seed():
    np.random.seed(3)
    a = PairedRandomCrop(4)(_pair())["crop_box"]
    np.random.seed(3)
    b = PairedRandomCrop(4)(_pair())["crop_box"]
    assert a == b


def test_full_size_crop_leaves_the_images_unchanged(seed):
    full = _pair()
    res = PairedRandomCrop(crop_size=(12, 20))(_pair())
    np.testing.assert_array_equal(res["low"], full["low"])
    np.testing.assert_array_equal(res["gt"], full["gt"])


def test_crop_larger_than_the_image_names_the_file():
    res = _pair(10, 10)
    res["low_path"] = "/data/low/7.png"
    with pytest.raises(ValueError, match=r"7\.png is 10x10 .*smaller than the crop 16x16"):
        PairedRandomCrop(16)(res)


def test_mismatched_pair_sizes_are_rejected():
    res = {"low": np.zeros((10, 12, 3), np.uint8), "gt": np.zeros((10, 14, 3), np.uint8),
           "low_path": "a.png", "gt_path": "b.png"}
    with pytest.raises(ValueError, match="differ in size.*a.png 12x10.*b.png 14x10"):
        PairedRandomCrop(4)(res)


def test_center_crop_is_centred():
    res = PairedCenterCrop((4, 6))(_pair(12, 20))
    assert res["crop_box"] == (7, 4, 13, 8)


def test_hflip_flips_both_or_neither():
    full = _pair()
    flipped = PairedHFlip(prob=1.0)(_pair())
    assert flipped["flip"] is True
    np.testing.assert_array_equal(flipped["low"], full["low"][:, ::-1])
    np.testing.assert_array_equal(flipped["gt"], full["gt"][:, ::-1])
    kept = PairedHFlip(prob=0.0)(_pair())
    assert kept["flip"] is False
    np.testing.assert_array_equal(kept["gt"], full["gt"])


def test_transforms_have_exact_reprs():
    assert repr(PairedRandomCrop(160)) == "PairedRandomCrop(crop_size=(160, 160), keys=('low', 'gt'))"
    assert repr(PairedCenterCrop((8, 16))) == "PairedCenterCrop(crop_size=(8, 16), keys=('low', 'gt'))"
    assert repr(PairedHFlip()) == "PairedHFlip(prob=0.5, keys=('low', 'gt'))"
    assert repr(LoadImagePair()) == "LoadImagePair(npy_order='bgr')"
    assert repr(AddPointMap()) == "AddPointMap()"
    assert repr(PackPairedInputs(meta_keys=("name",))) == "PackPairedInputs(meta_keys=('name',))"


def test_transforms_are_registered():
    for name in ("LoadImagePair", "PairedRandomCrop", "PairedCenterCrop", "PairedHFlip", "AddPointMap",
                 "PackPairedInputs"):
        assert TRANSFORMS.get(name) is not None, name


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="crop_size"):
        PairedRandomCrop(0)
    with pytest.raises(ValueError, match="prob"):
        PairedHFlip(1.5)
    with pytest.raises(ValueError, match="npy_order"):
        LoadImagePair("rgba")


def test_load_pair_reads_images_and_arrays(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    imwrite_rgb(tmp_path / "low.png", img)
    np.save(tmp_path / "gt.npy", img[..., ::-1])  # stored BGR, as SNR-Aware's arrays
    res = LoadImagePair()({"low_path": str(tmp_path / "low.png"), "gt_path": str(tmp_path / "gt.npy")})
    np.testing.assert_array_equal(res["low"], img)
    np.testing.assert_array_equal(res["gt"], img)
    assert res["ori_shape"] == (6, 8)
    np.testing.assert_array_equal(read_image(tmp_path / "gt.npy", npy_order="rgb"), img[..., ::-1])


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        LoadImagePair()({"low_path": str(bad)})
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        read_image(tmp_path / "missing.npy")


def test_point_map_is_computed_on_the_crop():
    low = np.full((4, 4, 3), 100, np.uint8)
    low[0, 0] = (200, 5, 5)  # one channel share <= 0.1 -> unbalanced
    res = AddPointMap()({"low": low})
    expected = np.ones((4, 4), np.uint8)
    expected[0, 0] = 0
    np.testing.assert_array_equal(res["point_map"], expected)


def test_pack_gives_uint8_chw_tensors_and_metadata():
    res = PackPairedInputs()({**_pair(4, 6), "name": "x", "flip": False})
    assert res["inputs"]["low"].dtype == torch.uint8 and res["inputs"]["low"].shape == (3, 4, 6)
    assert torch.equal(res["inputs"]["gt"].permute(1, 2, 0), torch.from_numpy(_pair(4, 6)["gt"]))
    assert res["data_samples"].metainfo == {"name": "x", "flip": False}

"""Synthetic low-light pairs: seeded, darker and noisier than the source, usable as a training set."""

import numpy as np
import pytest

from uptflow.data.synthetic import LowLightDegradation
from uptflow.registry import DATASETS
from uptflow.utils.io import imwrite_rgb


def _photo():
    from skimage import data

    return data.astronaut()[::8, ::8]


def test_degradation_is_reproducible_from_the_seed():
    deg = LowLightDegradation()
    a, pa = deg(_photo(), np.random.default_rng([0, 1]))
    b, pb = deg(_photo(), np.random.default_rng([0, 1]))
    c, _ = deg(_photo(), np.random.default_rng([0, 2]))
    assert pa == pb and np.array_equal(a, b) and not np.array_equal(a, c)


def test_degradation_darkens_by_the_exposure_and_adds_noise():
    deg = LowLightDegradation(exposure_range=(0.05, 0.05), gamma_range=(2.2, 2.2), read_noise_range=(0, 0))
    img = _photo()
    low, params = deg(img, np.random.default_rng(0))
    # mean linear intensity scales by the exposure (up to noise and quantisation)
    lin = lambda x: (x / 255.0) ** 2.2  # noqa: E731
    assert lin(low).mean() / lin(img).mean() == pytest.approx(0.05, rel=0.1)
    noiseless = deg.apply(img, {**params, "full_well": 1e12}, np.random.default_rng(0))
    assert np.abs(low.astype(int) - noiseless).mean() > 0.5


def test_colour_cast_changes_channel_balance():
    deg = LowLightDegradation(colour_cast=0.5)
    params = deg.sample_params(np.random.default_rng(0))
    assert len(set(np.round(params["gains"], 6))) == 3


def test_invalid_ranges_are_rejected():
    with pytest.raises(ValueError, match="exposure_range"):
        LowLightDegradation(exposure_range=(0.2, 0.1))
    with pytest.raises(ValueError, match="colour_cast"):
        LowLightDegradation(colour_cast=1.0)


def test_skimage_photo_pairs_need_no_files():
    ds = DATASETS.build(dict(type="SkimagePhotoPairs", photos=("astronaut", "coffee"), max_side=32,
                             pipeline=[dict(type="PairedRandomCrop", crop_size=16), dict(type="PackPairedInputs")]))
    assert len(ds) == 2
    sample = ds[1]
    assert sample["inputs"]["low"].shape == (3, 16, 16)
    info = ds.get_data_info(1)
    assert max(info["gt"].shape[:2]) == 32 and info["low"].mean() < info["gt"].mean()


def test_synthetic_dataset_from_a_folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        imwrite_rgb(tmp_path / f"{i}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    ds = DATASETS.build(dict(type="SyntheticLowLightDataset", data_root=str(tmp_path), repeat=3, seed=5))
    assert len(ds) == 6
    assert np.array_equal(ds.get_data_info(0)["low"], ds.get_data_info(2)["low"])


def test_unknown_photo_is_rejected():
    with pytest.raises(ValueError, match="unknown scikit-image photos"):
        DATASETS.build(dict(type="SkimagePhotoPairs", photos=("moon_landing",)))

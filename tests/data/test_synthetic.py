"""Fixed synthetic low-light pairs (scikit-image photos, a folder): seeded, darker than the source, reproducible."""

import numpy as np
import pytest

from uptflow.registry import DATASETS
from uptflow.utils.io import imwrite_rgb


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

"""The photo_pairs reader: held-out photos darkened once with recorded, seeded degradations, then reused."""

import json

import numpy as np
import pytest

from evaluation.datasets import build_reader
from tests.evaluation.datasets.image_trees import photo
from uptflow.utils.io import imread_rgb, imwrite_rgb


@pytest.fixture
def photos(tmp_path):
    for i in range(3):
        imwrite_rgb(tmp_path / "photos" / "street" / f"p{i}.png", photo(i)[:64, :96])
    return tmp_path / "photos"


def test_photo_pairs_are_darkened_once_recorded_and_reused(photos, tmp_path):
    reader = build_reader(dict(type="photo_pairs", root=str(photos), photo_dirs=["street"], split="all"))
    ds = reader.read(seed=3, data_dir=tmp_path / "made")
    assert len(ds.samples) == 3
    low, high = imread_rgb(ds.samples[0].path), imread_rgb(ds.samples[0].reference)
    np.testing.assert_array_equal(high, photo(0)[:64, :96])
    assert low.mean() < 0.5 * high.mean()
    folder = ds.samples[0].path.parents[1]
    records = [json.loads(line) for line in (folder / "degradations.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["street_p0", "street_p1", "street_p2"]
    assert all(r["seed"] == [3, i] for i, r in enumerate(records))
    stamp = ds.samples[0].path.stat().st_mtime_ns
    again = reader.read(seed=3, data_dir=tmp_path / "made")
    assert again.samples[0].path == ds.samples[0].path and again.samples[0].path.stat().st_mtime_ns == stamp
    other = build_reader(dict(type="photo_pairs", root=str(photos), photo_dirs=["street"], split="all", level=5))
    darker = other.read(seed=3, data_dir=tmp_path / "made").samples[0].path
    assert darker.parents[1] != folder and imread_rgb(darker).mean() < low.mean()


@pytest.mark.parametrize("settings, message", [
    (dict(photo_dirs=[]), "photo_dirs is empty"),
    (dict(photo_dirs=["street"], level=9), "level must be 1-5"),
    (dict(photo_dirs=["street"], split="holdout"), "split must be one of"),
])
def test_photo_pairs_settings_are_checked_when_built(photos, settings, message):
    with pytest.raises(ValueError, match=message):
        build_reader(dict(type="photo_pairs", root=str(photos), **settings))


def test_photo_pairs_are_absent_when_a_photo_folder_is_missing(photos):
    assert not build_reader(dict(type="photo_pairs", root=str(photos), photo_dirs=["street", "nope"])).present()

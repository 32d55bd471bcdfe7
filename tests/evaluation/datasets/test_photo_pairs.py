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


def test_photo_pairs_are_made_again_when_a_source_photo_changes(photos, tmp_path):
    reader = build_reader(dict(type="photo_pairs", root=str(photos), photo_dirs=["street"], split="all"))
    before = reader.read(seed=3, data_dir=tmp_path / "made")
    imwrite_rgb(photos / "street" / "p1.png", photo(1)[:64, :96] // 2)
    after = reader.read(seed=3, data_dir=tmp_path / "made")
    assert after.samples[0].path.parents[1] != before.samples[0].path.parents[1]
    assert after.digest() != before.digest()
    np.testing.assert_array_equal(imread_rgb(after.samples[1].reference), photo(1)[:64, :96] // 2)


def test_photo_pairs_made_from_the_same_photos_elsewhere_share_their_identity(photos, tmp_path):
    copy = tmp_path / "copy"
    for p in (photos / "street").iterdir():
        (copy / "street").mkdir(parents=True, exist_ok=True)
        (copy / "street" / p.name).write_bytes(p.read_bytes())
    made = [build_reader(dict(type="photo_pairs", root=str(root), photo_dirs=["street"], split="all"))
            .read(seed=3, data_dir=tmp_path / "made") for root in (photos, copy)]
    assert made[0].digest() == made[1].digest()


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

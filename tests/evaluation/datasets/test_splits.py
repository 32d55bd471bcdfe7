"""Official split from the dataset's list, seeded random 80/20, and splits from name lists."""

import pytest

from evaluation.datasets.exdark import read_exdark
from evaluation.datasets.splits import official_split, random_split, split_from_lists
from tests.evaluation.datasets.exdark_trees import flat_dataset, write_bbgt, write_image


def test_official_split_follows_the_fifth_column(tmp_path):
    samples, stats = read_exdark(flat_dataset(tmp_path))
    sp = official_split(samples, "exdark_split", stats["classlist"])
    assert sp.subsets == {"train": ["2015_00001.jpg"], "val": [], "test": ["2015_00002.PNG", "2015_00003.JPG"]}
    assert sp.to_dict()["counts"] == {"train": 1, "val": 0, "test": 2}


def _many(tmp_path, n=20):
    for i in range(n):
        write_image(tmp_path / "images" / f"img_{i:03d}.jpg", w=8, h=8, seed=i)
        write_bbgt(tmp_path / "annotations" / f"img_{i:03d}.jpg.txt", ["Car 1 1 3 3 0 0 0 0 0 0 0"])
    return read_exdark(tmp_path)


def test_random_split_is_seeded_80_20_and_disjoint(tmp_path):
    samples, _ = _many(tmp_path)
    a, b, c = random_split(samples, 0), random_split(samples, 0), random_split(samples, 1)
    assert a.subsets == b.subsets and a.subsets != c.subsets
    assert len(a.subsets["test"]) == 4 and len(a.subsets["train"]) == 16
    assert not set(a.subsets["test"]) & set(a.subsets["train"])
    assert sorted(a.names("all")) == sorted(s.name for s in samples)


def test_official_split_without_classlist_explains(tmp_path):
    samples, stats = _many(tmp_path, 3)
    with pytest.raises(FileNotFoundError, match="imageclasslist"):
        official_split(samples, "exdark_split", stats["classlist"])


def test_split_from_name_lists_accepts_stems(tmp_path):
    samples, _ = _many(tmp_path, 5)
    (tmp_path / "val.txt").write_text("img_000\nimg_003.jpg\n")
    sp = split_from_lists(samples, {"test": tmp_path / "val.txt"})
    assert sp.subsets["test"] == ["img_000.jpg", "img_003.jpg"]
    (tmp_path / "bad.txt").write_text("nope\n")
    with pytest.raises(ValueError, match=r"bad\.txt:1"):
        split_from_lists(samples, {"test": tmp_path / "bad.txt"})

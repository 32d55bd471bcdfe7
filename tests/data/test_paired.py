"""Folder datasets: pairing by stem, documented trees, splits, clear errors."""

import numpy as np
import pytest

from tests.data import fake_trees
from uptflow.data.paired import match_pairs
from uptflow.registry import DATASETS

PIPE = [dict(type="LoadImagePair"), dict(type="PackPairedInputs")]


def test_pairs_are_matched_by_stem_not_sort_order(tmp_path):
    for n in ("1", "2", "10"):
        fake_trees.write(tmp_path / "low" / f"{n}.png", int(n))
    for n in ("10", "1", "2"):
        fake_trees.write(tmp_path / "high" / f"{n}.jpg", 100 + int(n))
    pairs = match_pairs(tmp_path / "low", tmp_path / "high")
    assert [(k, lp.name, gp.name) for k, lp, gp in pairs] == [
        ("1", "1.png", "1.jpg"), ("2", "2.png", "2.jpg"), ("10", "10.png", "10.jpg")]


def test_unmatched_files_are_all_listed(tmp_path):
    for n in ("1", "2", "3"):
        fake_trees.write(tmp_path / "low" / f"{n}.png", 0)
    for n in ("1", "4"):
        fake_trees.write(tmp_path / "high" / f"{n}.png", 0)
    with pytest.raises(ValueError, match=r"2 in .*low without a partner: 2\.png, 3\.png; 1 in .*high without a "
                                         r"partner: 4\.png"):
        match_pairs(tmp_path / "low", tmp_path / "high")


def test_numbered_names_with_other_words_get_a_hint_naming_the_prefixes(tmp_path):
    for n in (1, 2):
        fake_trees.write(tmp_path / "train" / "low" / f"low{n:05d}.png", 0)
        fake_trees.write(tmp_path / "train" / "high" / f"normal{n:05d}.png", 0)
    with pytest.raises(ValueError, match=r"\(names like low00001 / normal00001: set low_prefix='low' and "
                                         r"gt_prefix='normal'\)$"):
        match_pairs(tmp_path / "train" / "low", tmp_path / "train" / "high")
    assert len(match_pairs(tmp_path / "train" / "low", tmp_path / "train" / "high", "low", "normal")) == 2


def test_paired_folder_dataset_loads_pairs(tmp_path):
    fake_trees.make_lol(tmp_path)
    ds = DATASETS.build(dict(type="PairedImageDataset", data_root=str(tmp_path), low_dir="our485/low",
                             gt_dir="our485/high", pipeline=PIPE))
    assert len(ds) == 3
    sample = ds[0]
    assert sample["data_samples"].name == "2"
    np.testing.assert_array_equal(sample["inputs"]["gt"].permute(1, 2, 0).numpy(), fake_trees.image(100))


def test_lol_v1_splits(tmp_path):
    fake_trees.make_lol(tmp_path)
    train = DATASETS.build(dict(type="LOLDataset", data_root=str(tmp_path), split="train", pipeline=PIPE))
    test = DATASETS.build(dict(type="LOLDataset", data_root=str(tmp_path), split="test", pipeline=PIPE))
    assert [train.get_data_info(i)["name"] for i in range(len(train))] == ["2", "5", "10"]
    assert len(test) == 1


@pytest.mark.parametrize("subset", ["real", "synthetic"])
def test_lol_v2_pairs_low_and_normal(tmp_path, subset):
    fake_trees.make_lolv2(tmp_path)
    ds = DATASETS.build(dict(type="LOLv2Dataset", data_root=str(tmp_path), subset=subset, split="test",
                             pipeline=PIPE))
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert ("low00002" in info["low_path"] and "normal00002" in info["gt_path"]) if subset == "real" else \
        info["low_path"].endswith("Low/r002.png")


def test_fivek_takes_the_first_97_percent_for_training(tmp_path):
    fake_trees.make_fivek(tmp_path)
    train = DATASETS.build(dict(type="FiveKDataset", data_root=str(tmp_path), split="train", pipeline=PIPE))
    test = DATASETS.build(dict(type="FiveKDataset", data_root=str(tmp_path), split="test", pipeline=PIPE))
    assert len(train) == 97 and len(test) == 3
    assert test.get_data_info(0)["name"] == "a0097"


def test_smid_pairs_every_low_frame_with_the_scene_reference(tmp_path):
    fake_trees.make_smid(tmp_path)
    train = DATASETS.build(dict(type="SMIDDataset", data_root=str(tmp_path), split="train", pipeline=PIPE))
    test = DATASETS.build(dict(type="SMIDDataset", data_root=str(tmp_path), split="test", pipeline=PIPE))
    assert [train.get_data_info(i)["name"] for i in range(len(train))] == ["0001/0000", "0001/0001",
                                                                           "0003/0000", "0003/0001"]
    assert len(test) == 2
    assert test.get_data_info(1)["gt_path"].endswith("SMID_Long_np/0002/0001.npy")
    np.testing.assert_array_equal(test[0]["inputs"]["gt"].permute(1, 2, 0).numpy(), fake_trees.image(101))


@pytest.mark.parametrize("subset", ["indoor", "outdoor"])
def test_sdsd_holds_out_snr_aware_test_scenes(tmp_path, subset):
    fake_trees.make_sdsd(tmp_path, subset)
    train = DATASETS.build(dict(type="SDSDDataset", data_root=str(tmp_path), subset=subset, split="train",
                                pipeline=PIPE))
    test = DATASETS.build(dict(type="SDSDDataset", data_root=str(tmp_path), subset=subset, split="test",
                               pipeline=PIPE))
    assert [train.get_data_info(i)["name"] for i in range(len(train))] == ["pair900/0001", "pair901/0001"]
    assert len(test) == (12 if subset == "indoor" else 13)


def test_unpaired_dataset_has_no_ground_truth(tmp_path):
    fake_trees.make_lol(tmp_path)
    ds = DATASETS.build(dict(type="UnpairedImageDataset", data_root=str(tmp_path / "our485" / "low"),
                             pipeline=PIPE))
    assert len(ds) == 3 and set(ds[0]["inputs"]) == {"low"}


def test_missing_data_root_error_shows_the_expected_tree(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not found: .*nowhere.*Real_captured/\{Train,Test\}/Low") as err:
        DATASETS.build(dict(type="LOLv2Dataset", data_root=str(tmp_path / "nowhere"), pipeline=PIPE))
    assert "\n" not in str(err.value)  # commands print an error's first line only


def test_a_missing_pair_folder_error_shows_the_datasets_own_folders_in_one_line(tmp_path):
    (tmp_path / "val" / "low").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"normal-light folder not found: .*val/high\. .* Expected layout: "
                                                r"data_root/val/low/<name>\.png; data_root/val/high/<name>\.png$"):
        DATASETS.build(dict(type="PairedImageDataset", data_root=str(tmp_path), low_dir="val/low",
                            gt_dir="val/high", pipeline=PIPE))


def test_missing_smid_test_list_is_explained(tmp_path):
    fake_trees.make_smid(tmp_path)
    (tmp_path / "test_list.txt").unlink()
    with pytest.raises(FileNotFoundError, match="test_list.txt"):
        DATASETS.build(dict(type="SMIDDataset", data_root=str(tmp_path), pipeline=PIPE))


def test_bad_split_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        DATASETS.build(dict(type="LOLDataset", data_root=str(tmp_path), split="val"))

"""Image dataset readers: LOL v1 / LOL-v2 / any paired folder by stem, unpaired folders, natural order."""

import pytest

from evaluation.datasets import build_reader, list_images
from evaluation.datasets.images import UnmatchedError, read_paired, read_unpaired
from tests.evaluation.datasets.image_trees import make_pair_dirs


def test_readers_understand_lol_v1_lol_v2_and_unpaired_layouts(tmp_path):
    make_pair_dirs(tmp_path / "LOL" / "our485")
    make_pair_dirs(tmp_path / "LOL" / "eval15", n=1)
    samples = read_paired(tmp_path / "LOL")
    assert [s.name for s in samples] == ["eval15/0", "our485/0", "our485/1"]
    assert all(s.reference is not None and s.reference.stem == s.path.stem for s in samples)
    make_pair_dirs(tmp_path / "LOLv2" / "Real_captured" / "Test", "Low", "Normal", n=1)
    assert [s.group for s in read_paired(tmp_path / "LOLv2")] == ["Real_captured/Test"]
    groups = {s.group for s in read_unpaired(tmp_path / "LOL")}
    assert groups == {"our485/low", "our485/high", "eval15/low", "eval15/high"}


@pytest.mark.parametrize("kind", ["paired", "unpaired"])
def test_a_split_names_the_sub_folder_read_and_never_mixes_in_the_others(tmp_path, kind):
    make_pair_dirs(tmp_path / "LOLv2" / "Train", "Low", "Normal", n=3)
    make_pair_dirs(tmp_path / "LOLv2" / "Test", "Low", "Normal", n=1)
    test = build_reader(dict(type=kind, root=str(tmp_path / "LOLv2"), split="test")).read()
    assert {s.path.parent.parent.name for s in test.samples} == {"Test"}
    assert len(test.samples) == (1 if kind == "paired" else 2)
    inside = build_reader(dict(type=kind, root=str(tmp_path / "LOLv2" / "Test"), split="test")).read()
    assert [s.path for s in inside.samples] == [s.path for s in test.samples]  # a split folder itself, labelled
    if kind == "unpaired":
        whole = build_reader(dict(type=kind, root=str(tmp_path / "LOLv2"))).read()
        assert len(whole.samples) == 4 * len(test.samples)
    else:  # references make it a benchmark split: train and test scored together would be no protocol
        with pytest.raises(ValueError, match=r"LOLv2: holds the splits Test, Train; choose one with split=NAME"):
            build_reader(dict(type=kind, root=str(tmp_path / "LOLv2"))).read()


def test_splits_deeper_in_a_paired_root_are_refused_too(tmp_path):
    for part in ("Real_captured", "Synthetic"):  # LOL-v2 as released
        for split in ("Train", "Test"):
            make_pair_dirs(tmp_path / "LOL-v2" / part / split, "Low", "Normal", n=1)
    with pytest.raises(ValueError, match=r"split 'test' names no sub-folder of \S+LOL-v2, which holds the splits "
                                         r"Test, Train; choose one"):
        build_reader(dict(type="paired", root=str(tmp_path / "LOL-v2"), split="test")).read()
    real = build_reader(dict(type="paired", root=str(tmp_path / "LOL-v2" / "Real_captured"), split="test")).read()
    assert [s.group for s in real.samples] == ["Test"]
    make_pair_dirs(tmp_path / "test", n=1)  # a folder named like a split holding the pairs itself
    assert len(build_reader(dict(type="paired", root=str(tmp_path / "test"))).read()) == 1


def test_lol_v2_real_file_prefixes_are_ignored_when_pairing(tmp_path):
    root = tmp_path / "LOL-v2" / "Real_captured" / "Test"
    make_pair_dirs(root, "Low", "Normal", n=2)
    for folder, prefix in (("Low", "low"), ("Normal", "normal")):
        for f in sorted((root / folder).iterdir()):
            f.rename(f.with_name(f"{prefix}{int(f.stem) + 1:05d}.png"))
    samples = read_paired(tmp_path / "LOL-v2")
    assert [(s.path.name, s.reference.name) for s in samples] == [("low00001.png", "normal00001.png"),
                                                                  ("low00002.png", "normal00002.png")]


def test_paired_reader_lists_unmatched_images_or_keeps_them_as_unpaired(tmp_path):
    make_pair_dirs(tmp_path, extra_low=("lonely",))
    with pytest.raises(UnmatchedError, match=r"1 low-light image\(s\) without ground truth in \S+ \(lonely\)\. Pairs"):
        read_paired(tmp_path)
    samples = read_paired(tmp_path, allow_unmatched=True)
    assert [s.reference is None for s in samples] == [False, False, True]
    with pytest.raises(ValueError, match="no paired sub-folders"):
        read_paired(tmp_path / "low")


def test_a_limit_that_leaves_out_every_reference_warns_that_no_full_reference_metric_will_come(tmp_path):
    import warnings

    import numpy as np

    from uptflow.utils.io import imwrite_rgb

    for name in ("low/a", "low/b", "low/c", "high/c"):  # natural order a, b, c: only the last has a reference
        imwrite_rgb(tmp_path / "data" / f"{name}.png", np.zeros((8, 8, 3), np.uint8))
    reader = dict(type="paired", root=str(tmp_path), allow_unmatched=True)
    with pytest.warns(UserWarning, match="limit 2 keeps the first 2 of 3 images, none of the 1 with a reference"):
        assert not build_reader(dict(reader, limit=2)).read().paired
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build_reader(dict(reader, limit=3)).read().paired


def test_unmatched_lists_are_capped(tmp_path):
    make_pair_dirs(tmp_path, n=1, extra_low=tuple(f"x{i}" for i in range(25)))
    with pytest.raises(UnmatchedError, match=r"and 15 more"):
        read_paired(tmp_path)


def test_one_listing_in_natural_order_everywhere(tmp_path):
    from uptflow.data.paired import list_images as training_images
    from uptflow.tools.enhance import collect_inputs

    for name in ("img10.png", "img2.png", "IMG1.png", ".hidden.png", ".x.png.uptflow-tmp-abc.png"):
        (tmp_path / name).write_bytes(b"")
    expected = ["IMG1.png", "img2.png", "img10.png"]
    assert [p.name for p in list_images(tmp_path)] == expected  # the suite's datasets
    assert [p.name for p in training_images(tmp_path)] == expected  # the training datasets
    for given in (str(tmp_path), str(tmp_path / "*.png")):  # `uptflow enhance` with a folder or a glob
        assert [p.name for p, _ in collect_inputs([given])[0]] == expected


def test_long_lists_in_messages_are_capped_one_way(tmp_path):
    from uptflow.data.paired import match_pairs

    make_pair_dirs(tmp_path, n=1, extra_low=tuple(f"x{i}" for i in range(25)))
    with pytest.raises(UnmatchedError, match=r"x0, x1, x2, .*, x9 \.\.\. and 15 more"):
        read_paired(tmp_path)  # the suite's reader
    with pytest.raises(ValueError, match=r"x0\.png, x1\.png, .*, x9\.png \.\.\. and 15 more"):
        match_pairs(tmp_path / "low", tmp_path / "high")  # the training datasets


def test_synthetic_pairs_are_made_once_and_read_like_any_paired_folder(tmp_path):
    reader = build_reader(dict(type="synthetic", num_images=2, size=64))
    ds = reader.read(seed=3, data_dir=tmp_path)
    assert ds.paired and len(ds) == 2 and (tmp_path / "seed3-max64-n2" / "low").is_dir()
    mtimes = [p.stat().st_mtime_ns for p in (tmp_path / "seed3-max64-n2").rglob("*.png")]
    again = build_reader(dict(type="synthetic", num_images=2, size=64)).read(seed=3, data_dir=tmp_path)
    assert [p.stat().st_mtime_ns for p in (tmp_path / "seed3-max64-n2").rglob("*.png")] == mtimes
    assert ds.identity() == again.identity()


def test_fewer_synthetic_photos_after_more_read_only_the_fewer(tmp_path):
    more = build_reader(dict(type="synthetic", num_images=3, size=64)).read(seed=3, data_dir=tmp_path)
    fewer = build_reader(dict(type="synthetic", num_images=2, size=64)).read(seed=3, data_dir=tmp_path)
    assert (len(more), len(fewer)) == (3, 2) and more.digest() != fewer.digest()


def test_data_a_reader_makes_goes_to_the_cache_not_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("UPTFLOW_CACHE", str(tmp_path / "cache"))
    ds = build_reader(dict(type="synthetic", num_images=1, size=32)).read()
    assert list((tmp_path / "cwd").iterdir()) == [] and ds.samples[0].path.is_relative_to(tmp_path / "cache")

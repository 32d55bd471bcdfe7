"""Pairs synthesised on the fly from folders of photos: splits, fresh vs fixed degradations, transforms, export."""

import json

import numpy as np
import pytest

import uptflow.data  # noqa: F401 - registers datasets / transforms
from uptflow.data.make_pairs import main as make_pairs
from uptflow.data.photos import RandomRescale, SynthesizeLowLight, split_of
from uptflow.registry import DATASETS, TRANSFORMS
from uptflow.utils.io import imread_rgb, imwrite_rgb

CROP = 24


def _photos(folder, n=12, size=(40, 56)):
    """Made-up 'photos': smooth colour gradients plus texture."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size[0], 0:size[1]] / max(size)
    for i in range(n):
        img = np.stack([yy, xx, (yy + xx) / 2], axis=-1) * 200 + rng.integers(0, 55, (*size, 3))
        imwrite_rgb(folder / f"p{i}.jpg", img.astype(np.uint8))
    return folder


def _pipeline(fixed=False):
    pack = dict(type="PackPairedInputs", meta_keys=("name", "degradation", "degradation_seed"))
    if fixed:
        return [dict(type="LoadImagePair"), dict(type="PairedCenterCrop", crop_size=CROP, keys=("gt",)),
                dict(type="SynthesizeLowLight"), pack]
    return [dict(type="LoadImagePair"), dict(type="RandomRescale", scale_range=(0.5, 1.0), min_side=CROP),
            dict(type="PairedRandomCrop", crop_size=CROP, keys=("gt",)), dict(type="PairedHFlip", keys=("gt",)),
            dict(type="SynthesizeLowLight"), pack]


def _dataset(root, **kw):
    cfg = dict(type="PhotoLowLightPairs", data_root=str(root), photo_dirs=["a"], split="all", pipeline=_pipeline())
    return DATASETS.build({**cfg, **kw})


def _names(ds) -> set[str]:
    return {ds.get_data_info(i)["name"] for i in range(len(ds))}


def test_samples_are_darkened_crops_with_their_parameters(tmp_path):
    _photos(tmp_path / "a")
    ds = _dataset(tmp_path)
    assert len(ds) == 12
    sample = ds[0]
    low, gt = sample["inputs"]["low"], sample["inputs"]["gt"]
    assert low.shape == gt.shape == (3, CROP, CROP) and low.float().mean() < gt.float().mean()
    meta = sample["data_samples"].metainfo
    assert meta["name"] == "a_p0"
    assert 0 < meta["degradation"]["exposure"] <= 1 and "degradation_seed" not in meta


def test_training_draws_a_fresh_degradation_every_time(tmp_path):
    _photos(tmp_path / "a")
    ds = _dataset(tmp_path)
    np.random.seed(0)
    first, second = ds[3], ds[3]
    assert first["data_samples"].degradation != second["data_samples"].degradation


def test_training_stream_is_reproducible_under_the_global_seed(tmp_path):
    _photos(tmp_path / "a")
    ds = _dataset(tmp_path)
    np.random.seed(7)
    a = ds[2]["inputs"]["low"]
    np.random.seed(7)
    assert np.array_equal(ds[2]["inputs"]["low"], a)


def test_validation_pairs_are_fixed_by_the_seed(tmp_path):
    _photos(tmp_path / "a")
    make = lambda seed: _dataset(tmp_path, pipeline=_pipeline(fixed=True), test_mode=True, seed=seed)  # noqa: E731
    ds = make(1)
    np.random.seed(0)
    a = ds[4]
    np.random.seed(123)
    b = ds[4]
    assert a["data_samples"].degradation_seed == [1, 4]
    assert a["data_samples"].degradation == b["data_samples"].degradation
    assert np.array_equal(a["inputs"]["low"], b["inputs"]["low"])
    assert make(2)[4]["data_samples"].degradation != a["data_samples"].degradation


def test_splits_partition_the_photos_by_name_hash(tmp_path):
    _photos(tmp_path / "a", n=60)
    names = {split: _names(_dataset(tmp_path, split=split, val_percent=20, test_percent=20))
             for split in ("train", "val", "test")}
    everything = _names(_dataset(tmp_path))
    assert names["train"] | names["val"] | names["test"] == everything
    assert not (names["train"] & names["val"] or names["train"] & names["test"] or names["val"] & names["test"])
    assert all(names.values())
    assert split_of("a/p1.jpg", 20, 20) == split_of("a/p1.jpg", 20, 20)


def test_scikit_image_photos_need_no_files(tmp_path):
    ds = DATASETS.build(dict(type="PhotoLowLightPairs", skimage_photos=["coffee", "chelsea"], split="all",
                             pipeline=_pipeline()))
    assert _names(ds) == {"skimage_coffee", "skimage_chelsea"}
    assert ds[1]["inputs"]["low"].shape == (3, CROP, CROP)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(split="holdout"), ValueError, "split must be one of"),
    (dict(val_percent=60, test_percent=40), ValueError, "leave some photos"),
    (dict(skimage_photos=["moon"]), ValueError, "unknown scikit-image photos"),
    (dict(photo_dirs=[]), ValueError, "give photo_dirs"),
    (dict(photo_dirs=["missing"]), FileNotFoundError, "missing"),
])
def test_bad_settings_are_reported(tmp_path, kwargs, error, match):
    _photos(tmp_path / "a", n=2)
    with pytest.raises(error, match=match):
        _dataset(tmp_path, **kwargs)


def test_an_empty_split_is_reported(tmp_path):
    _photos(tmp_path / "a", n=1)
    split = "val" if split_of("a/p0.jpg", 5, 5) != "val" else "test"
    with pytest.raises(ValueError, match=f"the '{split}' split .* is empty"):
        _dataset(tmp_path, split=split)


def test_random_rescale_keeps_room_for_the_crop():
    t = RandomRescale(scale_range=(0.1, 0.2), min_side=30)
    np.random.seed(0)
    out = t(dict(gt=np.zeros((60, 90, 3), np.uint8)))
    assert out["gt"].shape == (30, 45, 3) and out["scale"] == pytest.approx(0.5)
    assert repr(t) == "RandomRescale(scale_range=(0.1, 0.2), min_side=30)"
    with pytest.raises(ValueError, match="scale_range"):
        RandomRescale(scale_range=(0.5, 1.5))


def test_synthesize_low_light_uses_the_sample_seed_when_given():
    t = TRANSFORMS.build(dict(type="SynthesizeLowLight", degradation=dict(level=3)))
    assert isinstance(t, SynthesizeLowLight) and repr(t).startswith("SynthesizeLowLight(degradation=")
    gt = np.full((16, 16, 3), 150, np.uint8)
    a = t(dict(gt=gt, degradation_seed=[0, 1]))["low"]
    assert np.array_equal(t(dict(gt=gt, degradation_seed=[0, 1]))["low"], a)
    assert not np.array_equal(t(dict(gt=gt, degradation_seed=[0, 2]))["low"], a)


def test_synthesize_low_light_gives_the_normal_light_image_the_same_light_sources():
    t = TRANSFORMS.build(dict(type="SynthesizeLowLight", degradation=dict(light_prob=1.0)))
    gt = np.full((48, 48, 3), 60, np.uint8)
    out = t(dict(gt=gt.copy(), degradation_seed=[0, 1]))
    lamps = out["degradation"]["lights"]
    assert lamps and not np.array_equal(out["gt"], gt)
    x, y = round(lamps[0]["x"] * 47), round(lamps[0]["y"] * 47)
    assert out["gt"][y, x].max() == 255 and out["low"][y, x].max() == 255


def test_load_image_pair_needs_a_path_or_an_image():
    load = TRANSFORMS.build(dict(type="LoadImagePair"))
    img = np.zeros((4, 4, 3), np.uint8)
    assert load(dict(gt=img))["ori_shape"] == (4, 4)
    with pytest.raises(KeyError, match="neither 'low_path' nor 'gt_path'"):
        load(dict(name="x"))


def test_make_pairs_writes_a_low_high_folder_with_the_parameters(tmp_path):
    _photos(tmp_path / "a", n=3)
    out = tmp_path / "pairs"
    assert make_pairs(["--data-root", str(tmp_path), "--photo-dirs", "a", "--split", "all", "--seed", "4",
                       "--work-dir", str(out)]) == 0
    lows = sorted(p.name for p in (out / "low").iterdir())
    assert lows == sorted(p.name for p in (out / "high").iterdir()) and len(lows) == 3
    lines = [json.loads(s) for s in (out / "degradations.jsonl").read_text().splitlines()]
    assert [d["seed"] for d in lines] == [[4, 0], [4, 1], [4, 2]] and "exposure" in lines[0]
    low, high = imread_rgb(out / "low" / lows[0]), imread_rgb(out / "high" / lows[0])
    assert low.shape == high.shape == (40, 56, 3) and low.mean() < high.mean()


@pytest.mark.realdata
def test_the_shared_photo_collection_splits_into_train_val_test(shared):
    from mmengine.config import Config

    from tests.engine.tiny import ROOT

    cfg = Config.fromfile(str(ROOT / "configs" / "_base_" / "datasets" / "photo_synthetic.py"))
    counts = {}
    for split in ("train", "val", "test"):
        ds_cfg = dict(cfg.train_dataloader.dataset.to_dict(), data_root=str(shared / "data"), split=split)
        counts[split] = len(DATASETS.build(ds_cfg))
    assert sum(counts.values()) == 300 + 128 + 6
    assert 15 <= counts["val"] <= 45 and 15 <= counts["test"] <= 45

"""A dataset's identity covers the content of every file its numbers depend on, read once and memoised."""

import json
from pathlib import Path

import numpy as np
import pytest

import evaluation.datasets.base as base
from evaluation.datasets import Dataset, Sample, build_reader
from tests.evaluation.datasets.exdark_trees import flat_dataset, write_bbgt, write_image
from tests.evaluation.segmentation.helpers import make_acdc, rand_trainids, write_png


def _exdark(root: Path) -> Dataset:
    return build_reader(dict(type="exdark", root=str(root), split="all")).read()


def test_untouched_data_reread_has_the_same_digest(tmp_path):
    flat_dataset(tmp_path)
    first = _exdark(tmp_path)
    assert first.identity()["content_sha256"] and first.digest() == _exdark(tmp_path).digest()


def test_deleting_an_annotation_line_in_place_changes_the_digest(tmp_path):
    flat_dataset(tmp_path)
    before = _exdark(tmp_path).digest()
    write_bbgt(tmp_path / "annotations" / "2015_00002.png.txt", ["People 50 20 30 40 0 0 0 0 0 0 0"])
    after = _exdark(tmp_path)
    assert [s.name for s in after.samples] == ["2015_00001.jpg", "2015_00002.PNG", "2015_00003.JPG"]
    assert after.digest() != before


def test_editing_an_annotation_byte_the_reader_ignores_still_changes_the_digest(tmp_path):
    flat_dataset(tmp_path)
    before = _exdark(tmp_path).digest()
    # a trailing bbGt field the reader does not parse: only the file's content can tell the edit
    write_bbgt(tmp_path / "annotations" / "2015_00003.JPG.txt", ["Dog 0 0 64 48 0 0 0 0 0 0 1"])
    assert _exdark(tmp_path).digest() != before


def test_rewriting_an_image_in_place_changes_the_digest(tmp_path):
    flat_dataset(tmp_path)
    before = _exdark(tmp_path).digest()
    write_image(tmp_path / "images" / "2015_00001.jpg", seed=99)  # same name and size, other pixels
    assert _exdark(tmp_path).digest() != before


def test_editing_the_classlist_in_place_changes_the_digest(tmp_path):
    flat_dataset(tmp_path)
    before = _exdark(tmp_path).digest()
    path = tmp_path / "imageclasslist.txt"
    path.write_bytes(path.read_bytes().replace(b"2015_00001.jpg 1 1 1 1", b"2015_00001.jpg 1 2 1 1"))
    assert _exdark(tmp_path).digest() != before


def test_editing_a_segmentation_label_in_place_changes_the_digest(tmp_path):
    make_acdc(tmp_path, np.random.default_rng(0), n=2)
    reader = build_reader(dict(type="acdc", root=str(tmp_path)))
    before = reader.read().digest()
    label = next((tmp_path / "gt").rglob("*000001_gt_labelTrainIds.png"))
    write_png(label, rand_trainids(np.random.default_rng(7)))
    assert reader.read().digest() != before


def test_editing_a_coco_json_in_place_changes_the_digest(tmp_path):
    write_image(tmp_path / "val" / "a.jpg")
    ann = tmp_path / "annotations" / "instances_val.json"
    ann.parent.mkdir()
    gt = dict(categories=[dict(id=1, name="car")], images=[dict(id=1, file_name="a.jpg", width=64, height=48)],
              annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 2, 10, 10], area=100, iscrowd=0)])
    ann.write_text(json.dumps(gt))
    reader = build_reader(dict(type="coco", root=str(tmp_path)))
    before = reader.read().digest()
    gt["annotations"][0]["area"] = 99  # a field the reader does not parse
    ann.write_text(json.dumps(gt))
    assert reader.read().digest() != before


def test_editing_a_yolo_label_or_names_yaml_in_place_changes_the_digest(tmp_path):
    write_image(tmp_path / "images" / "a.jpg")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "config.yaml").write_text("names: [car, bus]\n")
    reader = build_reader(dict(type="coco", root=str(tmp_path)))
    before = reader.read().digest()
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    relabelled = reader.read().digest()
    (tmp_path / "config.yaml").write_text("names: [car, bus]\nnc: 2\n")
    assert len({before, relabelled, reader.read().digest()}) == 3


def test_every_file_is_read_once_and_the_content_hash_is_memoised(tmp_path, monkeypatch):
    flat_dataset(tmp_path)
    ds = _exdark(tmp_path)
    opened = []
    read = base.hash_file
    monkeypatch.setattr(base, "hash_file", lambda p: opened.append(p) or read(p))
    ds.identity()
    assert len(opened) == len(set(opened)) == 3 * 2 + 1  # image + annotation per sample, the class list
    ds.identity()
    ds.digest()
    assert len(opened) == 7


def test_an_unreadable_file_gives_a_stable_digest_instead_of_failing(tmp_path):
    def dataset() -> Dataset:
        return Dataset("unpaired", tmp_path, [Sample("x/a", tmp_path / "a.png", "x")], {})

    missing = dataset().digest()
    assert missing == dataset().digest()
    write_image(tmp_path / "a.png")
    assert dataset().digest() != missing


@pytest.mark.parametrize("reader", [dict(type="synthetic", num_images=2, size=64)])
def test_made_data_digest_does_not_depend_on_where_it_was_written(tmp_path, reader):
    here = build_reader(reader).read(seed=3, data_dir=tmp_path / "a")
    there = build_reader(reader).read(seed=3, data_dir=tmp_path / "b")
    assert here.root != there.root and here.digest() == there.digest()


def _write_video(path: Path, value: int) -> Path:
    import cv2

    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (32, 24))
    assert out.isOpened(), f"OpenCV cannot write {path}"
    for i in range(3):
        out.write(np.full((24, 32, 3), value + 10 * i, np.uint8))
    out.release()
    return path


def test_rewriting_a_video_in_place_changes_the_digest(tmp_path):
    reader = build_reader(dict(type="frames", root=str(_write_video(tmp_path / "clip.avi", 20))))
    first = reader.read()
    before = first.digest()
    assert len(first) == 3
    _write_video(tmp_path / "clip.avi", 40)
    assert reader.read().digest() != before


# the fields of LowLightDegradation before light sources existed: a darkened dataset's identity holds exactly these
_DEGRADATION_FIELDS = {"exposure_range", "shot_noise_range", "read_noise_jitter", "red_gain_range", "blue_gain_range",
                       "cast_prob", "colour_cast", "ccm_range", "bayer_prob", "curves", "jpeg_prob",
                       "jpeg_quality_range"}


@pytest.mark.parametrize("spec", ["synthetic", dict(level=3), dict(exposure_range=(0.01, 0.1))])
def test_a_darkened_datasets_identity_is_unchanged_by_the_light_source_fields(spec):
    from evaluation.datasets.degrade import build_degradation

    assert set(build_degradation(spec).describe()["settings"]) == _DEGRADATION_FIELDS


def test_light_sources_are_refused_as_a_darkening_since_the_references_would_lack_them():
    from evaluation.datasets.degrade import build_degradation

    with pytest.raises(ValueError, match="degrade: light_prob: light sources are not available here"):
        build_degradation(dict(light_prob=0.5))

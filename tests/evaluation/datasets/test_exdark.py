"""ExDark reader: both layouts, CRLF class list, clipping counted, bad annotations reported and skipped."""

import pytest

from evaluation.datasets import build_reader
from evaluation.datasets.exdark import read_classlist, read_exdark
from tests.evaluation.datasets.exdark_trees import flat_dataset, official_dataset, write_bbgt, write_image


def _by_name(samples):
    return {s.name: s for s in samples}


def test_flat_layout_reads_mixed_case_extensions_and_metadata(tmp_path):
    samples, stats = read_exdark(flat_dataset(tmp_path))
    assert stats["layout"] == "flat"
    assert [s.name for s in samples] == ["2015_00001.jpg", "2015_00002.PNG", "2015_00003.JPG"]
    im2 = _by_name(samples)["2015_00002.PNG"]
    assert im2.size == (64, 48)
    assert [b.cls for b in im2.boxes] == ["People", "Car"]  # class names are normalised
    assert (im2.meta["light"], im2.meta["inout"], im2.meta["exdark_split"]) == ("Weak", "Outdoor", "test")


def test_boxes_past_the_image_are_clipped_and_counted(tmp_path):
    samples, stats = read_exdark(flat_dataset(tmp_path))
    people = _by_name(samples)["2015_00002.PNG"].boxes[0]  # 50+30 > 64 and 20+40 > 48
    assert (people.x1, people.y1, people.x2, people.y2) == (50, 20, 64, 48)
    assert stats["n_clipped"] == 1 and stats["n_boxes"] == 4 and stats["n_dropped_outside"] == 0
    assert stats["clipped"][0].endswith("2015_00002.png.txt:2")


def test_box_entirely_outside_is_counted_not_silently_lost(tmp_path):
    write_image(tmp_path / "images" / "a.jpg")
    write_bbgt(tmp_path / "annotations" / "a.jpg.txt", ["Cat 100 100 5 5 0 0 0 0 0 0 0", "Cat 1 1 5 5 0 0 0 0 0 0 0"])
    samples, stats = read_exdark(tmp_path)
    assert stats["n_dropped_outside"] == 1 and len(samples[0].boxes) == 1


def test_official_layout_with_class_folders_and_groundtruth_classlist(tmp_path):
    samples, stats = read_exdark(official_dataset(tmp_path))
    assert stats["layout"] == "official" and stats["classlist"].endswith("imageclasslist.txt")
    cup = _by_name(samples)["2015_03000.JPEG"]
    assert [b.cls for b in cup.boxes] == ["Cup", "Table"]
    assert (cup.meta["exdark_split"], cup.meta["light"], cup.meta["inout"]) == ("test", "Screen", "Indoor")


def test_crlf_classlist_parses_every_column(tmp_path):
    entries = read_classlist(flat_dataset(tmp_path) / "imageclasslist.txt")
    assert entries["2015_00003"].cls == "Dog" and entries["2015_00003"].light == "Twilight"
    assert all("\r" not in e.name for e in entries.values())


@pytest.mark.parametrize(
    ("row", "problem"),
    [("Bus 1 2 three 4 0 0 0 0 0 0 0", "not numbers"), ("Bus 1 2", "at least 5"), ("Truck 1 2 3 4 0", "unknown")],
)
def test_malformed_annotation_line_skips_its_image_naming_file_and_line(tmp_path, row, problem):
    write_image(tmp_path / "images" / "x.jpg")
    write_image(tmp_path / "images" / "y.jpg")
    write_bbgt(tmp_path / "annotations" / "x.jpg.txt", ["Bus 1 1 5 5 0 0 0 0 0 0 0", row])
    write_bbgt(tmp_path / "annotations" / "y.jpg.txt", ["Bus 1 1 5 5 0 0 0 0 0 0 0"])
    samples, stats = read_exdark(tmp_path)
    assert [s.name for s in samples] == ["y.jpg"]  # the good image is still read
    (skip,) = stats["skipped"]
    assert skip["file"].endswith("x.jpg") and "x.jpg.txt:3:" in skip["reason"] and problem in skip["reason"]


def test_image_without_annotation_is_skipped_and_reported(tmp_path):
    flat_dataset(tmp_path)
    write_image(tmp_path / "images" / "2015_09999.jpg")
    samples, stats = read_exdark(tmp_path)
    assert len(samples) == 3 and stats["skipped"][0]["file"].endswith("2015_09999.jpg")


def test_unknown_layout_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="ExDark_Annno"):
        read_exdark(tmp_path)


def test_reader_selects_the_official_subset_and_loads_stored_pixels(tmp_path):
    from PIL import Image

    flat_dataset(tmp_path)
    write_image(tmp_path / "images" / "2015_00001.jpg", w=64, h=48, seed=1, exif_orientation=6)
    test = build_reader(dict(type="exdark", root=str(tmp_path))).read()
    assert [s.name for s in test.samples] == ["2015_00002.PNG", "2015_00003.JPG"]
    assert test.info["split"]["counts"] == {"train": 1, "val": 0, "test": 2}
    everything = build_reader(dict(type="exdark", root=str(tmp_path), split="all")).read()
    rotated = everything.samples[0]
    assert everything.load(rotated).shape[:2] == (48, 64)  # EXIF orientation 6 ignored, as annotated
    with Image.open(rotated.path) as im:
        assert im.getexif()[0x0112] == 6


def test_every_image_is_read_without_a_class_list_and_a_split_needs_one(tmp_path):
    flat_dataset(tmp_path)
    (tmp_path / "imageclasslist.txt").unlink()
    assert len(build_reader(dict(type="exdark", root=str(tmp_path), split="all")).read()) == 3  # zero-shot
    with pytest.raises(FileNotFoundError, match="--classlist PATH on the command line, classlist=PATH in a suite"):
        build_reader(dict(type="exdark", root=str(tmp_path), split="test")).read()


@pytest.mark.realdata
def test_shared_exdark_sample_reads_with_official_metadata(shared):
    samples, stats = read_exdark(shared / "data" / "exdark")
    assert len(samples) == 8 and stats["n_boxes"] - stats["n_dropped_outside"] == 23
    assert all("exdark_split" in s.meta for s in samples)
    # the reconstructed table stores some images at another resolution (2015_02243: 640x382 vs 1023x612 on disk);
    # rescaled to the real size its boxes must agree with the annotation files, which the reader trusts
    rows = [r.split("\t") for r in (shared / "data/exdark/exdark_all_boxes_reconstructed.tsv").read_text().splitlines()]
    table: dict[str, list] = {}
    for r in rows[1:]:
        table.setdefault(r[0], []).append(r)
    for s in samples:
        ref = table[s.path.stem]
        sx, sy = s.size[0] / int(ref[0][2]), s.size[1] / int(ref[0][3])
        assert abs(sx - sy) < 0.01
        for b, r in zip(s.boxes, ref, strict=True):
            assert b.cls == r[4] and abs(b.x1 - int(r[5]) * sx) <= 1.5 and abs(b.y1 - int(r[6]) * sy) <= 1.5

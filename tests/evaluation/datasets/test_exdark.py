"""ExDark reader: both layouts, CRLF class list, clipping counted, malformed lines named by file:line."""

import pytest

from evaluation.detection.exdark import read_classlist, read_exdark

from .helpers import flat_dataset, official_dataset, write_bbgt, write_image


def test_flat_layout_reads_mixed_case_extensions_and_metadata(tmp_path):
    ds = read_exdark(flat_dataset(tmp_path))
    assert ds.layout == "flat"
    assert [im.name for im in ds.images] == ["2015_00001.jpg", "2015_00002.PNG", "2015_00003.JPG"]
    im2 = ds.by_name()["2015_00002.PNG"]
    assert (im2.width, im2.height) == (64, 48)
    assert [b.cls for b in im2.boxes] == ["People", "Car"]  # class names are normalised
    assert im2.meta.light == "Weak" and im2.meta.inout == "Outdoor" and im2.meta.split == "test"


def test_boxes_past_the_image_are_clipped_and_counted(tmp_path):
    ds = read_exdark(flat_dataset(tmp_path))
    people = ds.by_name()["2015_00002.PNG"].boxes[0]  # 50+30 > 64 and 20+40 > 48
    assert (people.x1, people.y1, people.x2, people.y2) == (50, 20, 64, 48)
    assert ds.stats["n_clipped"] == 1 and ds.stats["n_boxes_kept"] == ds.stats["n_boxes"] == 4
    assert ds.stats["clipped"][0].endswith("2015_00002.png.txt:2")


def test_box_entirely_outside_is_counted_not_silently_lost(tmp_path):
    write_image(tmp_path / "images" / "a.jpg")
    write_bbgt(tmp_path / "annotations" / "a.jpg.txt", ["Cat 100 100 5 5 0 0 0 0 0 0 0", "Cat 1 1 5 5 0 0 0 0 0 0 0"])
    ds = read_exdark(tmp_path)
    assert ds.stats["n_dropped_outside"] == 1 and len(ds.images[0].boxes) == 1


def test_official_layout_with_class_folders_and_groundtruth_classlist(tmp_path):
    ds = read_exdark(official_dataset(tmp_path))
    assert ds.layout == "official" and ds.classlist.name == "imageclasslist.txt"
    cup = ds.by_name()["2015_03000.JPEG"]
    assert [b.cls for b in cup.boxes] == ["Cup", "Table"]
    assert cup.meta.split == "test" and cup.meta.light == "Screen" and cup.meta.inout == "Indoor"


def test_crlf_classlist_parses_every_column(tmp_path):
    entries = read_classlist(flat_dataset(tmp_path) / "imageclasslist.txt")
    assert entries["2015_00003"].cls == "Dog" and entries["2015_00003"].light == "Twilight"
    assert all("\r" not in e.name for e in entries.values())


@pytest.mark.parametrize(
    ("row", "problem"),
    [("Bus 1 2 three 4 0 0 0 0 0 0 0", "not numbers"), ("Bus 1 2", "at least 5"), ("Truck 1 2 3 4 0", "unknown")],
)
def test_malformed_annotation_line_names_file_and_line(tmp_path, row, problem):
    write_image(tmp_path / "images" / "x.jpg")
    write_bbgt(tmp_path / "annotations" / "x.jpg.txt", ["Bus 1 1 5 5 0 0 0 0 0 0 0", row])
    with pytest.raises(ValueError, match=rf"x\.jpg\.txt:3: .*{problem}"):
        read_exdark(tmp_path)


def test_image_without_annotation_is_an_error(tmp_path):
    flat_dataset(tmp_path)
    write_image(tmp_path / "images" / "2015_09999.jpg")
    with pytest.raises(ValueError, match="2015_09999.jpg"):
        read_exdark(tmp_path)


def test_unknown_layout_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="ExDark_Annno"):
        read_exdark(tmp_path)


@pytest.mark.realdata
def test_shared_exdark_sample_reads_with_official_metadata(shared):
    ds = read_exdark(shared / "data" / "exdark")
    assert len(ds.images) == 8 and ds.stats["n_boxes_kept"] == 23
    assert all(im.meta is not None for im in ds.images)
    # the reconstructed table stores some images at another resolution (2015_02243: 640x382 vs 1023x612 on disk);
    # rescaled to the real size its boxes must agree with the annotation files, which the reader trusts
    rows = [r.split("\t") for r in (shared / "data/exdark/exdark_all_boxes_reconstructed.tsv").read_text().splitlines()]
    table: dict[str, list] = {}
    for r in rows[1:]:
        table.setdefault(r[0], []).append(r)
    for im in ds.images:
        ref = table[im.stem]
        sx, sy = im.width / int(ref[0][2]), im.height / int(ref[0][3])
        assert abs(sx - sy) < 0.01
        for b, r in zip(im.boxes, ref, strict=True):
            assert b.cls == r[4] and abs(b.x1 - int(r[5]) * sx) <= 1.5 and abs(b.y1 - int(r[6]) * sy) <= 1.5

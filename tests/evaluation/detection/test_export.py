"""COCO json loads in pycocotools with the right boxes; the ultralytics export has yaml + normalised labels."""

import contextlib
import io

import numpy as np

from evaluation.datasets import build_reader, read_image_raw
from evaluation.datasets.splits import Split, make_split
from evaluation.detection.export import coco_dict, export_dataset, image_ids
from tests.evaluation.datasets.exdark_trees import flat_dataset, write_bbgt, write_image


def _all(root):
    ds = build_reader(dict(type="exdark", root=str(root), split="all")).read()
    return ds, make_split(ds.samples, "official", meta_key="exdark_split", source=ds.info["classlist"])


def test_coco_export_loads_in_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    ds, sp = _all(flat_dataset(tmp_path / "d"))
    paths = export_dataset(ds, sp, tmp_path / "out")
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(paths["test_json"]))
    assert len(coco.getImgIds()) == 2 and len(coco.getAnnIds()) == 3
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())][3] == "Bus"
    img = coco.loadImgs(image_ids(ds)["2015_00002.PNG"])[0]
    assert img["light"] == "Weak" and (tmp_path / "out/images/test" / img["file_name"]).is_file()
    anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
    assert anns[0]["bbox"] == [50, 20, 14, 28]  # clipped to the 64x48 image


def test_ultralytics_export_writes_yaml_and_normalised_labels(tmp_path):
    ds, sp = _all(flat_dataset(tmp_path / "d"))
    paths = export_dataset(ds, sp, tmp_path / "out")
    yaml_text = paths["yaml"].read_text()
    assert "train: images/train" in yaml_text and "val: images/test" in yaml_text and "  10: People" in yaml_text
    label = (tmp_path / "out/labels/train/2015_00001.txt").read_text().split()
    assert label == ["0", f"{20 / 64:.6f}", f"{20 / 48:.6f}", f"{20 / 64:.6f}", f"{30 / 48:.6f}"]
    from ultralytics.data.utils import check_det_dataset

    info = check_det_dataset(str(paths["yaml"]), autodownload=False)
    assert info["nc"] == 12 and info["names"][10] == "People"


def test_exif_rotated_image_is_exported_in_annotated_pixel_order(tmp_path):
    write_image(tmp_path / "d/images/r.jpg", w=40, h=20, exif_orientation=6)  # cv2 would rotate it to 20x40
    write_bbgt(tmp_path / "d/annotations/r.jpg.txt", ["Cat 30 2 8 6 0 0 0 0 0 0 0"])
    ds = build_reader(dict(type="exdark", root=str(tmp_path / "d"), split="all", split_kind="random")).read()
    assert ds.samples[0].size == (40, 20)
    export_dataset(ds, Split("all", {"train": ["r.jpg"]}), tmp_path / "out")
    import cv2

    exported = cv2.imread(str(tmp_path / "out/images/train/r.png"))
    assert exported.shape[:2] == (20, 40)
    np.testing.assert_array_equal(exported[..., ::-1], read_image_raw(tmp_path / "d/images/r.jpg"))


def test_image_ids_are_stable_across_subsets(tmp_path):
    ds, _ = _all(flat_dataset(tmp_path))
    full, part = coco_dict(ds), coco_dict(ds, ["2015_00003.JPG"])
    assert {i["file_name"]: i["id"] for i in full["images"]}["2015_00003.JPG"] == part["images"][0]["id"]

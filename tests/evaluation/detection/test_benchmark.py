"""The detection benchmark and command end to end: outputs, protocol, exact resume, identity, COCO layout."""

import json
import warnings

import numpy as np
import pytest

from evaluation.benchmark import ProgressLog
from evaluation.datasets import build_reader
from evaluation.detection.benchmark import DetectionBenchmark
from evaluation.work_dirs import OWNER_FILE
from tests.evaluation.datasets.exdark_trees import flat_dataset, write_image

_RANDOM_YOLO = dict(type="yolov8", checkpoint="yolov8n.yaml", imgsz=64)


def _run(bench, ds, out, enhancer=None):
    with warnings.catch_warnings():  # a random model may find nothing: NaN with a warning is fine here
        warnings.simplefilter("ignore")
        return bench.run(ds, enhancer, out, progress=False)


def test_unit_writes_outputs_and_resumes_from_its_progress_log(tmp_path):
    ds = build_reader(dict(type="exdark", root=str(flat_dataset(tmp_path / "d")), split="all")).read()
    bench = DetectionBenchmark(detector=_RANDOM_YOLO, class_map="coco", pretraining="none (random init)")
    out = tmp_path / "run"
    res = _run(bench, ds, out)
    for name in ("predictions.json", "gt_coco.json", "metrics.json", "overall.csv", "per_class.md", "per_light.csv",
                 "per_inout.md"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["split"]["subset"] == "all"
    assert metrics["protocol"]["enhancer"] == {"name": "none"} and metrics["images"] == 3 == res.n
    (log,) = (out / "progress").glob("*.jsonl")
    lines = log.read_text().splitlines()
    assert len(lines) == 3
    # an interrupted run: the last line is cut; the rerun redoes only that image
    log.write_text("\n".join(lines[:2]) + "\n" + lines[2][:5])
    _run(bench, ds, out)
    assert log.read_text().splitlines() == lines
    # another setting is another identity: the folder starts over with a fresh log, never the old records
    _run(DetectionBenchmark(detector=dict(_RANDOM_YOLO, imgsz=96), class_map="coco"), ds, out)
    (fresh,) = (out / "progress").glob("*.jsonl")
    assert fresh != log and len(fresh.read_text().splitlines()) == 3


def test_rerunning_a_unit_on_data_without_lighting_metadata_drops_the_earlier_per_light_tables(tmp_path):
    bench = DetectionBenchmark(detector=_RANDOM_YOLO, class_map="coco")
    out = tmp_path / "run"
    _run(bench, build_reader(dict(type="exdark", root=str(flat_dataset(tmp_path / "d")), split="all")).read(), out)
    assert {p.name for p in out.iterdir()} == {OWNER_FILE, ProgressLog.folder, *bench.outputs}  # all declared
    plain = flat_dataset(tmp_path / "plain")
    (plain / "imageclasslist.txt").unlink()  # no lighting / indoor-outdoor metadata: no per_light / per_inout
    _run(bench, build_reader(dict(type="exdark", root=str(plain), split="all")).read(), out)
    assert (out / "overall.csv").is_file() and not list(out.glob("per_light.*")) and not list(out.glob("per_inout.*"))


def test_an_unreadable_image_is_skipped_and_counted(tmp_path):
    data = flat_dataset(tmp_path / "d")
    (data / "images" / "2015_00003.JPG").write_bytes(b"not a jpeg")
    ds = build_reader(dict(type="exdark", root=str(data), split="all")).read()
    assert len(ds) == 2 and ds.info["skipped"][0]["file"].endswith("2015_00003.JPG")  # its size cannot be read
    write_image(data / "images" / "2015_00001.jpg", seed=1)
    ds = build_reader(dict(type="exdark", root=str(data), split="all")).read()
    (data / "images" / "2015_00001.jpg").write_bytes(b"broken after listing")
    res = _run(DetectionBenchmark(detector=_RANDOM_YOLO, class_map="coco"), ds, tmp_path / "run")
    assert res.n == 1 and res.skipped[0]["file"] == "2015_00001.jpg" and "cannot" in res.skipped[0]["reason"]


def test_empty_subset_is_explained(tmp_path):
    with pytest.raises(ValueError, match="use split='all' \\(on the command line --subset all"):
        build_reader(dict(type="exdark", root=str(flat_dataset(tmp_path / "d")), split="val")).read()


def test_coco_layout_yolo_folder_scores_with_the_detector_classes(tmp_path):
    from evaluation.detection.detectors import COCO80

    root = tmp_path / "coco"
    (root / "labels").mkdir(parents=True)
    (root / "config.yaml").write_text("names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(COCO80)))
    write_image(root / "images" / "a.jpg", w=64, h=48)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n5 0.25 0.25 0.2 0.2\n")
    write_image(root / "images" / "b.jpg", w=64, h=48)  # no label file: a background image
    ds = build_reader(dict(type="coco", root=str(root))).read()
    assert ds.classes == COCO80 and [len(s.boxes) for s in ds.samples] == [2, 0]
    assert ds.samples[0].boxes[0].xywh == [16.0, 12.0, 32.0, 24.0]
    res = _run(DetectionBenchmark(detector=_RANDOM_YOLO, metrics=["COCO AP", "COCO APs", "COCO APl"],
                                  class_map="coco"), ds, tmp_path / "run")
    gt = json.loads((tmp_path / "run" / "gt_coco.json").read_text())
    assert len(gt["categories"]) == 80 and len(gt["annotations"]) == 2 and res.n == 2


def test_malformed_yolo_label_skips_only_its_image(tmp_path):
    root = tmp_path / "coco"
    (root / "labels").mkdir(parents=True)
    (root / "config.yaml").write_text("names: [person, car]\n")
    for name, label in (("a", "0 0.5 0.5 0.2 0.2\n"), ("b", "7 0.5 0.5 0.2 0.2\n"), ("c", "0 0.5 zero 0.2 0.2\n")):
        write_image(root / "images" / f"{name}.jpg")
        (root / "labels" / f"{name}.txt").write_text(label)
    ds = build_reader(dict(type="coco", root=str(root))).read()
    assert [s.name for s in ds.samples] == ["a"]
    reasons = sorted(b["reason"] for b in ds.info["skipped"])
    assert "b.txt:1: class 7 is not among the 2 names" in reasons[0] and "c.txt:1: not numbers" in reasons[1]


@pytest.mark.realdata
def test_command_on_shared_exdark_sample_with_coco_yolov8n_and_identity(shared, tmp_path):
    from evaluation.detection.cli import main

    out = tmp_path / "run"
    rc = main(["--data", str(shared / "data/exdark"), "--subset", "all", "--detector", "yolov8",
               "--checkpoint", str(shared / "data/weights/yolov8n.pt"), "--enhancer", "identity",
               "--cache-dir", str(tmp_path / "cache"), "--work-dir", str(out), "--no-progress", "--device", "cpu"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["protocol"]["class_map"] == "coco-zero-shot" and m["protocol"]["enhancer"]["name"] == "identity"
    assert m["scores"]["coco"]["n_images"] == 8 and m["scores"]["coco"]["n_gt"] == 23
    # a COCO detector finds ExDark's buses, people and cars even zero-shot
    assert m["scores"]["voc"]["mAP50"] > 0.3 and m["scores"]["coco"]["AP50"] > 0.3
    assert np.isfinite(m["scores"]["voc"]["per_class_AP50"]["Bus"])


@pytest.mark.realdata
def test_coco128_darkened_detection_is_below_the_original(shared, tmp_path):
    from evaluation.detection.cli import main

    common = ["--data", str(shared / "data/coco128_train"), "--dataset", "coco", "--checkpoint",
              str(shared / "data/weights/yolov8n.pt"), "--limit", "16", "--no-progress", "--device", "cpu",
              "--cache-dir", str(tmp_path / "cache")]
    assert main([*common, "--work-dir", str(tmp_path / "day")]) == 0
    assert main([*common, "--degrade-level", "4", "--work-dir", str(tmp_path / "night")]) == 0
    day = json.loads((tmp_path / "day" / "metrics.json").read_text())["scores"]["coco"]
    night = json.loads((tmp_path / "night" / "metrics.json").read_text())["scores"]["coco"]
    assert day["n_gt"] == night["n_gt"] > 50 and day["AP50"] > 0.4
    assert night["AP50"] < day["AP50"]


def _coco_json_folder(root, annotations: list[dict]):
    (root / "annotations").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        write_image(root / "val" / name, w=64, h=48)
    images = [dict(id=i, file_name=f"{n}.jpg", width=64, height=48) for i, n in enumerate("abcd", start=1)]
    categories = [dict(id=1, name="person"), dict(id=3, name="car")]
    gt = dict(images=images, annotations=annotations, categories=categories)
    (root / "annotations" / "instances_val.json").write_text(json.dumps(gt))
    return root


def test_coco_json_layout_reads_boxes_crowds_and_missing_images_then_scores(tmp_path):
    boxes = [dict(id=1, image_id=1, category_id=1, bbox=[16, 12, 32, 24], iscrowd=0),
             dict(id=2, image_id=1, category_id=3, bbox=[0, 0, 8, 8], iscrowd=1),
             dict(id=3, image_id=2, category_id=3, bbox=[40, 20, 10, 10], iscrowd=0),
             dict(id=4, image_id=3, category_id=99, bbox=[1, 1, 4, 4], iscrowd=0)]  # an unknown category
    root = _coco_json_folder(tmp_path / "coco", boxes)
    ds = build_reader(dict(type="coco", root=str(root), split="val")).read()
    assert ds.classes == ("person", "car") and [s.name for s in ds.samples] == ["a", "b"]
    a = ds.samples[0]
    assert [(b.cls, b.xywh, b.crowd) for b in a.boxes] == [("person", [16, 12, 32, 24], False),
                                                          ("car", [0, 0, 8, 8], True)]
    reasons = {s["file"].rsplit("/", 1)[-1]: s["reason"] for s in ds.info["skipped"]}
    assert set(reasons) == {"c.jpg", "d.jpg"} and "not found" in reasons["d.jpg"] and "category_id" in reasons["c.jpg"]
    res = _run(DetectionBenchmark(detector=dict(_RANDOM_YOLO), class_map="coco"), ds, tmp_path / "run")
    gt = json.loads((tmp_path / "run" / "gt_coco.json").read_text())
    assert res.n == 2 and len(gt["annotations"]) == 3 and sum(a["iscrowd"] for a in gt["annotations"]) == 1


def test_a_json_that_is_not_a_coco_instances_file_is_one_line_naming_it(tmp_path):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val.json").write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="instances_val.json: not a COCO instances file"):
        build_reader(dict(type="coco", root=str(root))).read()

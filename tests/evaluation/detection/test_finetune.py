"""The "enhance offline, then fine-tune" protocol: schedules checked early, images enhanced once, the trained
detector cached and reused, a killed training resumed; ultralytics and mmdet for real (slow)."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation.datasets import build_reader
from evaluation.detection import train
from evaluation.detection.finetune import check_schedule, finetune_detector
from tests.evaluation.datasets.exdark_trees import write_bbgt, write_classlist, write_image

_TINY = dict(type="yolov8", checkpoint="yolov8n.yaml", imgsz=64)
_SCHED = dict(epochs=1, imgsz=64, batch=4, train_split=None)
_MM_CONFIGS = "configs/detection/yolov3_d53_exdark_608_{}.py"


def coco_folder(root: Path, n: int = 8) -> Path:
    """A COCO-layout YOLO folder of ``n`` dark 64x64 images, each with one bright square or disc."""
    (root / "labels").mkdir(parents=True)
    (root / "config.yaml").write_text("names: [square, disc]\n")
    rng = np.random.default_rng(0)
    for i in range(n):
        img = (rng.random((64, 64, 3)) * 40).astype(np.uint8)
        x, y = (int(v) for v in rng.integers(8, 40, 2))
        img[y:y + 16, x:x + 16] = 200
        (root / "images").mkdir(exist_ok=True)
        Image.fromarray(img).save(root / "images" / f"im{i}.png")
        (root / "labels" / f"im{i}.txt").write_text(f"{i % 2} {(x + 8) / 64:.4f} {(y + 8) / 64:.4f} 0.25 0.25\n")
    return root


def exdark_folder(root: Path) -> Path:
    """A flat ExDark tree of 7 images: 4 train, 1 val, 2 test in the official split."""
    rows = []
    for i, code in enumerate((1, 1, 1, 1, 2, 3, 3)):
        name = f"2015_{i:05d}.jpg"
        write_image(root / "images" / name, w=96, h=80, seed=i)
        write_bbgt(root / "annotations" / f"{name}.txt", [f"{'Car' if i % 2 else 'People'} 20 16 40 36 0 0 0 0 0 0 0"])
        rows.append(f"{name} {5 if i % 2 else 11} 1 2 {code}")
    write_classlist(root / "imageclasslist.txt", rows)
    return root


def _coco(root: Path, **kw):
    return build_reader(dict(type="coco", root=str(root), **kw)).read()


class FakeTraining:
    """Stands in for the trainer where only the protocol around it is tested: records calls, writes weights."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, data_yaml, checkpoint, run_dir, *args, **kw):
        self.calls.append(dict(data_yaml=Path(data_yaml), checkpoint=checkpoint, val=kw.get("val")))
        last = Path(run_dir) / "weights" / "last.pt"
        last.parent.mkdir(parents=True, exist_ok=True)
        last.write_bytes(b"weights %d" % len(self.calls))
        return train.Trained(last, None)


@pytest.fixture
def fake_training(monkeypatch):
    fake = FakeTraining()
    monkeypatch.setattr(train, "train_ultralytics", fake)
    return fake


# ------------------------------------------------------------------------------------------ schedules
@pytest.mark.parametrize(("detector", "schedule", "dataset_type", "message"), [
    (_TINY, dict(epoch=1), "exdark", "schedule.epoch: unknown key for ultralytics"),
    (_TINY, dict(epochs=0), "exdark", r"schedule.epochs: must be an integer >= 1, got 0"),
    (_TINY, dict(epochs=True), "exdark", r"schedule.epochs: must be an integer >= 1"),
    (_TINY, dict(imgsz=64), "exdark", "schedule.epochs: required for ultralytics"),
    (_TINY, dict(epochs=1), "coco", "schedule.train_split: required for COCO-layout data"),
    (_TINY, dict(epochs=1, options=dict(epochs=3)), "exdark", "schedule.options.epochs: set by the fine-tune"),
    (_TINY, dict(epochs=1, options=dict(lr_zero=3)), "exdark", "schedule.options.lr_zero: not an ultralytics"),
    (_TINY, dict(epochs=1, train_split=3), "exdark", "schedule.train_split: must be a split name"),
    (dict(type="mmdet", config="c.py"), dict(max_epochs=2, max_iters=3), "exdark", "schedule.max_iters: give"),
    (dict(type="mmdet", config="c.py"), dict(epochs=2), "exdark", "schedule.epochs: unknown key for mmdet"),
    (dict(type="mmdet", config="c.py"), dict(cfg_options=["a=1"]), "exdark", "schedule.cfg_options: must be a dict"),
    (dict(type="detr"), dict(), "exdark", "detector.type: fine-tuning supports"),
])
def test_a_bad_schedule_is_refused_naming_its_key(detector, schedule, dataset_type, message):
    with pytest.raises((KeyError, ValueError), match=message):
        check_schedule(detector, schedule, dataset_type)


def test_schedule_defaults_follow_the_dataset_and_detector():
    s = check_schedule(dict(_TINY, imgsz=320), dict(epochs=2), "exdark")
    assert s == dict(epochs=2, imgsz=320, batch=16, options={}, train_split="train", val_split=None, limit=None,
                     seed=0)
    assert check_schedule(_TINY, dict(epochs=1, train_split=None), "coco")["train_split"] is None
    assert check_schedule(dict(type="mmdet", config="c.py"), {}, "exdark")["cfg_options"] == {}


def test_missing_starting_weights_are_named(tmp_path):
    ds = _coco(coco_folder(tmp_path / "d"))
    with pytest.raises(FileNotFoundError, match="detector.checkpoint"):
        finetune_detector(dict(type="yolov8", checkpoint=str(tmp_path / "no.pt")), ds, None, tmp_path / "w", _SCHED)


# ------------------------------------------------------------------------------------------ the protocol
def test_train_images_are_enhanced_once_exported_and_the_result_is_reused(tmp_path, fake_training):
    from uptflow.enhancers import build_enhancer

    ds = _coco(coco_folder(tmp_path / "d"))
    enh = build_enhancer("gamma", cache_dir=tmp_path / "cache")
    spec = finetune_detector(_TINY, ds, enh, tmp_path / "w", _SCHED, progress=False)
    assert spec == dict(_TINY, checkpoint=str(tmp_path / "w/ultralytics/weights/last.pt"))
    assert len(fake_training.calls) == 1 and enh.misses == 8
    links = sorted((tmp_path / "w/data/images/train").iterdir())
    assert len(links) == 8 and all(p.resolve().is_relative_to(enh.dir) for p in links)
    linked = np.asarray(Image.open(links[0]))
    assert linked.mean() > np.asarray(Image.open(tmp_path / "d/images/im0.png")).mean()  # gamma brightened it
    assert (tmp_path / "w/data/labels/train/im1.txt").read_text().startswith("1 ")
    record = json.loads((tmp_path / "w/finetune.json").read_text())["request"]
    assert record["enhancer"]["name"] == "gamma" and record["schedule"]["epochs"] == 1
    assert record["train"]["samples"] == 8 and record["start_weights"] == {"model_yaml": "yolov8n.yaml"}
    done = json.loads((tmp_path / "w/done.json").read_text())
    assert done["counts"] == {"train": {"images": 8, "boxes": 8}} and done["train_test_overlap"] == 8
    # the second call reuses the weights: no training, no enhancement
    again = build_enhancer("gamma", cache_dir=tmp_path / "cache")
    assert finetune_detector(_TINY, ds, again, tmp_path / "w", _SCHED, progress=False) == spec
    assert len(fake_training.calls) == 1 and again.hits == again.misses == 0


def test_a_work_dir_of_other_settings_is_refused(tmp_path, fake_training):
    ds = _coco(coco_folder(tmp_path / "d"))
    finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False)
    with pytest.raises(ValueError, match="holds the fine-tune .* of other settings"):
        finetune_detector(_TINY, ds, None, tmp_path / "w", dict(_SCHED, epochs=2), progress=False)


def test_weights_changed_after_training_are_trained_again(tmp_path, fake_training):
    ds = _coco(coco_folder(tmp_path / "d"))
    spec = finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False)
    Path(spec["checkpoint"]).write_bytes(b"truncated")
    finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False)
    assert len(fake_training.calls) == 2


def test_without_enhancer_the_original_files_are_exported(tmp_path, fake_training):
    ds = _coco(coco_folder(tmp_path / "d"))
    finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False)
    link = tmp_path / "w/data/images/train/im0.png"
    assert link.resolve() == (tmp_path / "d/images/im0.png").resolve()


def test_darkened_data_trains_on_the_darkened_images(tmp_path, fake_training):
    ds = _coco(coco_folder(tmp_path / "d"), degrade="synthetic")
    finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False, cache_dir=tmp_path / "cache")
    link = tmp_path / "w/data/images/train/im0.png"
    assert link.resolve().is_relative_to(tmp_path / "cache")  # stored once, as the identity enhancer's output
    exported = np.asarray(Image.open(link).convert("RGB"))
    np.testing.assert_array_equal(exported, ds.load(ds.samples[0]))
    assert not np.array_equal(exported, ds.read(ds.samples[0]))


def test_exdark_official_split_trains_on_train_and_watches_val(tmp_path, fake_training):
    ds = build_reader(dict(type="exdark", root=str(exdark_folder(tmp_path / "d")), split="test")).read()
    finetune_detector(_TINY, ds, None, tmp_path / "w", dict(epochs=1, val_split="val"), progress=False)
    data = tmp_path / "w/data"
    assert len(list((data / "images/train").iterdir())) == 4 and len(list((data / "images/val").iterdir())) == 1
    assert "val: images/val" in (data / "data.yaml").read_text() and fake_training.calls[0]["val"] is True
    done = json.loads((tmp_path / "w/done.json").read_text())
    assert done["train_test_overlap"] == 0 and done["counts"]["val"] == {"images": 1, "boxes": 1}


def test_exdark_random_split_never_exports_test_images(tmp_path, fake_training):
    ds = build_reader(dict(type="exdark", root=str(exdark_folder(tmp_path / "d")), split_kind="random")).read()
    finetune_detector(_TINY, ds, None, tmp_path / "w", dict(epochs=1), progress=False)
    exported = {p.stem for p in (tmp_path / "w/data/images/train").iterdir()}
    assert len(exported) == 7 - len(ds) and not exported & {s.stem for s in ds.samples}
    assert not (tmp_path / "w/data/images/val").exists() and fake_training.calls[0]["val"] is False


# ------------------------------------------------------------------------------------------ the command
def test_command_fine_tunes_with_the_project_vocabulary(tmp_path, fake_training, capsys):
    data = coco_folder(tmp_path / "d")
    rc = train.main(["--data", str(data), "--dataset", "coco", "--checkpoint", "yolov8n.yaml", "--epochs", "1",
                     "--imgsz", "64", "--batch", "4", "--enhancer", "gamma", "--cache-dir", str(tmp_path / "cache"),
                     "--work-dir", str(tmp_path / "w"), "--device", "auto", "--no-progress"])
    assert rc == 0 and "fine-tuned detector" in capsys.readouterr().out
    request = json.loads((tmp_path / "w/finetune.json").read_text())["request"]
    assert request["schedule"]["imgsz"] == 64 and request["enhancer"]["name"] == "gamma"


def test_command_keeps_the_old_spellings_for_one_release(tmp_path, fake_training, capsys):
    rc = train.main(["--data", str(coco_folder(tmp_path / "d")), "--dataset", "coco", "--framework", "ultralytics",
                     "--model", "yolov8n.yaml", "--epochs", "1", "--out", str(tmp_path / "w"), "--device", "cpu",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 0 and (tmp_path / "w/done.json").is_file()
    for old, new in (("--framework", "--detector"), ("--model", "--checkpoint"), ("--out", "--work-dir")):
        assert f"warning: {old} is deprecated and will be removed; use {new}" in err


@pytest.mark.parametrize(("extra", "message"), [
    ([], "error: schedule.epochs: required for ultralytics detectors"),
    (["--epochs", "1", "--enhancer", "a:gamma", "--enhancer", "b:clahe"], "error: --enhancer: give one enhancer"),
    (["--epochs", "1", "--detector", "mmdet"], "error: --detector mmdet needs --config"),
])
def test_command_mistakes_are_one_line_errors(tmp_path, capsys, extra, message):
    rc = train.main(["--data", str(coco_folder(tmp_path / "d")), "--dataset", "coco", "--work-dir",
                     str(tmp_path / "w"), "--device", "cpu", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------ ultralytics, for real
@pytest.mark.slow
def test_yolov8n_yaml_fine_tunes_one_epoch_offline_and_is_reused(tmp_path, monkeypatch):
    from evaluation.detection.detectors import build_detector
    from tests.netguard import no_network

    ds = _coco(coco_folder(tmp_path / "d"))
    with no_network() as attempts:
        spec = finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False)
    assert attempts == []
    det = build_detector(spec)
    assert det.class_names == ("square", "disc") and len(det.describe()["checkpoint_sha256"]) == 64
    results = (tmp_path / "w/ultralytics/results.csv").read_text().splitlines()
    assert len(results) == 2  # header + the one epoch
    mtime = Path(spec["checkpoint"]).stat().st_mtime_ns
    monkeypatch.setattr(train, "train_ultralytics", lambda *a, **k: pytest.fail("trained again"))
    assert finetune_detector(_TINY, ds, None, tmp_path / "w", _SCHED, progress=False) == spec
    assert Path(spec["checkpoint"]).stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_command_trains_then_scores_the_fine_tuned_detector(tmp_path, capsys):
    rc = train.main(["--data", str(coco_folder(tmp_path / "d")), "--dataset", "coco", "--checkpoint", "yolov8n.yaml",
                     "--epochs", "1", "--imgsz", "64", "--batch", "4", "--work-dir", str(tmp_path / "w"),
                     "--device", "cpu", "--no-progress", "--evaluate"])
    assert rc == 0 and "COCO AP50" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "w/eval/metrics.json").read_text())
    assert metrics["images"] == 8 and metrics["protocol"]["class_map"] == "by-name"
    assert metrics["protocol"]["detector"]["checkpoint"] == str(tmp_path / "w/ultralytics/weights/last.pt")
    # trained on the images it is scored on: the protocol line says so with every number
    assert ("fine-tuned on 8 enhanced coco train images from yolov8n.yaml, in " in metrics["protocol_line"]
            and "SMOKE RUN: 8 train images are test images" in metrics["protocol_line"])


_KILL_AFTER_FIRST_EPOCH = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from ultralytics.engine.trainer import BaseTrainer
    from evaluation.datasets import build_reader
    from evaluation.detection.finetune import finetune_detector

    save = BaseTrainer.save_model
    def save_then_die(self):
        save(self)
        os.kill(os.getpid(), signal.SIGKILL)   # kill -9 right after the first epoch's checkpoint
    BaseTrainer.save_model = save_then_die
    ds = build_reader(dict(type="coco", root=sys.argv[1])).read()
    finetune_detector(dict(type="yolov8", checkpoint="yolov8n.yaml", imgsz=64), ds, None, Path(sys.argv[2]),
                      dict(epochs=2, imgsz=64, batch=4, train_split=None), progress=False)
""")


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_epoch(tmp_path):
    data, work = coco_folder(tmp_path / "d"), tmp_path / "w"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run([sys.executable, "-c", _KILL_AFTER_FIRST_EPOCH, str(data), str(work)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (work / "ultralytics/weights/last.pt").is_file() and not (work / "done.json").exists()
    spec = finetune_detector(_TINY, _coco(data), None, work, dict(_SCHED, epochs=2), progress=False)
    done = json.loads((work / "done.json").read_text())
    assert done["resumed_from"] == 1 and Path(spec["checkpoint"]).is_file()
    epochs = [line.split(",")[0] for line in (work / "ultralytics/results.csv").read_text().splitlines()[1:]]
    assert epochs == ["1", "2"]


def test_a_checkpoint_cut_short_by_a_kill_starts_training_over(tmp_path):
    last = tmp_path / "run/weights/last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"PK\x03\x04 cut")
    assert train.ultralytics_progress(last, 3) == "fresh"


@pytest.mark.slow
@pytest.mark.realdata
def test_coco128_one_epoch_with_gamma_keeps_its_accuracy(shared, tmp_path):
    from evaluation.detection.benchmark import DetectionBenchmark
    from uptflow.enhancers import build_enhancer

    ds = _coco(shared / "data/coco128_train")
    enh = build_enhancer("gamma", cache_dir=tmp_path / "cache")
    det = dict(type="yolov8", checkpoint=str(shared / "data/weights/yolov8n.pt"), imgsz=320)
    tuned = finetune_detector(det, ds, enh, tmp_path / "ft", dict(epochs=1, imgsz=320, batch=8, train_split=None),
                              progress=False)
    assert tuned == dict(det, checkpoint=str(tmp_path / "ft/ultralytics/weights/last.pt"))
    scores = {}
    for name, spec in (("before", det), ("after", tuned)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = DetectionBenchmark(detector=spec, metrics=["COCO AP", "COCO AP50"]).run(
                ds, enh, tmp_path / name, progress=False)
        scores[name] = {r["metric"]: r["value"] for r in res.rows if not r["cls"]}
    print("coco128 gamma yolov8n@320, 1 epoch:", scores)
    assert scores["before"]["COCO AP50"] > 40
    # one epoch at ultralytics' default warm-up moves AP a little either way; it must not collapse
    assert abs(scores["after"]["COCO AP50"] - scores["before"]["COCO AP50"]) < 15


# ------------------------------------------------------------------------------------------ mmdet, for real
_SMALL_TRAIN = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
                dict(type="Resize", scale=(96, 96), keep_ratio=True), dict(type="PackDetInputs")]
_SMALL_TEST = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=(96, 96), keep_ratio=True),
               dict(type="LoadAnnotations", with_bbox=True),
               dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]
_SMALL = {"train_dataloader.dataset.pipeline": _SMALL_TRAIN, "val_dataloader.dataset.pipeline": _SMALL_TEST,
          "val_dataloader.batch_size": 1, "val_dataloader.num_workers": 0,
          "val_dataloader.persistent_workers": False}


def _coco_yolov3_start(path: Path) -> Path:
    """A stand-in for mmdet's COCO YOLOv3 checkpoint: the stem conv set to 0.01, the 80-class heads' shapes."""
    import torch

    sd = {"backbone.conv1.conv.weight": torch.full((32, 3, 3, 3), 0.01)}
    for i, c in enumerate((1024, 512, 256)):
        sd[f"bbox_head.convs_pred.{i}.weight"] = torch.zeros(3 * 85, c, 1, 1)
    torch.save({"state_dict": sd, "meta": {"dataset_meta": {"classes": tuple(f"c{i}" for i in range(80))}}}, path)
    return path


def _mm_schedule(**kw):
    return dict(max_iters=1, batch=2, num_workers=0, cfg_options=_SMALL, **kw)


def _state_dict(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.slow
@pytest.mark.mm
def test_mmdet_yolov3_maet_iat_config_fine_tunes_from_the_given_weights(tmp_path):
    ds = build_reader(dict(type="exdark", root=str(exdark_folder(tmp_path / "d")), split_kind="random")).read()
    det = dict(type="mmdet", config=_MM_CONFIGS.format("random"),
               checkpoint=str(_coco_yolov3_start(tmp_path / "coco.pth")))
    spec = finetune_detector(det, ds, None, tmp_path / "w", _mm_schedule(), progress=False)
    assert spec == dict(det, checkpoint=str(tmp_path / "w/mmdet/iter_1.pth"))
    sd = _state_dict(spec["checkpoint"])
    # the stem comes from the given weights (one step of a warmed-up lr barely moves it); the 12-class head is new
    np.testing.assert_allclose(sd["backbone.conv1.conv.weight"].numpy(), 0.01, atol=1e-3)
    assert sd["bbox_head.convs_pred.0.weight"].shape[0] == 3 * (5 + 12)
    assert not (tmp_path / "w/data/annotations/val.json").exists()  # random split: nothing to validate on
    from evaluation.detection.detectors import build_detector

    tuned = build_detector(dict(spec, cfg_options={"test_dataloader.dataset.pipeline": _SMALL_TEST}))
    assert len(tuned.class_names) == 12 and tuned(np.zeros((80, 96, 3), np.uint8)).boxes.shape[1] == 4


_KILL_AFTER_FIRST_CHECKPOINT = textwrap.dedent("""
    import ast, os, signal, sys
    from pathlib import Path
    from mmengine.hooks import CheckpointHook
    from evaluation.datasets import build_reader
    from evaluation.detection.finetune import finetune_detector

    after = CheckpointHook.after_train_iter
    def after_then_die(self, runner, *a, **k):
        after(self, runner, *a, **k)
        if (Path(runner.work_dir) / "last_checkpoint").is_file():
            os.kill(os.getpid(), signal.SIGKILL)
    CheckpointHook.after_train_iter = after_then_die
    ds = build_reader(dict(type="exdark", root=sys.argv[1], split="test")).read()
    finetune_detector(ast.literal_eval(sys.argv[3]), ds, None, Path(sys.argv[2]), ast.literal_eval(sys.argv[4]),
                      progress=False)
""")


@pytest.mark.slow
@pytest.mark.mm
def test_mmdet_yola_official_config_resumes_a_killed_run_and_validates_on_val(tmp_path):
    data, work = exdark_folder(tmp_path / "d"), tmp_path / "w"
    det = dict(type="mmdet", config=_MM_CONFIGS.format("official"), checkpoint=None,
               cfg_options={"load_from": None})
    sched = _mm_schedule(val_split="val", checkpoint_interval=1)
    sched["max_iters"] = 2
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run([sys.executable, "-c", _KILL_AFTER_FIRST_CHECKPOINT, str(data), str(work), repr(det),
                           repr(sched)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == -9, proc.stderr[-3000:]
    assert (work / "mmdet/iter_1.pth").is_file() and not (work / "done.json").exists()
    ds = build_reader(dict(type="exdark", root=str(data), split="test")).read()
    spec = finetune_detector(det, ds, None, work, sched, progress=False)
    done = json.loads((work / "done.json").read_text())
    assert spec["checkpoint"] == str(work / "mmdet/iter_2.pth") and done["resumed_from"] == 1
    assert done["counts"] == {"train": {"images": 4, "boxes": 4}, "val": {"images": 1, "boxes": 1}}
    logs = "".join(p.read_text() for p in (work / "mmdet").rglob("*.log"))
    assert "Epoch(val) [0][1/1]" in logs and "pascal_voc/mAP" in logs  # the one official val image, not test


@pytest.mark.slow
def test_detection_benchmark_fine_tunes_per_enhancer_then_scores(tmp_path):
    from evaluation.detection.benchmark import DetectionBenchmark
    from uptflow.enhancers import build_enhancer

    ds = _coco(coco_folder(tmp_path / "data"))
    bench = DetectionBenchmark(detector=_TINY, class_map="dataset", finetune=_SCHED)
    assert bench.settings()["finetune"]["epochs"] == 1  # part of every unit's identity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bench.run(ds, build_enhancer("gamma", cache=True, cache_dir=tmp_path / "cache"), tmp_path / "unit",
                        progress=False)
    done = json.loads((tmp_path / "unit" / "finetune" / "done.json").read_text())
    metrics = json.loads((tmp_path / "unit" / "metrics.json").read_text())
    trained = tmp_path / "unit" / "finetune" / done["checkpoint"]
    assert trained.is_file() and Path(metrics["protocol"]["detector"]["checkpoint"]) == trained.resolve()
    assert "fine-tuned on the enhanced train split" in res.protocol and "SMOKE RUN: 8 train images" in res.protocol
    assert res.n == 8

"""The commands mmdet / mmseg / ultralytics users reach for: predict, metrics, cache; files keep the user's umask; a
user mistake in a benchmark command is one `error:` line and exit status 2."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.cli import main
from tests.evaluation.datasets.image_trees import make_pair_dirs
from uptflow.metrics import psnr
from uptflow.utils.io import imread_rgb, imwrite_rgb


def test_predict_writes_annotated_images_and_coco_results(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", (np.random.default_rng(0).random((64, 80, 3)) * 60).astype(np.uint8))
    (tmp_path / "in" / "broken.jpg").write_bytes(b"nope")
    rc = main(["predict", str(tmp_path / "in"), "--checkpoint", "yolov8n.yaml", "--imgsz", "64", "--show-conf",
               "0.0", "--enhancer", "gamma", "--work-dir", str(tmp_path / "out"), "--device", "cpu", "--no-cache"])
    assert rc == 1 and "broken.jpg" in capsys.readouterr().err  # the readable image is still done
    assert imread_rgb(tmp_path / "out" / "a.jpg").shape == (64, 80, 3)
    images = json.loads((tmp_path / "out" / "images.json").read_text())
    preds = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [im["file_name"].endswith("a.png") for im in images["images"]] == [True]
    assert len(images["categories"]) == 80 and all(p["image_id"] == 1 for p in preds)


def test_predict_reports_an_image_its_enhancer_refuses_and_keeps_the_others_results(tmp_path, capsys, monkeypatch):
    import evaluation.cli
    from uptflow.enhancers.base import Enhancer

    class Picky(Enhancer):
        name = "picky"

        def enhance_tensor(self, x):
            if x.shape[-1] < 20:
                raise ValueError(f"needs images of at least 20 pixels, got {x.shape[-1]}")
            return x

    monkeypatch.setattr(evaluation.cli, "build_enhancers", lambda args, device: {"picky": Picky()})
    for name, w in (("a", 80), ("b_tiny", 8), ("c", 80)):
        imwrite_rgb(tmp_path / "in" / f"{name}.png", np.full((64, w, 3), 90, np.uint8))
    rc = main(["predict", str(tmp_path / "in"), "--checkpoint", "yolov8n.yaml", "--imgsz", "64",
               "--work-dir", str(tmp_path / "out"), "--device", "cpu"])
    assert rc == 1 and "FAILED" in capsys.readouterr().err
    images = json.loads((tmp_path / "out" / "images.json").read_text())["images"]
    assert [Path(im["file_name"]).name for im in images] == ["a.png", "c.png"]
    assert (tmp_path / "out" / "c.jpg").is_file() and not (tmp_path / "out" / "b_tiny.jpg").exists()


def test_predict_with_no_readable_source_is_a_one_line_error_before_loading_models(tmp_path, capsys):
    rc = main(["predict", str(tmp_path / "missing.jpg"), "--checkpoint", str(tmp_path / "no_such_model.pt"),
               "--work-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: no input images") and "missing.jpg" in err[-1]


@pytest.mark.realdata
def test_predict_with_the_coco_model_finds_the_bus(shared, tmp_path):
    rc = main(["predict", str(shared / "data/detection_check/bus.jpg"), "--checkpoint",
               str(shared / "data/weights/yolov8n.pt"), "--enhancer", "none", "--work-dir", str(tmp_path),
               "--device", "cpu"])
    assert rc == 0
    cats = {c["id"]: c["name"] for c in json.loads((tmp_path / "images.json").read_text())["categories"]}
    found = {cats[p["category_id"]] for p in json.loads((tmp_path / "predictions.json").read_text())
             if p["score"] > 0.5}
    assert {"bus", "person"} <= found


def test_metrics_scores_folders_paired_and_without_reference(tmp_path, capsys):
    root = make_pair_dirs(tmp_path / "d", n=2)
    assert main(["metrics", "-t", str(root / "low"), "-r", str(root / "high"), "--output",
                 str(tmp_path / "m.csv")]) == 0
    table = pd.read_csv(tmp_path / "m.csv")
    expected = psnr(imread_rgb(root / "low" / "0.png"), imread_rgb(root / "high" / "0.png"))
    assert table.loc[0, "PSNR"] == pytest.approx(expected) and list(table.columns) == ["image", "PSNR", "SSIM",
                                                                                       "SSIM-G11", "protocol"]
    assert table.loc[0, "protocol"].startswith("PSNR: PSNR on uint8 RGB")
    capsys.readouterr()
    assert main(["metrics", "-t", str(root / "low"), "--metrics", "NIQE,LOE", "-i", str(root / "low"),
                 "--loe-short-side", "20"]) == 0
    out = capsys.readouterr().out
    assert "NIQE" in out and "grid with short side 20" in out.splitlines()[-1]
    assert main(["metrics", "-t", str(root / "low"), "--metrics", "PSNR"]) == 2
    assert "need -r/--reference" in capsys.readouterr().err
    assert main(["metrics", "-t", str(root / "low"), "--metrics", "mIoU"]) == 2
    photo = (root / "high" / "0.png").read_bytes()
    assert main(["metrics", "-t", str(root / "low"), "-r", str(root / "high"), "--output", str(root / "high" / "0.png")
                 ]) == 2
    assert "give a .csv file" in capsys.readouterr().err and (root / "high" / "0.png").read_bytes() == photo


def test_metrics_says_how_many_images_a_mean_leaves_out_and_suggests_a_metric_name(tmp_path, capsys):
    root = make_pair_dirs(tmp_path / "d", n=2)
    imwrite_rgb(root / "low" / "1.png", imread_rgb(root / "high" / "1.png"))  # equal to its reference: PSNR inf
    assert main(["metrics", "-t", str(root / "low"), "-r", str(root / "high"), "--metrics", "PSNR,SSIM"]) == 0
    means = capsys.readouterr().out.split("mean over 2 images: ")[1].splitlines()[0]
    assert means.startswith("PSNR ") and "(over 1; 1 infinite), SSIM " in means and means.count("over") == 1
    assert main(["metrics", "-t", str(root / "high"), "-r", str(root / "high"), "--metrics", "PSNR"]) == 0
    assert "PSNR - (over 0; 2 infinite)" in capsys.readouterr().out  # not 'nan'
    assert main(["metrics", "-t", str(root / "low"), "-r", str(root / "high"), "--metrics", "psnr"]) == 2
    assert "unknown metric 'psnr' (did you mean PSNR?" in capsys.readouterr().err


def test_metrics_reports_a_bad_image_scores_the_rest_and_matches_numbered_names(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in (1, 2, 3):
        imwrite_rgb(tmp_path / "out" / f"low{i:05d}.png", (rng.random((32, 40, 3)) * 255).astype(np.uint8))
        imwrite_rgb(tmp_path / "Normal" / f"normal{i:05d}.png", (rng.random((32, 40, 3)) * 255).astype(np.uint8))
    (tmp_path / "out" / "low00002.png").write_bytes(b"not a png")
    rc = main(["metrics", "-t", str(tmp_path / "out"), "-r", str(tmp_path / "Normal"), "--output",
               str(tmp_path / "m.csv")])
    assert rc == 1 and "FAILED" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "m.csv")
    assert list(table["image"]) == ["low00001.png", "low00003.png"]
    expected = psnr(imread_rgb(tmp_path / "out" / "low00003.png"), imread_rgb(tmp_path / "Normal" / "normal00003.png"))
    assert table.loc[1, "PSNR"] == pytest.approx(expected)


def test_cache_lists_and_clears_entries(tmp_path, capsys):
    root = make_pair_dirs(tmp_path / "d", n=1)
    cache = tmp_path / "cache"
    assert main(["enhance-bench", "--data", str(root), "--dataset", "paired", "--enhancer", "gamma", "--enhancer",
                 "clahe", "--cache-dir", str(cache), "--work-dir", str(tmp_path / "w"), "--figure-images", "0",
                 "--device", "cpu", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["cache", "list", "--cache-dir", str(cache)]) == 0
    listing = capsys.readouterr().out
    keys = [d.name for d in cache.iterdir()]
    assert len(keys) == 2 and all(k in listing for k in keys) and "2 entries" in listing
    assert main(["cache", "clear", "--cache-dir", str(cache), "--key", "nope"]) == 2
    assert main(["cache", "clear", "--cache-dir", str(cache), "--key", keys[0]]) == 0
    assert [d.name for d in cache.iterdir()] == keys[1:]
    capsys.readouterr()
    assert main(["cache", "clear", "--cache-dir", str(cache), "--all"]) == 2  # no terminal to ask: nothing removed
    assert "confirm with --yes" in capsys.readouterr().err and [d.name for d in cache.iterdir()] == keys[1:]
    assert main(["cache", "clear", "--cache-dir", str(cache), "--all", "--yes"]) == 0 and not list(cache.iterdir())


def test_written_files_keep_the_users_umask(tmp_path):
    from uptflow.utils.io import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        imwrite_rgb(tmp_path / "b.png", np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert {oct((tmp_path / n).stat().st_mode & 0o777) for n in ("a.txt", "b.png")} == {oct(0o644)}


# ------------------------------------------------------------------------------------------ user mistakes
SEG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "segmentation" / "segformer_mit-b0_cityscapes19.py")


def _acdc(tmp_path: Path) -> str:
    from tests.evaluation.segmentation.helpers import make_acdc

    return str(make_acdc(tmp_path / "acdc", np.random.default_rng(0), n=1))


def _frames(tmp_path: Path) -> str:
    for i in range(2):
        imwrite_rgb(tmp_path / "frames" / f"f{i}.png", np.full((32, 48, 3), 20 * i, np.uint8))
    return str(tmp_path / "frames")


def _exdark(tmp_path: Path) -> str:
    from tests.evaluation.datasets.exdark_trees import flat_dataset

    return str(flat_dataset(tmp_path / "exdark"))


def _weights(tmp_path: Path) -> str:
    (tmp_path / "det.pt").write_bytes(b"never loaded: the mistake is found first")
    return str(tmp_path / "det.pt")


def _not_a_config(tmp_path: Path) -> str:
    (tmp_path / "notes.txt").write_text("model = 1\n")
    return str(tmp_path / "notes.txt")


def _broken_config(tmp_path: Path) -> str:
    (tmp_path / "broken.py").write_text("model = dict(\n")
    return str(tmp_path / "broken.py")


def _mmdet_pth(tmp_path: Path) -> str:
    (tmp_path / "yolov3.pth").write_bytes(b"")
    return str(tmp_path / "yolov3.pth")


SEG = ["seg-bench", "--dataset", "acdc", "--no-progress", "--device", "cpu"]
TRAFFIC = ["traffic-bench", "--no-progress", "--device", "cpu"]
DETECT = ["detect-bench", "--dataset", "exdark", "--subset", "all", "--no-progress", "--device", "cpu"]
MISTAKES = {  # name: (argv builder, what the one line must say)
    "seg-missing-data": (lambda t: [*SEG, "--data", str(t / "nowhere"), "--config", SEG_CONFIG], "nowhere"),
    "seg-unknown-enhancer": (lambda t: [*SEG, "--data", _acdc(t), "--config", SEG_CONFIG, "--enhancer", "nosuch"],
                             "unknown enhancer 'nosuch'"),
    "seg-config-not-a-config": (lambda t: [*SEG, "--data", _acdc(t), "--config", _not_a_config(t)], "notes.txt"),
    "seg-config-syntax-error": (lambda t: [*SEG, "--data", _acdc(t), "--config", _broken_config(t)],
                                "broken.py (or a _base_ file of it): syntax error in line 1"),
    "traffic-missing-data": (lambda t: [*TRAFFIC, "--data", str(t / "nowhere"), "--no-detect"], "nowhere"),
    "traffic-unknown-enhancer": (lambda t: [*TRAFFIC, "--data", _frames(t), "--no-detect", "--enhancer", "nosuch"],
                                 "unknown enhancer 'nosuch'"),
    "traffic-mmdet-config-not-a-config": (lambda t: [*TRAFFIC, "--data", _frames(t), "--detector", "mmdet",
                                                     "--config", _not_a_config(t)], "notes.txt"),
    "detect-missing-data": (lambda t: [*DETECT, "--data", str(t / "nowhere"), "--checkpoint", _weights(t)],
                            "nowhere"),
    "detect-unknown-enhancer": (lambda t: [*DETECT, "--data", _exdark(t), "--checkpoint", _weights(t), "--enhancer",
                                           "nosuch"], "unknown enhancer 'nosuch'"),
    "detect-unknown-detector": (lambda t: [*DETECT, "--data", _exdark(t), "--checkpoint", _weights(t), "--detector",
                                           "nosuch"], "unknown detector 'nosuch'"),
    "detect-mmdet-checkpoint-for-ultralytics": (lambda t: [*DETECT, "--data", _exdark(t), "--checkpoint",
                                                           _mmdet_pth(t)], "for an mmdet checkpoint give --detector "
                                                                           "mmdet --config CONFIG"),
    "detect-cfg-options-for-ultralytics": (lambda t: [*DETECT, "--data", _exdark(t), "--checkpoint", _weights(t),
                                                      "--cfg-options", "model.conf=0.5"],
                                           "--cfg-options: only an mmdet config takes them"),
    "seg-misspelt-top-level-cfg-option": (lambda t: [*SEG, "--data", _acdc(t), "--config", SEG_CONFIG,
                                                     "--cfg-options", "modle.test_cfg.mode=whole"],
                                          "--cfg-options modle.test_cfg.mode: "),
    "seg-misspelt-cfg-option-in-an-untyped-entry": (lambda t: [*SEG, "--data", _acdc(t), "--config", SEG_CONFIG,
                                                               "--cfg-options", "model.test_cfg.mdoe=whole"],
                                                    "has no 'mdoe' in model.test_cfg (did you mean mode?)"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_benchmark_command_mistakes_are_one_line_with_exit_status_2(tmp_path, capsys, case):
    build, says = MISTAKES[case]
    argv = build(tmp_path)
    rc = main([*argv, "--work-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert rc == 2 and "Traceback" not in err, err
    assert len(errors) == 1 and says in errors[0], err


@pytest.mark.parametrize("option, value, says", [
    ("--imgsz", "-3", "expected a whole number >= 32, got '-3'"),
    ("--conf", "2", "expected a score threshold in [0, 1], got '2'"),
])
def test_a_detector_number_out_of_range_is_a_usage_error_naming_the_option(tmp_path, capsys, option, value, says):
    with pytest.raises(SystemExit) as exit_:
        main([*DETECT, "--data", _exdark(tmp_path), "--checkpoint", _weights(tmp_path), option, value,
              "--work-dir", str(tmp_path / "out")])
    assert exit_.value.code == 2 and f"argument {option}: {says}" in capsys.readouterr().err


@pytest.mark.mm
@pytest.mark.slow
def test_an_mmdet_setting_the_model_does_not_take_is_one_line_naming_the_config(tmp_path, capsys):
    config = "mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py"
    argv = [*TRAFFIC, "--data", _frames(tmp_path), "--detector", "mmdet", "--config", config, "--cfg-options",
            "model.nosuch=1", "--work-dir", str(tmp_path / "out")]
    rc = main(argv)
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert rc == 2 and "Traceback" not in err, err
    assert len(errors) == 1 and config in errors[0] and "nosuch" in errors[0], err


@pytest.mark.mm
@pytest.mark.parametrize("option, says", [
    ("crop_size=(512,512)", "--cfg-options crop_size: in a variable of segformer_mit-b0_cityscapes19.py"),
    ("optim_wrapper.paramwise_cfg.custom_keys.heads.lr_mult=2", None),  # a mapping of names takes any name
    ("test_pipeline.1.scale=(512,256)", None),  # mmseg's inference_model reads test_pipeline itself
])
def test_segmentation_cfg_options_that_change_nothing_are_refused_and_the_others_taken(option, says):
    from uptflow.utils.mmconfig import load_config

    key, _, value = option.partition("=")
    if says is None:
        load_config(SEG_CONFIG, {key: eval(value)}, for_inference=True)
    else:
        with pytest.raises(ValueError, match=re.escape(says)):
            load_config(SEG_CONFIG, {key: eval(value)}, for_inference=True)

"""``uptflow predict``: --no-progress, collisions named by its own .jpg outputs, and the record of what made its
outputs, with one warning line when a work dir holds another configuration's."""

import json

import numpy as np

from evaluation.cli import main
from evaluation.predict import RECORD
from uptflow.utils.io import imwrite_rgb

_DETECTOR = ["--checkpoint", "yolov8n.yaml", "--imgsz", "64", "--device", "cpu", "--no-cache"]


def _image(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((64, 80, 3)) * 60).astype(np.uint8)


def _predict(*argv: str) -> int:
    return main(["predict", *argv, *_DETECTOR])


def test_no_progress_leaves_only_the_summary(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _image(0))
    assert _predict(str(tmp_path / "in"), "--enhancer", "gamma", "--work-dir", str(tmp_path / "out"),
                    "--no-progress") == 0
    out, err = capsys.readouterr()
    assert "predict" not in err and out.startswith("1 images")
    assert _predict(str(tmp_path / "in"), "--enhancer", "gamma", "--work-dir", str(tmp_path / "bar")) == 0
    assert "predict" in capsys.readouterr().err  # the bar, by default


def test_sources_writing_one_annotated_image_are_refused_naming_the_jpg_before_loading_models(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _image(0))
    imwrite_rgb(tmp_path / "in" / "a.jpg", _image(1))
    rc = main(["predict", str(tmp_path / "in"), "--checkpoint", str(tmp_path / "no_such_model.pt"), "--work-dir",
               str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ")
    assert f"would both be written to {tmp_path / 'out' / 'a.jpg'};" in err[0] and "enhance" not in err[0]


def test_outputs_record_their_configuration_and_another_configurations_are_warned_about(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    for i, name in enumerate(("a.png", "b.png")):
        imwrite_rgb(src / name, _image(i))
    assert _predict(str(src), "--enhancer", "gamma", "--work-dir", str(out), "--no-progress") == 0
    assert "warning" not in capsys.readouterr().err
    first = json.loads((out / RECORD).read_text())
    (gamma_key, config), = first["configurations"].items()
    assert first["images"] == {"a.jpg": gamma_key, "b.jpg": gamma_key} and first["results"] == gamma_key
    assert config["enhancer"]["name"] == "gamma" and config["detector"]["checkpoint"] == "yolov8n.yaml"

    assert _predict(str(src / "a.png"), "--enhancer", "clahe", "--work-dir", str(out), "--no-progress") == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and warning[0].startswith(f"warning: --work-dir {out} holds outputs of another "
                                                       "configuration (other enhancer)")
    assert "replaces 1 annotated image(s) and keeps 1 (b.jpg)" in warning[0]
    assert "predictions.json and images.json are replaced" in warning[0]
    second = json.loads((out / RECORD).read_text())
    clahe_key = second["results"]
    assert second["images"] == {"a.jpg": clahe_key, "b.jpg": gamma_key} and set(second["configurations"]) == {
        gamma_key, clahe_key}

    assert _predict(str(src / "a.png"), "--enhancer", "clahe", "--work-dir", str(out), "--no-progress") == 0
    err = capsys.readouterr().err
    assert "keeps 1 (b.jpg)" in err and "predictions.json" not in err  # the folder still mixes configurations


def test_results_without_a_record_are_of_an_unknown_configuration(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _image(0))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "predictions.json").write_text("[]")
    assert _predict(str(tmp_path / "in"), "--enhancer", "none", "--work-dir", str(tmp_path / "out"),
                    "--no-progress") == 0
    assert "(made by an interrupted or unrecorded run)" in capsys.readouterr().err


def test_a_work_dir_of_the_users_own_jpegs_is_refused_before_anything_is_overwritten(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _image(0))
    imwrite_rgb(tmp_path / "photos" / "a.jpg", _image(1))  # the user's photo, where predict would write a.jpg
    before = (tmp_path / "photos" / "a.jpg").read_bytes()
    assert _predict(str(tmp_path / "in"), "--enhancer", "none", "--work-dir", str(tmp_path / "photos")) == 2
    assert "would overwrite 1 file(s) that uptflow predict did not record writing" in capsys.readouterr().err
    assert (tmp_path / "photos" / "a.jpg").read_bytes() == before and not (tmp_path / "photos" / RECORD).exists()


def test_a_label_at_the_images_edge_is_drawn_whole_inside_it():
    from evaluation.predict import draw_detections

    img = np.zeros((60, 200, 3), np.uint8)
    out = draw_detections(img, np.array([[170.0, 0.0, 199.0, 30.0]]), np.array([0.9]), ["person"])
    tag_rows = np.flatnonzero(out[:, 100:168].any(axis=(1, 2)))  # left of the box: only the tag can be there
    assert len(tag_rows) and out[tag_rows[0], 199].any()  # moved in from the edge, and reaching it

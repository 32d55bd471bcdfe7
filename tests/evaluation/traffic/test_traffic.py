"""Night-traffic benchmark: frame sampling from videos and folders, flicker, COCO mAP and the command."""

import json
import math

import cv2
import numpy as np
import pytest
import torch

from evaluation.benchmark import ProgressLog
from evaluation.datasets import build_reader
from evaluation.traffic.benchmark import TrafficBenchmark, _coco_map, read_coco_annotations
from evaluation.traffic.stability import FlickerMeter
from evaluation.work_dirs import OWNER_FILE
from uptflow.enhancers.base import Enhancer

H, W = 200, 256  # LOE subsamples by min(H, W) // 100 = 2 here: cheap


def _frame(t: int) -> np.ndarray:
    """A dark street-like frame with a bright 'car' moving 6 px per frame and fixed texture."""
    rng = np.random.default_rng(0)
    img = (rng.random((H, W, 3)) * 40 + 10).astype(np.uint8)
    x = 20 + 6 * t
    img[90:130, x:x + 50] = (200, 180, 150)
    return img


def _write_video(path, n: int = 12, fps: float = 10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened()
    for t in range(n):
        writer.write(np.ascontiguousarray(_frame(t)[..., ::-1]))
    writer.release()
    return path


class _Gain(Enhancer):
    """Brightens by a constant gain (a temporally stable enhancer)."""

    name = "gain"

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 2.5).clamp(0, 1)


def _frames(path, **kw):
    return build_reader(dict(type="frames", root=str(path), **kw)).read()


def _images(ds):
    return [(s, img) for s, img in ds.images()]


class _Flicker(Enhancer):
    """Brightens by a gain that alternates from call to call (a flickering enhancer)."""

    name = "flicker"

    def __init__(self) -> None:
        super().__init__()
        self.t = 0

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        self.t += 1
        return (x * (2.0 if self.t % 2 else 3.0)).clamp(0, 1)


def test_video_frames_are_sampled_every_n_with_timestamps(tmp_path):
    video = _write_video(tmp_path / "clip.avi", n=12, fps=10.0)
    frames = _images(_frames(video, every=4))
    assert [s.meta["index"] for s, _ in frames] == [0, 4, 8]
    assert [s.meta["time_s"] for s, _ in frames] == pytest.approx([0.0, 0.4, 0.8])
    assert frames[1][0].name == "clip/clip_000004" and frames[0][1].shape == (H, W, 3)
    # MJPG is lossy (the noise texture is gone), but the car of frame 4 (x 44..94) must be where it was drawn
    car = frames[1][1][95:125]
    assert car[:, 50:90].mean() > 150 and car[:, 5:35].mean() < 60 and car[:, 100:].mean() < 60
    assert len(_frames(video, every=1, limit=5)) == 5
    ds = _frames(video, every=4)
    np.testing.assert_array_equal(ds.load(ds.samples[1]), frames[1][1])  # random access equals the sequential read


def test_frame_folders_are_read_in_natural_order(tmp_path):
    for t in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"f{t}.png"), _frame(t))
    frames = _images(_frames(tmp_path, fps=5))
    assert [s.path.name for s, _ in frames] == ["f1.png", "f2.png", "f10.png"]
    assert [s.meta["time_s"] for s, _ in frames] == pytest.approx([0.0, 0.2, 0.4])
    assert math.isnan(_frames(tmp_path).samples[0].meta["time_s"])


def test_unreadable_inputs_are_named_in_the_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="broken.mp4"):
        _frames(bad)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        _frames(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        _frames(tmp_path / "empty")


def test_flicker_ratio_is_one_for_a_stable_enhancer_and_large_for_a_flickering_one():
    stable, flick = FlickerMeter(), FlickerMeter()
    gain, flicker = _Gain(), _Flicker()
    for t in range(6):
        f = _frame(t)
        stable.update(f, gain(f))
        flick.update(f, flicker(f))
    s, f = stable.summary(), flick.summary()
    assert s["pairs"] == 5
    # a constant gain leaves brightness-normalised flicker unchanged (up to uint8 clipping / rounding)
    assert s["warp_ratio"] == pytest.approx(1.0, abs=0.15)
    assert f["out_rel_dL"] > 0.2 > 10 * s["out_rel_dL"]
    assert f["warp_ratio"] > 3


def _unrelated_photos() -> list[np.ndarray]:
    from uptflow.data.synthetic import load_skimage_photo

    return [cv2.resize(load_skimage_photo(n), (W, H)) // 4 for n in ("astronaut", "coffee", "chelsea", "rocket")]


def test_input_pairs_the_flow_cannot_align_are_counted_as_unaligned():
    video, photos = FlickerMeter(), FlickerMeter()
    for t in range(4):
        video.update(_frame(t), _frame(t))
    for img in _unrelated_photos():
        photos.update(img, img)
    assert video.summary()["unaligned_pairs"] == 0
    assert photos.summary()["unaligned_pairs"] == photos.summary()["pairs"] == 3


def test_a_part_of_unrelated_photos_gets_a_warning_with_its_flicker_ratios(tmp_path, caplog):
    for folder, frames in (("cam", [_frame(t) for t in range(4)]), ("photos", _unrelated_photos())):
        (tmp_path / folder).mkdir()
        for t, img in enumerate(frames):
            cv2.imwrite(str(tmp_path / folder / f"f{t}.png"), img[..., ::-1])
        TrafficBenchmark(detector=None, metrics=["flicker_ratio"]).run(_frames(tmp_path / folder), None,
                                                                      tmp_path / f"out_{folder}", progress=False)
    assert "Warning" not in (tmp_path / "out_cam" / "summary.md").read_text()
    warning = "photos: 3 of 3 consecutive input frame pairs do not align (warp error above 30% of their brightness)"
    assert f"Warning: {warning}" in (tmp_path / "out_photos" / "summary.md").read_text() and warning in caplog.text
    metrics = json.loads((tmp_path / "out_photos" / "metrics.json").read_text())
    assert metrics["flicker"]["unaligned_pairs"] == 3
    assert f"WARNING {warning}" in metrics["protocol_line"]  # printed once under a comparison's and the suite's tables


def test_the_command_table_prints_each_parts_protocol_and_the_unaligned_warning_once(tmp_path, capsys):
    from evaluation.traffic.__main__ import main

    for folder, frames in (("cam", [_frame(t) for t in range(4)]), ("photos", _unrelated_photos())):
        (tmp_path / folder).mkdir()
        for t, img in enumerate(frames):
            cv2.imwrite(str(tmp_path / folder / f"f{t}.png"), img[..., ::-1])
    assert main(["--data", str(tmp_path / "cam"), "--data", str(tmp_path / "photos"), "--enhancer", "none",
                 "--enhancer", "identity", "--no-detect", "--no-nr", "--work-dir", str(tmp_path / "out"),
                 "--no-progress", "--device", "cpu"]) == 0
    table = (tmp_path / "out" / "traffic.md").read_text()
    protocols = [ln for ln in table.splitlines() if ln.startswith("Protocol")]
    assert [ln.split(":")[0] for ln in protocols] == ["Protocol (cam)", "Protocol (photos)"]
    assert "WARNING" not in protocols[0] and table.count("do not align") == 1
    assert "WARNING photos: 3 of 3 consecutive input frame pairs do not align" in protocols[1]
    assert table in capsys.readouterr().out


def test_the_warning_needs_more_than_half_of_the_pairs_and_counts_pairs_that_cannot_be_warped():
    from evaluation.traffic.benchmark import _unaligned_note
    from evaluation.traffic.stability import PAIR_KEYS, summarize_pairs

    def pair(err: float) -> dict:
        return {f"{side}_{k}": err if k == "rel_warp_err" else 1.0 for side in ("in", "out") for k in PAIR_KEYS}

    half = summarize_pairs([pair(0.05), pair(0.9)])
    assert half["unaligned_pairs"] == 1 and _unaligned_note(half, "cam") == ""
    assert summarize_pairs([pair(math.nan), pair(0.05), pair(0.9)])["unaligned_pairs"] == 2


def test_coco_map_is_100_for_detections_equal_to_the_annotations(tmp_path):
    ann = dict(images=[dict(id=1, file_name="clip_000000.png", width=W, height=H),
                       dict(id=2, file_name="clip_000004.png", width=W, height=H)],
               categories=[dict(id=3, name="car"), dict(id=1, name="person")],
               annotations=[dict(id=1, image_id=1, category_id=3, bbox=[20, 90, 50, 40]),  # no iscrowd, area:
                            dict(id=2, image_id=2, category_id=3, bbox=[44, 90, 50, 40])])  # COCOeval's defaults
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(ann))
    gt = read_coco_annotations(str(path))
    images = [dict(id=1, file_name="clip_000000"), dict(id=2, file_name="clip_000004")]  # matched by stem
    classes = ["person", "bicycle", "car"]
    dets = [dict(image_id=1, category_id=3, score=0.9, bbox=[20, 90, 50, 40]),
            dict(image_id=2, category_id=3, score=0.8, bbox=[44, 90, 50, 40])]
    assert _coco_map(gt, images, classes, dets)["AP"] == pytest.approx(1.0)
    shifted = [dict(d, bbox=[d["bbox"][0] + 40, *d["bbox"][1:]]) for d in dets]
    assert _coco_map(gt, images, classes, shifted)["AP50"] == pytest.approx(0.0)


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("{not json", "not a JSON file"),
    (json.dumps(dict(images=[dict(id=1, file_name="f0.png")], annotations=[])), "'categories' must be a list"),
    (json.dumps(dict(images=[dict(id=1)], categories=[], annotations=[])), "'images' must be a list of objects with "
                                                                           "id, file_name"),
    (json.dumps(dict(images=[], categories=[], annotations=[dict(id=7, image_id=1, category_id=1, bbox=[1, 2])])),
     r"annotation 7: bbox must be \[x, y, width, height\], got \[1, 2\]"),
])
def test_a_bad_coco_annotation_file_is_refused_before_any_frame_is_enhanced(tmp_path, content, message):
    path = tmp_path / "ann.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=f"coco_annotations: {path}: {message}"):
        TrafficBenchmark(detector=dict(type="yolov8", checkpoint="yolov8n.yaml"), coco_annotations=str(path))


def test_a_part_none_of_whose_frames_is_annotated_stops_before_its_frames_are_enhanced(tmp_path):
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(dict(images=[dict(id=1, file_name="other_000000.png")], categories=[],
                                   annotations=[])))
    ds = _frames(_write_video(tmp_path / "part1.avi", n=2))
    bench = TrafficBenchmark(detector=dict(type="yolov8", checkpoint="yolov8n.yaml"), coco_annotations=str(ann))
    with pytest.raises(ValueError, match=r"ann.json lists none of the 2 frames of .*part1.avi \(e.g. part1_000000\)"):
        bench.run(ds, None, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_traffic_unit_on_a_synthesized_video_writes_tables_and_resumes_exactly(tmp_path):
    video = _write_video(tmp_path / "part1.avi", n=8)
    ds = _frames(video, every=2)
    bench = TrafficBenchmark(detector=None)
    none = bench.run(ds, None, tmp_path / "none", progress=False)
    gain = bench.run(ds, _Gain(), tmp_path / "gain", progress=False)
    v_none, v_gain = ({r["metric"]: r["value"] for r in res.rows} for res in (none, gain))
    assert none.n == gain.n == 4 and "vehicles_per_frame" not in v_none
    assert v_none["LOE"] == 0 and v_none["flicker_ratio"] == pytest.approx(1.0) and v_none["warp_ratio"] == 1.0
    assert v_gain["LOE"] > 0 and np.isfinite(v_gain["NIQE"]) and np.isfinite(v_gain["BRISQUE"])
    for name in ("frames.csv", "summary.md", "ntm.md", "metrics.json"):
        assert (tmp_path / "gain" / name).is_file()
    assert "part1 LOE / NIQE / BRISQUE" in (tmp_path / "gain" / "ntm.md").read_text()
    # killed after two frames: the rerun continues the flicker measurement from the last finished frame
    (log,) = (tmp_path / "gain" / "progress").glob("*.jsonl")
    log.write_text("".join(f"{ln}\n" for ln in log.read_text().splitlines()[:2]))
    again = bench.run(ds, _Gain(), tmp_path / "gain", progress=False)
    assert {r["metric"]: r["value"] for r in again.rows} == pytest.approx(v_gain)


def test_rerunning_a_part_with_other_settings_replaces_the_saved_frames(tmp_path):
    ds = _frames(_write_video(tmp_path / "part1.avi", n=4))
    bench = TrafficBenchmark(detector=None, metrics=["LOE"], save_frames=True)
    out = tmp_path / "out"
    bench.run(ds, _Gain(), out, progress=False)
    assert {p.name for p in out.iterdir()} <= {OWNER_FILE, ProgressLog.folder, *bench.outputs}  # all declared
    bench.run(_frames(tmp_path / "part1.avi", every=2), _Gain(), out, progress=False)
    assert sorted(p.stem for p in (out / "frames" / "part1").iterdir()) == ["part1_000000", "part1_000002"]


def test_traffic_loe_protocol_names_the_grid_used(tmp_path):
    from uptflow.metrics.loe import DEFAULT_SHORT_SIDE, loe

    ds = _frames(_write_video(tmp_path / "part1.avi", n=2))
    res = TrafficBenchmark(detector=None, metrics=["LOE"]).run(ds, _Gain(), tmp_path / "gain", progress=False)
    assert res.protocol == ("LOE: lightness order error (input vs output) as the NPE authors' LOE.m: max-RGB "
                            f"lightness, 15x15 local maximum, grid with short side {DEFAULT_SHORT_SIDE}")
    frames = _images(ds)
    expected = np.mean([loe(img, _Gain()(img), DEFAULT_SHORT_SIDE) for _, img in frames])
    assert res.rows[0]["value"] == pytest.approx(expected)


def test_traffic_command_runs_registered_enhancers_on_a_video(tmp_path, capsys):
    from evaluation.traffic.__main__ import main

    video = _write_video(tmp_path / "cam.avi", n=6)
    assert main(["--data", str(video), "--enhancer", "none", "--enhancer", "identity", "--no-detect",
                 "--every", "2", "--work-dir", str(tmp_path / "out"), "--no-progress", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "| cam" in text and "identity" in text
    assert (tmp_path / "out" / "cam" / "identity" / "frames.csv").is_file()


def test_a_truncated_frame_is_reported_counted_and_the_rest_is_scored(tmp_path, capsys):
    import pandas as pd

    from evaluation.traffic.__main__ import main

    (tmp_path / "cam").mkdir()
    for t in range(4):
        cv2.imwrite(str(tmp_path / "cam" / f"f{t}.jpg"), _frame(t))
    bad = tmp_path / "cam" / "f2.jpg"
    bad.write_bytes(bad.read_bytes()[:300])  # truncated: the header is there, the pixels are not
    rc = main(["--data", str(tmp_path / "cam"), "--enhancer", "none", "--enhancer", "identity", "--no-detect",
               "--work-dir", str(tmp_path / "out"), "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err  # something was left out: the exit status says so
    reported = [ln for ln in err.splitlines() if ln.startswith("SKIPPED")]
    assert [ln.split(":")[0] for ln in reported] == ["SKIPPED cam/f2 (none)", "SKIPPED cam/f2 (identity)"]
    assert all(str(bad) in ln for ln in reported)  # the file and why
    table = pd.read_csv(tmp_path / "out" / "traffic.csv")
    assert table[["enhancer", "images", "skipped"]].values.tolist() == [["none", 3, 1], ["identity", 3, 1]]
    frames = pd.read_csv(tmp_path / "out" / "cam" / "none" / "frames.csv")
    assert frames["frame"].tolist() == ["cam/f0", "cam/f1", "cam/f3"] and frames["LOE"].notna().all()


@pytest.mark.realdata
def test_traffic_command_on_the_shared_night_street_folder_with_yolo(shared, tmp_path):
    import pandas as pd

    from evaluation.traffic.__main__ import main

    out = tmp_path / "out"
    assert main(["--data", str(shared / "data" / "unpaired" / "night_street"), "--enhancer", "none",
                 "--max-frames", "3", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    table = pd.read_csv(out / "traffic.csv")
    assert {"LOE", "NIQE", "BRISQUE", "vehicles_per_frame", "persons_per_frame", "flicker_ratio"} <= set(table)
    preds = json.loads((out / "night_street" / "predictions.json").read_text())
    frames = json.loads((out / "night_street" / "frames.json").read_text())
    assert preds and {p["image_id"] for p in preds} <= {im["id"] for im in frames["images"]}
    assert {"person", "car"} <= {c["name"] for c in frames["categories"]}
    assert table.loc[0, "vehicles_per_frame"] + table.loc[0, "persons_per_frame"] > 0


@pytest.mark.mm
@pytest.mark.slow
def test_traffic_counts_with_an_mmdet_detector_given_by_config(tmp_path):
    video = _write_video(tmp_path / "cam.avi", n=4)
    spec = dict(type="mmdet", config="mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py",
                cfg_options={"model.backbone.init_cfg": None})
    res = TrafficBenchmark(detector=spec, conf=0.0).run(_frames(video, every=2), None, tmp_path / "u",
                                                        progress=False)
    values = {r["metric"]: r["value"] for r in res.rows}
    assert res.n == 2 and np.isfinite(values["vehicles_per_frame"]) and np.isfinite(values["persons_per_frame"])
    record = json.loads((tmp_path / "u" / "metrics.json").read_text())
    assert "mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py" in json.dumps(record)


def test_a_frame_of_another_size_in_a_folder_is_skipped_naming_its_file(tmp_path):
    (tmp_path / "cam").mkdir()
    for t in range(4):
        cv2.imwrite(str(tmp_path / "cam" / f"f{t}.png"), _frame(t)[: H // 2 if t == 2 else H])
    ds = _frames(tmp_path / "cam")
    res = TrafficBenchmark(detector=None, metrics=["flicker_ratio"]).run(ds, None, tmp_path / "out", progress=False)
    assert res.n == 3 and [b["file"] for b in res.skipped] == ["cam/f2"]
    assert f"{tmp_path / 'cam' / 'f2.png'}: frame is {W}x{H // 2}, the part's earlier frames {W}x{H}" \
        in res.skipped[0]["reason"]


@pytest.mark.parametrize("option, value, expected", [
    ("--every", "0", "expected a whole number >= 1, got '0'"),
    ("--fps", "-2", "expected a number > 0, got '-2'"),
    ("--fps", "inf", "expected a number > 0, got 'inf'"),
    ("--count-conf", "1.5", "expected a score threshold in [0, 1], got '1.5'"),
    ("--count-conf", "nan", "expected a score threshold in [0, 1], got 'nan'"),
    ("--flow-side", "8", "expected a whole number >= 16, got '8'"),
])
def test_a_bad_number_is_a_usage_error_naming_the_option(tmp_path, capsys, option, value, expected):
    from evaluation.traffic.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--data", str(tmp_path), option, value, "--work-dir", str(tmp_path / "out")])
    assert exit_.value.code == 2 and f"argument {option}: {expected}" in capsys.readouterr().err

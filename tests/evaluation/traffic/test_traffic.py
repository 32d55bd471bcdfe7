"""Night-traffic benchmark: frame sampling from videos and folders, flicker, COCO mAP and the command."""

import json
import math

import cv2
import numpy as np
import pytest
import torch

from evaluation.traffic.frames import open_source
from evaluation.traffic.run import coco_map, run_traffic
from evaluation.traffic.stability import FlickerMeter
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
    frames = list(open_source(video, every=4))
    assert [f.index for f in frames] == [0, 4, 8]
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.4, 0.8])
    assert frames[1].name == "clip_000004.png" and frames[0].image.shape == (H, W, 3)
    # MJPG is lossy (the noise texture is gone), but the car of frame 4 (x 44..94) must be where it was drawn
    car = frames[1].image[95:125]
    assert car[:, 50:90].mean() > 150 and car[:, 5:35].mean() < 60 and car[:, 100:].mean() < 60
    assert len(list(open_source(video, every=1, max_frames=5))) == 5


def test_frame_folders_are_read_in_natural_order(tmp_path):
    for t in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"f{t}.png"), _frame(t))
    frames = list(open_source(tmp_path, fps=5))
    assert [f.name for f in frames] == ["f1.png", "f2.png", "f10.png"]
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.2, 0.4])
    assert math.isnan(next(iter(open_source(tmp_path))).time_s)


def test_unreadable_inputs_are_named_in_the_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="broken.mp4"):
        open_source(bad)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        open_source(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image frames"):
        open_source(tmp_path / "empty")


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


def test_coco_map_is_100_for_detections_equal_to_the_annotations(tmp_path):
    ann = dict(images=[dict(id=1, file_name="clip_000000.png", width=W, height=H),
                       dict(id=2, file_name="clip_000004.png", width=W, height=H)],
               categories=[dict(id=3, name="car"), dict(id=1, name="person")],
               annotations=[dict(id=1, image_id=1, category_id=3, bbox=[20, 90, 50, 40], area=2000, iscrowd=0),
                            dict(id=2, image_id=2, category_id=3, bbox=[44, 90, 50, 40], area=2000, iscrowd=0)])
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(ann))
    dets = [dict(frame="clip_000000.png", cls="car", score=0.9, x1=20, y1=90, x2=70, y2=130),
            dict(frame="clip_000004.png", cls="car", score=0.8, x1=44, y1=90, x2=94, y2=130)]
    assert coco_map(path, dets)["mAP"] == pytest.approx(100.0)
    shifted = [dict(d, x1=d["x1"] + 40, x2=d["x2"] + 40) for d in dets]
    assert coco_map(path, shifted)["AP50"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="file_name"):
        coco_map(path, [dict(dets[0], frame="other.png")])


def test_traffic_run_on_a_synthesized_video_writes_tables_and_resumes(tmp_path):
    video = _write_video(tmp_path / "part1.avi", n=8)
    src = open_source(video, every=2)
    df = run_traffic([src], {"none": None, "gain": _Gain()}, tmp_path / "out", detector=None, progress=False)
    assert list(df.enhancer) == ["none", "gain"] and (df.frames == 4).all()
    none, gain = df.iloc[0], df.iloc[1]
    assert none.LOE == 0 and none.flicker_ratio == pytest.approx(1.0) and none.warp_ratio == pytest.approx(1.0)
    assert gain.LOE > 0 and np.isfinite(gain.NIQE) and np.isfinite(gain.BRISQUE)
    for name in ("traffic.csv", "traffic.md", "ntm.md", "frames.csv", "protocol.json", "parts/part1__gain.json"):
        assert (tmp_path / "out" / name).is_file()
    assert "part1 LOE / NIQE / BRISQUE" in (tmp_path / "out" / "ntm.md").read_text()
    before = (tmp_path / "out" / "parts" / "part1__gain.json").stat().st_mtime_ns
    again = run_traffic([open_source(video, every=2)], {"none": None, "gain": _Gain()}, tmp_path / "out",
                        progress=False)
    assert (tmp_path / "out" / "parts" / "part1__gain.json").stat().st_mtime_ns == before
    assert again.NIQE.tolist() == pytest.approx(df.NIQE.tolist())


def test_traffic_command_runs_registered_enhancers_on_a_video(tmp_path, capsys):
    from evaluation.traffic.__main__ import main

    video = _write_video(tmp_path / "cam.avi", n=6)
    assert main(["--data", str(video), "--enhancer", "none", "--enhancer", "identity", "--no-detect",
                 "--every", "2", "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "| cam" in text and "identity" in text


@pytest.mark.realdata
def test_traffic_command_on_the_shared_night_street_folder_with_yolo(shared, tmp_path):
    from evaluation.traffic.__main__ import main

    out = tmp_path / "out"
    assert main(["--data", str(shared / "data" / "unpaired" / "night_street"), "--enhancer", "none",
                 "--max-frames", "3", "--out", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out / "traffic.csv")
    assert {"LOE", "NIQE", "BRISQUE", "vehicles_per_frame", "persons_per_frame", "flicker_ratio"} <= set(table)
    dets = pd.read_csv(out / "detections" / "night_street__none.csv")
    assert len(dets) and set(dets.columns) >= {"frame", "cls", "score", "x1", "y2"}
    assert table.loc[0, "vehicles_per_frame"] + table.loc[0, "persons_per_frame"] > 0

"""What an adversarial user tries: malicious weights files on every loading path, dotfiles in the work dir.

Every malicious pickle below would run code (create a marker file) if it were unpickled with
``weights_only=False`` or with a plain ``getattr`` allow-listed; each test checks that the load is refused with
one line naming the file and the refused global, and that the marker file was never created.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from uptflow.utils.io import imwrite_rgb
from uptflow.utils.safe_load import UnsafeWeightsError


class _RunsCode:
    """Unpickling this calls ``os.system`` (a classic pickle payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _WalksAttributes:
    """Unpickling this returns ``getattr(HistoryBuffer.mean, '__globals__')``, the globals of mmengine's module:
    with a plain ``getattr`` allow-listed (as mmengine checkpoints need), a file can walk from any allowed object to
    any attribute reachable from it, which the allow-list exists to prevent."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer

        return getattr, (HistoryBuffer.mean, "__globals__")


def _evil_file(path: Path, payload: object, base: dict | None = None) -> Path:
    torch.save({**(base or {}), "payload": payload}, path)
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    m = tmp_path / "code_ran"
    yield m
    assert not m.exists(), "the weights file executed code"


def _assert_refused(err: pytest.ExceptionInfo, path: Path) -> None:
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg, msg
    assert "weights_only" not in msg  # never torch's advice to turn safe loading off


def test_uptflow_weights_with_a_code_payload_are_refused(tmp_path, marker):
    from uptflow.models.checkpoint import load_model

    path = _evil_file(tmp_path / "evil.pth", _RunsCode(marker))
    with pytest.raises(UnsafeWeightsError, match="system") as err:
        load_model(path)
    _assert_refused(err, path)


@pytest.mark.parametrize("name", ["zero_dce", "zero_dce_pp", "sci", "iat"])
def test_baseline_enhancer_weights_with_a_code_payload_are_refused(tmp_path, marker, name):
    from uptflow.enhancers import build_enhancer

    path = _evil_file(tmp_path / f"{name}.pth", _RunsCode(marker))
    with pytest.raises(UnsafeWeightsError, match="system") as err:
        build_enhancer(name, weights=path)
    _assert_refused(err, path)


def test_training_resume_refuses_getattr_beyond_the_message_hub(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_loading

    ok = tmp_path / "ok.pth"
    # a real message hub entry pickles getattr(HistoryBuffer, "min") and loads
    torch.save({"message_hub": {"loss": HistoryBuffer([1.0, 2.0], [1, 1])}}, ok)
    with safe_loading(ok, "training checkpoint", mmengine_checkpoint_globals()):
        hub = torch.load(ok, weights_only=True)["message_hub"]["loss"]
    assert hub.mean() == 1.5

    path = _evil_file(tmp_path / "iter_2.pth", _WalksAttributes())
    with pytest.raises(UnsafeWeightsError, match="getattr") as err:
        with safe_loading(path, "training checkpoint", mmengine_checkpoint_globals()):
            torch.load(path, weights_only=True)
    _assert_refused(err, path)


def test_trainer_resume_from_a_malicious_checkpoint_is_refused(tmp_path, marker):
    from tests.engine.tiny import tiny_cfg
    from uptflow.engine.train import build_runner

    runner = build_runner(tiny_cfg(tmp_path / "w", max_iters=1))
    path = _evil_file(tmp_path / "iter_1.pth", _RunsCode(marker), base={"state_dict": {}})
    with pytest.raises(UnsafeWeightsError) as err:
        runner.load_checkpoint(str(path))
    _assert_refused(err, path)


def test_ultralytics_detector_weights_with_a_code_payload_are_refused(tmp_path, marker):
    from evaluation.detection.detectors import build_detector, ultralytics_offline

    ultralytics_offline()
    from ultralytics import YOLO

    path = _evil_file(tmp_path / "yolo_evil.pt", _RunsCode(marker), base={"model": YOLO("yolov8n.yaml").model})
    with pytest.raises(UnsafeWeightsError, match="system") as err:
        build_detector(dict(type="yolov8", checkpoint=str(path)))
    _assert_refused(err, path)


_PROGRESS_OF_A_FRESH_PROCESS = """
import sys
from pathlib import Path
import ultralytics.cfg  # as the fine-tune path does: ultralytics is imported before any detector is built
from evaluation.detection.train import ultralytics_progress
try:
    ultralytics_progress(Path(sys.argv[1]), 3)
except ValueError as e:
    print(type(e).__name__, e)
"""


def test_a_fine_tune_resume_refuses_a_last_checkpoint_with_a_code_payload(tmp_path, marker):
    import subprocess
    import sys

    (tmp_path / "run").mkdir()
    last = _evil_file(tmp_path / "run" / "last.pt", _RunsCode(marker), base={"epoch": 0, "optimizer": {}})
    # a fresh process: an earlier test in this one may already have switched ultralytics' safe loading on
    proc = subprocess.run([sys.executable, "-c", _PROGRESS_OF_A_FRESH_PROCESS, str(last)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout.startswith("UnsafeWeightsError") and str(last) in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "system" in proc.stdout


@pytest.mark.mm
@pytest.mark.slow
def test_mmdet_checkpoint_with_a_code_payload_is_refused(tmp_path, marker):
    import mmdet

    from evaluation.detection.detectors import build_detector

    config = Path(mmdet.__file__).parent / ".mim" / "configs" / "yolo" / "yolov3_d53_8xb8-320-273e_coco.py"
    path = _evil_file(tmp_path / "det.pth", _RunsCode(marker), base={"state_dict": {}})
    with pytest.raises(UnsafeWeightsError, match="system") as err:
        build_detector(dict(type="mmdet", config=str(config), checkpoint=str(path),
                            cfg_options={"model.backbone.init_cfg": None}))
    _assert_refused(err, path)


@pytest.mark.mm
@pytest.mark.slow
def test_mmseg_checkpoint_with_a_code_payload_is_refused(tmp_path, marker):
    from evaluation.segmentation.segmenters import build_segmenter

    config = Path(__file__).resolve().parents[1] / "configs" / "segmentation" / "segformer_mit-b0_cityscapes19.py"
    path = _evil_file(tmp_path / "seg.pth", _RunsCode(marker), base={"state_dict": {}})
    with pytest.raises(UnsafeWeightsError, match="system") as err:
        build_segmenter(dict(type="mmseg", config=str(config), checkpoint=str(path)))
    _assert_refused(err, path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", os.urandom(2048), "npz"],
                         ids=["empty", "text", "random-bytes", "numpy-npz-zip"])
def test_unreadable_weights_give_one_line_naming_the_file(tmp_path, content):
    from uptflow.models.checkpoint import load_model

    path = tmp_path / "broken.pth"
    if content == "npz":  # a zip archive, but not torch's layout
        np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
        (tmp_path / "arrays.npz").rename(path)
    else:
        path.write_bytes(content)
    with pytest.raises(UnsafeWeightsError, match="not a readable") as err:
        load_model(path)
    _assert_refused(err, path)


# ------------------------------------------------------------------------------------------ the suite's work dir
def test_suite_runs_never_delete_the_users_dotfiles(tmp_path):
    from evaluation.suite.config import validate_config
    from evaluation.suite.stages import Suite
    from tests.evaluation.test_run_all import _tiny_config

    work = tmp_path / "work"
    keep = [work / ".env", work / ".gitignore", work / "sub" / ".gitkeep", work / "state" / ".gitkeep",
            work / ".x.json.uptflow-tmp-notours.json"]
    for p in keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("mine")
    stray = [work / "state" / ".score.json.uptflow-tmp-abc123.json", work / ".run_info-shard-0-of-1.json"
             ".uptflow-tmp-k9.json"]
    for p in stray:
        p.write_text("{")
    cfg = _tiny_config(tmp_path, tasks=("enhancement",))
    cfg["enhancers"] = cfg["enhancers"][:2]
    for resume in (False, True):  # a fresh run, then a resumed one
        assert Suite(validate_config(cfg), resume=resume, progress=False).run() == 0
        assert all(p.read_text() == "mine" for p in keep)
    assert not any(p.exists() for p in stray)


# ------------------------------------------------------------------------------------------ bad images and files
def _bomb(path: Path) -> Path:
    """A small PNG that claims 400 million pixels (Pillow refuses it as a decompression bomb)."""
    from PIL import Image

    Image.new("1", (20000, 20000)).save(path)
    return path


def test_a_decompression_bomb_is_one_readable_error_not_a_traceback(tmp_path):
    from uptflow.utils.io import imread_rgb

    with pytest.raises(ValueError, match="decompression bomb") as err:
        imread_rgb(_bomb(tmp_path / "bomb.png"))
    assert str(tmp_path / "bomb.png") in str(err.value)


def test_bad_images_in_a_dataset_are_skipped_counted_and_the_rest_is_scored(tmp_path, capsys):
    from evaluation.enhancement.__main__ import main
    from tests.evaluation.datasets.image_trees import make_pair_dirs

    root = make_pair_dirs(tmp_path / "d", n=3)
    _bomb(root / "low" / "1.png")
    (root / "low" / "2.png").write_bytes((root / "low" / "2.png").read_bytes()[:200])  # truncated
    rc = main(["--data", str(root), "--dataset", "paired", "--enhancer", "gamma", "--work-dir", str(tmp_path / "w"),
               "--figure-images", "0", "--no-cache", "--device", "cpu", "--no-progress"])
    err = capsys.readouterr()
    assert rc == 1 and "decompression bomb" in err.err and "2.png" in err.err
    summary = (tmp_path / "w" / "summary.csv").read_text().splitlines()
    assert summary[1].split(",")[1:3] == ["1", "2"]  # 1 image scored, 2 skipped


def test_the_suite_scores_the_good_images_of_a_dataset_with_a_bad_one(tmp_path, capsys):
    from evaluation.suite.config import validate_config
    from evaluation.suite.stages import Suite
    from tests.evaluation.test_run_all import _tiny_config

    cfg = _tiny_config(tmp_path, tasks=("enhancement",))
    cfg["enhancers"] = cfg["enhancers"][:2]
    cfg["report"] = dict(html=False)
    bad = tmp_path / "data" / "frames" / "frame001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    for resume in (False, True):  # the resumed run finds it again (reading, and in the finished units' records)
        suite = Suite(validate_config(cfg), resume=resume, progress=False)
        assert suite.run() == 1  # something was left out: the exit status says so
        # one bad file counts once in the run, although every enhancer's unit left it out too
        assert suite.counts["images_skipped"] == 1 and not suite.failures
        assert [b["file"] for b in suite.bad_images] == [str(bad)]
        out = capsys.readouterr().out
        assert "images_skipped: 1" in out and out.count(f"SKIPPED image {bad}") == 2  # when found, in the summary
    table = (tmp_path / "work" / "tables" / "enhancement_unpaired.md").read_text()
    assert "of another size; the units' metrics.json says which and why): Frames (gamma): 1, Frames (input): 1." \
        in table  # each enhancer's table says what it lacks
    assert "| gamma" in table  # the two good frames are scored


def test_a_foreign_checkpoint_error_is_capped_to_a_short_line(tmp_path):
    from uptflow.enhancers import build_enhancer

    path = tmp_path / "foreign.pt"
    torch.save({f"layer{i}.weight": torch.zeros(1) for i in range(1900)}, path)
    with pytest.raises(ValueError) as err:
        build_enhancer("sci", weights=path)
    msg = str(err.value)
    assert len(msg) < 600 and "1,897 more" in msg and "\n" not in msg


def test_empty_selections_and_empty_merges_are_errors(tmp_path, capsys):
    from evaluation.run_all import main
    from tests.evaluation.test_run_all import _tiny_config, _write_config

    path = _write_config(tmp_path / "c.py", _tiny_config(tmp_path))
    assert main(["--config", str(path), "--only", ""]) == 2
    assert "--only: the list is empty" in capsys.readouterr().err
    assert main(["--config", str(path), "--work-dir", str(tmp_path / "m"), "--merge"]) == 2
    assert "no results of this config found" in capsys.readouterr().err


def test_enhance_killed_mid_run_leaves_no_partial_files_and_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from uptflow.utils.io import imwrite_rgb

    for i in range(40):
        imwrite_rgb(tmp_path / "in" / f"{i:03d}.png", np.full((96, 128, 3), i, np.uint8))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "uptflow", "enhance", str(tmp_path / "in"), "--work-dir", str(out), "--enhancer",
           "clahe", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    def finished() -> list[Path]:  # pathlib's "*.png" also matches the hidden temporary file being written
        return [p for p in out.glob("*.png") if not p.name.startswith(".")]

    while time.time() < deadline and len(finished()) < 3 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in finished()}
    assert 3 <= len(done) < 40, "the kill came too late; make the input bigger"
    assert len(list(out.glob(".*"))) <= 1  # at most the one image being written, never a half-written PNG
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    from uptflow.utils.io import imread_rgb

    assert len(finished()) == 40 and all(imread_rgb(p).shape == (96, 128, 3) for p in finished())
    assert not list(out.glob(".*"))  # and no temporary file is left
    assert all((out / n).stat().st_mtime_ns == t for n, t in done.items())  # finished outputs were reused


@pytest.mark.parametrize("mode, suffix", [("P", ".png"), ("LA", ".png"), ("CMYK", ".jpg")])
def test_images_stored_in_other_colour_modes_are_read_as_their_rgb_colours(tmp_path, mode, suffix):
    from PIL import Image

    from uptflow.utils.io import imread_rgb

    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16], rgb[:, 16:32], rgb[:, 32:] = (200, 30, 30), (30, 200, 30), (30, 30, 200)
    path = tmp_path / f"img{suffix}"
    Image.fromarray(rgb).convert(mode).save(path)
    with Image.open(path) as im:
        expected = np.asarray(im.convert("RGB"))
    got = imread_rgb(path)
    assert np.array_equal(got, expected)
    if mode != "LA":  # the colours survive (a palette read as its indices would come out grey)
        assert got[:, 40, 2].mean() > got[:, 40, 0].mean() + 100
    from uptflow.enhancers import build_enhancer

    with Image.open(path) as im:  # an opened image given to the API is read the same way as its file
        assert np.array_equal(build_enhancer("identity")(im), got)


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "HSV"])
def test_pil_images_in_other_colour_spaces_are_enhanced_from_their_rgb_colours(mode):
    from PIL import Image

    from uptflow.enhancers import build_enhancer

    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24], rgb[:, 24:] = (200, 30, 30), (30, 30, 200)
    im = Image.fromarray(rgb).convert(mode)
    assert np.abs(build_enhancer("identity")(im).astype(int) - np.asarray(im.convert("RGB"))).max() == 0


@pytest.mark.parametrize("values, dtype", [((0, 176), np.int32), ((0, 264), np.int32), ((0, 300), np.int64)])
def test_integer_pixels_of_unknown_bit_depth_are_refused_not_guessed(tmp_path, values, dtype):
    from PIL import Image

    from uptflow.utils.io import imread_rgb, to_rgb_uint8

    a = np.linspace(*values, 64).reshape(8, 8).astype(dtype)
    with pytest.raises(ValueError, match="has no known bit depth; give 8-bit .* or 16-bit"):
        to_rgb_uint8(a)  # even values up to 255: a dark 16-bit frame held as int32 would read 257x too bright
    eight_bit = np.clip(a, 0, 255)
    assert np.array_equal(to_rgb_uint8(eight_bit.astype(np.uint16) * 257)[..., 0], eight_bit)  # uint16: exact
    Image.fromarray(a.astype(np.int32)).save(tmp_path / "i32.tif")  # a 32-bit file: whatever its values
    with pytest.raises(ValueError, match="i32.tif: a 32-bit integer image .* has no known bit depth"):
        imread_rgb(tmp_path / "i32.tif")


def test_a_failure_line_names_the_error_class_without_its_module_path(tmp_path, capsys):
    from evaluation.suite.config import validate_config
    from evaluation.suite.stages import Suite
    from tests.evaluation.test_run_all import _tiny_config
    from uptflow.registry import SettingsError

    suite = Suite(validate_config(_tiny_config(tmp_path, tasks=("enhancement",))), resume=False, progress=False)
    suite.fail("dataset/frames", SettingsError("frames.fps: must be > 0\n(a second line)"))
    assert suite.failures == [dict(unit="dataset/frames", error="SettingsError: frames.fps: must be > 0")]
    assert capsys.readouterr().out.strip().endswith("FAILED dataset/frames: SettingsError: frames.fps: must be > 0")


@pytest.mark.parametrize("spoil", ["size", "unreadable"])
def test_a_pair_with_a_bad_reference_is_left_out_of_the_suites_tables_and_grid(tmp_path, spoil):
    from evaluation.suite.config import validate_config
    from evaluation.suite.stages import Suite
    from tests.evaluation.datasets.image_trees import make_pair_dirs
    from tests.evaluation.test_run_all import _tiny_config

    root = make_pair_dirs(tmp_path / "pairs", n=2)
    if spoil == "size":  # the first pair: the grid's first row
        imwrite_rgb(root / "high" / "0.png", np.zeros((8, 8, 3), np.uint8))
    else:
        (root / "high" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    cfg = _tiny_config(tmp_path, tasks=("enhancement",))
    cfg["enhancers"] = cfg["enhancers"][:2]
    cfg["datasets"] = dict(pairs=dict(type="paired", root=str(root), title="Pairs"))
    cfg["tasks"] = dict(enhancement=dict(paired=["pairs"]))
    suite = Suite(validate_config(cfg), progress=False)
    assert suite.run() == 1 and not suite.failures  # left out and said so, but nothing failed (the report neither)
    table = (tmp_path / "work" / "tables" / "enhancement_paired.md").read_text()
    assert "Images left out (unreadable, or a reference or label of another size" in table
    assert (tmp_path / "work" / "report" / "index.html").is_file()

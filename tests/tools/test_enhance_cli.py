"""``uptflow enhance INPUT... --work-dir OUT``: files, folders, links and globs; resumable and never stale, atomic,
failures reported, seeded, batched; outputs, hidden files and videos are never inputs; a user's files are never
overwritten."""

import numpy as np
import pytest

from tests.models.tiny import tiny_uptflow
from uptflow.cli import main
from uptflow.models import save_model
from uptflow.tools.enhance import collect_inputs, output_paths
from uptflow.utils.io import imread_rgb, imwrite_rgb, read_png_meta


def _low_image(h: int, w: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 80).astype(np.uint8)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_model(tiny_uptflow(), tmp_path_factory.mktemp("w") / "w.pth")


def test_folder_is_enhanced_resumably_and_a_bad_file_is_reported(tmp_path, capsys, weights):
    src, out = tmp_path / "in", tmp_path / "out"
    imwrite_rgb(src / "a.png", _low_image(24, 32, 1))
    imwrite_rgb(src / "sub" / "b.png", _low_image(16, 40, 2))
    (src / "broken.png").write_bytes(b"not an image")
    args = ["enhance", str(src), "--work-dir", str(out), "--enhancer-weights", str(weights), "--tile", "0",
            "--device", "cpu"]
    assert main(args) == 1
    assert "broken.png" in capsys.readouterr().err
    assert imread_rgb(out / "a.png").shape == (24, 32, 3) and imread_rgb(out / "sub" / "b.png").shape == (16, 40, 3)
    assert not list(out.rglob(".*")) and not (out / "broken.png").exists()  # no temp files left behind
    stamp = (out / "a.png").stat().st_mtime_ns
    (src / "broken.png").unlink()
    assert main(args) == 0
    assert (out / "a.png").stat().st_mtime_ns == stamp
    assert "2 reused" in capsys.readouterr().out


@pytest.mark.parametrize("batch", ["1", "2"])
def test_each_unreadable_image_is_one_line_naming_it_once(tmp_path, capsys, batch):
    from PIL import Image

    src = tmp_path / "in"
    imwrite_rgb(src / "a.png", _low_image(24, 32, 1))
    imwrite_rgb(tmp_path / "whole.png", _low_image(64, 64, 2))
    Image.fromarray(_low_image(64, 64, 3)).save(tmp_path / "whole.jpg", quality=90)
    for name in ("whole.png", "whole.jpg"):  # cut in half: the JPEG's header and EXIF read (it is batched), the
        whole = (tmp_path / name).read_bytes()  # PNG's EXIF, looked for after the pixels, does not (it is not)
        (src / name.replace("whole.", "cut_")).with_suffix(name[-4:]).write_bytes(whole[:len(whole) // 2])
    (src / "junk.png").write_bytes(b"not an image")
    rc = main(["enhance", str(src), "--work-dir", str(tmp_path / "out"), "--enhancer", "gamma", "--device", "cpu",
               "--batch-size", batch, "--no-progress"])
    failed = sorted(line for line in capsys.readouterr().err.splitlines() if line.startswith("FAILED"))
    assert rc == 1 and len(failed) == 3
    assert failed[0].startswith(f"FAILED {src / 'cut_jpg.jpg'}: image file is truncated (")
    assert failed[1:] == [f"FAILED {src / 'cut_png.png'}: image file is truncated",
                          f"FAILED {src / 'junk.png'}: not a recognised image format"]


def test_outputs_are_recomputed_when_the_enhancer_weights_or_input_change(tmp_path, capsys, weights):
    src, out = tmp_path / "in", tmp_path / "out"
    imwrite_rgb(src / "a.png", _low_image(24, 32, 1))
    assert main(["enhance", str(src), "--work-dir", str(out), "--enhancer", "gamma", "--device", "cpu"]) == 0
    made_by = read_png_meta(out / "a.png")
    assert made_by["enhancer"]["name"] == "gamma" and len(made_by["input_sha256"]) == 64
    assert main(["enhance", str(src), "--work-dir", str(out), "--enhancer", "clahe", "--device", "cpu"]) == 0
    assert read_png_meta(out / "a.png")["enhancer"]["name"] == "clahe"  # not the stale gamma image
    imwrite_rgb(src / "a.png", _low_image(24, 32, 9))  # the input changed
    assert main(["enhance", str(src), "--work-dir", str(out), "--enhancer", "clahe", "--device", "cpu"]) == 0
    assert "1 enhanced" in capsys.readouterr().out.splitlines()[-1]
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"garbage")
    rc = main(["enhance", str(src), "--work-dir", str(out), "--enhancer-weights", str(broken), "--device", "cpu"])
    assert rc == 2 and "broken.pth: not a readable UPT-Flow weights" in capsys.readouterr().err


def test_set_gives_the_enhancer_a_setting_that_its_outputs_record_and_another_set_recomputes(tmp_path, capsys,
                                                                                           weights):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(24, 32, 1))
    args = ["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / "out"), "--enhancer-weights", str(weights),
            "--tile", "0", "--device", "cpu", "--no-progress"]
    assert main([*args, "--set", "uptflow.blend=linear"]) == 0
    assert read_png_meta(tmp_path / "out" / "a.png")["enhancer"]["params"]["blend"] == "linear"
    assert main([*args, "--set", "blend=linear"]) == 0  # the label may be left out: there is one enhancer
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 enhanced, 1 reused")
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("1 enhanced, 0 reused") and "(uptflow with other settings)" in captured.err
    assert read_png_meta(tmp_path / "out" / "a.png")["enhancer"]["params"]["blend"] == "cosine"


def test_a_numeric_set_value_reaches_the_enhancer_as_a_number(tmp_path):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(24, 32, 1))
    assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / "out"), "--enhancer", "gamma",
                 "--set", "gamma.gamma=1.8", "--no-progress"]) == 0
    assert read_png_meta(tmp_path / "out" / "a.png")["enhancer"]["params"] == {"gamma": 1.8}


def test_a_work_dir_holding_another_enhancers_outputs_is_said_so_in_one_warning_line(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a.png", "b.png"):
        imwrite_rgb(src / name, _low_image(8, 8, 0))
    assert _gamma(str(src), "--work-dir", str(out), "--no-progress") == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["enhance", str(src / "a.png"), "--work-dir", str(out), "--enhancer", "clahe", "--device", "cpu",
                 "--no-progress"]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and f"--work-dir {out} holds 2 output(s)" in warning[0] and "(gamma)" in warning[0]
    assert "replaces 1 and keeps 1" in warning[0] and "b.png" in warning[0]
    assert [read_png_meta(out / n)["enhancer"]["name"] for n in ("a.png", "b.png")] == ["clahe", "gamma"]
    assert _gamma(str(src), "--work-dir", str(out), "--no-progress") == 0
    assert "(clahe): this run replaces 1 and keeps 0" in capsys.readouterr().err


def test_no_progress_leaves_only_the_summary(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(24, 32, 1))
    args = ["enhance", str(tmp_path / "in"), "--enhancer", "gamma", "--work-dir"]
    assert main([*args, str(tmp_path / "quiet"), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "enhance (gamma)" not in err and out.startswith("1 enhanced")
    assert main([*args, str(tmp_path / "bar")]) == 0
    assert "enhance (gamma)" in capsys.readouterr().err  # the bar, by default


def test_an_output_folder_inside_the_input_folder_is_never_an_input(tmp_path, capsys):
    src = tmp_path / "photos"
    imwrite_rgb(src / "a.png", _low_image(16, 16, 0))
    for _ in range(2):
        assert main(["enhance", str(src), "--work-dir", str(src / "out"), "--enhancer", "gamma",
                     "--device", "cpu"]) == 0
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*.png")) == ["a.png", "out/a.png"]
    assert main(["enhance", str(src / "out" / "a.png"), "--work-dir", str(src / "out"), "--enhancer", "gamma"]) == 2
    assert "inside the output folder" in capsys.readouterr().err


def test_files_and_quoted_globs_are_expanded_and_missing_inputs_fail(tmp_path, capsys, weights):
    for i, name in enumerate(["x/one.jpg", "x/deep/two.png", "y/three.png"]):
        imwrite_rgb(tmp_path / name, _low_image(16, 16, i))
    out = tmp_path / "out"
    args = ["enhance", str(tmp_path / "x" / "**" / "*.*"), str(tmp_path / "y" / "three.png"),
            str(tmp_path / "nope.png"), "-o", str(out), "--weights", str(weights), "--device", "cpu"]
    assert main(args) == 1  # the missing input is a failure, the others are done
    captured = capsys.readouterr()
    assert "nope.png" in captured.err and "3 enhanced" in captured.out
    assert "-o is deprecated" in captured.err and "--weights is deprecated" in captured.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["deep/two.png", "one.png",
                                                                                  "three.png"]


def test_batches_of_same_size_images_equal_one_by_one(tmp_path, weights):
    for i in range(5):
        imwrite_rgb(tmp_path / "in" / f"f{i}.png", _low_image(24, 32, i))
    imwrite_rgb(tmp_path / "in" / "odd.png", _low_image(16, 16, 7))
    for name, batch in (("one", "1"), ("four", "4")):
        assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / name), "--enhancer-weights",
                     str(weights), "--batch-size", batch, "--device", "cpu"]) == 0
    for p in (tmp_path / "one").glob("*.png"):
        diff = np.abs(imread_rgb(p).astype(int) - imread_rgb(tmp_path / "four" / p.name)).max()
        assert diff <= 1, p.name  # batched convolutions may round the last bit differently


def test_inputs_writing_the_same_output_are_rejected(tmp_path):
    imwrite_rgb(tmp_path / "a" / "img.png", _low_image(8, 8, 0))
    imwrite_rgb(tmp_path / "b" / "img.jpg", _low_image(8, 8, 1))
    pairs, errors = collect_inputs([str(tmp_path / "a"), str(tmp_path / "b" / "img.jpg"), str(tmp_path / "a")])
    assert len(pairs) == 2 and not errors  # the folder given twice counts once
    with pytest.raises(ValueError, match="both be written"):
        output_paths(pairs, tmp_path / "out")


@pytest.mark.parametrize("argv, message", [
    (["--enhancer", "uptflw"], "error: unknown enhancer 'uptflw' (did you mean uptflow? registered: "),
    (["--enhancer-weights", "/nowhere/w.pth"], "/nowhere/w.pth"),
    (["--tile", "big"], "--tile: expected auto, 0 or a tile side"),
    (["--device", "cuda"], "torch sees no GPU"),
    (["--batch-size", "0"], "--batch-size: must be >= 1"),
    (["--enhancer", "gamma", "--heat", "0.5", "--tile", "64"], "--tile, --heat: option(s) of --enhancer uptflow"),
    (["--heat", "nan"], "heat must be a finite number"),
    (["--tile", "8"], "overlap=32 must be smaller than tile=8"),
    (["--work-dir", "in/a.png"], "a.png: exists and is not a folder"),
    (["--work-dir", "in/a.png/sub"], "in/a.png is a file, not a folder"),
    (["--enhancer-weights", "in/"], "/in is a folder, not a file"),
    (["--enhancer", "gamma", "--set", "gamma.gama=2"], "gamma.gama: unknown setting of Gamma (did you mean gamma?"),
    (["--set", "clahe.clip_limit=2"], "--set clahe.clip_limit=2: expected KEY=VALUE or uptflow.KEY=VALUE"),
    (["--set", "uptflow.device=cpu"], "--set uptflow.device=cpu: not a setting of the enhancer; give --device"),
    (["--heat", "0.5", "--set", "heat=0.2"], "--heat and --set uptflow.heat: the same setting given twice"),
])
def test_mistakes_are_one_line_with_exit_status_2(tmp_path, capsys, argv, message):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(8, 8, 0))
    argv = [str(tmp_path / a) if a.startswith("in/") else a for a in argv]  # paths in the test's folder
    assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("error: ")


def test_tile_statistics_option_chooses_shared_or_tile_local_pools(tmp_path, weights):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(48, 64, 4))
    outs = {}
    for mode in ("image", "tile"):
        assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / mode), "--enhancer-weights",
                     str(weights), "--tile", "32", "--overlap", "8", "--tile-statistics", mode]) == 0
        outs[mode] = imread_rgb(tmp_path / mode / "a.png")
    assert outs["image"].shape == (48, 64, 3) and np.abs(outs["image"].astype(int) - outs["tile"]).max() > 0


def test_an_output_records_whether_the_image_was_tiled(tmp_path):
    from uptflow.enhancers.uptflow import UPTFlowEnhancer
    from uptflow.tools.enhance import output_identity

    imwrite_rgb(tmp_path / "a.png", _low_image(80, 96, 5))
    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=10**12)
    whole = output_identity(enh, tmp_path / "a.png")
    enh.memory_budget = 64 * 64 * enh.bytes_per_pixel()
    tiled = output_identity(enh, tmp_path / "a.png")
    # the identities differ, so neither output is ever reused for the other
    assert "variant" not in whole["enhancer"] and tiled["enhancer"]["variant"] == "tile 64"


def test_seed_makes_heat_sampling_reproducible(tmp_path, weights):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(24, 24, 3))
    outs = {}
    for name, seed in [("s1", 1), ("s1b", 1), ("s2", 2)]:
        assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / name), "--enhancer-weights",
                     str(weights), "--heat", "0.8", "--seed", str(seed), "--device", "cpu"]) == 0
        outs[name] = imread_rgb(tmp_path / name / "a.png")
    np.testing.assert_array_equal(outs["s1"], outs["s1b"])
    assert np.abs(outs["s1"].astype(int) - outs["s2"]).max() > 0


def _gamma(*argv: str) -> int:
    return main(["enhance", *argv, "--enhancer", "gamma", "--device", "cpu"])


def _pngs(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))


def test_linked_inputs_are_named_after_the_link(tmp_path):
    imwrite_rgb(tmp_path / "in" / "rgb.png", _low_image(8, 8, 0))
    imwrite_rgb(tmp_path / "mix" / "b.png", _low_image(8, 8, 1))
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "my_photo.png").symlink_to(tmp_path / "in" / "rgb.png")
    (tmp_path / "mix" / "link.png").symlink_to(tmp_path / "in" / "rgb.png")
    assert _gamma(str(tmp_path / "links" / "my_photo.png"), "--work-dir", str(tmp_path / "outlinks")) == 0
    assert _pngs(tmp_path / "outlinks") == ["my_photo.png"]
    assert _gamma(str(tmp_path / "mix" / "*.png"), "--work-dir", str(tmp_path / "outmix")) == 0
    assert _pngs(tmp_path / "outmix") == ["b.png", "link.png"]


def test_linked_subfolders_are_followed_once_and_a_link_cycle_ends(tmp_path):
    imwrite_rgb(tmp_path / "in" / "rgb.png", _low_image(8, 8, 0))
    imwrite_rgb(tmp_path / "top" / "a.png", _low_image(8, 8, 1))
    (tmp_path / "top" / "linked").symlink_to(tmp_path / "in", target_is_directory=True)
    (tmp_path / "top" / "loop").symlink_to(tmp_path / "top", target_is_directory=True)
    assert _gamma(str(tmp_path / "top"), "--work-dir", str(tmp_path / "out")) == 0
    assert _pngs(tmp_path / "out") == ["a.png", "linked/rgb.png"]


def test_files_in_the_work_dir_that_enhance_did_not_write_are_never_overwritten(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("rgb.png", "b.png", "sub/c.png"):
        imwrite_rgb(src / name, _low_image(8, 8, 0))
    assert _gamma(str(src / "b.png"), "--work-dir", str(out)) == 0  # an own output: reused or redone
    imwrite_rgb(out / "rgb.png", _low_image(8, 8, 5))  # the user's own file
    (out / "sub").write_bytes(b"a file where the output needs a folder")
    mine = (out / "rgb.png").read_bytes()
    capsys.readouterr()
    assert _gamma(str(src), "--work-dir", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --work-dir ") and "rgb.png" in err[0] and "sub" in err[0]
    assert "another --work-dir" in err[0] and "out/b.png" not in err[0]
    assert (out / "rgb.png").read_bytes() == mine and _pngs(out) == ["b.png", "rgb.png"]  # nothing written


def test_earlier_outputs_among_the_inputs_are_skipped_and_counted(tmp_path, capsys):
    parent = tmp_path / "parent"
    imwrite_rgb(parent / "a.png", _low_image(8, 8, 0))
    assert _gamma(str(parent), "--work-dir", str(parent / "sub")) == 0
    capsys.readouterr()
    assert _gamma(str(parent), "--work-dir", str(parent / "out2")) == 0
    captured = capsys.readouterr()
    assert _pngs(parent / "out2") == ["a.png"]
    assert "skipped: 1 input is an uptflow enhance output" in captured.err
    assert _gamma(str(parent / "sub" / "a.png"), "--work-dir", str(tmp_path / "out3")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: nothing to enhance: 1 input is an uptflow enhance output")


def test_videos_are_refused_saying_how_to_get_frames(tmp_path, capsys):
    (tmp_path / "vid").mkdir()
    for name in ("clip.mp4", "other.MOV"):
        (tmp_path / "vid" / name).write_bytes(b"not decoded")
    for given in (tmp_path / "vid" / "clip.mp4", tmp_path / "vid"):
        assert _gamma(str(given), "--work-dir", str(tmp_path / "out")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "video" in err[0] and "ffmpeg" in err[0] and "docs/traffic.md" in err[0]


def test_an_empty_folder_is_one_error_line(tmp_path, capsys):
    (tmp_path / "emptydir").mkdir()
    assert _gamma(str(tmp_path / "emptydir"), "--work-dir", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no images in ") and err[0].endswith("emptydir")


def test_options_are_never_abbreviated_and_out_is_the_shared_old_spelling(tmp_path, capsys):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(8, 8, 0))
    assert _gamma(str(tmp_path / "in"), "--out", str(tmp_path / "o")) == 0
    assert "warning: --out is deprecated and will be removed; use --work-dir" in capsys.readouterr().err
    assert _pngs(tmp_path / "o") == ["a.png"]
    with pytest.raises(SystemExit) as exit_:
        _gamma(str(tmp_path / "in"), "--work", str(tmp_path / "o2"))
    assert exit_.value.code == 2 and "unrecognized arguments: --work" in capsys.readouterr().err


def test_hidden_files_and_folders_are_not_searched(tmp_path):
    for name in ("hid/ok.png", "hid/.thumbnails/a.png", "hid/.b.png", "hid/sub/.cache/c.png"):
        imwrite_rgb(tmp_path / name, _low_image(8, 8, 0))
    assert _gamma(str(tmp_path / "hid"), "--work-dir", str(tmp_path / "out")) == 0
    assert _gamma(str(tmp_path / "hid" / "**" / "*.png"), "--work-dir", str(tmp_path / "out_glob")) == 0
    assert _pngs(tmp_path / "out") == _pngs(tmp_path / "out_glob") == ["ok.png"]


def test_a_diverged_decode_is_one_warning_line_naming_its_image(tmp_path, capsys, weights, monkeypatch):
    from uptflow.models import UPTFlow

    decode = UPTFlow.decode

    def diverging(self, *args, **kwargs):
        out = decode(self, *args, **kwargs)
        out[..., :4, :4] = float("inf")
        return out

    monkeypatch.setattr(UPTFlow, "decode", diverging)
    src = tmp_path / "in"
    imwrite_rgb(src / "a.png", _low_image(16, 16, 1))
    imwrite_rgb(src / "b.png", _low_image(16, 32, 2))
    assert main(["enhance", str(src), "--work-dir", str(tmp_path / "out"), "--enhancer-weights", str(weights),
                 "--tile", "0", "--device", "cpu", "--heat", "1", "--no-progress"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warned == [f"warning: {src / 'a.png'}: the reverse flow diverged at heat 1 on 6.25% of the output values "
                      "(|x| > 4 or not finite; clamped, they show as saturated blocks): use a lower heat",
                      f"warning: {src / 'b.png'}: the reverse flow diverged at heat 1 on 3.12% of the output values "
                      "(|x| > 4 or not finite; clamped, they show as saturated blocks): use a lower heat"]

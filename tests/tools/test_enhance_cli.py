"""``uptflow enhance INPUT... -o OUT``: files, folders and globs; resumable, atomic, failures reported, seeded."""

import numpy as np
import pytest

from tests.models.tiny import tiny_uptflow
from uptflow.cli import main
from uptflow.models import save_model
from uptflow.tools.enhance import collect_inputs, output_paths
from uptflow.utils.io import imread_rgb, imwrite_rgb


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
    args = ["enhance", str(src), "-o", str(out), "--weights", str(weights), "--tile", "0"]
    assert main(args) == 1
    assert "broken.png" in capsys.readouterr().out
    assert imread_rgb(out / "a.png").shape == (24, 32, 3) and imread_rgb(out / "sub" / "b.png").shape == (16, 40, 3)
    assert not list(out.rglob(".*")) and not (out / "broken.png").exists()  # no temp files left behind
    stamp = (out / "a.png").stat().st_mtime_ns
    (src / "broken.png").unlink()
    assert main(args) == 0
    assert (out / "a.png").stat().st_mtime_ns == stamp
    assert "2 skipped" in capsys.readouterr().out


def test_files_and_quoted_globs_are_expanded_and_missing_inputs_fail(tmp_path, capsys, weights):
    for i, name in enumerate(["x/one.jpg", "x/deep/two.png", "y/three.png"]):
        imwrite_rgb(tmp_path / name, _low_image(16, 16, i))
    out = tmp_path / "out"
    args = ["enhance", str(tmp_path / "x" / "**" / "*.*"), str(tmp_path / "y" / "three.png"),
            str(tmp_path / "nope.png"), "-o", str(out), "--weights", str(weights)]
    assert main(args) == 1  # the missing input is a failure, the others are done
    printed = capsys.readouterr().out
    assert "nope.png" in printed and "3 enhanced" in printed
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["deep/two.png", "one.png",
                                                                                  "three.png"]


def test_inputs_writing_the_same_output_are_rejected(tmp_path):
    imwrite_rgb(tmp_path / "a" / "img.png", _low_image(8, 8, 0))
    imwrite_rgb(tmp_path / "b" / "img.jpg", _low_image(8, 8, 1))
    pairs, errors = collect_inputs([str(tmp_path / "a"), str(tmp_path / "b" / "img.jpg"), str(tmp_path / "a")])
    assert len(pairs) == 2 and not errors  # the folder given twice counts once
    with pytest.raises(ValueError, match="both be written"):
        output_paths(pairs, tmp_path / "out")


def test_seed_makes_heat_sampling_reproducible(tmp_path, weights):
    imwrite_rgb(tmp_path / "in" / "a.png", _low_image(24, 24, 3))
    outs = {}
    for name, seed in [("s1", 1), ("s1b", 1), ("s2", 2)]:
        assert main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / name), "--weights", str(weights),
                     "--heat", "0.8", "--seed", str(seed)]) == 0
        outs[name] = imread_rgb(tmp_path / name / "a.png")
    np.testing.assert_array_equal(outs["s1"], outs["s1b"])
    assert np.abs(outs["s1"].astype(int) - outs["s2"]).max() > 0

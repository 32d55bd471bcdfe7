"""Enhancement benchmark: dataset readers, tables, saved images, figure, resume, CLI (synthetic data only)."""

import numpy as np
import pandas as pd
import pytest
from skimage import data

from evaluation.enhancement import EnhancerSpec, read_paired, read_unpaired, run_benchmark
from evaluation.enhancement.__main__ import main, parse_specs
from evaluation.enhancement.datasets import UnmatchedError
from uptflow.metrics import psnr
from uptflow.utils.io import imread_rgb, imwrite_rgb


def _photo(i: int) -> np.ndarray:
    img = data.astronaut() if i % 2 == 0 else data.coffee()
    return np.ascontiguousarray(img[:192, 100 + 10 * i:292 + 10 * i])


def _make_pair_dirs(root, low_name="low", high_name="high", n=2, extra_low=()):
    (root / low_name).mkdir(parents=True)
    (root / high_name).mkdir(parents=True)
    for i in range(n):
        gt = _photo(i)
        imwrite_rgb(root / high_name / f"{i}.png", gt)
        imwrite_rgb(root / low_name / f"{i}.png", (gt // 4).astype(np.uint8))
    for name in extra_low:
        imwrite_rgb(root / low_name / f"{name}.png", (_photo(0) // 4).astype(np.uint8))


def test_readers_understand_lol_v1_lol_v2_and_unpaired_layouts(tmp_path):
    _make_pair_dirs(tmp_path / "LOL" / "our485")
    _make_pair_dirs(tmp_path / "LOL" / "eval15", n=1)
    samples = read_paired(tmp_path / "LOL")
    assert [(s.group, s.name) for s in samples] == [("eval15", "0"), ("our485", "0"), ("our485", "1")]
    assert all(s.gt is not None and s.gt.stem == s.low.stem for s in samples)
    _make_pair_dirs(tmp_path / "LOLv2" / "Real_captured" / "Test", "Low", "Normal", n=1)
    assert [s.group for s in read_paired(tmp_path / "LOLv2")] == ["Real_captured/Test"]
    groups = {s.group for s in read_unpaired(tmp_path / "LOL")}
    assert groups == {"our485/low", "our485/high", "eval15/low", "eval15/high"}


def test_lol_v2_real_file_prefixes_are_ignored_when_pairing(tmp_path):
    root = tmp_path / "LOL-v2" / "Real_captured" / "Test"
    _make_pair_dirs(root, "Low", "Normal", n=2)
    for folder, prefix in (("Low", "low"), ("Normal", "normal")):
        for f in sorted((root / folder).iterdir()):
            f.rename(f.with_name(f"{prefix}{int(f.stem) + 1:05d}.png"))
    samples = read_paired(tmp_path / "LOL-v2")
    assert [(s.low.name, s.gt.name) for s in samples] == [("low00001.png", "normal00001.png"),
                                                          ("low00002.png", "normal00002.png")]


def test_paired_reader_lists_unmatched_images_or_keeps_them_as_unpaired(tmp_path):
    _make_pair_dirs(tmp_path, extra_low=("lonely",))
    with pytest.raises(UnmatchedError, match=r"\['lonely'\]"):
        read_paired(tmp_path)
    samples = read_paired(tmp_path, allow_unmatched=True)
    assert [s.gt is None for s in samples] == [False, False, True]
    with pytest.raises(ValueError, match="no paired sub-folders"):
        read_paired(tmp_path / "low")


def test_benchmark_writes_tables_images_figure_and_resumes(tmp_path, monkeypatch):
    _make_pair_dirs(tmp_path / "data", extra_low=("nogt",))
    samples = read_paired(tmp_path / "data", allow_unmatched=True)
    specs = [EnhancerSpec("identity", "identity"), EnhancerSpec("g3", "gamma", kwargs={"gamma": 3.0})]
    out = tmp_path / "out"
    table = run_benchmark(samples, specs, out, figure_images=2)
    assert len(table) == 6 and set(table["enhancer"]) == {"identity", "g3"}
    row = table[(table.enhancer == "g3") & (table.name == "0")].iloc[0]
    saved = imread_rgb(out / "images/g3/data/0.png")
    assert row["psnr"] == pytest.approx(psnr(saved, imread_rgb(samples[0].gt)))
    assert np.isnan(table[table.name == "nogt"]["psnr"]).all()  # unmatched image: no full-reference metrics
    assert (table.loc[table.enhancer == "identity", "loe"] == 0).all()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["enhancer"]) == ["identity", "g3"]
    assert list(summary["paired"]) == [2, 2] and list(summary["images"]) == [3, 3]
    g3 = table[(table.enhancer == "g3") & table.paired.astype(bool)]
    assert summary.loc[1, "psnr"] == pytest.approx(g3["psnr"].mean())
    md = (out / "summary.md").read_text()
    assert "psnr ↑" in md and "niqe ↓" in md
    assert (out / "summary_by_group.md").is_file() and (out / "comparison.png").stat().st_size > 1000

    def boom(*a, **k):
        raise AssertionError("resumed run must not rebuild enhancers whose rows are done")

    monkeypatch.setattr(EnhancerSpec, "build", boom)
    again = run_benchmark(samples, specs, out, figure_images=0)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table.reset_index(drop=True))


def test_cli_parses_labels_weights_and_settings():
    specs = parse_specs("identity,soft:gamma,iat", ["iat=w/iat.pth"], ["soft.gamma=1.5", "iat.variant=lol_v2"])
    assert [(s.label, s.name) for s in specs] == [("identity", "identity"), ("soft", "gamma"), ("iat", "iat")]
    assert specs[1].kwargs == {"gamma": 1.5} and specs[2].weights == "w/iat.pth"
    assert specs[2].kwargs == {"variant": "lol_v2"}
    with pytest.raises(SystemExit, match="names no enhancer"):
        parse_specs("identity", ["zero_dce=x.pth"], [])


def test_cli_runs_end_to_end_and_reports_bad_input(tmp_path, capsys):
    _make_pair_dirs(tmp_path / "data", n=1)
    rc = main(["--data", str(tmp_path / "data"), "--paired", "--enhancers", "identity,histeq", "--out",
               str(tmp_path / "out"), "--figure-images", "0", "--no-lpips", "--gt-mean"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "histeq" in printed and "psnr_gtmean" in printed
    rc = main(["--data", str(tmp_path / "data"), "--paired", "--enhancers", "zero_dce", "--out",
               str(tmp_path / "out2"), "--figure-images", "0"])
    assert rc == 2 and "needs weights=PATH" in capsys.readouterr().err

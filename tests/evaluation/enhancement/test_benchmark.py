"""Enhancement benchmark: scores, saved images, identity-keyed resume, bad images, the command."""

import json

import numpy as np
import pandas as pd
import pytest

from evaluation.benchmark import ProgressLog
from evaluation.datasets import build_reader
from evaluation.enhancement.__main__ import main
from evaluation.enhancement.benchmark import EnhancementBenchmark
from evaluation.work_dirs import OWNER_FILE
from tests.evaluation.datasets.image_trees import make_pair_dirs
from uptflow.enhancers import build_enhancer
from uptflow.metrics import psnr
from uptflow.utils.io import imread_rgb, imwrite_rgb


def _paired(root, **kw):
    return build_reader(dict(type="paired", root=str(root), **kw)).read()


def test_unit_scores_saves_images_and_resumes_only_for_the_same_identity(tmp_path):
    ds = _paired(make_pair_dirs(tmp_path / "data", extra_low=("nogt",)), allow_unmatched=True)
    bench = EnhancementBenchmark(nr_metrics=["NIQE"])
    out = tmp_path / "out"
    res = bench.run(ds, build_enhancer("gamma", gamma=3.0), out, progress=False)
    per = pd.read_csv(out / "per_image.csv", dtype={"name": str})
    row = per[per.name == "data/0"].iloc[0]
    saved = imread_rgb(out / "images" / "data" / "0.png")
    assert row["PSNR"] == pytest.approx(psnr(saved, imread_rgb(ds.samples[0].reference)))
    assert np.isnan(per[per.name == "data/nogt"]["PSNR"]).all()  # unmatched image: no full-reference metrics
    psnr_row = next(r for r in res.rows if r["metric"] == "PSNR")
    assert psnr_row["n"] == 2 and psnr_row["value"] == pytest.approx(per["PSNR"].dropna().mean())
    assert json.loads((out / "metrics.json").read_text())["identity"]["enhancer"]["params"] == {"gamma": 3.0}

    calls = []
    enh = build_enhancer("gamma", gamma=3.0)
    enh.enhance_uint8 = lambda img: calls.append(1) or img  # a resumed unit must not enhance again
    again = bench.run(ds, enh, out, progress=False)
    assert calls == [] and again.rows == res.rows
    other = bench.run(ds, build_enhancer("gamma", gamma=1.5), out, progress=False)  # new identity: recomputed
    assert next(r for r in other.rows if r["metric"] == "PSNR")["value"] != psnr_row["value"]


def test_switching_back_to_an_earlier_identity_starts_it_over_with_its_own_images(tmp_path):
    ds = _paired(make_pair_dirs(tmp_path / "data"))
    bench = EnhancementBenchmark(metrics=["PSNR"], nr_metrics=[])
    out = tmp_path / "out"
    bench.run(ds, build_enhancer("gamma", gamma=3.0), out, progress=False)
    assert {p.name for p in out.iterdir()} == {OWNER_FILE, ProgressLog.folder, *bench.outputs}  # all declared
    first = imread_rgb(out / "images" / "data" / "0.png")
    bench.run(ds, build_enhancer("gamma", gamma=1.5), out, progress=False)
    bench.run(ds, build_enhancer("gamma", gamma=3.0), out, progress=False)  # its log was removed: computed again
    saved = imread_rgb(out / "images" / "data" / "0.png")
    np.testing.assert_array_equal(saved, first)
    per = pd.read_csv(out / "per_image.csv", dtype={"name": str})
    assert per["PSNR"][0] == pytest.approx(psnr(saved, imread_rgb(ds.samples[0].reference)))
    assert len(list((out / "progress").glob("*.jsonl"))) == 1


def test_command_switching_between_one_and_several_enhancers_leaves_no_stale_layout(tmp_path):
    make_pair_dirs(tmp_path / "data", n=1)
    out = tmp_path / "out"
    common = ["--data", str(tmp_path / "data"), "--dataset", "paired", "--metrics", "PSNR", "--work-dir", str(out),
              "--no-cache", "--device", "cpu", "--no-progress"]
    assert main([*common, "--enhancer", "gamma", "--figure-images", "1"]) == 0
    assert (out / "images" / "data" / "0.png").is_file() and (out / "comparison.png").is_file()
    assert main([*common, "--enhancer", "none", "--enhancer", "histeq", "--figure-images", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["histeq", "none", OWNER_FILE, "summary.csv", "summary.md"]
    assert main([*common, "--enhancer", "gamma", "--figure-images", "0"]) == 0
    assert not (out / "histeq").exists() and not (out / "none").exists()
    assert list(pd.read_csv(out / "summary.csv")["enhancer"]) == ["gamma"]


def test_images_read_back_from_the_cache_have_no_runtime(tmp_path):
    ds = _paired(make_pair_dirs(tmp_path / "data"))
    bench = EnhancementBenchmark(metrics=["PSNR"], nr_metrics=[])
    bench.run(ds, build_enhancer("gamma", cache_dir=tmp_path / "cache"), tmp_path / "first", progress=False)
    assert pd.read_csv(tmp_path / "first" / "per_image.csv")["runtime_s"].notna().all()  # enhanced here
    assert "read back" not in (tmp_path / "first" / "summary.md").read_text()
    res = bench.run(ds, build_enhancer("gamma", cache_dir=tmp_path / "cache"), tmp_path / "again", progress=False)
    assert pd.read_csv(tmp_path / "again" / "per_image.csv")["runtime_s"].isna().all()  # a PNG read is no runtime
    assert np.isnan(pd.read_csv(tmp_path / "again" / "summary.csv")["runtime_s"][0])
    assert ("runtime_s: none: all 2 images were read back from the enhanced-image cache"
            in (tmp_path / "again" / "summary.md").read_text())
    assert "runtime" not in res.protocol  # the scores' protocol is the same either way


def test_an_unreadable_image_is_skipped_and_counted_not_fatal(tmp_path):
    root = make_pair_dirs(tmp_path / "data", n=2)
    ds = _paired(root)
    (root / "low" / "1.png").write_bytes(b"\x89PNG broken")
    res = EnhancementBenchmark().run(ds, None, tmp_path / "out", progress=False)
    assert res.n == 1 and res.skipped[0]["file"] == "data/1" and "cannot read image" in res.skipped[0]["reason"]
    assert all(r["n"] == 1 for r in res.rows)


def test_a_mean_that_leaves_out_an_infinite_psnr_says_so(tmp_path):
    ds = _paired(make_pair_dirs(tmp_path / "data", n=2))
    imwrite_rgb(ds.samples[0].path, imread_rgb(ds.samples[0].reference))  # the input equals its reference
    res = EnhancementBenchmark(metrics=["PSNR", "SSIM"]).run(ds, None, tmp_path / "out", progress=False)
    assert res.protocol.endswith("; PSNR mean over 1 images (1 infinite left out)")
    assert {r["metric"]: r["n"] for r in res.rows} == {"PSNR": 1, "SSIM": 2}


def test_loe_protocol_names_the_grid_used(tmp_path):
    ds = _paired(make_pair_dirs(tmp_path / "data", n=1, extra_low=("nogt",)), allow_unmatched=True)
    res = EnhancementBenchmark(metrics=["PSNR"], nr_metrics=["LOE"], loe_short_side=64).run(
        ds, build_enhancer("gamma"), tmp_path / "out", progress=False)
    assert ("LOE: lightness order error (input vs output) as the NPE authors' LOE.m: max-RGB lightness, 15x15 local "
            "maximum, grid with short side 64;") in res.protocol
    assert "short side 50" not in res.protocol
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["protocol"] == res.protocol
    assert res.protocol.endswith("; PSNR over the 1 images with a reference, LOE over the 1 without")
    paired_only = _paired(make_pair_dirs(tmp_path / "paired", n=2))  # NIQE asked for among the paired metrics
    res = EnhancementBenchmark(metrics=["PSNR", "NIQE"]).run(paired_only, None, tmp_path / "out2", progress=False)
    assert "over the" not in res.protocol and {r["metric"]: r["n"] for r in res.rows} == {"PSNR": 2, "NIQE": 2}
    mixed = _paired(make_pair_dirs(tmp_path / "mixed", n=1, extra_low=("nogt",)), allow_unmatched=True)
    res = EnhancementBenchmark(metrics=["PSNR", "NIQE"], nr_metrics=["NIQE", "LOE"], loe_short_side=64).run(
        mixed, None, tmp_path / "out3", progress=False)
    assert res.protocol.endswith("; PSNR over the 1 images with a reference, LOE over the 1 without, NIQE over all 2")
    assert {r["metric"]: r["n"] for r in res.rows} == {"PSNR": 1, "NIQE": 2, "LOE": 1}


def test_a_protocol_line_needs_the_settings_its_conventions_depend_on():
    from evaluation.metrics import conventions

    with pytest.raises(ValueError, match="the LOE convention needs the setting 'loe_short_side'"):
        conventions(["PSNR", "LOE"])
    assert conventions(["PSNR"]) == "PSNR: PSNR on uint8 RGB, per image, mean over images"


def test_unknown_metric_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"metrics: enhancement cannot report \['PSNR2'\]"):
        EnhancementBenchmark(metrics=["PSNR2"])
    with pytest.raises(ValueError, match=r"nr_metrics: \['PSNR'\] need a reference"):
        EnhancementBenchmark(nr_metrics=["PSNR"])
    with pytest.raises(ValueError, match=r"nr_metrics: unknown metric\(s\) \['BOGUS'\]; no-reference metrics are NIQE"):
        EnhancementBenchmark(nr_metrics=["BOGUS"])


def test_command_runs_several_enhancers_and_writes_a_comparison(tmp_path, capsys):
    make_pair_dirs(tmp_path / "data", n=1)
    rc = main(["--data", str(tmp_path / "data"), "--dataset", "paired", "--enhancer", "none", "--enhancer",
               "soft:gamma", "--set", "soft.gamma=1.5", "--enhancer", "histeq", "--metrics", "PSNR,PSNR-GTmean",
               "--work-dir", str(tmp_path / "out"), "--figure-images", "1", "--no-cache", "--device", "cpu",
               "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "histeq" in printed and "PSNR-GTmean" in printed
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["enhancer"]) == ["none", "soft", "histeq"]
    assert (tmp_path / "out" / "soft" / "images" / "data" / "0.png").is_file()
    assert (tmp_path / "out" / "comparison.png").stat().st_size > 1000
    lines = (tmp_path / "out" / "summary.md").read_text().splitlines()
    assert lines[-1] == f"Data: paired {tmp_path / 'data'}, 1 images"  # which data, beside the protocol
    assert f"Data: paired {tmp_path / 'data'}, 1 images" in (tmp_path / "out" / "soft" / "summary.md").read_text()


@pytest.mark.parametrize("spoil", ["size", "unreadable"])
def test_command_leaves_a_skipped_pair_out_of_the_figure_and_reports_it(tmp_path, capsys, spoil):
    root = make_pair_dirs(tmp_path / "data", n=2)
    if spoil == "size":
        imwrite_rgb(root / "high" / "0.png", np.zeros((8, 8, 3), np.uint8))
    else:
        (root / "high" / "0.png").write_bytes(b"\x89PNG broken")
    rc = main(["--data", str(root), "--dataset", "paired", "--enhancer", "gamma", "--metrics", "PSNR",
               "--work-dir", str(tmp_path / "out"), "--figure-images", "2", "--no-cache", "--device", "cpu",
               "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1 and "SKIPPED data/0 (gamma)" in captured.err and "written to" in captured.out
    assert (tmp_path / "out" / "comparison.png").stat().st_size > 1000  # drawn from the pair that was scored


def test_command_old_spellings_still_work_with_a_warning(tmp_path, capsys):
    make_pair_dirs(tmp_path / "data", n=1)
    rc = main(["--data", str(tmp_path / "data"), "--paired", "--enhancers", "identity,histeq", "--out",
               str(tmp_path / "out"), "--figure-images", "0", "--no-cache", "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 0 and "--paired is deprecated" in err and "--out is deprecated" in err
    assert (tmp_path / "out" / "histeq" / "summary.csv").is_file()


def test_command_reads_one_split_of_a_folder_holding_several(tmp_path, capsys):
    make_pair_dirs(tmp_path / "lol" / "Train", "Low", "Normal", n=2)
    make_pair_dirs(tmp_path / "lol" / "Test", "Low", "Normal", n=1)
    argv = ["--data", str(tmp_path / "lol"), "--dataset", "paired", "--enhancer", "gamma", "--metrics", "PSNR",
            "--figure-images", "0", "--no-cache", "--device", "cpu", "--no-progress"]
    assert main([*argv, "--work-dir", str(tmp_path / "o1")]) == 2
    assert "holds the splits Test, Train; choose one with split=NAME (enhance-bench: --split NAME)" in \
        capsys.readouterr().err
    assert main([*argv, "--split", "test", "--work-dir", str(tmp_path / "o2")]) == 0
    assert pd.read_csv(tmp_path / "o2" / "summary.csv")["images"].tolist() == [1]


def test_a_work_dir_inside_the_data_is_refused(tmp_path, capsys):
    root = make_pair_dirs(tmp_path / "data", n=1)
    rc = main(["--data", str(root), "--dataset", "paired", "--enhancer", "gamma", "--work-dir", str(root / "out")])
    assert rc == 2 and "inside --data" in capsys.readouterr().err and not (root / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--enhancer", "zero_dce"], "needs weights=PATH"),
    (["--enhancer", "clahee"], "unknown enhancer 'clahee'"),
    (["--enhancer", "gamma", "--set", "gamma.gama=2"], "gamma.gama: unknown setting"),
    (["--enhancer", "zero_dce", "--enhancer", "sci", "--enhancer-weights", "x.pth"], "say which enhancer"),
    (["--enhancer", "gamma", "--enhancer", "clahe", "--enhancer-weights", "x.pth"], "none of the enhancers"),
    (["--enhancer", "gamma", "--enhancer-weights", "gamma=x.pth"], "gamma takes no weights"),
    # a label is needed only among enhancers that take weights
    (["--enhancer", "gamma", "--enhancer", "zero_dce", "--enhancer-weights", "/nonexistent/w.pth"],
     "/nonexistent/w.pth"),
    (["--enhancer", "gamma", "--device", "cuda:0"], "torch sees no GPU"),
    (["--enhancer", "gama"], "unknown enhancer 'gama' (did you mean gamma?"),
    (["--enhancer", "soft:gamma", "--set", "soft.gamma=-1"], "--enhancer soft: gamma must be"),
    (["--enhancer", "gamma", "--set", "gamma.device=cpu"], "--set gamma.device=cpu: not a setting of the enhancer; "
                                                           "give --device"),
])
def test_command_mistakes_are_one_line_with_exit_status_2(tmp_path, capsys, argv, message):
    # the options are checked before the data is read: its low-light image without a reference never stops the run
    make_pair_dirs(tmp_path / "data", n=1, extra_low=("unmatched",))
    rc = main(["--data", str(tmp_path / "data"), "--dataset", "paired", "--work-dir", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and message in err[-1] and err[-1].startswith("error: ")


def test_a_comparison_whose_first_unit_fails_to_start_leaves_an_earlier_runs_results(tmp_path, monkeypatch):
    from evaluation.benchmark import evaluate

    ds = _paired(make_pair_dirs(tmp_path / "data", n=1))
    out = tmp_path / "out"
    bench = EnhancementBenchmark(metrics=["PSNR"], nr_metrics=[])
    evaluate(bench, ds, {"gamma": build_enhancer("gamma")}, out, progress=False)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def model_fails_to_build(*args, **kwargs):
        raise RuntimeError("checkpoint not found")

    monkeypatch.setattr(bench, "run", model_fails_to_build)
    with pytest.raises(RuntimeError, match="checkpoint not found"):
        evaluate(bench, ds, {"gamma": build_enhancer("gamma"), "histeq": build_enhancer("histeq")}, out,
                 progress=False)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    monkeypatch.undo()
    evaluate(bench, ds, {"gamma": build_enhancer("gamma"), "histeq": build_enhancer("histeq")}, out, progress=False)
    assert (out / "histeq" / "per_image.csv").is_file() and not (out / "images").exists()

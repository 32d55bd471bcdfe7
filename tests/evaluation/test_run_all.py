"""evaluation/run_all.py: config validation, resumable stages, sharding + merge, tables in the paper's layout."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.suite.config import ConfigError, validate_config
from evaluation.suite.results import ROW_COLUMNS, read_results, row
from evaluation.suite.shard import Shard, parse_shard
from evaluation.suite.state import StateStore
from uptflow.utils.io import TEMP_MARK

REPO = Path(__file__).resolve().parents[2]
RUN_ALL = REPO / "evaluation" / "run_all.py"


def _write_config(path: Path, cfg: dict) -> Path:
    """Write ``cfg`` as an mmengine Python config file."""
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    return path


def _frames(folder: Path, n: int = 3) -> Path:
    """A tiny dark 'video' as a folder of frames: a darkened scikit-image photo panning sideways."""
    from skimage import data

    from uptflow.utils.io import imwrite_rgb

    base = (data.astronaut()[::2, ::2] * 0.25).astype(np.uint8)
    for i in range(n):
        imwrite_rgb(folder / f"frame{i:03d}.png", np.ascontiguousarray(np.roll(base, 3 * i, axis=1)))
    return folder


def _tiny_config(tmp: Path, work: str = "work", tasks: tuple[str, ...] = ("enhancement", "traffic")) -> dict:
    """A suite on data made here: classical enhancers, synthetic pairs, a frames folder, one absent dataset."""
    data = tmp / "data"
    if not (data / "frames").is_dir():
        _frames(data / "frames")
    all_tasks = dict(
        enhancement=dict(paired=["synthetic"], unpaired=["frames"]),
        detection=dict(dataset="exdark", detector=dict(type="yolov8", weights="{data_root}/yolov8n.pt")),
        traffic=dict(datasets=["frames"], metrics=["LOE", "NIQE", "BRISQUE"]),
    )
    return dict(
        suite="tiny", data_root=str(data), work_dir=str(tmp / work), cache_dir=str(tmp / "cache"), seed=0,
        enhancers=[dict(name="identity", label="input"), dict(name="gamma"), dict(name="clahe")],
        datasets=dict(
            synthetic=dict(type="synthetic", num_images=2, size=96, title="Synthetic"),
            frames=dict(type="frames", root="{data_root}/frames", title="Frames"),
            exdark=dict(type="exdark", root="{data_root}/ExDark", optional=True, title="ExDark"),
        ),
        tasks={k: v for k, v in all_tasks.items() if k in tasks},
        report=dict(html=True, grid_images=1, grid_max_side=96),
    )


# ------------------------------------------------------------------------------------------- config validation
@pytest.mark.parametrize("mutate, key", [
    (lambda c: c.update(bogus=1), "bogus: unknown key"),
    (lambda c: c.update(seed="zero"), "seed: expected int"),
    (lambda c: c.update(custom_imports=dict(imports=["no_such_module_here"])),
     "custom_imports.imports: cannot import 'no_such_module_here'"),
    (lambda c: c["enhancers"].append(dict(name="no_such_enhancer")), "enhancers[3].name: unknown enhancer"),
    (lambda c: c["enhancers"][1].update(weights="/nonexistent/w.pth"), "enhancers[1].weights: file not found"),
    (lambda c: c["enhancers"][1].update(weights="nowhere/w.pth"),
     f"enhancers[1].weights: file not found: nowhere/w.pth (relative to {os.getcwd()})"),
    (lambda c: c["enhancers"][2].update(colour=True), "enhancers[2].colour: unknown key"),
    (lambda c: c["datasets"]["synthetic"].update(num_images="4"), "datasets.synthetic.num_images: expected int"),
    (lambda c: c["datasets"]["frames"].update(type="video"), "datasets.frames.type: unknown dataset type"),
    (lambda c: c["datasets"]["exdark"].update(optional=False), "datasets.exdark.root: not found"),
    (lambda c: c["datasets"]["frames"].update(title="Synthetic"), "datasets.frames.title: 'Synthetic' is also the"),
    (lambda c: c["tasks"]["traffic"].update(datasets=["nope"]), "tasks.traffic.datasets[0]: dataset 'nope'"),
    (lambda c: c["tasks"]["enhancement"].update(paired=["frames"]), "tasks.enhancement.paired[0]: dataset 'frames'"),
    (lambda c: c["tasks"].update(tracking={}), "tasks.tracking: unknown task"),
    (lambda c: c["tasks"]["traffic"].update(enhancers=["zero"]), "tasks.traffic.enhancers[0]: no enhancer"),
    (lambda c: c.pop("work_dir"), "work_dir: required key is missing"),
    (lambda c: c["report"].update(grid_max_side=0), "report.grid_max_side: must be >= 1"),
    (lambda c: c["report"].update(grid_images=-1), "report.grid_images: must be >= 0"),
    (lambda c: c["tasks"]["enhancement"].update(loe_short_side=0), "tasks.enhancement.loe_short_side: must be"),
    (lambda c: c["tasks"]["traffic"].update(conf=5.0), "tasks.traffic.conf: a score threshold in [0, 1]"),
    (lambda c: c["tasks"]["traffic"].update(flow_side=-5), "tasks.traffic.flow_side: must be >= 16"),
    (lambda c: c["datasets"]["frames"].update(every=0), "datasets.frames.every: must be >= 1"),
    (lambda c: c["datasets"]["frames"].update(fps=-1.0), "datasets.frames.fps: must be a finite number > 0"),
    (lambda c: c["datasets"]["frames"].update(fps=float("inf")), "datasets.frames.fps: must be a finite number > 0"),
    (lambda c: c["datasets"]["synthetic"].update(limit=0), "datasets.synthetic.limit: must be >= 1"),
])
def test_config_error_names_the_key(tmp_path, mutate, key):
    cfg = _tiny_config(tmp_path)
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    assert str(info.value).startswith(key), str(info.value)


def test_detector_weights_are_required_only_when_the_dataset_is_present(tmp_path):
    cfg = _tiny_config(tmp_path, tasks=("detection",))
    validate_config(cfg)  # ExDark absent: the detection task will be skipped, its weights are not needed
    (tmp_path / "data" / "ExDark").mkdir()
    with pytest.raises(ConfigError, match=r"^tasks\.detection\.detector\.checkpoint: file not found"):
        validate_config(cfg)


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_shipped_suite_configs_validate_without_any_data(tmp_path, name):
    from evaluation.suite.config import load_config

    cfg = load_config(REPO / "configs" / "eval" / f"{name}.py", data_root=str(tmp_path), work_dir=str(tmp_path / "w"))
    assert cfg.benchmarks and set(cfg.benchmarks) == set(cfg["tasks"]), f"{name}.py: {sorted(cfg.benchmarks)}"


@pytest.mark.realdata
def test_model_card_config_validates_against_the_shared_data_with_both_heats(shared, tmp_path):
    from evaluation.suite.config import load_config

    cfg = load_config(REPO / "configs" / "eval" / "model_card.py", data_root=str(shared / "data"),
                      work_dir=str(tmp_path / "w"))
    uptflow_rows = {e["label"]: e.get("params", {}) for e in cfg["enhancers"] if e["name"] == "uptflow"}
    assert uptflow_rows == {"uptflow_default": {}, "uptflow_default_heat0.7": {"heat": 0.7, "seed": 0}}
    assert set(cfg.benchmarks) == {"enhancement"}


def test_paper_finetune_protocols_name_the_yolov3_checkpoint_once_exdark_is_present(tmp_path):
    from evaluation.suite.config import load_config

    (tmp_path / "ExDark").mkdir()
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "yolov8n.pt").write_bytes(b"")  # the zero-shot task's detector: only its path is checked
    with pytest.raises(ConfigError, match=r"^tasks\.detection_maet_iat\.detector\.checkpoint: file not found: .*"
                                          r"yolov3_d53_mstrain-608_273e_coco"):
        load_config(REPO / "configs" / "eval" / "paper.py", data_root=str(tmp_path), work_dir=str(tmp_path / "w"))


def test_bad_config_fails_before_any_work(tmp_path):
    cfg = _tiny_config(tmp_path)
    cfg["tasks"]["traffic"]["metrics"] = ["LOE", 3]
    path = _write_config(tmp_path / "bad.py", cfg)
    res = subprocess.run([sys.executable, str(RUN_ALL), "--config", str(path)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    assert "tasks.traffic.metrics: traffic cannot report [3]" in res.stderr
    assert not (tmp_path / "work").exists()


def test_cli_rejects_unknown_task_and_enhancer(tmp_path):
    from evaluation.run_all import main

    path = _write_config(tmp_path / "c.py", _tiny_config(tmp_path))
    assert main(["--config", str(path), "--only", "enhancement,tracking"]) == 2
    assert main(["--config", str(path), "--enhancers", "input,nope"]) == 2
    assert main(["--config", str(path), "--data-root", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "work").exists()


def test_a_work_dir_with_a_report_of_the_users_is_refused_before_any_work(tmp_path, capsys):
    from evaluation.run_all import main

    path = _write_config(tmp_path / "c.py", _tiny_config(tmp_path))
    (tmp_path / "work" / "report").mkdir(parents=True)
    (tmp_path / "work" / "report" / "index.html").write_text("mine")
    assert main(["--config", str(path)]) == 2
    assert "holds report but no suite run" in capsys.readouterr().err
    assert (tmp_path / "work" / "report" / "index.html").read_text() == "mine"


def test_a_cfg_option_past_the_end_of_a_list_names_the_option_not_the_file(tmp_path, capsys):
    from evaluation.run_all import main

    path = _write_config(tmp_path / "c.py", _tiny_config(tmp_path))
    assert main(["--config", str(path), "--cfg-options", "enhancers.7.name=gamma"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == ("error: --cfg-options enhancers.7.name: Index 7 "
                                                                "exceeds the length of list")


# ------------------------------------------------------------------------------------------- building blocks
def test_shards_partition_units_and_read_torchrun_env():
    units = [f"score/t/d/e{i}" for i in range(50)]
    owned = [[u for u in units if Shard(i, 3).owns(u)] for i in range(3)]
    assert sorted(sum(owned, [])) == sorted(units) and all(owned)
    assert parse_shard("1/4") == Shard(1, 4)
    assert parse_shard(None, env={"RANK": "2", "WORLD_SIZE": "3"}) == Shard(2, 3)
    assert parse_shard(None, env={}) == Shard(0, 1)
    with pytest.raises(ValueError, match="--shard"):
        parse_shard("4/4")


def test_state_store_marks_units_done_atomically(tmp_path):
    store = StateStore(tmp_path)
    assert not store.is_done("score/a/b")
    store.mark_done("score/a/b", dict(kind="score", rows=[1]))
    assert store.is_done("score/a/b") and store.load("score/a/b")["rows"] == [1]
    (tmp_path / "broken.json").write_text("{not json")
    assert [m["unit"] for m in store.all()] == ["score/a/b"]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_merge_keeps_one_copy_of_each_unit(tmp_path):
    rows = [row("gamma", "D", "enhancement", "PSNR", 20.0, unit="u1"), row("clahe", "D", "enhancement", "PSNR",
                                                                            18.0, unit="u2")]
    for name, part in (("shard-0-of-2.csv", rows[:1]), ("shard-1-of-2.csv", rows), ("copy.csv", rows[1:])):
        pd.DataFrame(part, columns=ROW_COLUMNS).to_csv(tmp_path / name, index=False)
    df = read_results([tmp_path, tmp_path / "copy.csv"])
    assert sorted(df["enhancer"]) == ["clahe", "gamma"]
    with pytest.raises(FileNotFoundError, match="--merge"):
        read_results([tmp_path / "missing"])


def test_tables_follow_the_paper_layout_with_paper_rows_only_on_its_protocol(tmp_path):
    from evaluation.tables.report import build_tables, write_tables

    cfg = validate_config(dict(
        suite="t", work_dir=str(tmp_path / "w"), data_root=str(tmp_path),
        enhancers=[dict(name="identity", label="input"), dict(name="gamma"), dict(name="uptflow", optional=True)],
        datasets=dict(real=dict(type="paired", root=str(tmp_path), optional=True, paper_key="LOLv2-real",
                                title="LOLv2-real"),
                      syn=dict(type="synthetic", title="Synthetic")),
        tasks=dict(enhancement=dict(paired=["real", "syn"])),
    ))
    rows = [row(e, ds, "enhancement", m, v, split="test", protocol="skimage", n=100)
            for e, base in (("input", 10.0), ("gamma", 15.0), ("uptflow", 20.0)) for ds in ("LOLv2-real", "Synthetic")
            for m, v in (("PSNR", base), ("SSIM", base / 100))]
    tables = build_tables(pd.DataFrame(rows, columns=ROW_COLUMNS).fillna(""), cfg)
    (t,) = tables
    assert list(t.frame.index) == ["input", "gamma", "uptflow", "UPT-Flow (paper)"]
    assert t.frame.loc["gamma", ("LOLv2-real", "PSNR")] == 15.0
    assert t.frame.loc["UPT-Flow (paper)", ("LOLv2-real", "PSNR")] == 25.056
    assert np.isnan(t.frame.loc["UPT-Flow (paper)", ("Synthetic", "PSNR")])  # not the paper's protocol
    assert t.protocol == "LOLv2-real (split test, 100 images), Synthetic (split test, 100 images): skimage"
    paths = write_tables(tables, tmp_path / "tables")
    md = (tmp_path / "tables" / "enhancement_paired.md").read_text()
    assert "Protocol:" in md and "25.056" in md and "15.000" in md
    tex = (tmp_path / "tables" / "enhancement_paired.tex").read_text()
    assert tex.startswith("% Protocol:") and "\\begin{tabular}" in tex
    back = pd.read_csv(tmp_path / "tables" / "enhancement_paired.csv", comment="#", header=[0, 1], index_col=0)
    assert back.loc["input", ("LOLv2-real", "SSIM")] == pytest.approx(0.1)
    long = pd.read_csv(tmp_path / "tables" / "enhancement_paired.long.csv")  # tidy: plain read_csv works
    assert len(long) == 12 and long.query("enhancer == 'gamma' and metric == 'PSNR'")["value"].tolist() == [15.0] * 2
    assert len(paths) == 5


def test_paper_numbers_match_the_spec_for_upt_flow():
    from evaluation.tables.paper_numbers import paper_frame

    df = paper_frame().set_index(["table", "method", "dataset", "metric"])["value"]
    assert df[("table1", "UPT-Flow", "LOLv2-real", "PSNR")] == 25.056
    assert df[("table2", "UPT-Flow", "SDSD-outdoor", "SSIM")] == 0.887
    assert df[("table3", "UPT-Flow", "NTM part 2", "BRISQUE")] == 28.55
    assert set(df.index.get_level_values("table")) == {"table1", "table2", "table3"}


# ------------------------------------------------------------------------------------------- end to end
def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(RUN_ALL), "--no-progress", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def _tables(work: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((work / "tables").glob("*")) if p.suffix in (".csv", ".md")}


@pytest.mark.slow
def test_tiny_suite_runs_end_to_end_and_lists_what_it_skipped(tmp_path):
    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path, tasks=("enhancement", "detection", "traffic")))
    res = _run(["--config", str(path)], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    work = tmp_path / "work"
    assert f"ExDark: skipped, put the dataset at {tmp_path / 'data' / 'ExDark'}" in res.stdout
    tables = _tables(work)
    assert {"enhancement_paired.csv", "enhancement_unpaired.csv", "traffic.csv"} <= set(tables)
    paired = pd.read_csv(work / "tables" / "enhancement_paired.csv", comment="#", header=[0, 1], index_col=0)
    assert list(paired.index) == ["input", "gamma", "clahe"] and paired.notna().all().all()
    info = json.loads((work / "run_info-shard-0-of-1.json").read_text())
    assert info["status"] == "finished" and info["versions"]["torch"] and "commit" in info["git"]
    assert (work / "report" / "index.html").is_file() and list((work / "report").glob("grid_*.png"))
    # a second run without --resume refuses to touch the finished one
    again = _run(["--config", str(path)], tmp_path)
    assert again.returncode == 2 and "--resume" in again.stderr


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_finished_units(tmp_path):
    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path))
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, str(RUN_ALL), "--no-progress", "--config", str(path)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "work" / "state"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(state.glob("score__*.json")):
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the test suite bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in state.glob("score__*.json")}
    assert before and not (tmp_path / "work" / "tables" / "traffic.csv").exists()

    res = _run(["--config", str(path), "--resume"], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    after = {p.name: p.stat().st_mtime_ns for p in state.glob("score__*.json")}
    assert all(after[name] == mtime for name, mtime in before.items())  # finished units were not redone
    assert len(after) > len(before)
    leftovers = [p for p in (tmp_path / "work").rglob(f"*{TEMP_MARK}*")]
    assert not leftovers, leftovers  # no partial (temporary) files remain

    clean = _write_config(tmp_path / "clean.py", _tiny_config(tmp_path, work="clean"))
    assert _run(["--config", str(clean)], tmp_path).returncode == 0
    assert _tables(tmp_path / "work") == _tables(tmp_path / "clean")


@pytest.mark.slow
def test_a_run_of_some_tasks_or_enhancers_keeps_the_others_current_results_and_drops_stale_ones(tmp_path):
    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path))
    work = tmp_path / "work"
    first = _run(["--config", str(path), "--only", "traffic"], tmp_path)
    assert first.returncode == 0 and "dataset synthetic" not in first.stdout  # no results on it yet: not read
    assert _run(["--config", str(path), "--resume"], tmp_path).returncode == 0
    full = _tables(work)
    assert {"enhancement_paired.md", "traffic.md"} <= set(full)

    res = _run(["--config", str(path), "--resume", "--only", "traffic", "--enhancers", "gamma"], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert _tables(work) == full
    assert {"grid_synthetic.png", "grid_frames.png"} <= {p.name for p in (work / "report").glob("grid_*.png")}

    changed = ["--cfg-options", "enhancers.2.params.clip_limit=3.0"]  # clahe: its results so far are stale
    res = _run(["--config", str(path), "--resume", "--only", "traffic", "--enhancers", "gamma", *changed], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    paired = pd.read_csv(work / "tables" / "enhancement_paired.csv", comment="#", header=[0, 1], index_col=0)
    assert list(paired.index) == ["input", "gamma"]
    traffic = pd.read_csv(work / "tables" / "traffic.csv", comment="#", header=[0, 1], index_col=0)
    assert list(traffic.index) == ["input", "gamma"]

    # a task dropped from the config takes its table files along; a file the suite did not write stays
    (work / "tables" / "my_notes.md").write_text("mine")
    dropped = _write_config(tmp_path / "dropped.py", _tiny_config(tmp_path, tasks=("enhancement",)))
    assert _run(["--config", str(dropped), "--resume", *changed], tmp_path).returncode == 0
    assert not (work / "tables" / "traffic.md").exists() and (work / "tables" / "my_notes.md").read_text() == "mine"
    assert "clahe" in pd.read_csv(work / "tables" / "enhancement_paired.csv", comment="#", header=[0, 1],
                                  index_col=0).index


@pytest.mark.slow
def test_results_of_other_settings_or_titles_follow_the_current_config(tmp_path):
    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path, tasks=("traffic",)))
    assert _run(["--config", str(path)], tmp_path).returncode == 0
    # a merge (or a shared results folder) under another gamma: gamma's rows are not this config's numbers
    other = ["--cfg-options", "enhancers.1.params.gamma=3.0"]
    res = _run(["--config", str(path), "--work-dir", str(tmp_path / "merged"), "--merge", str(tmp_path / "work"),
                *other], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "left out 3 rows of 1 units that are not current" in res.stdout
    merged = pd.read_csv(tmp_path / "merged" / "tables" / "traffic.csv", comment="#", header=[0, 1], index_col=0)
    assert list(merged.index) == ["input", "clahe"]
    before = _tables(tmp_path / "merged")
    # nothing current (another metric list): an error that says why, and the tables made before stay
    res = _run(["--config", str(path), "--work-dir", str(tmp_path / "merged"), "--merge", str(tmp_path / "work"),
                "--cfg-options", "tasks.traffic.metrics=['LOE']"], tmp_path)
    assert res.returncode == 2 and "no results of this config found" in res.stderr
    assert _tables(tmp_path / "merged") == before
    # a merging machine without the data cannot check those units: their rows stay, reported as unverified
    absent = ["--cfg-options", f"datasets.frames.root={tmp_path / 'elsewhere'}", "datasets.frames.optional=True"]
    res = _run(["--config", str(path), "--work-dir", str(tmp_path / "m2"), "--merge", str(tmp_path / "work"),
                *absent], tmp_path)
    assert res.returncode == 0 and "kept unverified" in res.stdout, res.stdout[-3000:] + res.stderr[-3000:]
    unverified, checked = (pd.read_csv(w / "tables" / "traffic.csv", comment="#", header=[0, 1], index_col=0)
                           for w in (tmp_path / "m2", tmp_path / "work"))
    pd.testing.assert_frame_equal(unverified, checked)
    # the note claims only what the config says of an enhancer it could not check, not this build's defaults
    notes = {w: (tmp_path / w / "tables" / "traffic.md").read_text() for w in ("m2", "work")}
    assert "gamma: no weights;" in notes["m2"] and "gamma: no weights, gamma=2.2;" in notes["work"]
    # a renamed dataset keeps its results under the new title, nothing rerun
    res = _run(["--config", str(path), "--resume", "--cfg-options", "datasets.frames.title=Street"], tmp_path)
    assert res.returncode == 0 and "scored: 0, reused: 3" in res.stdout
    table = (tmp_path / "work" / "tables" / "traffic.md").read_text()
    assert "Street" in table and "Frames" not in table


def test_an_enhancer_setting_it_refuses_stops_the_run_before_any_work_and_leaves_nothing_to_resume(tmp_path):
    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path, tasks=("traffic",)))
    res = _run(["--config", str(path), "--cfg-options", "enhancers.1.params.gamma=-1"], tmp_path)
    assert res.returncode == 2 and "error: enhancers[1] (gamma): gamma must be positive" in res.stderr
    assert not list((tmp_path / "work" / "state").glob("*.json"))
    assert _run(["--config", str(path)], tmp_path).returncode == 0  # no --resume needed: nothing was done


MY_ENHANCER = """
import torch

from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS


@ENHANCERS.register_module(name="my_brighten")
class MyBrighten(Enhancer):
    def __init__(self, device="cpu", strength=1.0):
        super().__init__(device)
        self.strength = strength

    def params(self):
        return {"strength": self.strength}

    def enhance_tensor(self, x):
        return (x * 2 * self.strength).clamp(0, 1)
"""


def test_a_users_enhancer_is_one_file_and_one_entry_and_an_edit_of_its_code_reruns_its_units(tmp_path):
    (tmp_path / "my_enhancer.py").write_text(MY_ENHANCER)
    cfg = _tiny_config(tmp_path, tasks=("enhancement",))
    cfg.update(custom_imports=dict(imports=["my_enhancer"]),
               enhancers=[dict(name="identity", label="input"), dict(name="my_brighten", label="mine")])
    path = _write_config(tmp_path / "mine.py", cfg)
    res = _run(["--config", str(path)], tmp_path)
    assert res.returncode == 0 and "scored: 4, reused: 0" in res.stdout, res.stdout[-3000:] + res.stderr[-3000:]
    first = _tables(tmp_path / "work")["enhancement_paired.csv"]
    (tmp_path / "my_enhancer.py").write_text(MY_ENHANCER.replace("x * 2", "x * 3"))
    res = _run(["--config", str(path), "--resume"], tmp_path)
    # the input's units stay; the edited enhancer's are enhanced and scored again, never read from the cache
    assert res.returncode == 0 and "enhanced: 5, cached: 5, scored: 2, reused: 2" in res.stdout, res.stdout[-3000:]
    assert _tables(tmp_path / "work")["enhancement_paired.csv"] != first


@pytest.mark.slow
def test_shards_merge_into_the_same_tables(tmp_path):
    from evaluation.suite.config import load_config
    from evaluation.suite.stages import Suite

    path = _write_config(tmp_path / "tiny.py", _tiny_config(tmp_path, tasks=("enhancement",)))
    single = Suite(load_config(path, work_dir=str(tmp_path / "single")), progress=False)
    assert single.run() == 0
    for i in range(2):  # two "machines", each with its own work dir
        shard = Suite(load_config(path, work_dir=str(tmp_path / f"m{i}")), shard=Shard(i, 2), progress=False)
        assert shard.run() == 0
        assert not (tmp_path / f"m{i}" / "tables").exists()  # the other shard's results are not there yet
    merged = Suite(load_config(path, work_dir=str(tmp_path / "merged")), progress=False)
    assert merged.merge([str(tmp_path / "m0"), str(tmp_path / "m1")]) == 0
    assert _tables(tmp_path / "merged") == _tables(tmp_path / "single")
    # a sharded run in a work dir with tables: they go until the last shard rebuilds them (a user's file stays)
    (tmp_path / "single" / "tables" / "notes.txt").write_text("mine")
    for i in range(2):
        shard = Suite(load_config(path, work_dir=str(tmp_path / "single")), shard=Shard(i, 2), resume=True,
                      progress=False)
        assert shard.run() == 0
        if i == 0:
            assert [p.name for p in (tmp_path / "single" / "tables").iterdir() if p.name[0] != "."] == ["notes.txt"]
            assert not (tmp_path / "single" / "report" / "index.html").exists()
    assert _tables(tmp_path / "single") == _tables(tmp_path / "merged")
    assert (tmp_path / "single" / "report" / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.realdata
def test_quick_suite_detection_on_the_shared_exdark_sample(tmp_path, shared):
    res = _run(["--data-root", str(shared / "data"), "--work-dir", str(tmp_path / "w"), "--cache-dir",
                str(tmp_path / "cache"), "--only", "detection", "--enhancers", "input,gamma"], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    overall = pd.read_csv(tmp_path / "w" / "tables" / "detection.csv", comment="#", header=[0, 1], index_col=0)
    assert list(overall.index) == ["input", "gamma"]
    assert ((overall >= 0) & (overall <= 100)).all().all()
    per_class = (tmp_path / "w" / "tables" / "detection_per_class_exdark_sample_coco_ap50.md").read_text()
    assert "Protocol:" in per_class and "People" in per_class and "yolov8n.pt" in per_class
    assert (tmp_path / "w" / "report" / "chart_detection_per_class_exdark_sample_coco_ap50.png").is_file()

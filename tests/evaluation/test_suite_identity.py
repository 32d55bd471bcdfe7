"""The suite's one owner of identity and resume: a changed weights file, parameter, task setting or metric list
reruns exactly the affected units and nothing else, rows never go stale or vanish; a new benchmark is one class."""

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.benchmark import Benchmark, UnitResult
from evaluation.registry import BENCHMARKS
from evaluation.suite.config import ConfigError, validate_config
from evaluation.suite.stages import Suite
from tests.evaluation.test_run_all import _frames
from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS


@ENHANCERS.register_module(name="test_gain", force=True)
class _Gain(Enhancer):
    """Test-only learned enhancer: multiplies by the gain stored in its weights file."""

    name = "test_gain"

    def __init__(self, weights: str | None = None, device: str = "cpu", offset: float = 0.0) -> None:
        super().__init__(device)
        self.weights, self.offset = weights, offset
        self.gain = float(torch.load(weights, weights_only=True)["gain"])

    def params(self) -> dict:
        return {"offset": self.offset}

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.gain + self.offset).clamp(0, 1)


@BENCHMARKS.register_module(name="test_mean_brightness", force=True)
class _MeanBrightness(Benchmark):
    """A toy task: the mean grey level of the enhanced images (proves a new task is one class + one config entry)."""

    task = "test_mean_brightness"
    title = "Mean brightness (toy)"
    dataset_types = ("synthetic", "paired", "unpaired", "frames")
    metrics = ("PSNR",)  # a catalogue name, so the table machinery has a unit and a direction
    default_metrics = ("PSNR",)

    def __init__(self, scale: float = 1.0, metrics: Any = None, device: str = "cpu") -> None:
        super().__init__(metrics, device)
        self.scale = scale

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "scale": self.scale}

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        values = [float((enhancer(img) if enhancer else img).mean()) * self.scale for _, img in dataset.images()]
        return UnitResult([dict(metric="PSNR", cls="", value=float(np.mean(values)), n=len(values))], len(values),
                          protocol="mean grey level (toy)")


def _weights(path: Path, gain: float) -> str:
    torch.save({"gain": gain}, path)
    return str(path)


def _config(tmp: Path, weights: str, offset: float = 0.0, loe_side: int = 100, nr: tuple = ("LOE",)) -> dict:
    data = tmp / "data"
    if not (data / "frames").is_dir():
        _frames(data / "frames")
    return dict(
        suite="identity", data_root=str(data), work_dir=str(tmp / "work"), cache_dir=str(tmp / "cache"), seed=0,
        device="cpu",
        enhancers=[dict(name="identity", label="input"),
                   dict(name="test_gain", label="gain", weights=weights, params=dict(offset=offset))],
        datasets=dict(syn=dict(type="synthetic", num_images=2, size=64, title="Syn"),
                      frames=dict(type="frames", root="{data_root}/frames", title="Frames")),
        tasks=dict(enhancement=dict(paired=["syn"], unpaired=["frames"], nr_metrics=list(nr),
                                    loe_short_side=loe_side)),
        report=dict(html=False),
    )


def _run(cfg: dict) -> tuple[Suite, pd.DataFrame]:
    suite = Suite(validate_config(cfg), resume=True, progress=False)
    assert suite.run() == 0
    rows = pd.read_csv(Path(cfg["work_dir"]) / "results" / "shard-0-of-1.csv", keep_default_na=False)
    return suite, rows.sort_values(["enhancer", "dataset", "metric"]).reset_index(drop=True)


def _values(rows: pd.DataFrame) -> dict:
    return {(r.enhancer, r.dataset, r.metric): r.value for r in rows.itertuples()}


def test_changed_weights_rerun_only_their_units_and_equal_a_fresh_run(tmp_path):
    w1, w2 = _weights(tmp_path / "a.pt", 1.5), _weights(tmp_path / "b.pt", 3.0)
    _run(_config(tmp_path, w1))
    suite, rows = _run(_config(tmp_path, w2))  # same label, other weights, resumed in the same work dir
    assert suite.counts["scored"] == 2 and suite.counts["reused"] == 2  # only the two 'gain' units ran again
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    _, fresh = _run(_config(fresh_dir, w2))
    assert _values(rows) == pytest.approx(_values(fresh))
    assert set(rows["enhancer"]) == {"input", "gain"} and len(rows) == len(fresh)  # no row vanished


def test_changed_parameter_task_setting_or_metrics_rerun_exactly_what_they_affect(tmp_path):
    w = _weights(tmp_path / "a.pt", 2.0)
    _, base = _run(_config(tmp_path, w))
    suite, rows = _run(_config(tmp_path, w, offset=0.1))  # an enhancer parameter: only its units
    assert suite.counts["scored"] == 2 and suite.counts["reused"] == 2
    assert _values(rows)[("input", "Syn", "PSNR")] == _values(base)[("input", "Syn", "PSNR")]
    assert _values(rows)[("gain", "Syn", "PSNR")] != _values(base)[("gain", "Syn", "PSNR")]
    suite, _ = _run(_config(tmp_path, w, offset=0.1, loe_side=50))  # a task setting: every unit of the task
    assert suite.counts["scored"] == 4
    suite, rows = _run(_config(tmp_path, w, offset=0.1, loe_side=50, nr=("LOE", "NIQE")))  # the metric list
    assert suite.counts["scored"] == 4 and {"LOE", "NIQE"} <= set(rows["metric"])


def test_a_changed_metric_definition_reruns_the_units_that_report_it(tmp_path, monkeypatch):
    from dataclasses import replace

    from evaluation import metrics

    w = _weights(tmp_path / "a.pt", 2.0)
    _run(_config(tmp_path, w))

    def revise(name: str) -> None:
        entry = metrics.CATALOGUE[name]
        monkeypatch.setitem(metrics.CATALOGUE, name, replace(entry, convention=entry.convention + " (revised)"))

    revise("COCO AP")  # not reported by this suite: nothing reruns
    suite, _ = _run(_config(tmp_path, w))
    assert suite.counts["scored"] == 0 and suite.counts["reused"] == 4
    revise("LOE")  # the task's settings (and its protocol lines) changed: every unit of the task reruns
    suite, _ = _run(_config(tmp_path, w))
    assert suite.counts["scored"] == 4
    protocols = [json.loads(p.read_text())["protocol"] for p in (tmp_path / "work" / "units").rglob("metrics.json")]
    assert sum("(revised)" in p for p in protocols) == 2  # the new units of the frames (no reference: LOE)


def test_a_toy_benchmark_plugs_into_the_suite_and_its_tables(tmp_path):
    cfg = _config(tmp_path, _weights(tmp_path / "a.pt", 2.0))
    cfg["tasks"] = dict(brightness=dict(type="test_mean_brightness", datasets=["syn", "frames"], scale=2.0))
    cfg["report"] = dict(html=True, grid_images=1, grid_max_side=64)
    suite, rows = _run(cfg)
    assert set(rows["task"]) == {"brightness"} and suite.counts["scored"] == 4
    gain, plain = (rows[(rows.enhancer == e) & (rows.dataset == "Syn")]["value"].item() for e in ("gain", "input"))
    assert gain > plain and math.isfinite(gain)
    table = (tmp_path / "work" / "tables" / "brightness.md").read_text()
    assert "Mean brightness (toy)" in table and "mean grey level (toy)" in table
    cfg["tasks"]["brightness"]["scale"] = "two"
    with pytest.raises(ConfigError, match=r"^tasks\.brightness\.scale: expected float"):
        validate_config(cfg)
    cfg["tasks"]["brightness"] = dict(type="test_mean_brightness", datasets=["syn"], sclae=2.0)
    with pytest.raises(ConfigError, match=r"^tasks\.brightness\.sclae: unknown setting"):
        validate_config(cfg)


def test_cfg_options_override_any_key_before_validation(tmp_path):
    from evaluation.suite.config import load_config
    from tests.evaluation.test_run_all import _write_config

    path = _write_config(tmp_path / "c.py", _config(tmp_path, _weights(tmp_path / "a.pt", 2.0)))
    cfg = load_config(path, cfg_options={"tasks.enhancement.loe_short_side": 64, "seed": 3})
    assert cfg.benchmarks["enhancement"].loe_short_side == 64 and cfg["seed"] == 3
    with pytest.raises(ConfigError, match="loe_short_side: expected int"):
        load_config(path, cfg_options={"tasks.enhancement.loe_short_side": "wide"})


def test_darkness_levels_expand_into_datasets_and_a_metric_vs_darkness_chart(tmp_path):
    cfg = _config(tmp_path, _weights(tmp_path / "a.pt", 2.0))
    cfg["datasets"]["frames"]["degrade"] = dict(levels=[1, 4])
    cfg["tasks"] = dict(enhancement=dict(unpaired=["frames"], nr_metrics=["LOE"]))
    cfg["report"] = dict(html=True, grid_images=1, grid_max_side=64)
    validated = validate_config(cfg)
    assert list(validated["datasets"]) == ["syn", "frames_level1", "frames_level4"]
    assert validated["tasks"]["enhancement"]["unpaired"] == ["frames_level1", "frames_level4"]
    _, rows = _run(cfg)
    assert set(rows["level"].astype(str)) == {"1", "4"}
    assert set(rows["dataset"]) == {"Frames, darkness 1", "Frames, darkness 4"}
    assert len(rows) == 4 and rows["value"].map(math.isfinite).all()  # 2 enhancers x 2 levels
    report = (tmp_path / "work" / "report" / "index.html").read_text()
    assert "darkness_enhancement_unpaired.png" in report
    assert (tmp_path / "work" / "report" / "darkness_enhancement_unpaired.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match=r"datasets\.frames\.degrade: levels"):
        validate_config({**cfg, "datasets": {**cfg["datasets"], "frames": {**cfg["datasets"]["frames"],
                                                                           "degrade": dict(levels=[])}}})


def test_editing_a_training_config_in_place_is_a_new_training_unit(tmp_path):
    (tmp_path / "base.py").write_text("lr = 2e-4\n")
    train_cfg = tmp_path / "train.py"
    train_cfg.write_text("_base_ = ['base.py']\nmax_iters = 40\n")
    cfg = _config(tmp_path, _weights(tmp_path / "a.pt", 2.0))
    cfg["enhancers"].append(dict(name="uptflow", label="trained", train=dict(config=str(train_cfg))))
    suite = Suite(validate_config(cfg), resume=True, progress=False)
    entry = next(e for e in suite.cfg["enhancers"] if e["label"] == "trained")
    before = suite._train_unit(entry)
    (tmp_path / "base.py").write_text("lr = 1e-4\n")  # a base file of the config, same path
    after = suite._train_unit(entry)
    assert before != after and before.startswith("train/trained/") and after.startswith("train/trained/")


def test_a_training_that_fails_is_reported_and_the_other_enhancers_still_run(tmp_path, monkeypatch):
    train_cfg = tmp_path / "train.py"
    train_cfg.write_text("max_iters = 40\n")
    cfg = _config(tmp_path, _weights(tmp_path / "a.pt", 2.0))
    cfg["enhancers"].append(dict(name="uptflow", label="trained", train=dict(config=str(train_cfg))))
    suite = Suite(validate_config(cfg), resume=True, progress=False)

    def broken(entry):
        raise ValueError("validation sample x has no ground truth")

    monkeypatch.setattr(suite, "_trained_weights", broken)
    suite.stage_enhancers()  # a ValueError of training is a failure of that enhancer, not a config error
    assert [e.label for e in suite.enhancers] == ["input", "gain"]
    assert [f["unit"] for f in suite.failures] == ["enhancer/trained"]

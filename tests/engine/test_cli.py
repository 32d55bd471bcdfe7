"""`uptflow train` from the command line: trains, resumes, and fails clearly on a missing dataset."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.tiny import ROOT, TINY_CONFIG, TINY_NETWORK

TINY_OPTIONS = [
    *(f"model.network.{k}={v}" for k, v in TINY_NETWORK.items()),
    "train_dataloader.batch_size=2",
    "train_dataloader.dataset.photos=(astronaut,coffee)",
    "train_dataloader.dataset.max_side=32",
    "train_dataloader.dataset.pipeline.0.crop_size=16",
    "val_dataloader.dataset.photos=(chelsea,)",
    "val_dataloader.dataset.max_side=24",
    "default_hooks.checkpoint.interval=1",
    "default_hooks.logger.interval=1",
    "train_cfg.val_interval=1000",
]


def uptflow(*args: str, launcher: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``python -m uptflow ARGS`` (optionally under a launcher such as torchrun) single-threaded."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [*launcher, "-m", "uptflow", *args] if launcher else [sys.executable, "-m", "uptflow", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_train_then_resume_from_the_command_line(tmp_path):
    work = tmp_path / "work"
    first = uptflow("train", str(TINY_CONFIG), "--work-dir", str(work), "--cfg-options", *TINY_OPTIONS,
                    "train_cfg.max_iters=1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert (work / "iter_1.pth").is_file() and (work / "uptflow_final.pth").is_file()
    assert "Failed to search registry" not in first.stdout + first.stderr  # every registry resolves in our scope
    # stderr is a pipe here, as when train.log is redirected: the summary line stays, no progress-bar frames
    assert "validation set: 1 samples read" in first.stdout + first.stderr
    assert "checking the validation set" not in first.stdout + first.stderr
    fresh = uptflow("train", str(TINY_CONFIG), "--work-dir", str(work), "--cfg-options", *TINY_OPTIONS,
                    "train_cfg.max_iters=2")  # without --resume: would write over the first run's best network
    assert fresh.returncode == 2 and "already holds a training run" in fresh.stderr.strip().splitlines()[-1]
    second = uptflow("train", str(TINY_CONFIG), "--work-dir", str(work), "--resume", "--cfg-options",
                     *TINY_OPTIONS, "train_cfg.max_iters=2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed epoch: 0, iter: 1" in second.stdout + second.stderr
    assert Path((work / "last_checkpoint").read_text().strip()).name == "iter_2.pth"
    logs = list(work.glob("*/vis_data/scalars.json"))
    assert logs, "JSON scalar log missing"


def test_missing_dataset_fails_with_the_option_to_set(tmp_path):
    res = uptflow("train", "configs/uptflow/uptflow_lolv2-real_50k.py", "--work-dir", str(tmp_path / "w"),
                  "--cfg-options", f"data_root={tmp_path / 'nowhere'}")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "does not exist" in res.stderr and "--cfg-options" in res.stderr
    assert not (tmp_path / "w").exists()


def test_a_config_variable_the_runner_never_reads_is_refused(tmp_path):
    from uptflow.engine.train import prepare_config

    # what mmengine's Runner reads besides its constructor's settings is no variable
    prepare_config(TINY_CONFIG, work_dir=str(tmp_path / "w"), cfg_options={"compile": False})
    # a hook's priority is taken out by the Runner, and a class switched in the same command takes its own settings
    prepare_config(TINY_CONFIG, work_dir=str(tmp_path / "w"), cfg_options={
        "default_hooks.logger.priority": "LOW", "custom_hooks.0.type": "EMAHook", "custom_hooks.0.momentum": 0.001})

    config = tmp_path / "with_unused.py"
    config.write_text(f"_base_ = [{str(TINY_CONFIG)!r}]\nnotes = dict(author='me')\n")
    with pytest.raises(ValueError, match="notes.author: in a variable of with_unused.py, .* changes nothing; set the "
                                         "settings the file computed from 'notes' instead"):
        prepare_config(config, work_dir=str(tmp_path / "w"), cfg_options={"notes.author": "you"})


@pytest.mark.parametrize("option, message", [
    # a new setting its entry's class does not take: refused before the Runner starts, with the closest name
    ("train_cfg.max_iter=2", r"train_cfg.max_iter: IterBasedTrainLoop takes no setting 'max_iter' \(did you mean "
                             r"max_iters\?\)$"),
    ("model.network.foo=3", "model.network.foo: UPTFlow takes no setting 'foo' .it takes: K, encoder_dim"),
    ("train_dataloader.dataset.pipeline.0.crop_sz=8", "PairedRandomCrop takes no setting 'crop_sz' .did you mean "
                                                      "crop_size"),
    ("optim_wrapper.optimizer.weight_decy=0.1", "Adam takes no setting 'weight_decy' .did you mean weight_decay"),
    ("optim_wrapper.max_consecutive_nonfinit=2", "SafeOptimWrapper takes no setting 'max_consecutive_nonfinit' "
                                                 ".did you mean max_consecutive_nonfinite"),
    ("param_scheduler.1.milestone=[5]", "MultiStepLR takes no setting 'milestone' .did you mean milestones"),
    ("max_iters=2", "max_iters: in a variable of .* changes nothing; set train_cfg.max_iters instead"),
    # a dotted key into a variable (a pipeline) points at the copy the Runner reads, in --cfg-options spelling
    ("train_pipeline.0.crop_size=8", "train_pipeline.0.crop_size: in a variable of .* changes nothing; set "
                                     r"train_dataloader\.dataset\.pipeline\.0\.crop_size instead"),
    ("crop_size=8", r"set train_dataloader\.dataset\.pipeline\.0\.crop_size instead"),
    ("train_photos=(camera,)", "train_photos: in a variable of .* set train_dataloader.dataset.photos instead"),
    ("train_cfg.max_iters=0", "train_cfg.max_iters: expected a whole number >= 1, got 0"),
    ("train_cfg.max_iters=2.5", "train_cfg.max_iters: expected a whole number >= 1, got 2.5"),
    ("optim_wraper.optimizer.lr=0.5", "optim_wraper.optimizer.lr: .* has no 'optim_wraper' .*did you mean "
                                      "optim_wrapper"),
    ("optim_wrapper.optimizer.lr=fast", r"optimizer.lr='fast': expected a number like the config's 0.001"),
    ("default_hooks.logger.log_metric_by_epoch=1", r"log_metric_by_epoch=1: expected True or False like the "
                                                   "config's False"),
    ("foo", "argument --cfg-options: expected KEY=VALUE items, got 'foo'"),
])
def test_config_mistakes_are_one_line_errors_naming_the_key(tmp_path, option, message):
    res = uptflow("train", str(TINY_CONFIG), "--work-dir", str(tmp_path / "w"), "--cfg-options", *TINY_OPTIONS,
                  option)
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "error: " in last and re.search(message, last), last


def test_train_api_returns_a_network_that_loads_and_enhances(tmp_path):
    import torch

    from tests.engine.tiny import tiny_cfg
    from uptflow import load_model
    from uptflow.engine.train import train

    opts = {k: v for k, v in tiny_cfg(tmp_path / "probe", max_iters=2).items()
            if k in ("model", "train_dataloader", "val_dataloader", "train_cfg", "custom_hooks", "visualizer")}
    torch.set_num_threads(1)
    weights = train(TINY_CONFIG, tmp_path / "work", cfg_options=opts)
    assert weights == tmp_path / "work" / "uptflow_final.pth"
    out = load_model(weights).enhance(torch.rand(1, 3, 20, 28))
    assert out.shape == (1, 3, 20, 28) and 0 <= float(out.min()) <= float(out.max()) <= 1


def test_an_unreadable_validation_image_stops_training_before_it_starts(tmp_path):
    import numpy as np

    from uptflow.utils.io import imwrite_rgb

    rng = np.random.default_rng(0)
    for split, kind in (("train", "low"), ("train", "high"), ("val", "low"), ("val", "high")):
        imwrite_rgb(tmp_path / "data" / split / kind / "0.png", rng.integers(0, 256, (130, 150, 3), dtype=np.uint8))
    bad = tmp_path / "data" / "val" / "high" / "0.png"
    bad.write_bytes(bad.read_bytes()[:200])  # a copy cut short
    res = uptflow("train", "configs/uptflow/uptflow_small_my-pairs_cpu.py", "--work-dir", str(tmp_path / "w"),
                  "--cfg-options", f"data_root={tmp_path / 'data'}")
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and str(bad) in last and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "System environment" not in res.stdout + res.stderr  # mmengine's dump comes with the Runner
    assert not list((tmp_path / "w").rglob("*.pth"))

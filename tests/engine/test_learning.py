"""Slow end-to-end checks: the tiny config learns on CPU; two-process (gloo) distributed training runs."""

import sys

import numpy as np
import pytest

from tests.engine.test_cli import TINY_OPTIONS, uptflow
from tests.engine.tiny import TINY_CONFIG
from uptflow.engine.train import build_runner, prepare_config


@pytest.mark.slow
def test_tiny_training_lowers_the_nll_and_beats_the_input_psnr(tmp_path):
    cfg = prepare_config(TINY_CONFIG, work_dir=str(tmp_path), cfg_options={
        "train_cfg.max_iters": 30, "train_cfg.val_interval": 30, "log_level": "WARNING",
        "visualizer.vis_backends": [dict(type="LocalVisBackend")],
        "custom_hooks": [dict(type="RNGStateHook"), dict(type="ExportModelHook")]})
    runner = build_runner(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5, losses
    psnr = runner.message_hub.get_scalar("val/psnr").current()
    psnr_input = runner.message_hub.get_scalar("val/psnr_input").current()
    assert psnr > psnr_input + 2.0, (psnr, psnr_input)


@pytest.mark.slow
def test_distributed_training_with_two_cpu_processes(tmp_path):
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517")
    res = uptflow("train", str(TINY_CONFIG), "--work-dir", str(tmp_path), "--launcher", "pytorch",
                  "--cfg-options", *TINY_OPTIONS, "train_cfg.max_iters=2", launcher=torchrun)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Distributed training: True" in out
    assert (tmp_path / "iter_2.pth").is_file() and (tmp_path / "uptflow_final.pth").is_file()

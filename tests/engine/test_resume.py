"""Resuming reproduces an uninterrupted run exactly (weights, optimizer, schedule, data stream, noise)."""

import shutil

import pytest
import torch

from tests.engine.tiny import tiny_cfg
from uptflow.engine.train import build_runner


def _train(cfg):
    runner = build_runner(cfg)
    runner.train()
    return runner


def test_resume_from_a_mid_run_checkpoint_matches_the_uninterrupted_run(tmp_path):
    full = _train(tiny_cfg(tmp_path / "full", max_iters=4, ckpt_interval=2))
    full_losses = full.message_hub.get_scalar("train/loss").data[0]
    full_sd = torch.load(tmp_path / "full" / "iter_4.pth", map_location="cpu", weights_only=False)

    # a second run resumes from the first run's iteration-2 checkpoint, as after a crash at iteration 3
    (tmp_path / "resumed").mkdir()
    shutil.copy(tmp_path / "full" / "iter_2.pth", tmp_path / "resumed" / "iter_2.pth")
    cfg = tiny_cfg(tmp_path / "resumed", max_iters=4, ckpt_interval=2)
    cfg.resume, cfg.load_from = True, str(tmp_path / "resumed" / "iter_2.pth")
    resumed = _train(cfg)
    resumed_losses = resumed.message_hub.get_scalar("train/loss").data[0]
    resumed_sd = torch.load(tmp_path / "resumed" / "iter_4.pth", map_location="cpu", weights_only=False)

    assert resumed.iter == 4
    assert list(resumed_losses[-2:]) == list(full_losses[-2:])
    for key, value in full_sd["state_dict"].items():
        assert torch.equal(value, resumed_sd["state_dict"][key]), key
    assert full_sd["param_schedulers"] == resumed_sd["param_schedulers"]
    assert torch.equal(full_sd["rng_state"]["torch"], resumed_sd["rng_state"]["torch"])


def test_resume_auto_finds_the_latest_checkpoint(tmp_path):
    _train(tiny_cfg(tmp_path, max_iters=2, ckpt_interval=2))
    cfg = tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2)
    cfg.resume = True
    runner = _train(cfg)
    assert runner.iter == 4
    assert len(runner.message_hub.get_scalar("train/loss").data[0]) == 4  # 2 restored + 2 new


def test_resume_auto_skips_a_corrupt_latest_checkpoint_for_the_newest_intact_one(tmp_path, caplog):
    _train(tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2))
    latest = tmp_path / "iter_4.pth"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])  # killed while writing
    cfg = tiny_cfg(tmp_path, max_iters=6, ckpt_interval=2)
    cfg.resume = True
    runner = build_runner(cfg)
    assert runner.newest_intact_checkpoint() == str(tmp_path / "iter_2.pth")
    runner.train()
    assert runner.iter == 6
    assert len(runner.message_hub.get_scalar("train/loss").data[0]) == 6  # 2 restored + 4 new


def test_resume_auto_with_only_unreadable_checkpoints_names_them(tmp_path):
    cfg = tiny_cfg(tmp_path, max_iters=2)
    (tmp_path / "iter_2.pth").write_bytes(b"not a checkpoint")
    cfg.resume = True
    with pytest.raises(ValueError, match=r"none of its 1 checkpoints can be read \(iter_2.pth\)"):
        build_runner(cfg).train()

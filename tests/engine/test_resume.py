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
    resumed = _train(tiny_cfg(tmp_path / "resumed", max_iters=4, ckpt_interval=2,
                              resume=str(tmp_path / "resumed" / "iter_2.pth")))
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
    with pytest.raises(ValueError, match=r"already holds a training run \(iter_2.pth, last_checkpoint.*--resume"):
        tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2)  # a fresh run would write over it
    runner = _train(tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2, resume="auto"))
    assert runner.iter == 4
    assert len(runner.message_hub.get_scalar("train/loss").data[0]) == 4  # 2 restored + 2 new


def test_resume_auto_in_a_copied_work_dir_uses_the_copys_checkpoints(tmp_path):
    _train(tiny_cfg(tmp_path / "a", max_iters=4, ckpt_interval=2))
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # last_checkpoint still names a/iter_4.pth
    runner = build_runner(tiny_cfg(tmp_path / "b", max_iters=6, ckpt_interval=2, resume="auto"))
    assert runner.newest_intact_checkpoint() == str(tmp_path / "b" / "iter_4.pth")
    for p in (tmp_path / "b").glob("iter_*.pth"):
        p.unlink()
    # a copy without checkpoints starts over (resuming a's iteration 4 would stop at once, at iteration 4)
    assert _train(tiny_cfg(tmp_path / "b", max_iters=2, ckpt_interval=2, resume="auto")).iter == 2


def test_resume_with_another_network_names_the_checkpoint_and_a_mismatch(tmp_path):
    from tests.engine.tiny import TINY_NETWORK

    _train(tiny_cfg(tmp_path, max_iters=2, ckpt_interval=2))
    cfg = tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2, resume="auto",
                   **{"model.network": {**TINY_NETWORK, "hidden": 16}})
    with pytest.raises(ValueError, match=r"iter_2.pth: key .* has shape .* made by another network than this config's"):
        build_runner(cfg).train()


def test_resume_auto_skips_a_corrupt_latest_checkpoint_for_the_newest_intact_one(tmp_path, caplog):
    _train(tiny_cfg(tmp_path, max_iters=4, ckpt_interval=2))
    latest = tmp_path / "iter_4.pth"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])  # killed while writing
    runner = build_runner(tiny_cfg(tmp_path, max_iters=6, ckpt_interval=2, resume="auto"))
    assert runner.newest_intact_checkpoint() == str(tmp_path / "iter_2.pth")
    runner.train()
    assert runner.iter == 6
    assert len(runner.message_hub.get_scalar("train/loss").data[0]) == 6  # 2 restored + 4 new


def test_resume_auto_with_only_unreadable_checkpoints_names_them(tmp_path):
    (tmp_path / "iter_2.pth").write_bytes(b"not a checkpoint")
    cfg = tiny_cfg(tmp_path, max_iters=2, resume="auto")
    with pytest.raises(ValueError, match=r"none of its 1 checkpoints can be read \(iter_2.pth\)"):
        build_runner(cfg).train()

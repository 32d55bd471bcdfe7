"""`uptflow train --device`: the Runner trains where it is told, not where mmengine guessed at import."""

import mmengine.device.utils as mm_device
import pytest
import torch
from mmengine.device import get_device

from tests.engine.test_cli import TINY_OPTIONS
from tests.engine.tiny import TINY_CONFIG
from uptflow.cli import main
from uptflow.engine.train import runner_device


def test_device_cpu_trains_on_the_cpu_where_mmengine_chose_cuda(tmp_path, monkeypatch):
    """mmengine fixes its device at import (CUDA whenever a GPU is visible); ``--device cpu`` overrides it for the
    run. Here mmengine is made to believe it chose CUDA: without the override, the model would go to a GPU that
    this machine does not have and the run would fail."""
    monkeypatch.setattr(mm_device, "DEVICE", "cuda")
    work = tmp_path / "work"
    assert main(["train", str(TINY_CONFIG), "--work-dir", str(work), "--device", "cpu", "--cfg-options",
                 *TINY_OPTIONS, "train_cfg.max_iters=1"]) == 0
    assert (work / "uptflow_final.pth").is_file()
    assert get_device() == "cuda"  # mmengine's own choice is back after the run


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_is_one_error_line_before_any_work(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["train", str(TINY_CONFIG), "--work-dir", str(work), "--device", "cuda"]) == 2
    assert "error: --device cuda: torch sees no GPU" in capsys.readouterr().err
    assert not work.exists()


def test_runner_device_sets_and_restores_mmengines_device():
    before = get_device()
    with runner_device("cpu"):
        assert get_device() == "cpu"
    assert get_device() == before
    with runner_device(None):
        assert get_device() == before


def test_runner_device_refuses_what_the_runner_cannot_train_on():
    with pytest.raises(ValueError, match="training runs on cpu, cuda or cuda:N"), runner_device("meta"):
        pass
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no GPU"), runner_device("cuda:0"):
            pass

"""Exporting the packaged default model: float16 weights, size limit, agreement with the float32 network."""

import pytest
import torch

from tests.engine.tiny import TINY_NETWORK
from uptflow.engine.export import export_fp16, main
from uptflow.models import load_model
from uptflow.models.checkpoint import save_model
from uptflow.models.uptflow import UPTFlow


@pytest.fixture()
def trained(tmp_path):
    torch.manual_seed(0)
    net = UPTFlow(**TINY_NETWORK)
    gt = torch.rand(2, 3, 16, 16)
    net.init_actnorm(gt, gt * 0.1)
    return save_model(net, tmp_path / "uptflow_best.pth")


def test_export_writes_float16_weights_that_load_and_agree(trained, tmp_path):
    out = tmp_path / "assets" / "uptflow_default.pth"
    info = export_fp16(trained, out)
    payload = torch.load(out, weights_only=True)
    floats = [v for v in payload["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert out.stat().st_mode & 0o444 == 0o444
    assert info["size_mb"] < trained.stat().st_size / 2**20
    assert info["fp16_vs_fp32_psnr"] > 35
    net = load_model(out)
    assert {k: net.config[k] for k in TINY_NETWORK} == TINY_NETWORK


def test_export_refuses_a_file_over_the_size_limit_and_leaves_the_previous_file(trained, tmp_path):
    out = tmp_path / "assets" / "big.pth"
    with pytest.raises(ValueError, match="over the 0.001 MiB limit"):
        export_fp16(trained, out, max_mb=0.001)
    assert not out.exists()
    out.write_bytes(b"the model shipped before")
    with pytest.raises(ValueError, match="left as it was"):
        export_fp16(trained, out, max_mb=0.001)
    assert out.read_bytes() == b"the model shipped before" and [p.name for p in out.parent.iterdir()] == ["big.pth"]


def test_export_command_reports_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope.pth"), "--out", str(tmp_path / "x.pth")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: checkpoint not found: {tmp_path / 'nope.pth'}"
    assert not (tmp_path / "x.pth").exists()


def test_a_runner_checkpoint_of_any_iteration_can_be_exported(tmp_path):
    from tests.engine.tiny import tiny_cfg
    from uptflow.engine.train import build_runner

    runner = build_runner(tiny_cfg(tmp_path / "run", max_iters=2, ckpt_interval=2))
    runner.train()
    info = export_fp16(tmp_path / "run" / "iter_2.pth", tmp_path / "default.pth")
    assert {k: info["config"][k] for k in TINY_NETWORK} == TINY_NETWORK
    exported = load_model(tmp_path / "default.pth").state_dict()
    trained = runner.model.net.state_dict()
    assert all(torch.allclose(trained[k].float(), exported[k].float(), atol=1e-2, rtol=1e-2) for k in trained)


def test_export_names_no_default_output_it_would_write_relative_to_the_current_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "uptflow_best.pth")])
    assert stop.value.code == 2 and "the following arguments are required: --out" in capsys.readouterr().err

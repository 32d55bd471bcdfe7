"""Checkpoints are written atomically and the exported network loads with uptflow.models.load_model."""

import torch
from mmengine.fileio import get_file_backend

from tests.engine.tiny import TINY_NETWORK, tiny_cfg
from uptflow.engine.atomic_backend import AtomicLocalBackend
from uptflow.engine.train import build_runner
from uptflow.models import load_model


def test_atomic_backend_never_leaves_a_partial_file(tmp_path, monkeypatch):
    backend = get_file_backend(backend_args=dict(backend="atomic_local"))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / "ckpt" / "iter_1.pth"
    backend.put(b"old", target)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    try:
        backend.put(b"new and longer", target)
    except OSError:
        pass
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["iter_1.pth"]  # no temp file left behind
    monkeypatch.undo()
    backend.put_text("x", tmp_path / "last_checkpoint")
    assert (tmp_path / "last_checkpoint").read_text() == "x"


def test_training_exports_best_and_final_networks_that_load_model_reads(tmp_path):
    runner = build_runner(tiny_cfg(tmp_path, max_iters=2, val_interval=2))
    runner.train()
    for tag in ("best", "final"):
        net = load_model(tmp_path / f"uptflow_{tag}.pth")
        assert {k: net.config[k] for k in TINY_NETWORK} == TINY_NETWORK
    trained = runner.model.net.state_dict()
    final = load_model(tmp_path / "uptflow_final.pth").state_dict()
    assert all(torch.equal(trained[k].cpu(), final[k]) for k in trained)
    assert runner.message_hub.get_info("best_ckpt").endswith("best_psnr_iter_2.pth")

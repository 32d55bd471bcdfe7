"""UPT-Flow on a CUDA GPU: the CPU's function in fp32, close to it in bf16 / fp16, tiled, batched and trained.

Skipped where torch sees no GPU (CI never has one); on a GPU machine: ``pytest tests/models/test_cuda.py``.
The tests of the precision switch itself (which runs where torch sees no GPU) are in ``test_fp32_switch_*``.
"""

import math

import pytest
import torch

import uptflow.models.flow  # noqa: F401 - registers the flow classes
from tests.models.flow.helpers import FACTORIES, assert_invertible, assert_logdet_matches_autograd
from tests.models.images import as_tensor, dark_photo, photo, psnr
from uptflow.registry import FLOWS
from uptflow.utils import devices

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")


def _to(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, list):
        return [_to(o, device) for o in obj]
    return obj


@pytest.fixture(scope="module")
def default_models():
    from uptflow.models import load_model

    return load_model(None, device="cpu"), load_model(None, device="cuda")


@needs_gpu
@pytest.mark.parametrize("name", sorted(FLOWS.module_dict))
def test_every_flow_layer_inverts_and_reports_its_logdet_on_cuda(name):
    layer, x, cond = FACTORIES[name]()
    layer, x, cond = layer.cuda(), x.cuda(), _to(cond, "cuda")
    assert_invertible(layer, x, cond)
    assert_logdet_matches_autograd(layer, x, cond)


@needs_gpu
def test_fp32_on_cuda_computes_the_cpus_function(default_models):
    cpu, gpu = default_models
    low = dark_photo(120, 200)
    ref = cpu.enhance(low)
    out = gpu.enhance(low.cuda())
    assert out.device.type == "cuda"
    # full float32 (no TF32): the CPU's output to float32 rounding (the GPU's attention kernels sum in another order)
    torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=0)


@needs_gpu
@pytest.mark.parametrize("precision, min_db", [("bf16", 40.0), ("fp16", 45.0)])
def test_low_precisions_on_cuda_stay_close_to_fp32(default_models, precision, min_db):
    _, gpu = default_models
    low = dark_photo(160, 240).cuda()
    ref = gpu.enhance(low)
    gpu.precision = precision
    try:
        out = gpu.enhance(low)
    finally:
        gpu.precision = "fp32"
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert psnr(ref, out) >= min_db


@needs_gpu
def test_tiled_cuda_pass_sharing_image_statistics_computes_the_cpus_tiled_function():
    from uptflow.enhancers import build_enhancer

    low = dark_photo(320, 480)
    cpu, gpu = (build_enhancer("uptflow", device=d, tile=160, overlap=32).enhance_tensor(low) for d in ("cpu", "cuda"))
    torch.testing.assert_close(gpu.cpu(), cpu, atol=5e-5, rtol=0)
    whole = build_enhancer("uptflow", device="cuda", tile=0).enhance_tensor(low)
    assert psnr(whole, gpu) >= 40.0  # 42 dB on the CPU at these small tiles


@needs_gpu
def test_batched_cuda_pass_equals_single_images(default_models):
    _, gpu = default_models
    low = torch.cat([dark_photo(120, 160), dark_photo(120, 160).flip(-1)])
    both = gpu.enhance(low.cuda())
    for i in range(2):
        torch.testing.assert_close(both[i:i + 1], gpu.enhance(low[i:i + 1].cuda()), atol=1e-5, rtol=0)


@needs_gpu
def test_training_steps_on_cuda_run_the_encoder_in_bf16_and_lower_the_nll():
    from tests.models.tiny import tiny_uptflow

    torch.manual_seed(0)
    model = tiny_uptflow().cuda().train()
    low = dark_photo(80, 80).cuda()
    gt = as_tensor(photo(80, 80)).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        assert {c.dtype for c in model.conditions(low)} == {torch.bfloat16}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(gt, low)
        opt.zero_grad()
        loss.backward()
        assert loss.dtype == torch.float32  # the flow and its log-determinants stay float32
        assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
        opt.step()
        losses.append(float(loss))
    assert math.isfinite(losses[-1]) and losses[-1] < losses[0]


@needs_gpu
def test_amp_training_on_cuda_runs_and_resumes_from_a_checkpoint(tmp_path):
    import shutil

    from tests.engine.tiny import tiny_cfg
    from uptflow.engine.train import build_runner, runner_device

    with runner_device("cuda"):
        cfg = tiny_cfg(tmp_path / "full", max_iters=4, ckpt_interval=2)
        assert cfg.optim_wrapper.type == "SafeAmpOptimWrapper"
        full = build_runner(cfg)
        full.train()
        (tmp_path / "resumed").mkdir()
        shutil.copy(tmp_path / "full" / "iter_2.pth", tmp_path / "resumed" / "iter_2.pth")
        # the checkpoint's RNG states come back on the GPU, where torch does not take them
        resumed = build_runner(tiny_cfg(tmp_path / "resumed", max_iters=4, ckpt_interval=2,
                                        resume=str(tmp_path / "resumed" / "iter_2.pth")))
        resumed.train()
    assert next(full.model.parameters()).device.type == "cuda"
    assert resumed.iter == 4
    assert all(math.isfinite(v) for v in resumed.message_hub.get_scalar("train/loss").data[0])


@pytest.mark.skipif(not hasattr(torch.backends.cudnn, "conv"), reason="torch < 2.9 has no per-backend TF32 settings")
def test_fp32_switch_turns_tf32_off_on_cuda_only_and_restores_it(monkeypatch):
    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    before = conv.fp32_precision, matmul.fp32_precision
    with devices.full_fp32("cpu"):
        assert (conv.fp32_precision, matmul.fp32_precision) == before
    # the switch only reads and writes torch's flags, which exist without a GPU too
    monkeypatch.setattr(devices, "torch_device", lambda device: torch.device("cuda"))
    with pytest.raises(KeyError), devices.full_fp32("cuda"):
        assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
        raise KeyError("an error inside the block")
    assert (conv.fp32_precision, matmul.fp32_precision) == before

"""The full UPT-Flow network: official equivalence, size handling, likelihood and sampling API."""

import math
import warnings

import numpy as np
import pytest
import torch

from tests.models.golden_utils import CASES, image, load_case, rel_err
from tests.models.tiny import tiny_uptflow
from uptflow.models import UPTFlow, build_uptflow
from uptflow.models.flow import ActNorm
from uptflow.models.uptflow import pad_to_multiple
from uptflow.registry import MODELS


@pytest.mark.parametrize("window, expected", [(5, 23_437_502), (8, 23_445_854)])
def test_full_model_parameter_count_matches_official(window, expected):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = build_uptflow(window_size=window)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert sum(p.numel() for p in model.flow.parameters()) == 6_723_600


def test_registry_builds_uptflow_with_window_kwarg():
    import uptflow.models  # noqa: F401 - registers UPTFlow

    model = MODELS.build(dict(type="UPTFlow", window_size=8, encoder_dim=8, K=1, n_unconditional=1, hidden=8))
    assert isinstance(model, UPTFlow) and model.window_size == 8


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_full_model_matches_official_outputs(golden, case):
    from uptflow import load_model

    model = load_model(golden / "official_format_w5_seed0.pth")
    d = load_case(golden, case)
    low, gt = image(d["low_u8"]), image(d["gt_u8"])
    with torch.no_grad():
        z, logdet = model.encode(gt, low)
        bits = model.nll(gt, low, dequantize=False)
        x0 = model.decode(low)
    # the enhancer's path: cached inverses, folded ActNorms, no log-dets; these random weights decode far out of range
    with torch.inference_mode(), pytest.warns(RuntimeWarning, match="diverged at heat 0 .* do not fit this input"):
        x_enh = model.enhance(low, clamp=False)
    assert rel_err(z, d["z"]) < 1e-4
    assert abs(logdet.item() - float(d["logdet"])) / abs(float(d["logdet"])) < 1e-4
    assert abs(bits.item() - float(d["nll_bits"])) / abs(float(d["nll_bits"])) < 1e-4
    assert rel_err(x0, d["enhanced_heat0"]) < 1e-3
    assert rel_err(x_enh, d["enhanced_heat0"]) < 1e-3


@pytest.mark.parametrize("size", [(37, 53), (101, 67)])
def test_enhance_any_size_returns_same_size_in_unit_range(size):
    model = tiny_uptflow()
    low = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1)) * 0.3
    with torch.no_grad():
        out = model.enhance(low)
    assert out.shape == low.shape
    assert out.min() >= 0 and out.max() <= 1
    assert out.std() > 0  # not a constant image


def test_encode_decode_round_trip_when_scales_are_not_multiples_of_the_window():
    model = tiny_uptflow()
    g = torch.Generator().manual_seed(2)
    low = torch.rand(2, 3, 48, 64, generator=g) * 0.3  # 1/8 scale is 6x8: not a multiple of window 5
    gt = torch.rand(2, 3, 48, 64, generator=g)
    with torch.no_grad():
        z, logdet = model.encode(gt, low)
        rec = model.decode(low, z)
    assert z.shape == (2, 192, 6, 8) and logdet.shape == (2,)
    torch.testing.assert_close(rec, gt, atol=1e-4, rtol=0)


def test_nll_is_bits_per_pixel_of_the_spec_formula():
    model = tiny_uptflow()
    g = torch.Generator().manual_seed(3)
    low, gt = torch.rand(2, 3, 32, 40, generator=g) * 0.3, torch.rand(2, 3, 32, 40, generator=g)
    with torch.no_grad():
        z, logdet = model.encode(gt, low)
        bits = model.nll(gt, low, dequantize=False)
        noisy = model.nll(gt, low, dequantize=True, generator=g)
    hw = 32 * 40
    log_pz = -0.5 * (z.double() ** 2 + math.log(2 * math.pi)).sum(dim=(1, 2, 3))
    expected = -(log_pz + logdet.double() - hw * math.log(32)) / (hw * math.log(2))
    assert bits.shape == (2,)
    torch.testing.assert_close(bits.double(), expected, rtol=1e-6, atol=0)
    assert not torch.equal(noisy, bits) and (noisy - bits).abs().max() < 0.5 * bits.abs().max()


def test_decode_samples_at_heat_and_is_deterministic_at_heat_zero():
    model = tiny_uptflow()
    low = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 0.3
    with torch.no_grad():
        a, b = model.decode(low), model.decode(low, heat=0.0)
        s1 = model.decode(low, heat=0.8, generator=torch.Generator().manual_seed(0))
        s2 = model.decode(low, heat=0.8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(s1, s2, atol=0, rtol=0)
    assert (s1 - a).abs().max() > 1e-3


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 1e20])
def test_enhance_warns_when_the_decode_diverges_and_clamps_it(monkeypatch, bad):
    model = tiny_uptflow()
    low = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 0.3
    decode = model.decode

    def diverging(*args, **kwargs):
        out = decode(*args, **kwargs)
        out[..., :8, :8] = bad
        return out

    monkeypatch.setattr(model, "decode", diverging)
    with pytest.warns(RuntimeWarning, match=r"diverged at heat 1 on 6\.25% of the output values.*lower heat"):
        out = model.enhance(low, heat=1.0, generator=torch.Generator().manual_seed(0))
    assert out.min() >= 0 and out.max() <= 1


def test_enhance_of_a_decode_that_stays_in_range_does_not_warn():
    model = tiny_uptflow()
    low = torch.rand(1, 3, 37, 29, generator=torch.Generator().manual_seed(4)) * 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.enhance(low)
        model.enhance(low, heat=0.8, generator=torch.Generator().manual_seed(0))


def test_init_actnorm_initialises_every_actnorm_from_data():
    model = UPTFlow(window_size=5, encoder_dim=8, n_unconditional=1, K=1, hidden=8)
    norms = [m for m in model.modules() if isinstance(m, ActNorm)]
    assert norms and not any(bool(m.initialized) for m in norms)
    g = torch.Generator().manual_seed(5)
    low = torch.rand(2, 3, 32, 32, generator=g) * 0.3
    model.init_actnorm((low * 3).clamp(0, 1), low)
    assert all(bool(m.initialized) for m in norms)
    assert model.flow.levels[0][1].actnorm.bias.abs().sum() > 0


def test_encode_rejects_sizes_the_flow_cannot_squeeze():
    model = tiny_uptflow()
    x = torch.rand(1, 3, 30, 32)
    with pytest.raises(ValueError, match="multiples of 8"):
        model.encode(x, x)


@pytest.mark.parametrize("size", [(5, 7), (1, 9), (16, 16)])
def test_pad_to_multiple_reflects_like_numpy(size):
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(6))
    padded = pad_to_multiple(x, 8)
    h, w = padded.shape[-2:]
    assert h % 8 == 0 and w % 8 == 0 and torch.equal(padded[..., : size[0], : size[1]], x)
    if min(size) > 1:
        ref = np.pad(x.numpy(), ((0, 0), (0, 0), (0, h - size[0]), (0, w - size[1])), mode="reflect")
        np.testing.assert_array_equal(padded.numpy(), ref)


def test_fp32_network_leaves_an_outer_autocast_to_the_encoder():
    # bf16 / AMP training wraps the whole forward pass in the optimizer wrapper's autocast
    model, low = tiny_uptflow(), torch.rand(1, 3, 40, 40) * 0.3
    with torch.autocast("cpu", dtype=torch.bfloat16):
        conditions = model.conditions(low)
        z, logdet = model.encode(low * 2, low)
    assert {c.dtype for c in conditions} == {torch.bfloat16}
    assert z.dtype == logdet.dtype == torch.float32  # the flow itself stays float32
    assert {c.dtype for c in model.conditions(low)} == {torch.float32}

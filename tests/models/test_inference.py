"""The fast inference paths compute the same function as the plain ones: channels-last layout, strips, in-place
residuals, padded feed-forward widths, the CPU window attention, folded coupling sub-networks, batching; precisions;
enhance without autograd."""


import pytest
import torch

import uptflow.models.strips as strips
from tests.models.images import psnr
from tests.models.tiny import tiny_uptflow
from uptflow.models import MSFormer, unbalanced_point_map
from uptflow.models.encoder.lewin import BasicUformerLayer, WindowAttention, shifted_window_mask
from uptflow.models.encoder.restormer import GDFN, RestormerStage, TransformerBlock
from uptflow.models.flow import CrossCouplingAffine, data_dependent_init
from uptflow.models.nhwc import channels_last


@pytest.fixture
def tiny_strips(monkeypatch):
    """Strips of a few rows (the minimum), so that small test maps are split many times."""
    monkeypatch.setattr(strips, "STRIP_BYTES", 1)


def test_restormer_stage_in_strips_and_in_place_equals_the_plain_computation(tiny_strips):
    torch.manual_seed(0)
    stage = RestormerStage(TransformerBlock(16, 2), TransformerBlock(16, 2)).eval()
    x = torch.randn(2, 16, 19, 23)
    reference = x.clone().requires_grad_()  # with autograd: one strip, no in-place update
    expected = stage(reference)
    with torch.no_grad():
        out = stage(channels_last(x))
    torch.testing.assert_close(out, expected.detach(), atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(20, 25), (13, 17)])  # whole windows, and padding to whole windows
def test_window_layer_in_strips_and_in_place_equals_the_plain_computation(tiny_strips, size):
    torch.manual_seed(0)
    layer = BasicUformerLayer(16, 2, 2, (5, 5)).eval()
    x, m = torch.randn(2, 16, *size), torch.randn(2, 16, *size)
    expected = layer(x.clone().requires_grad_(), m)
    with torch.no_grad():
        out = layer(channels_last(x), channels_last(m))
    torch.testing.assert_close(out, expected.detach(), atol=2e-5, rtol=1e-5)


def test_encoder_output_does_not_depend_on_the_input_layout():
    torch.manual_seed(0)
    enc = MSFormer(5, dim=8).eval()
    low = torch.rand(1, 3, 40, 48) * 0.3
    upm = unbalanced_point_map(low)
    with torch.no_grad():
        a = enc(low, upm)
        b = enc(channels_last(low), channels_last(upm))
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-6)


def test_folded_coupling_equals_the_layer_by_layer_sub_networks():
    torch.manual_seed(0)
    layer = CrossCouplingAffine(4, 6, hidden=8, reduction=4)
    x, cond = torch.randn(2, 4, 6, 6), torch.randn(2, 6, 6, 6)
    with torch.no_grad(), data_dependent_init(layer):  # initialise the ActNorms: the plain path
        layer(x, cond)
        for p in layer.parameters():  # make every sub-network matter
            p.add_(torch.randn_like(p) * 0.05)
        plain_y, plain_logdet = layer(x, cond)
        plain_x = layer.reverse(plain_y, cond)
    with torch.no_grad():
        y, logdet = layer(x, cond)
        x_back = layer.reverse(y, cond)
    torch.testing.assert_close(y, plain_y, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logdet, plain_logdet, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(x_back, plain_x, atol=1e-5, rtol=1e-5)


def test_batched_enhance_equals_one_image_at_a_time(tiny_strips):
    model = tiny_uptflow()
    low = torch.rand(3, 3, 40, 56, generator=torch.Generator().manual_seed(1)) * 0.3
    batched = model.enhance(low)
    single = torch.cat([model.enhance(img[None]) for img in low])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)


def test_enhance_runs_without_autograd_and_returns_an_ordinary_tensor():
    model = tiny_uptflow()
    low = (torch.rand(1, 3, 24, 32) * 0.3).requires_grad_()
    out = model.enhance(low)
    assert not out.requires_grad and out.grad_fn is None and not out.is_inference()
    out.mul_(2.0)  # callers may modify it in place
    with torch.inference_mode():
        assert model.enhance(low).is_inference()  # inside inference mode: no extra copy


@pytest.mark.parametrize("low, message", [
    (torch.full((1, 3, 8, 8), 200.0), r"in \[0, 1\] \(divide 8-bit values by 255\), got values in \[200, 200\]"),
    (torch.full((1, 3, 8, 8), float("nan")), r"got values in \[nan, nan\]"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "must be a float tensor"),
])
def test_enhance_refuses_inputs_outside_0_1_instead_of_returning_nan(low, message):
    with pytest.raises(ValueError, match=message):
        tiny_uptflow().eval().enhance(low)


def test_training_after_enhancing_the_same_size_keeps_autograd_working():
    from uptflow.models.encoder.lewin import _shifted_window_mask_cpu, window_order

    model = tiny_uptflow()
    low = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0)) * 0.3
    window_order.cache_clear()
    _shifted_window_mask_cpu.cache_clear()
    model.enhance(low)  # fills the window caches in inference mode
    model.train()
    model.nll((low * 3).clamp(0, 1), low).mean().backward()
    assert all(p.grad is not None for p in model.encoder.parameters() if p.requires_grad)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_runs_the_encoder_in_that_dtype_and_stays_close_to_fp32(precision):
    model = tiny_uptflow()
    low = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(2)) * 0.3
    reference = model.enhance(low)
    model.precision = precision
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    with torch.no_grad():
        conditions = model.conditions(low)
    assert {c.dtype for c in conditions} == {dtype}
    out = model.enhance(low)
    assert out.dtype == torch.float32
    assert psnr(reference, out) > 30  # random tiny weights; trained weights: benchmarks/bench_precision.py


def test_low_precision_keeps_the_flow_and_its_log_determinants_in_float32():
    model = tiny_uptflow()
    model.precision = "bf16"
    low = torch.rand(1, 3, 32, 32) * 0.3
    with torch.no_grad():
        z, logdet = model.encode((low * 3).clamp(0, 1), low)
    assert z.dtype == torch.float32 and logdet.dtype == torch.float32


def test_unknown_precision_is_refused():
    model = tiny_uptflow()
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, fp16"):
        model.precision = "int8"


def test_feed_forward_with_a_padded_hidden_width_equals_the_plain_one():
    torch.manual_seed(0)
    ffn = GDFN(96)  # hidden 255: padded to 256 without autograd
    x = torch.randn(1, 96, 6, 7)
    expected = ffn(x.clone().requires_grad_())
    with torch.no_grad():
        out = ffn(channels_last(x))
    torch.testing.assert_close(out, expected.detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("masked", [False, True])
def test_float32_window_attention_on_cpu_equals_the_sdpa_kernel(masked):
    torch.manual_seed(0)
    attn = WindowAttention(16, (5, 5), 2)
    x, m = torch.randn(4, 16, 5, 5), torch.randn(4, 16, 5, 5)
    mask = shifted_window_mask(10, 10, (5, 5), (2, 2)) if masked else None  # 4 windows
    with torch.no_grad():
        out = attn(x, m, mask)  # float32 on the CPU: matrix products and softmax
        expected = attn.double()(x.double(), m.double(), None if mask is None else mask.double())  # SDPA
    torch.testing.assert_close(out, expected.float(), atol=1e-5, rtol=1e-5)


def test_strips_on_a_gpu_are_sized_to_its_memory_not_the_cpu_cache():
    # 1 MiB rows: a CPU strip keeps 24 rows (a few MiB stay in cache), a GPU strip 256 (fewer kernel launches)
    with torch.no_grad():
        assert strips.strip_rows(4000, 2**20) == strips.strip_rows(4000, 2**20, device=torch.device("cpu")) == 24
        assert strips.strip_rows(4000, 2**20, device=torch.device("cuda")) == 256
    assert strips.strip_rows(4000, 2**20, device=torch.device("cuda")) == 4000  # autograd: one strip

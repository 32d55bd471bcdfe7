"""MSFormer encoder: official parameter layout and counts, shapes at any multiple of 8, window attention
locality and shift masks, drop-path, gradients, window-size checks, and equivalence with the official outputs."""

import pytest
import torch
from torch import nn

from tests.models.golden_utils import CASES, image, load_case, official_state_dict, rel_err
from uptflow.models.encoder import MSFormer, check_window_size, flow_conditions, infer_window_size
from uptflow.models.encoder.lewin import BasicUformerLayer, LeWinBlock, relative_position_index, shifted_window_mask
from uptflow.models.upm import unbalanced_point_map

W5_PARAMS = 16_713_902


@pytest.fixture(scope="module")
def msformer5() -> MSFormer:
    torch.manual_seed(0)
    return MSFormer(5).eval()


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _inputs(h: int, w: int, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(batch, 3, h, w, generator=g) * 0.3
    return low, unbalanced_point_map(low)


def test_parameter_counts_match_official_for_window_5_and_8(msformer5):
    assert _count(msformer5) == W5_PARAMS
    # Only the relative-position tables grow: (15^2 - 9^2) rows x 58 heads in total.
    assert _count(MSFormer(8)) == W5_PARAMS + 8_352


def test_drop_path_rates_follow_the_official_schedule(msformer5):
    layers = ["encoderlayer_1", "encoderlayer_2", "encoderlayer_3", "bottlen"]
    layers += ["decoderlayer_1", "decoderlayer_2", "decoderlayer_3"]
    rates = [[blk.drop_path.p for blk in getattr(msformer5, name).blocks] for name in layers]
    expected = [[0, 0.02], [0.04, 0.06], [0.08, 0.1], [0.1, 0.1], [0.1, 0.08], [0.06, 0.04], [0.02, 0]]
    assert rates == [pytest.approx(r, abs=1e-6) for r in expected]
    shifts = [[blk.shift for blk in getattr(msformer5, name).blocks] for name in layers]
    assert shifts == [[(0, 0), (2, 2)]] * 7


@pytest.mark.parametrize("window", [5, 8])
def test_output_shapes_at_sizes_not_divisible_by_the_window(window, msformer5):
    model = msformer5 if window == 5 else MSFormer(8).eval()
    low, upm = _inputs(72, 88)
    with torch.no_grad():
        out = model(low, upm)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "fea_up0": (1, 192, 9, 11),
        "fea_up1": (1, 192, 18, 22),
        "fea_up2": (1, 192, 36, 44),
        "cat_f": (1, 96, 72, 88),
    }
    assert all(torch.isfinite(v).all() for v in out.values())


def test_forward_rejects_sizes_that_are_not_multiples_of_8(msformer5):
    low, upm = _inputs(36, 40)
    with pytest.raises(ValueError, match="divisible by 8"):
        msformer5(low, upm)
    with pytest.raises(ValueError, match="upm must have shape"):
        msformer5(*_inputs(32, 32)[:1], torch.zeros(1, 1, 16, 32))


def test_flow_conditions_append_bilinear_cat_f_at_each_level():
    feats = {
        "fea_up0": torch.randn(2, 192, 4, 6),
        "fea_up1": torch.randn(2, 192, 8, 12),
        "fea_up2": torch.randn(2, 192, 16, 24),
        "cat_f": torch.randn(2, 96, 32, 48),
    }
    conds = flow_conditions(feats)
    assert [tuple(c.shape) for c in conds] == [(2, 288, 16, 24), (2, 288, 8, 12), (2, 288, 4, 6)]
    for cond, key, factor in zip(conds, ("fea_up2", "fea_up1", "fea_up0"), (2, 4, 8), strict=True):
        assert torch.equal(cond[:, :192], feats[key])
        # Bilinear x1/f without antialias averages the central 2x2 pixels of each f x f block.
        c = (factor - 2) // 2
        central = feats["cat_f"].unfold(2, factor, factor).unfold(3, factor, factor)[..., c : c + 2, c : c + 2]
        torch.testing.assert_close(cond[:, 192:], central.mean(dim=(-2, -1)), rtol=1e-5, atol=1e-6)


def test_relative_position_index_of_a_non_square_window():
    idx = relative_position_index((3, 4))
    assert idx.shape == (12, 12)
    assert idx.min() == 0 and idx.max() == 5 * 7 - 1
    assert (idx.diagonal() == 2 * 7 + 3).all()  # zero offset sits in the middle of the (2*3-1) x (2*4-1) table
    assert len(idx.unique()) == 5 * 7


def test_shift_mask_separates_wrapped_regions_only():
    mask = shifted_window_mask(10, 10, (5, 5), (2, 2))
    assert mask.shape == (4, 25, 25)
    assert set(mask.unique().tolist()) == {-100.0, 0.0}
    assert (mask[0] == 0).all()  # top-left window holds no wrapped tokens
    assert torch.equal(mask, mask.transpose(1, 2))
    # bottom-right window: 3x3 of interior tokens + wrapped rows/cols -> 4 regions of 9, 6, 6, 4 tokens
    same = (mask[3] == 0).sum(1)
    assert sorted(same.unique().tolist()) == [4, 6, 9]


def _attention_only_block(shift: tuple[int, int]) -> LeWinBlock:
    # v is a pure per-token copy, the output projection is the identity and the feed-forward outputs 0, so the
    # block computes x + attention(x); q and k keep their random weights.
    torch.manual_seed(0)
    blk = LeWinBlock(8, 2, (5, 5), shift).eval()
    with torch.no_grad():
        v = blk.attn.qkv.to_v
        v.weight.zero_()
        v.weight[:, :, 1, 1] = 1.0
        v.bias.zero_()
        blk.attn.proj.weight.copy_(torch.eye(8))
        blk.attn.proj.bias.zero_()
        blk.mlp.conv2.weight.zero_()
        blk.mlp.conv2.bias.zero_()
    return blk


def _influence(blk: LeWinBlock, src: tuple[int, int], dst: tuple[int, int]) -> float:
    x = torch.randn(1, 8, 10, 10, generator=torch.Generator().manual_seed(1))
    m = torch.randn(1, 8, 10, 10, generator=torch.Generator().manual_seed(2))
    x2 = x.clone()
    # not a constant: the layer norm would cancel it
    x2[:, :, src[0], src[1]] += torch.linspace(-3.0, 3.0, 8)
    with torch.no_grad():
        diff = (blk(x2, m) - blk(x, m))[0, :, dst[0], dst[1]]
    return diff.abs().max().item()


def test_window_attention_stays_inside_windows():
    blk = _attention_only_block((0, 0))
    assert _influence(blk, (4, 4), (0, 0)) > 1e-3  # same window
    assert _influence(blk, (4, 4), (5, 5)) == 0.0  # neighbouring window


def test_shifted_window_attention_masks_tokens_that_wrapped_around():
    blk = _attention_only_block((2, 2))
    # After the roll by -2, pixels (9, 9) and (8, 8) share a region of the bottom-right window; (0, 0) wrapped in.
    assert _influence(blk, (9, 9), (8, 8)) > 1e-3
    assert _influence(blk, (9, 9), (0, 0)) < 1e-6
    # Shifted windows connect pixels that plain windows keep apart.
    assert _influence(blk, (4, 4), (5, 5)) > 1e-3


def test_window_layer_handles_non_square_windows_and_padding():
    torch.manual_seed(0)
    layer = BasicUformerLayer(16, 2, 2, (3, 4), drop_path=[0.0, 0.1]).eval()
    x, m = torch.randn(2, 16, 10, 13), torch.randn(2, 16, 10, 13)
    with torch.no_grad():
        y = layer(x, m)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert layer.blocks[1].shift == (1, 2)


def test_drop_path_is_identity_in_eval_and_random_in_training():
    torch.manual_seed(0)
    blk = LeWinBlock(8, 2, (5, 5), (2, 2), drop_path=0.5)
    ref = LeWinBlock(8, 2, (5, 5), (2, 2), drop_path=0.0)
    ref.load_state_dict(blk.state_dict())
    x, m = torch.randn(16, 8, 10, 10), torch.randn(16, 8, 10, 10)
    blk.eval()
    ref.eval()
    with torch.no_grad():
        assert torch.equal(blk(x, m), ref(x, m))
        blk.train()
        a, b = blk(x, m), blk(x, m)
    assert not torch.equal(a, b)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    model = MSFormer(5).eval()  # eval: drop-path off, so no branch is skipped at random
    low, upm = _inputs(32, 32, batch=1)
    out = model(low, upm)
    loss = sum((c**2).mean() for c in flow_conditions(out))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_window_size_is_inferred_and_mismatches_name_the_key(msformer5):
    sd5 = msformer5.state_dict()
    assert infer_window_size(sd5) == 5
    assert infer_window_size({"RRDB." + k: v for k, v in sd5.items()}) == 5
    check_window_size(sd5, 5)
    with pytest.raises(ValueError, match=r"window-size mismatch at 'encoderlayer_1\.blocks\.0\.attn\."):
        check_window_size(sd5, 8)
    with pytest.raises(ValueError, match=r"window-size mismatch at 'encoderlayer_1\.blocks\.0\.attn\."):
        MSFormer(8).load_state_dict(sd5)
    with pytest.raises(ValueError, match="no '\\*.relative_position_bias_table'"):
        infer_window_size({"patch_embed.proj.weight": torch.zeros(48, 3, 3, 3)})


# --- equivalence with the official implementation (golden data) ------------------------------------------------


@pytest.fixture(scope="module")
def golden_encoder(golden) -> MSFormer:
    official = official_state_dict(golden)
    encoder_sd = {k[len("RRDB.") :]: v.float() for k, v in official.items() if k.startswith("RRDB.")}
    assert infer_window_size(encoder_sd) == 5
    model = MSFormer(infer_window_size(encoder_sd)).eval()
    model.load_state_dict(encoder_sd, strict=True)
    return model


@pytest.mark.realdata
def test_relative_position_index_equals_the_official_buffers(golden):
    ours = relative_position_index((5, 5))
    buffers = {k: v for k, v in official_state_dict(golden).items() if k.endswith("relative_position_index")}
    assert len(buffers) == 14
    for key, value in buffers.items():
        assert torch.equal(value, ours), key


@pytest.mark.realdata
@pytest.mark.parametrize("case", CASES)
def test_encoder_outputs_equal_the_official_ones(golden, golden_encoder, case):
    data = load_case(golden, case)
    low = image(data["low_u8"])
    upm = unbalanced_point_map(low)
    with torch.no_grad():
        out = golden_encoder(low, upm)
    conds = flow_conditions(out)
    # The golden fea_up* were saved after the official rrdbPreprocessing appended the resized cat_f (288 ch).
    for key, cond in zip(("fea_up2", "fea_up1", "fea_up0"), conds, strict=True):
        ref = data[f"enc_{key}"]
        assert rel_err(out[key][0], ref[:192]) < 1e-4, key
        assert rel_err(cond[0], ref) < 1e-4, key
    assert rel_err(out["cat_f"][0], data["enc_cat_f"]) < 1e-4
    # Padding at 1/8 scale (case0: 12x16 with window 5) is exercised, not sidestepped.
    if case == "case0":
        assert out["fea_up0"].shape[-2] % 5 != 0


def test_window_block_runs_in_float64():
    torch.manual_seed(0)
    blk = LeWinBlock(8, 2, (5, 5), (2, 2)).double().eval()
    x, m = torch.randn(1, 8, 7, 9, dtype=torch.float64), torch.randn(1, 8, 7, 9, dtype=torch.float64)
    with torch.no_grad():
        y = blk(x, m)
    assert y.dtype == torch.float64 and y.shape == x.shape


def test_one_channel_upm_feature_stands_for_identical_channels():
    torch.manual_seed(0)
    block = LeWinBlock(8, 2, (4, 4), shift=(2, 2)).eval()
    x, upm = torch.randn(1, 8, 10, 12), (torch.rand(1, 1, 10, 12) > 0.5).float()
    with torch.no_grad():
        torch.testing.assert_close(block(x, upm), block(x, upm.expand(-1, 8, -1, -1)), atol=1e-6, rtol=1e-6)
    down = torch.nn.Conv2d(8, 4, 3, padding=1, bias=False)
    summed = torch.nn.functional.conv2d(upm, down.weight.sum(dim=1, keepdim=True), padding=1)
    torch.testing.assert_close(summed, down(upm.expand(-1, 8, -1, -1)), atol=1e-6, rtol=1e-6)

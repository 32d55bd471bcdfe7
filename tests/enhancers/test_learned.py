"""Learned baselines: layouts (strict loading, parameter counts), curve formulas, and the official checkpoints.

The realdata tests load every shipped checkpoint strictly and compare with the reference numbers measured
against the official code in shared/spec/baselines.md section 6.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from uptflow.enhancers import build_enhancer
from uptflow.enhancers.learned import DCENet, DCENetPP, IATNet, SCINet


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # on a loaded 2-core machine OpenMP spin-waiting makes multi-threaded tiny convolutions ~50x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())  # aliased modules are counted once


@pytest.mark.parametrize("cls, n", [(DCENet, 79_416), (DCENetPP, 10_561), (IATNet, 91_154), (SCINet, 5_877)])
def test_parameter_counts_match_the_official_models(cls, n):
    assert _count(cls()) == n


def test_sci_test_time_network_has_258_parameters_and_aliased_blocks():
    net = SCINet()
    assert _count(net.enhance) == 258
    assert net.enhance.blocks[0] is net.enhance.conv
    keys = set(net.state_dict())
    assert {"enhance.conv.1.running_var", "enhance.blocks.0.1.running_var", "calibrate.blocks.2.4.weight"} <= keys
    assert len(keys) == 83


def _save_random(tmp_path, net: torch.nn.Module, name: str, std: float = 0.1):
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=std)
    path = tmp_path / name
    torch.save(net.state_dict(), path)
    return path


def _numpy_le_steps(x: np.ndarray, alphas: list[np.ndarray]) -> list[np.ndarray]:
    # the paper's curve LE(x) = x + alpha * x * (1 - x), with alpha = -A (the code's sign convention)
    outs = []
    for a in alphas:
        alpha = -a
        x = x + alpha * x * (1 - x)
        outs.append(x)
    return outs


def test_zero_dce_output_equals_the_paper_curve_computed_in_numpy(tmp_path):
    path = _save_random(tmp_path, DCENet(), "dce.pth")
    enh = build_enhancer("zero_dce", weights=path)
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        half, full, a = enh.net(x)
    a_np = a[0].double().numpy()
    steps = _numpy_le_steps(x[0].double().numpy(), [a_np[3 * n:3 * n + 3] for n in range(8)])
    np.testing.assert_allclose(half[0].numpy(), steps[3], atol=1e-5)
    np.testing.assert_allclose(full[0].numpy(), steps[7], atol=1e-5)
    assert torch.equal(enh.enhance_tensor(x), full.clamp(0, 1))


def test_zero_dce_pp_reuses_one_curve_and_keeps_the_input_size(tmp_path):
    path = _save_random(tmp_path, DCENetPP(), "dcepp.pth")
    enh = build_enhancer("zero_dce_pp", weights=path)
    x = torch.rand(1, 3, 50, 63)  # not multiples of 12: the official crop is 48 x 60
    with torch.no_grad():
        y = enh.enhance_tensor(x)
        crop = x[..., :48, :60]
        official, a = enh.net(crop)
    assert y.shape == x.shape
    torch.testing.assert_close(y[..., :48, :60], official.clamp(0, 1), rtol=0, atol=1e-6)
    steps = _numpy_le_steps(crop[0].double().numpy(), [a[0].double().numpy()] * 8)
    np.testing.assert_allclose(official[0].numpy(), steps[7], atol=1e-5)
    # the 1/12 down-sampling is bilinear (align_corners=False): each low-res pixel averages a central 2x2 block
    xd = F.interpolate(crop, scale_factor=1 / 12, mode="bilinear", align_corners=False)
    torch.testing.assert_close(xd[0, :, 0, 0], crop[0, :, 5:7, 5:7].mean(dim=(1, 2)), rtol=0, atol=1e-6)


def test_sci_output_is_input_over_illumination(tmp_path):
    path = _save_random(tmp_path, SCINet(), "sci.pt")
    enh = build_enhancer("sci", weights=path)
    x = torch.rand(1, 3, 16, 16) * 0.3
    with torch.no_grad():
        illu, r = enh.net(x)
    assert torch.all(illu >= 1e-4) and torch.all(illu <= 1)
    torch.testing.assert_close(r, torch.clamp(x / illu, 0, 1))
    assert not enh.net.training  # BatchNorm must use running statistics


def test_iat_batched_output_equals_per_image_and_is_in_range(tmp_path):
    path = _save_random(tmp_path, IATNet(), "best_Epoch_lol_v1.pth", std=0.02)
    enh = build_enhancer("iat", weights=path)
    assert enh.variant == "lol_v1"
    x = torch.rand(2, 3, 20, 28)
    with torch.no_grad():
        both = enh.enhance_tensor(x)
        single = torch.cat([enh.enhance_tensor(x[i:i + 1]) for i in range(2)])
    torch.testing.assert_close(both, single, rtol=1e-4, atol=1e-5)
    assert both.min() > 0 and both.max() <= 1


def test_iat_variant_follows_the_checkpoint_name(tmp_path):
    sd = IATNet().state_dict()
    for fname, variant in [("best_Epoch_lol.pth", "lol_v2"), ("best_Epoch_exposure.pth", "exposure"),
                           ("LOL_pretrain_for_detection.pth", "lol_v1")]:
        torch.save(sd, tmp_path / fname)
        assert build_enhancer("iat", weights=tmp_path / fname).variant == variant
    with pytest.raises(ValueError, match="variant"):
        build_enhancer("iat", weights=tmp_path / "best_Epoch_lol.pth", variant="fivek")


def test_missing_and_wrong_weights_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs weights=PATH"):
        build_enhancer("zero_dce")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        build_enhancer("sci", weights=tmp_path / "nope.pt")
    torch.save(DCENet().state_dict(), tmp_path / "dce.pth")
    with pytest.raises(ValueError, match="is not a IAT checkpoint"):
        build_enhancer("iat", weights=tmp_path / "dce.pth")


# ----------------------------------------------------------------------------------------- official weights
OFFICIAL = [
    ("zero_dce", "zero_dce/Epoch99.pth"), ("zero_dce_pp", "zero_dce_pp/Epoch99.pth"),
    ("sci", "sci/easy.pt"), ("sci", "sci/medium.pt"), ("sci", "sci/difficult.pt"),
    ("iat", "iat/best_Epoch_lol_v1.pth"), ("iat", "iat/best_Epoch_lol.pth"), ("iat", "iat/best_Epoch_exposure.pth"),
    ("iat", "iat/LOL_pretrain_for_detection.pth"),
]
# mean output on DICM/01 bicubic-resized to 256x256 (Zero-DCE++: 252x252 crop), measured with the official
# modules (baselines.md section 6); input mean 0.080
REFERENCE_MEANS = {
    "zero_dce/Epoch99.pth": 0.174, "zero_dce_pp/Epoch99.pth": 0.201, "sci/easy.pt": 0.132, "sci/medium.pt": 0.213,
    "sci/difficult.pt": 0.189, "iat/best_Epoch_lol_v1.pth": 0.235, "iat/best_Epoch_lol.pth": 0.330,
    "iat/best_Epoch_exposure.pth": 0.098,
}


@pytest.fixture(scope="module")
def dicm256(shared):
    from PIL import Image

    im = Image.open(shared / "data/unpaired/DICM/01.jpg").convert("RGB").resize((256, 256), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 255


@pytest.mark.realdata
@pytest.mark.parametrize("name, rel", OFFICIAL)
def test_official_checkpoint_loads_strictly_and_brightens_a_real_low_light_image(shared, dicm256, name, rel):
    enh = build_enhancer(name, weights=shared / "data/weights" / rel)  # strict=True inside
    x = dicm256[..., :252, :252] if name == "zero_dce_pp" else dicm256
    with torch.no_grad():
        y = enh.enhance_tensor(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    if rel in REFERENCE_MEANS:
        assert float(y.mean()) == pytest.approx(REFERENCE_MEANS[rel], abs=1.5e-3)
    if "exposure" not in rel:  # the exposure model targets over- and under-exposure, not dark scenes
        assert float(y.mean()) > float(x.mean()) + 0.04


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name, rel, ref_psnr", [
    ("zero_dce", "zero_dce/Epoch99.pth", 13.85), ("iat", "iat/best_Epoch_lol_v1.pth", 18.22),
    ("iat", "iat/best_Epoch_lol.pth", 20.61),
])
def test_psnr_on_lol_778_matches_the_official_code(shared, name, rel, ref_psnr):
    from uptflow.metrics import psnr
    from uptflow.utils.io import imread_rgb

    low = imread_rgb(shared / "data/lol/low/778.png")
    gt = imread_rgb(shared / "data/lol/high/778.png")
    out = build_enhancer(name, weights=shared / "data/weights" / rel)(low)
    assert psnr(out, gt) == pytest.approx(ref_psnr, abs=0.01)

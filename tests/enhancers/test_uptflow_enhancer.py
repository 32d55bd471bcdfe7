"""The UPT-Flow enhancer: uint8 in/out through the base class, tiling close to untiled (CLI: tests/tools)."""

import numpy as np
import pytest
import torch

from tests.models.tiny import tiny_uptflow
from uptflow.enhancers import build_enhancer
from uptflow.enhancers.uptflow import UPTFlowEnhancer
from uptflow.models import save_model
from uptflow.models.tiling import BYTES_PER_PIXEL, blend_weights, bytes_per_pixel, choose_tile, tile_starts, tiled_apply
from uptflow.utils.io import imwrite_rgb


@pytest.fixture(scope="module")
def enhancer() -> UPTFlowEnhancer:
    return UPTFlowEnhancer(model=tiny_uptflow(), tile=None)


def _low_image(h: int = 45, w: int = 61, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 80).astype(np.uint8)


def test_uint8_rgb_in_uint8_rgb_out(enhancer):
    out = enhancer(_low_image())
    assert out.dtype == np.uint8 and out.shape == (45, 61, 3)
    assert out.std() > 0


@pytest.mark.parametrize("kind", ["gray", "rgba", "uint16"])
def test_other_image_kinds_are_converted_by_the_base_class(enhancer, kind):
    img = _low_image(32, 24)
    variants = {
        "gray": img[..., 0],
        "rgba": np.dstack([img, np.full(img.shape[:2], 255, np.uint8)]),
        "uint16": img.astype(np.uint16) * 257,
    }
    out = enhancer(variants[kind])
    assert out.shape == (32, 24, 3) and out.dtype == np.uint8
    if kind != "gray":
        np.testing.assert_array_equal(out, enhancer(img))


def test_path_input_matches_array_input(enhancer, tmp_path):
    img = _low_image()
    imwrite_rgb(tmp_path / "low.png", img)
    np.testing.assert_array_equal(enhancer(tmp_path / "low.png"), enhancer(img))


def test_build_enhancer_by_name_with_weights(tmp_path):
    path = save_model(tiny_uptflow(), tmp_path / "w.pth")
    enh = build_enhancer("uptflow", weights=path, tile=None)
    assert isinstance(enh, UPTFlowEnhancer) and enh.params()["weights"] == "w.pth"
    assert "precision" not in enh.params()  # fp32 cache keys stay as they were


def test_build_enhancer_without_weights_uses_the_default_model(tmp_path, monkeypatch):
    import uptflow.models.checkpoint as checkpoint

    path = save_model(tiny_uptflow(), tmp_path / "uptflow_default.pth", dtype=torch.float16)
    monkeypatch.setattr(checkpoint, "DEFAULT_WEIGHTS", path)
    enh = build_enhancer("uptflow", tile=None)
    assert enh.weights == str(path) and enh.params()["weights"] == "uptflow_default.pth"
    assert enh(_low_image()).shape == (45, 61, 3)
    monkeypatch.setattr(checkpoint, "DEFAULT_WEIGHTS", tmp_path / "absent.pth")
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        build_enhancer("uptflow")


def test_precision_is_a_setting_of_the_enhancer_and_part_of_its_params(tmp_path):
    path = save_model(tiny_uptflow(), tmp_path / "w.pth")
    enh = build_enhancer("uptflow", weights=path, tile=None, precision="bf16")
    assert enh.precision == "bf16" and enh.model.precision == "bf16" and enh.params()["precision"] == "bf16"
    out = enh(_low_image())
    ref = build_enhancer("uptflow", weights=path, tile=None)(_low_image())
    assert np.abs(out.astype(int) - ref.astype(int)).mean() < 2  # uint8 levels
    with pytest.raises(ValueError, match="precision"):
        build_enhancer("uptflow", weights=path, precision="fp64")


def test_tiled_apply_blends_a_pixelwise_function_exactly():
    x = torch.rand(1, 3, 70, 93, generator=torch.Generator().manual_seed(0))
    for blend in ("linear", "cosine"):
        y = tiled_apply(lambda t: t * 0.5 + 0.1, x, tile=32, overlap=8, blend=blend)
        torch.testing.assert_close(y, x * 0.5 + 0.1, atol=1e-6, rtol=0)


def test_tiles_cover_the_image_with_the_requested_overlap():
    starts = tile_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 32 - 8 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(20, 32, 8) == [0]
    w = blend_weights(16, 16, 4, (True, False, False, True), "cosine")
    assert w.min() > 0 and w[-1, 0] == 1 and w[0, 0] < 0.2


def test_tile_choice_from_memory_budget():
    assert choose_tile(100, 100, budget_bytes=10**9, bytes_per_pixel=1000) is None
    tile = choose_tile(1000, 1000, budget_bytes=256 * 256 * 1000, bytes_per_pixel=1000)
    assert tile == 256
    assert choose_tile(4000, 4000, budget_bytes=10, bytes_per_pixel=1000) == 64  # floor at min_tile


def test_tiled_model_output_is_close_to_untiled():
    model = tiny_uptflow()
    low = torch.rand(1, 3, 96, 112, generator=torch.Generator().manual_seed(1)) * 0.3
    with torch.no_grad():
        full = model.enhance(low)
        tiled = UPTFlowEnhancer(model=model, tile=64, overlap=24).enhance_tensor(low)
    assert tiled.shape == full.shape
    diff = (tiled - full).abs()
    # tiles see less context (an approximation), but the result stays close and seamless
    assert diff.mean() < 0.02 and diff.max() < 0.25


def test_compile_is_opt_in_and_part_of_the_params():
    assert "compile" not in UPTFlowEnhancer(model=tiny_uptflow()).params()  # cache keys stay as they were
    enh = UPTFlowEnhancer(model=tiny_uptflow(), compile=True)
    assert enh.model.compiled and enh.params()["compile"] is True and enh.describe()["params"]["compile"] is True
    assert UPTFlowEnhancer(model=enh.model).model.compiled  # a given model keeps its own setting


def test_tile_statistics_is_validated_and_part_of_the_params():
    assert UPTFlowEnhancer(model=tiny_uptflow()).params()["tile_statistics"] == "image"
    assert UPTFlowEnhancer(model=tiny_uptflow(), tile_statistics="tile").params()["tile_statistics"] == "tile"
    with pytest.raises(ValueError, match="tile_statistics must be 'image' or 'tile', got 'global'"):
        UPTFlowEnhancer(model=tiny_uptflow(), tile_statistics="global")


@pytest.mark.parametrize("tile", ["abc", -5, "-5"])
def test_a_tile_that_is_not_a_size_is_refused_saying_what_is(tile):
    with pytest.raises(ValueError, match="tile must be 'auto', 0 \\(never tile\\) or a tile side in pixels, got"):
        UPTFlowEnhancer(model=tiny_uptflow(), tile=tile)


def test_a_batch_that_does_not_fit_runs_in_groups_with_the_same_result():
    per_image = 40 * 56 * UPTFlowEnhancer(model=tiny_uptflow()).bytes_per_pixel()
    grouped = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=2 * per_image)
    whole = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=10**12)
    assert grouped.group_size(5, 40, 56) == 2 and whole.group_size(5, 40, 56) == 5
    assert grouped.tile_for(40, 56) is None
    low = torch.rand(5, 3, 40, 56, generator=torch.Generator().manual_seed(3)) * 0.3
    torch.testing.assert_close(grouped.enhance_tensor(low), whole.enhance_tensor(low), atol=1e-5, rtol=0)


def test_a_seeded_sample_of_an_image_does_not_depend_on_its_batch():
    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile=None, heat=0.7, seed=3)
    low = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(5)) * 0.3
    torch.testing.assert_close(enh.enhance_tensor(low)[1:], enh.enhance_tensor(low[1:]), atol=1e-6, rtol=0)
    torch.testing.assert_close(enh.enhance_tensor(low[:1]), enh.enhance_tensor(low[:1]), atol=0, rtol=0)


@pytest.mark.parametrize("settings, message", [
    (dict(heat=float("nan")), "heat must be a finite number >= 0"),
    (dict(heat=-0.5), "heat must be a finite number >= 0"),
    (dict(tile=96, overlap=-1), "overlap must be >= 0"),
    (dict(tile=8), "overlap=32 must be smaller than tile=8"),
])
def test_bad_settings_are_refused_before_the_network_loads(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        UPTFlowEnhancer(weights=tmp_path / "never_read.pth", **settings)


def test_a_pass_keeps_freed_memory_only_when_it_fits_the_budget_with_room_to_spare():
    from uptflow.models.tiling import RETAINED_HEAP_GROWTH, bytes_per_pixel

    model = tiny_uptflow()
    planned = 40 * 56 * bytes_per_pixel("fp32", "cpu", int(model.config["encoder_dim"]))
    assert model.reuses_memory(40 * 56, memory_budget=int(planned * RETAINED_HEAP_GROWTH) + 1)
    assert not model.reuses_memory(40 * 56, memory_budget=planned)
    with pytest.raises(ValueError, match="float tensor"):
        model.enhance((torch.rand(1, 3, 40, 56) * 255).to(torch.uint8))


def test_an_enhancer_call_reuses_memory_once_for_all_its_tiles_and_only_with_room_to_spare(monkeypatch):
    import contextlib

    import uptflow.enhancers.uptflow as module

    periods = []
    monkeypatch.setattr(module, "retained_heap", lambda enabled: periods.append(enabled) or contextlib.nullcontext())
    low = torch.rand(1, 3, 64, 64) * 0.3
    UPTFlowEnhancer(model=tiny_uptflow(), tile=32, overlap=8, memory_budget=10**12).enhance_tensor(low)
    UPTFlowEnhancer(model=tiny_uptflow(), tile=None, memory_budget=64 * 64).enhance_tensor(low)
    assert periods == [True, False]


def test_a_batch_of_images_too_large_for_the_budget_is_tiled_image_by_image():
    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", overlap=16)
    enh.memory_budget = 64 * 64 * enh.bytes_per_pixel()
    low = torch.rand(2, 3, 96, 112, generator=torch.Generator().manual_seed(4)) * 0.3
    assert enh.tile_for(96, 112) == 64
    out = enh.enhance_tensor(low)
    assert out.shape == low.shape
    torch.testing.assert_close(out[1:], enh.enhance_tensor(low[1:]), atol=1e-6, rtol=0)


def test_memory_planning_uses_the_measured_bytes_per_pixel_and_caps_cpu_budgets(monkeypatch):
    import uptflow.models.tiling as tiling

    assert bytes_per_pixel("bf16") <= bytes_per_pixel("fp32") == BYTES_PER_PIXEL
    with pytest.raises(ValueError, match="precision"):
        bytes_per_pixel("fp64")
    monkeypatch.setattr(tiling, "available_memory", lambda device: 100 * 2**30)
    assert tiling.default_budget("cpu") == tiling.CPU_BUDGET_CAP
    monkeypatch.setattr(tiling, "available_memory", lambda device: 2**30)
    assert tiling.default_budget("cpu") == int(tiling.MEMORY_FRACTION * 2**30)
    # a 3840x2160 frame on a big machine: tiles whose planned memory stays within the cap
    tile = choose_tile(2160, 3840, tiling.CPU_BUDGET_CAP, bytes_per_pixel("fp32"))
    assert tile is not None and tile**2 * bytes_per_pixel("fp32") <= tiling.CPU_BUDGET_CAP


def test_planned_memory_follows_the_measured_encoder_widths():
    assert bytes_per_pixel("fp32", encoder_dim=48) == BYTES_PER_PIXEL
    assert bytes_per_pixel("bf16", encoder_dim=24) < bytes_per_pixel("fp32", encoder_dim=24) < BYTES_PER_PIXEL
    assert bytes_per_pixel("fp32", encoder_dim=8) == bytes_per_pixel("fp32", encoder_dim=24)  # the next measured
    assert bytes_per_pixel("fp32", encoder_dim=36) == BYTES_PER_PIXEL
    assert bytes_per_pixel("fp32", encoder_dim=96) == 2 * BYTES_PER_PIXEL
    assert UPTFlowEnhancer(model=tiny_uptflow()).bytes_per_pixel() == bytes_per_pixel("fp32", encoder_dim=8)


def test_auto_tile_is_untiled_when_it_fits_and_tiles_otherwise():
    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=10**12)
    assert enh.tile_for(400, 600) is None
    small = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto")
    small.memory_budget = small.bytes_per_pixel() * 128 * 128
    assert small.tile_for(400, 600) == 128


def test_auto_policy_runs_a_megapixel_frame_untiled_and_tiles_4k_with_a_24_gb_budget():
    enh = UPTFlowEnhancer(model=tiny_uptflow(), tile="auto", memory_budget=int(0.8 * 19 * 2**30))  # 24 GB machine
    enh.model.config["encoder_dim"] = 48  # planned as the full-size network
    assert enh.tile_for(1024, 1024) is None
    tile = enh.tile_for(2160, 3840)
    assert tile is not None and 768 <= tile < 2160 and tile % 8 == 0
    assert tile**2 * enh.bytes_per_pixel() <= 0.8 * 19 * 2**30


def test_networks_given_as_objects_are_cached_by_their_weights_not_confused(tmp_path):
    a, b = tiny_uptflow().eval(), tiny_uptflow().eval()
    torch.manual_seed(0)
    with torch.no_grad():  # same architecture, other weights
        for p in b.parameters():
            p.add_(0.01 * torch.randn_like(p))
    img = (np.random.default_rng(0).random((16, 24, 3)) * 80).astype(np.uint8)
    ca = build_enhancer(UPTFlowEnhancer(model=a), cache_dir=tmp_path)
    cb = build_enhancer(UPTFlowEnhancer(model=b), cache_dir=tmp_path)
    assert ca.key != cb.key
    assert np.array_equal(cb(img), UPTFlowEnhancer(model=b)(img)) and not np.array_equal(ca(img), cb(img))
    assert build_enhancer(UPTFlowEnhancer(model=a), cache_dir=tmp_path).key == ca.key


def test_auto_precision_is_bf16_only_where_the_device_computes_it_and_emulated_bf16_warns(monkeypatch):
    import warnings

    from uptflow.utils import devices

    monkeypatch.setattr(devices, "native_bf16", lambda device: False)  # an AVX2-only CPU
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = UPTFlowEnhancer(model=tiny_uptflow(), precision="auto")
    assert plain.precision == "fp32" and "precision" not in plain.params()  # the fp32 identity, as before
    with pytest.warns(UserWarning, match=r"no bf16 instructions .* use 'fp32' or 'auto'"):
        UPTFlowEnhancer(model=tiny_uptflow(), precision="bf16")
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)  # AVX512-BF16 / AMX, or a GPU
    assert UPTFlowEnhancer(model=tiny_uptflow(), precision="auto").params()["precision"] == "bf16"


def test_native_bf16_follows_the_cpus_instructions(monkeypatch):
    from uptflow.utils import devices

    for avx512_bf16, amx, expected in ((False, False, "fp32"), (True, False, "bf16"), (False, True, "bf16")):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert devices.fast_precision("cpu") == expected

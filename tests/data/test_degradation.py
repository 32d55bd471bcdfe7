"""The camera-like low-light degradation: linearisation, exposure, Poisson-Gaussian noise, colour, curves, levels."""

import json

import numpy as np
import pytest

from uptflow.data.degradation import (
    DARKNESS_LEVELS,
    TONE_CURVES,
    LowLightDegradation,
    build_degradation,
    darkness_level,
    linear_to_srgb,
    srgb_to_linear,
)
from uptflow.data.stats import mean_luminance

# every stage off: exposure, noise and curve are the only effects
_PLAIN = dict(wb_gains=[1.0, 1.0, 1.0], cast=[1.0, 1.0, 1.0], ccm=0.0, bayer=False, jpeg_quality=None,
              read_noise=0.0)


def _photo():
    from skimage import data

    return data.astronaut()[::4, ::4]


def _flat(value: int, size: int = 128) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.uint8)


def test_srgb_transfer_is_the_piecewise_standard_and_inverts():
    x = np.linspace(0, 1, 101)
    assert np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-12)
    assert srgb_to_linear(np.array(0.5)) == pytest.approx(0.21404, abs=1e-5)   # not 0.5 ** 2.2 = 0.2176
    assert srgb_to_linear(np.array(0.02)) == pytest.approx(0.02 / 12.92)      # linear toe


def test_degradation_is_reproducible_from_the_seed_and_records_json_parameters():
    deg = LowLightDegradation()
    a, pa = deg(_photo(), np.random.default_rng([0, 1]))
    b, pb = deg(_photo(), np.random.default_rng([0, 1]))
    c, _ = deg(_photo(), np.random.default_rng([0, 2]))
    assert pa == pb and np.array_equal(a, b) and not np.array_equal(a, c)
    assert json.loads(json.dumps(pa)) == pa
    assert set(pa) == {"exposure", "shot_noise", "read_noise", "wb_gains", "cast", "ccm", "bayer", "curve",
                       "curve_param", "jpeg_quality"}


def test_apply_redoes_the_degradation_from_the_recorded_parameters():
    deg = LowLightDegradation()
    rng = np.random.default_rng(3)
    low, params = deg(_photo(), rng)
    rng = np.random.default_rng(3)
    deg.sample_params(rng)  # advance the stream as __call__ did
    assert np.array_equal(LowLightDegradation.apply(_photo(), params, rng), low)


def test_exposure_scales_linear_light():
    img = _photo()
    params = dict(_PLAIN, exposure=0.05, shot_noise=1e-9, curve="srgb", curve_param=0.0)
    low = LowLightDegradation.apply(img, params, np.random.default_rng(0))
    ratio = srgb_to_linear(low / 255.0).mean() / srgb_to_linear(img / 255.0).mean()
    assert ratio == pytest.approx(0.05, rel=0.05)


def test_noise_variance_grows_with_the_signal_as_poisson_gaussian():
    # identity curve (gamma 1): output = noisy linear value; variance = shot * x (+ read, zero here)
    shot = 1e-3
    params = dict(_PLAIN, exposure=1.0, shot_noise=shot, curve="gamma", curve_param=1.0)
    variances = {}
    for value in (90, 188):  # linear 0.10 and 0.50
        x = srgb_to_linear(np.array(value / 255.0))
        out = LowLightDegradation.apply(_flat(value), params, np.random.default_rng(0)) / 255.0
        variances[value] = out.var()
        assert out.var() == pytest.approx(shot * x + 1 / 255.0**2 / 12, rel=0.15)
    assert variances[188] > 3 * variances[90]


def test_white_balance_makes_red_and_blue_noisier_than_green():
    params = dict(_PLAIN, exposure=0.2, shot_noise=1e-3, wb_gains=[2.2, 1.0, 1.8], curve="srgb", curve_param=0.0)
    out = LowLightDegradation.apply(_flat(200), params, np.random.default_rng(0)).astype(float)
    std = out.reshape(-1, 3).std(axis=0)
    assert std[0] > 1.2 * std[1] and std[2] > 1.1 * std[1]
    assert np.allclose(out.reshape(-1, 3).mean(axis=0), out.mean(), rtol=0.05)  # gains undone: still grey


def test_bayer_demosaicing_keeps_flat_colours_and_correlates_the_noise():
    img = np.zeros((33, 47, 3), dtype=np.uint8)
    img[...] = (200, 120, 40)
    clean = dict(_PLAIN, exposure=1.0, shot_noise=1e-9, curve="srgb", curve_param=0.0)
    out = LowLightDegradation.apply(img, dict(clean, bayer=True), np.random.default_rng(0))
    assert out.shape == img.shape
    assert np.abs(out.astype(int) - img).max() <= 1
    noisy = dict(clean, shot_noise=1e-3, wb_gains=[1.0, 1.0, 1.0], exposure=0.2)
    flat = _flat(180, 64)
    for bayer, expect_corr in ((False, False), (True, True)):
        g = LowLightDegradation.apply(flat, dict(noisy, bayer=bayer), np.random.default_rng(1))[..., 1].astype(float)
        g -= g.mean()
        corr = (g[:, :-1] * g[:, 1:]).mean() / g.var()
        assert (corr > 0.2) == expect_corr, corr


def test_colour_cast_and_jpeg_change_the_image():
    base = dict(_PLAIN, exposure=0.3, shot_noise=1e-9, curve="srgb", curve_param=0.0)
    img = _photo()
    plain = LowLightDegradation.apply(img, base, np.random.default_rng(0)).astype(float)
    cast = LowLightDegradation.apply(img, dict(base, cast=[1.2, 1.0, 0.8]), np.random.default_rng(0)).astype(float)
    assert cast[..., 0].mean() > plain[..., 0].mean() + 2 and cast[..., 2].mean() < plain[..., 2].mean() - 2
    jpeg = {q: LowLightDegradation.apply(img, dict(base, jpeg_quality=q), np.random.default_rng(0)) for q in (60, 95)}
    errors = [np.abs(jpeg[q] - plain).mean() for q in (60, 95)]
    assert errors[0] > errors[1] > 0


@pytest.mark.parametrize("curve", sorted(TONE_CURVES))
def test_tone_curves_map_black_to_black_and_white_to_white_monotonically(curve):
    fn, (lo, hi) = TONE_CURVES[curve]
    x = np.linspace(0, 1, 257)
    for p in (lo, hi):
        y = fn(x, p)
        assert y[0] == pytest.approx(0, abs=1e-9) and y[-1] == pytest.approx(1, abs=1e-9)
        assert np.all(np.diff(y) >= 0)


def test_default_ranges_are_diverse():
    deg = LowLightDegradation()
    rng = np.random.default_rng(0)
    draws = [deg.sample_params(rng) for _ in range(400)]
    assert {d["curve"] for d in draws} == set(TONE_CURVES)
    assert 0.3 < np.mean([d["bayer"] for d in draws]) < 0.7
    assert 0.15 < np.mean([d["jpeg_quality"] is not None for d in draws]) < 0.45
    assert 0.3 < np.mean([d["cast"] != [1.0, 1.0, 1.0] for d in draws]) < 0.7
    exposure = np.log10([d["exposure"] for d in draws])
    shot = np.log10([d["shot_noise"] for d in draws])
    assert exposure.max() - exposure.min() > 1.8 and shot.max() - shot.min() > 2.0


def test_darkness_levels_get_darker_and_are_seeded():
    img = _photo()
    lums = [mean_luminance(darkness_level(lv)(img, np.random.default_rng(0))[0]) for lv in sorted(DARKNESS_LEVELS)]
    assert np.all(np.diff(lums) < 0)
    a, pa = darkness_level(3)(img, np.random.default_rng(5))
    b, pb = darkness_level(3)(img, np.random.default_rng(5))
    c, pc = darkness_level(3)(img, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert pa == pc  # only the noise is random
    assert pa["exposure"] == DARKNESS_LEVELS[3]["exposure"] and pa["curve"] == "srgb" and not pa["bayer"]


def test_unknown_darkness_level_is_rejected():
    with pytest.raises(ValueError, match="darkness level"):
        darkness_level(6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(exposure_range=(0.2, 0.1)), "exposure_range"),
    (dict(exposure_range=(0.1, 2.0)), "exposure_range"),
    (dict(shot_noise_range=(0.0, 1e-3)), "shot_noise_range"),
    (dict(colour_cast=1.0), "colour_cast"),
    (dict(bayer_prob=1.5), "bayer_prob"),
    (dict(curves=("srgb", "s-log3")), "curves"),
    (dict(jpeg_quality_range=(50, 120)), "jpeg_quality_range"),
    (dict(read_noise_jitter=-1.0), "read_noise_jitter"),
    (dict(light_prob=2.0), "light_prob"),
    (dict(light_count=(3, 1)), "light_count"),
    (dict(light_count=(0.5, 2)), "light_count"),
])
def test_invalid_settings_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LowLightDegradation(**kwargs)


def test_build_degradation_from_configs():
    assert build_degradation(None) == LowLightDegradation()
    assert build_degradation(dict(level=2)) == darkness_level(2)
    deg = build_degradation(dict(exposure_range=[0.1, 0.2], curves=["gamma"]))
    assert deg.exposure_range == (0.1, 0.2) and deg.curves == ("gamma",)
    with pytest.raises(KeyError, match="unknown degradation keys"):
        build_degradation(dict(gamma_range=(2.0, 2.4)))
    with pytest.raises(ValueError, match="darkness level takes no other"):
        build_degradation(dict(level=2, bayer_prob=0.0))


def test_light_sources_clip_in_the_low_image_and_appear_unscaled_in_the_normal_light_one():
    img = _flat(128)
    params = dict(_PLAIN, exposure=0.02, shot_noise=1e-9, curve="srgb", curve_param=0.0,
                  lights=[dict(x=0.5, y=0.5, radius=0.05, glow=3.0, glow_gain=0.02, intensity=20.0,
                               colour=[1.0, 0.5, 0.1])])
    low = LowLightDegradation.apply(img, params, np.random.default_rng(0))
    gt = LowLightDegradation.target(img, params)
    assert low[64, 64].tolist() == gt[64, 64].tolist() == [255, 255, 255]  # the core clips in both
    assert low[5, 5].max() < 60 and np.array_equal(gt[5, 5], img[5, 5])    # far away: dark / untouched
    # the glow adds the same linear light to both, so it is far more visible in the dark image
    ring = (slice(64, 65), slice(64 + 8, 64 + 12))
    gain_low = srgb_to_linear(low[ring] / 255.0).mean() / srgb_to_linear(low[5, 5] / 255.0).mean()
    gain_gt = srgb_to_linear(gt[ring] / 255.0).mean() / srgb_to_linear(img[5, 5] / 255.0).mean()
    assert gain_low > 5
    assert 1.05 < gain_gt < 2


def test_lights_are_drawn_after_every_other_parameter_and_recorded():
    off = LowLightDegradation().sample_params(np.random.default_rng(5))
    on = LowLightDegradation(light_prob=1.0, light_count=(2, 2)).sample_params(np.random.default_rng(5))
    assert {k: v for k, v in on.items() if k != "lights"} == off and "lights" not in off
    assert len(on["lights"]) == 2 and json.loads(json.dumps(on)) == on
    never = LowLightDegradation(light_prob=1e-12).sample_params(np.random.default_rng(5))
    assert never["lights"] == [] and np.array_equal(LowLightDegradation.target(_photo(), never), _photo())

"""NIQE: MATLAB-style resize, pristine model, determinism, range and ordering on distorted images."""

import cv2
import numpy as np
import pytest
from skimage import data

from uptflow.metrics._nss import gaussian_window, imresize_matlab
from uptflow.metrics.niqe import load_pristine_params, niqe, niqe_features


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def test_pristine_params_have_matlab_shapes_and_window():
    p = load_pristine_params()
    assert p["mu_pris_param"].shape == (1, 36) and p["cov_pris_param"].shape == (36, 36)
    np.testing.assert_allclose(p["gaussian_window"], gaussian_window(7, 7 / 6), atol=1e-12)
    np.testing.assert_allclose(p["cov_pris_param"], p["cov_pris_param"].T, atol=1e-9)


def test_imresize_matlab_half_keeps_constants_and_linear_ramps_in_the_interior():
    const = np.full((40, 30), 7.0)
    np.testing.assert_allclose(imresize_matlab(const, 0.5), 7.0, atol=1e-12)
    ramp = np.tile(np.arange(64, dtype=float), (16, 1))  # value = column index (0-based)
    out = imresize_matlab(ramp, 0.5)
    assert out.shape == (8, 32)
    # MATLAB maps output column j (0-based) to input coordinate 2j + 0.5; the cubic kernel reproduces lines
    np.testing.assert_allclose(out[:, 3:-3], np.tile(2 * np.arange(32) + 0.5, (8, 1))[:, 3:-3], atol=1e-9)


def test_niqe_is_deterministic_and_in_the_natural_image_range(astronaut):
    a, b = niqe(astronaut), niqe(astronaut.copy())
    assert a == b
    assert 2.0 < a < 6.0  # clean natural photos score ~2-6 with the MATLAB pristine model


def test_niqe_scores_noise_and_blur_worse_than_the_clean_photo(astronaut):
    rng = np.random.default_rng(0)
    noisy = np.clip(astronaut + rng.normal(0, 25, astronaut.shape), 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 3)
    clean = niqe(astronaut)
    assert niqe(noisy) > clean + 3
    assert niqe(blurred) > clean + 3


def test_niqe_gray_and_y_conversions_agree_roughly(astronaut):
    assert niqe(astronaut, convert_to="y") == pytest.approx(niqe(astronaut), abs=0.3)
    with pytest.raises(ValueError, match="convert_to"):
        niqe(astronaut, convert_to="lab")


def test_niqe_features_have_36_columns_per_96px_block(astronaut):
    feats = niqe_features(astronaut[..., 1].astype(float))
    assert feats.shape == ((512 // 96) ** 2, 36)


def test_niqe_rejects_images_below_one_block():
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(np.zeros((50, 200, 3), np.uint8))

"""Image statistics used to compare synthetic with real low-light images."""

import numpy as np
import pytest

from uptflow.data.stats import INTENSITY_BINS, mean_luminance, noise_profile


def test_mean_luminance_weights_green_most():
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 1] = 255
    assert mean_luminance(img) == pytest.approx(0.7152)


def test_noise_profile_measures_the_noise_std_in_the_right_bin():
    rng = np.random.default_rng(0)
    img = np.clip(25 + rng.normal(0, 3, (128, 128, 3)), 0, 255).astype(np.uint8)  # ~0.1, std 3/255
    prof = noise_profile(img)
    b = np.digitize(25 / 255, INTENSITY_BINS) - 1
    # the blur removes some of the noise's own variance: the high-pass keeps ~90 % of the std at sigma 1.5
    assert prof[b] == pytest.approx(3 / 255, rel=0.2)
    assert np.isnan(prof[-1])  # nothing that bright
    louder = noise_profile(np.clip(25 + rng.normal(0, 6, (128, 128, 3)), 0, 255).astype(np.uint8))
    assert louder[b] > 1.7 * prof[b]

"""Lightness Order Error: brute-force definition, invariances and the documented sub-sampling."""

import numpy as np
import pytest

from uptflow.metrics.loe import loe


def _brute(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = a.max(axis=2).ravel().astype(int), b.max(axis=2).ravel().astype(int)
    n = la.size
    return sum(int((la[i] >= la[j]) != (lb[i] >= lb[j])) for i in range(n) for j in range(n)) / n


def test_loe_equals_the_pairwise_definition_on_a_tiny_image():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    assert loe(a, b, short_side=5) == pytest.approx(_brute(a, b))


def test_order_preserving_maps_give_zero_and_inversion_gives_a_large_error():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 128, (40, 60, 3), dtype=np.uint8)
    assert loe(a, a) == 0
    assert loe(a, a * 2) == 0  # strictly increasing lightness map, no new ties
    assert loe(a, 255 - a) > 100


def test_loe_subsamples_to_the_short_side_setting():
    img = np.random.default_rng(2).integers(0, 256, (400, 600, 3), dtype=np.uint8)
    other = img[::-1].copy()
    # step = 400 // 100 = 4 -> a 100 x 150 grid, so LOE is at most 15000
    assert 0 < loe(img, other) <= 100 * 150
    assert loe(img, other, short_side=50) <= 50 * 75


def test_loe_rejects_mismatched_images():
    with pytest.raises(ValueError, match="same size"):
        loe(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))

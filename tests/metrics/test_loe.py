"""Lightness Order Error: the NPE authors' LOE.m (local maximum, grid, pairwise count), invariances, settings."""

import numpy as np
import pytest

from uptflow.metrics.loe import loe


def _loe_m(ipic: np.ndarray, epic: np.ndarray, blkwin: int) -> float:
    """A line-by-line port of LOE.m's loops (1-based indices kept), the reference for the vectorised code."""
    def localmax(pic: np.ndarray, win: int = 7) -> np.ndarray:
        h, w = pic.shape
        ext = np.zeros((h + 2 * win, w + 2 * win))
        ext[win:win + h, win:win + w] = pic
        for i in range(1, win + 1):  # getextpic: rows, then columns, mirrored without the edge pixel
            ext[win - i, win:win + w] = ext[win + i, win:win + w]
            ext[h + win + i - 1, win:win + w] = ext[h + win - i - 1, win:win + w]
        for i in range(1, win + 1):
            ext[:, win - i] = ext[:, win + i]
            ext[:, w + win + i - 1] = ext[:, w + win - i - 1]
        return np.array([[ext[i:i + 2 * win + 1, j:j + 2 * win + 1].max() for j in range(w)] for i in range(h)])

    imax, emax = localmax(ipic.max(axis=2).astype(float)), localmax(epic.max(axis=2).astype(float))
    m, n = imax.shape
    step = min(m, n) // blkwin
    blkm, blkn = m // step, n // step
    ids = np.array([[imax[i * step - 1, j * step - 1] for j in range(1, blkn + 1)] for i in range(1, blkm + 1)])
    eds = np.array([[emax[i * step - 1, j * step - 1] for j in range(1, blkn + 1)] for i in range(1, blkm + 1)])
    counts = [np.sum((ids >= ids[i, j]) != (eds >= eds[i, j])) for i in range(blkm) for j in range(blkn)]
    return float(np.mean(counts))


@pytest.mark.parametrize("shape,short_side", [((23, 19, 3), 19), ((41, 37, 3), 12), ((30, 64, 3), 10)])
def test_loe_equals_a_literal_port_of_the_npe_authors_code(shape, short_side):
    rng = np.random.default_rng(sum(shape))
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) * 2 + rng.integers(-40, 40, shape), 0, 255).astype(np.uint8)
    assert loe(a, b, short_side=short_side) == pytest.approx(_loe_m(a, b, short_side))


def _smooth(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    lum = 20 + 100 * (np.sin(x / 9.0) + np.cos(y / 13.0) + 2) / 4
    return np.repeat(lum[..., None], 3, axis=2).astype(np.uint8)


def test_order_preserving_maps_give_zero_and_inversion_gives_a_large_error():
    a = _smooth(80, 120)
    assert loe(a, a) == 0
    assert loe(a, a * 2) == 0  # strictly increasing lightness map, no new ties
    assert loe(a, 255 - a) > 100


def test_loe_samples_a_grid_with_the_short_side_setting():
    img = _smooth(400, 600)
    other = img[::-1].copy()
    # default short side 50: step 400 // 50 = 8 -> a 50 x 75 grid, so LOE is at most 3750
    default = loe(img, other)
    assert 0 < default <= 50 * 75
    # a 100 x 150 grid has 4x the pixels, so each one swaps its order with about 4x as many
    assert 3.5 < loe(img, other, short_side=100) / default < 4.5


def test_loe_rejects_mismatched_images():
    with pytest.raises(ValueError, match="same size"):
        loe(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))

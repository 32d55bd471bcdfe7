"""The Unbalanced Point Map: strict 10 % share threshold with S = R + G + B + 1e-4, as the official zero_map."""

import numpy as np
import pytest
import torch

from tests.models.golden_utils import CASES, image, load_case
from uptflow.models.upm import unbalanced_point_map


def _pixels(*rgb: tuple[float, float, float]) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32).T.reshape(1, 3, 1, len(rgb))


def test_upm_flags_pixels_whose_channel_shares_all_exceed_a_tenth():
    low = _pixels(
        (0.2, 0.4, 0.4),  # balanced
        (1.0, 1.0, 1.0),  # white
        (0.05, 0.5, 0.45),  # red share 0.05
        (0.0, 0.0, 0.0),  # black
        (0.6, 0.3, 0.0),  # blue missing
        (0.001, 0.001, 0.001),  # dark grey: shares 0.32 despite the 1e-4 in S
        (1e-5, 1e-5, 1e-5),  # near black: the 1e-4 in S pushes the shares to 0.077
    )
    assert unbalanced_point_map(low).flatten().tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def test_upm_threshold_is_strict():
    # In float32, 0.1 / (0.1 + 0.5 + 0.3999 + 1e-4) rounds to exactly float32(0.1): not above the threshold.
    low = _pixels((0.1, 0.5, 0.3999), (0.1001, 0.5, 0.3999))
    assert (low[0, 0, 0, 0] / (low[0, :, 0, 0].sum() + 1e-4)).item() == torch.tensor(0.1).item()
    assert unbalanced_point_map(low).flatten().tolist() == [0.0, 1.0]


def test_upm_keeps_batch_shape_and_dtype():
    low = torch.rand(2, 3, 8, 12, dtype=torch.float64)
    upm = unbalanced_point_map(low)
    assert upm.shape == (2, 1, 8, 12) and upm.dtype == torch.float64
    assert set(upm.unique().tolist()) <= {0.0, 1.0}


def test_upm_rejects_non_rgb_and_integer_input():
    with pytest.raises(ValueError, match="RGB"):
        unbalanced_point_map(torch.rand(1, 1, 4, 4))
    with pytest.raises(TypeError, match="float"):
        unbalanced_point_map(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


@pytest.mark.realdata
@pytest.mark.parametrize("case", CASES)
def test_upm_equals_official_map_on_golden_images(golden, case):
    data = load_case(golden, case)
    upm = unbalanced_point_map(image(data["low_u8"]))[0, 0].numpy()
    np.testing.assert_array_equal(upm, data["upm"].astype(np.float32))

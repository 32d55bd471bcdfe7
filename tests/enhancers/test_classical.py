"""Classical enhancers: registration, formulas, colour handling and argument checks."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from uptflow.enhancers import build_enhancer, list_enhancers


@pytest.fixture(scope="module")
def dark():
    return (data.astronaut()[::4, ::4] // 4).astype(np.uint8)


def test_classical_enhancers_are_registered():
    assert {"identity", "gamma", "histeq", "clahe"} <= set(list_enhancers())


def test_identity_returns_the_input(dark):
    out = build_enhancer("identity")(dark)
    np.testing.assert_array_equal(out, dark)
    assert out is not dark


def test_a_read_only_array_is_enhanced_without_a_warning(dark):
    import warnings

    frozen = dark.copy()
    frozen.flags.writeable = False  # as np.asarray(PIL image) gives it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = build_enhancer("identity")(frozen)
    np.testing.assert_array_equal(out, dark)


def test_gamma_applies_the_power_law_and_brightens(dark):
    out = build_enhancer("gamma", gamma=2.5)(dark)
    expected = np.round(255 * (dark / 255.0) ** (1 / 2.5)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    assert out.mean() > dark.mean()
    with pytest.raises(ValueError, match="positive"):
        build_enhancer("gamma", gamma=0)


def test_histeq_equalises_luminance_and_keeps_grey_grey(dark):
    out = build_enhancer("histeq")(dark)
    y = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0]
    assert y.max() >= 250 and y.min() <= 5  # full range after equalisation
    grey = np.repeat(dark[..., :1], 3, axis=2)
    g = build_enhancer("histeq")(grey)
    assert np.abs(g.astype(int) - g[..., :1]).max() <= 2


def test_clahe_changes_only_lightness_and_validates_params(dark):
    e = build_enhancer("clahe", clip_limit=3.0, tile_grid=4)
    assert e.params() == {"clip_limit": 3.0, "tile_grid": 4}
    out = e(dark)
    assert out.shape == dark.shape and out.mean() > dark.mean()
    grey = np.repeat(dark[..., :1], 3, axis=2)
    g = e(grey)
    assert np.abs(g.astype(int) - g[..., :1]).max() <= 2
    with pytest.raises(ValueError, match="clip_limit"):
        build_enhancer("clahe", clip_limit=-1)
    with pytest.raises(ValueError, match="1 <= tile_grid <= 256, got 2.0, 100000"):
        build_enhancer("clahe", tile_grid=100000)  # refused before OpenCV tries to allocate it
    assert build_enhancer("clahe", tile_grid=256)(dark[:16, :16]).shape == (16, 16, 3)  # more tiles than pixels


def test_enhance_tensor_matches_uint8_path(dark):
    e = build_enhancer("gamma")
    x = torch.from_numpy(dark).permute(2, 0, 1)[None].float() / 255
    y = e.enhance_tensor(x)
    np.testing.assert_array_equal((y[0].permute(1, 2, 0) * 255).round().byte().numpy(), e(dark))


def test_classical_enhancers_refuse_weights():
    with pytest.raises(ValueError, match="takes no weights"):
        build_enhancer("histeq", weights="x.pth")


def test_auto_device_means_the_gpu_when_visible_else_the_cpu():
    import torch

    from uptflow.enhancers import build_enhancer

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert build_enhancer("gamma", device="auto").device.type == expected
    with pytest.raises(ValueError, match="^device gpu-please: .*device string"):
        build_enhancer("gamma", device="gpu-please")

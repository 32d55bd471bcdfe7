"""NIQE: equal to BasicSR 1.4.2's MATLAB-faithful implementation, MATLAB-style resize, pristine model, ordering.

Reference values (``REF_*`` below) were computed once, on 2026-12-01, by running BasicSR 1.4.2's own
``basicsr.metrics.niqe.calculate_niqe(bgr, crop_border=0, input_order='HWC', convert_to=C)`` with C = 'y' and 'gray':

* package: ``basicsr-1.4.2.tar.gz`` from PyPI (sha256 b89b595a87ef964c...), its ``metrics/niqe.py`` loaded from the
  unpacked sdist together with the modules it imports (``metrics/metric_util.py``, ``utils/color_util.py``,
  ``utils/matlab_functions.py``, ``utils/registry.py``), because ``import basicsr`` fails on current torchvision;
  numpy 2.4.6, scipy 1.17.1, opencv 5.0.0, torch 2.14.1 (CPU, MKL), x86-64 AVX-512;
* image: ``rgb`` = ``uptflow.utils.io.imread_rgb(path)`` (uint8 RGB) or a scikit-image 0.26 photo darkened as
  ``np.round(photo * factor).astype(np.uint8)`` (grey photos stacked to 3 channels); BasicSR received
  ``rgb[..., ::-1]`` (it expects BGR). The first field is the sha256 (16 hex digits) of ``rgb``'s bytes, so that a
  decoder change is reported as such.

Agreement is checked to 1e-3 relative. What remains below that is float32 rounding: BasicSR resizes with torch's
float32 matrix-vector products (MKL, order CPU-dependent); 1-ulp differences there can move one block's AGGD shape
by one 0.001 grid step, worth up to ~1e-3 on small images (few blocks). With BasicSR's resize output our features
and score equal BasicSR's to 1e-13.
"""

import hashlib

import cv2
import numpy as np
import pytest
from skimage import data

from uptflow.metrics._nss import fit_aggd, gaussian_window, imresize_matlab
from uptflow.metrics.niqe import load_pristine_params, niqe, niqe_features, niqe_luma
from uptflow.utils.io import imread_rgb

RTOL = 1e-3

# (photo, darkening factor): (sha256[:16] of the uint8 RGB, BasicSR y, BasicSR gray)
REF_SKIMAGE = {
    ("astronaut", 0.15): ("be0559021481d8ac", 5.061712411358285, 4.595608429290253),
    ("coffee", 0.15): ("4104d50efa9e4fb0", 6.982978648847216, 6.724911079682849),
    ("rocket", 0.15): ("ae1721d86a8e8281", 12.891354626757558, 12.177410311607513),
    ("camera", 0.1): ("7b59c58e47cd7256", 6.826018412061466, 6.057436669984438),
    # values 0..13: blocks with one-sided AGGD samples, whose MATLAB shape 0.2 counts (2.6 % if dropped)
    ("camera", 0.05): ("f885175a3eff8b90", 9.193323670966715, 9.124517298860933),
}

# path under ../shared: (sha256[:16] of imread_rgb's array, BasicSR y, BasicSR gray)
REF_SHARED = {
    "data/lol/low/1.png": ("6bd64eff7c3b9273", 6.427273327642633, 6.436827001245107),
    "data/lol/low/22.png": ("a137ccb68d40585a", 6.747024793993091, 6.691664185986025),
    "data/lol/low/23.png": ("5bd5c0a8caf4ba65", 7.598626946817541, 7.757363763333248),
    "data/lol/low/778.png": ("1493514403e6cec7", 5.697587346272454, 5.6763489966005585),
    "data/lol/low/780.png": ("652835f030867134", 6.520181362666871, 6.723144717384411),
    "data/unpaired/DICM/01.jpg": ("3912a72a0a293aed", 3.356788407451587, 3.226627475685949),
    "data/unpaired/DICM/02.jpg": ("c32c526c622fd6ef", 2.4209854365048016, 2.4015642523172014),
    "data/unpaired/DICM/03.jpg": ("b117a3d6c22e8915", 2.5624774079673496, 2.573820739107658),
    "data/unpaired/DICM/04.jpg": ("a2bdc97a94eec186", 3.279885133677895, 3.1393089851511435),
    "data/unpaired/DICM/05.jpg": ("d6fe55c1d823874c", 3.504598223126739, 3.4000852638042094),
    "data/unpaired/DICM/06.jpg": ("894c1a1cdb18eacd", 4.1626587499649865, 4.2606686955057524),
    "data/unpaired/NPE/NPE_71.png": ("0ca08af664b3a424", 4.0250301879085155, 3.824630821976372),
    "data/unpaired/NPE/NPE_89.png": ("c7bcd9365fd458a8", 3.4389765834334987, 3.3747425342049),
    "data/unpaired/misc/iat_low_demo.jpg": ("1d3d7e2687cde97e", 3.2325988009773723, 3.2506138530243005),
    "data/unpaired/night_street/DSC00701.JPG": ("a329dc018b1b3c39", 3.0100284067897736, 2.9592064432531178),
    "data/unpaired/night_street/DSC00983.JPG": ("13b923a0cc438559", 4.131810284344609, 4.066615088298233),
    "data/unpaired/night_street/DSC01047.JPG": ("65ae66d6e7427de6", 4.297877898445518, 4.209831663443522),
    "data/unpaired/night_street/DSC01065.JPG": ("4fb91017d006b231", 2.893344512914453, 2.9057618594386105),
    "data/unpaired/night_street/DSC01173.JPG": ("f766bee9d5c9da81", 2.9023831074839648, 2.935570006083709),
    "data/unpaired/night_street/DSC01331.JPG": ("7e4658495d14811f", 3.04175809501253, 3.0041241139335293),
    "data/unpaired/sci_easy/0016.png": ("b967ea3f2f2384ff", 2.8383826127528593, 2.7074611758474525),
    "data/unpaired/sci_easy/0224.png": ("0592c147daae7dd9", 6.214674047068164, 6.193613947757867),
    "data/unpaired/sci_medium/00051.png": ("81ceea9fbe9bd686", 4.768910239226497, 4.85811288450788),
    "data/unpaired/sci_medium/00079.png": ("f05f27f18c37397f", 7.29500983904521, 7.5119812587537815),
    "data/unpaired/sci_medium/00091.png": ("5d1c13417144f6ef", 7.656280192790654, 7.610511024651493),
    "data/unpaired/sci_medium/2062.jpg": ("485e8268d6cb3a61", 4.29429684165576, 4.136675411921575),
    "data/unpaired/sci_medium/3008.jpg": ("508a8f1e69c93753", 5.25661747104473, 4.9886303497565185),
}


def _check_against_reference(rgb: np.ndarray, ref: tuple[str, float, float], what: str) -> None:
    digest, ref_y, ref_gray = ref
    got = hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:16]
    assert got == digest, f"{what}: pixels differ from those the reference was computed on (decoder change?)"
    assert niqe(rgb, convert_to="y") == pytest.approx(ref_y, rel=RTOL)
    assert niqe(rgb, convert_to="gray") == pytest.approx(ref_gray, rel=RTOL)


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


@pytest.mark.parametrize(("photo", "factor"), list(REF_SKIMAGE))
def test_niqe_equals_basicsr_on_darkened_skimage_photos(photo, factor):
    img = getattr(data, photo)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    rgb = np.round(img.astype(np.float64) * factor).astype(np.uint8)
    _check_against_reference(rgb, REF_SKIMAGE[(photo, factor)], f"skimage {photo} x {factor}")


@pytest.mark.realdata
@pytest.mark.parametrize("rel_path", list(REF_SHARED))
def test_niqe_equals_basicsr_on_real_low_light_images(shared, rel_path):
    _check_against_reference(imread_rgb(shared / rel_path), REF_SHARED[rel_path], rel_path)


def test_luma_rounds_ties_like_basicsr_float32():
    # (65.481 R + 128.553 G + 24.966 B) / 255 + 16 is 125.5 for these colours; BasicSR's float32 steps give 126,
    # a float64 round-half-even would give 125
    ties = np.array([[[0, 204, 68], [4, 194, 109], [8, 184, 150], [11, 205, 34]]], np.uint8)
    np.testing.assert_array_equal(niqe_luma(ties, "y"), 126.0)
    anchors = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_array_equal(niqe_luma(anchors, "y"), [[16, 235, 81, 145, 41]])
    np.testing.assert_array_equal(niqe_luma(anchors, "gray"), [[0, 255, 76, 150, 29]])
    assert niqe_luma(anchors, "gray").dtype == np.float32


def test_aggd_fit_of_a_one_sided_sample_has_matlab_shape_and_nan_std():
    # MATLAB's min over the all-NaN distance vector returns the first grid point; NIQE's nanmean then counts it
    alpha, left, right = fit_aggd(np.array([0.5, 1.0, 2.0, 0.0]))
    assert alpha == pytest.approx(0.2) and np.isnan(left) and right > 0


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

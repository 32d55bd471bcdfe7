"""A seeded, camera-like low-light degradation of well-exposed sRGB photos, and fixed darkness levels.

:class:`LowLightDegradation` turns a uint8 sRGB image into a plausible low-light capture of the same scene by
running a simplified camera pipeline backwards and forwards (after Brooks et al., "Unprocessing Images for Learned
Raw Denoising", CVPR 2019, whose noise and white-balance ranges it borrows):

1. **linearise** with the inverse sRGB transfer function (IEC 61966-2-1, the piecewise curve, not a pure gamma);
2. **expose**: scale by ``exposure`` (log-uniform over a wide range: 0.006 is darker than LOL, 0.6 is dusk);
3. **to camera space**: inverse colour-correction matrix (a saturation matrix of strength ``ccm``) and inverse
   white-balance gains (red / blue), so the noise lands where a sensor adds it;
4. optionally **mosaic** to an RGGB Bayer pattern;
5. **Poisson-Gaussian noise**: ``y = shot * Poisson(x / shot) + N(0, read)``, i.e. variance ``shot * x + read``;
   ``shot`` (the inverse photo-electron count at white) is log-uniform from almost clean to very heavy and ``read``
   follows Brooks et al.'s fit ``log read = 2.18 log shot + 1.2 + N(0, 0.26)``;
6. **demosaic** (OpenCV's bilinear) when mosaiced: the noise becomes spatially correlated as in real photos;
7. **white balance** with the camera gains times a random per-channel **colour cast**, then the forward CCM; after
   both, the red and blue channels are noisier than green, as in real low-light photos;
8. **tone curve** back to display values, one of :data:`TONE_CURVES` (sRGB, a pure gamma, a filmic S-curve or a
   shadow-lifting log curve), then **uint8 quantisation** and, sometimes, **JPEG** compression.

Optionally (``light_prob`` > 0), **light sources** (:mod:`uptflow.data.lights`: lamps whose cores clip) are added
in linear light after step 2, and unscaled to the normal-light image, which :meth:`LowLightDegradation.target`
then returns.

Every drawn value is returned with the image (``params``, JSON-serialisable), and ``apply(img, params, rng)`` redoes
the degradation from them. :data:`DARKNESS_LEVELS` / :func:`darkness_level` give fixed degradations, level 1 (mild)
to 5 (very dark), for benchmarks at several darkness levels; only their noise is random (seeded by the caller).
"""

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from uptflow.data.lights import render_lights, sample_lights

__all__ = ["LowLightDegradation", "TONE_CURVES", "DARKNESS_LEVELS", "darkness_level", "build_degradation",
           "srgb_to_linear", "linear_to_srgb"]


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """Inverse sRGB transfer function (IEC 61966-2-1) of values in [0, 1]."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """sRGB transfer function (IEC 61966-2-1) of linear values in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _gamma(x: np.ndarray, gamma: float) -> np.ndarray:
    return np.power(np.clip(x, 0.0, 1.0), 1.0 / gamma)


def _filmic(x: np.ndarray, strength: float) -> np.ndarray:
    # Brooks et al.'s camera curve: smoothstep on sRGB values, blended with plain sRGB by ``strength``
    s = linear_to_srgb(x)
    return (1 - strength) * s + strength * s * s * (3 - 2 * s)


def _log(x: np.ndarray, a: float) -> np.ndarray:
    return np.log1p(a * np.clip(x, 0.0, 1.0)) / math.log1p(a)


# name -> (curve(linear, param) -> display values in [0, 1], range its parameter is drawn from)
TONE_CURVES: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], tuple[float, float]]] = {
    "srgb": (lambda x, _: linear_to_srgb(x), (0.0, 0.0)),
    "gamma": (_gamma, (1.8, 2.6)),        # display gamma
    "filmic": (_filmic, (0.3, 1.0)),      # S-curve strength (crushes shadows)
    "log": (_log, (4.0, 30.0)),           # shadow lift a of log(1 + a x) / log(1 + a)
}


def _bayer_code() -> int:
    import cv2

    # OpenCV names Bayer patterns by the 2x2 block starting at pixel (1, 1): an RGGB mosaic is its "BG"
    return cv2.COLOR_BayerBG2RGB


def _mosaic(x: np.ndarray) -> np.ndarray:
    """RGGB mosaic of an even-sized HxWx3 image: HxW, one colour per pixel."""
    raw = x[..., 1].copy()
    raw[0::2, 0::2] = x[0::2, 0::2, 0]
    raw[1::2, 1::2] = x[1::2, 1::2, 2]
    return raw


def _demosaic(raw: np.ndarray) -> np.ndarray:
    """Bilinear demosaicing (OpenCV) of an RGGB mosaic in [0, 1]; 16-bit internally."""
    import cv2

    q = np.round(np.clip(raw, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return cv2.cvtColor(q, _bayer_code()).astype(np.float64) / 65535.0


def _saturation_matrix(strength: float) -> np.ndarray:
    """3x3 colour matrix with rows summing to 1 that boosts saturation by ``strength`` (0 = identity)."""
    return (1 + strength) * np.eye(3) - strength / 3.0 * np.ones((3, 3))


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to JPEG-encode a degraded image")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def _check_range(name: str, value: tuple[float, float], positive: bool = False) -> tuple[float, float]:
    if len(value) != 2:
        raise ValueError(f"{name} must be (min, max), got {value!r}")
    lo, hi = (float(v) for v in value)
    if not (0 < lo if positive else 0 <= lo) or lo > hi:
        raise ValueError(f"{name} must be (min, max) with {'0 <' if positive else '0 <='} min <= max, got {value!r}")
    return lo, hi


def _check_prob(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class LowLightDegradation:
    """Seeded low-light degradation of a uint8 sRGB image (the model is described in the module docstring).

    Ranges are ``(min, max)``; log-uniform ones are marked. A range with ``min == max`` fixes the value.

    Args:
        exposure_range: linear exposure factor, log-uniform. Defaults to (0.006, 0.6).
        shot_noise_range: shot-noise variance per unit of linear signal (1 / photo-electrons at white),
            log-uniform. Defaults to (1e-5, 3e-3): from nearly clean (std < 0.002 in display values) to very
            heavy (~0.05); LOL's real low-light photos measure like 5e-5 to 1e-4 (``docs/synthesis.md``).
        read_noise_jitter: std of the Gaussian jitter of log(read variance) around Brooks et al.'s fit (0 fixes
            read noise by the shot noise). Defaults to 0.26.
        red_gain_range: camera white-balance gain of red. Defaults to (1.9, 2.4).
        blue_gain_range: camera white-balance gain of blue. Defaults to (1.5, 1.9).
        cast_prob: probability of a colour cast. Defaults to 0.5.
        colour_cast: largest relative per-channel gain error of a cast (gains from [1 - c, 1 + c], c uniform in
            [0, colour_cast]). Defaults to 0.2.
        ccm_range: strength of the camera's saturation matrix. Defaults to (0.0, 0.5).
        bayer_prob: probability of mosaicing, so that the noise is demosaiced. Defaults to 0.5.
        curves: tone curves to choose from, uniformly (names of :data:`TONE_CURVES`). Defaults to all four.
        jpeg_prob: probability of JPEG compression. Defaults to 0.3.
        jpeg_quality_range: JPEG quality (integer, uniform). Defaults to (60, 95).
        light_prob: probability that an image gets light sources (:mod:`uptflow.data.lights`); their draws come
            after all others, so 0 leaves the other parameters' stream as it was. Defaults to 0.
        light_count: how many lamps such an image gets (integer, uniform). Defaults to (1, 6).
    """

    exposure_range: tuple[float, float] = (0.006, 0.6)
    shot_noise_range: tuple[float, float] = (1e-5, 3e-3)
    read_noise_jitter: float = 0.26
    red_gain_range: tuple[float, float] = (1.9, 2.4)
    blue_gain_range: tuple[float, float] = (1.5, 1.9)
    cast_prob: float = 0.5
    colour_cast: float = 0.2
    ccm_range: tuple[float, float] = (0.0, 0.5)
    bayer_prob: float = 0.5
    curves: tuple[str, ...] = tuple(TONE_CURVES)
    jpeg_prob: float = 0.3
    jpeg_quality_range: tuple[int, int] = (60, 95)
    light_prob: float = 0.0
    light_count: tuple[int, int] = (1, 6)

    def __post_init__(self) -> None:
        for name in ("exposure_range", "shot_noise_range", "red_gain_range", "blue_gain_range"):
            object.__setattr__(self, name, _check_range(name, getattr(self, name), positive=True))
        object.__setattr__(self, "ccm_range", _check_range("ccm_range", self.ccm_range))
        if self.exposure_range[1] > 1:
            raise ValueError(f"exposure_range must stay <= 1 (a low-light image), got {self.exposure_range}")
        q = _check_range("jpeg_quality_range", self.jpeg_quality_range, positive=True)
        if q[1] > 100:
            raise ValueError(f"jpeg_quality_range must lie in [1, 100], got {self.jpeg_quality_range}")
        object.__setattr__(self, "jpeg_quality_range", (int(q[0]), int(q[1])))
        n = _check_range("light_count", self.light_count, positive=True)
        if n != (int(n[0]), int(n[1])) or n[0] < 1:
            raise ValueError(f"light_count must be whole numbers (min, max) with 1 <= min <= max, got "
                             f"{self.light_count!r}")
        object.__setattr__(self, "light_count", (int(n[0]), int(n[1])))
        for name in ("cast_prob", "bayer_prob", "jpeg_prob", "light_prob"):
            _check_prob(name, getattr(self, name))
        if not 0 <= self.colour_cast < 1:
            raise ValueError(f"colour_cast must be in [0, 1), got {self.colour_cast}")
        if self.read_noise_jitter < 0:
            raise ValueError(f"read_noise_jitter must be >= 0, got {self.read_noise_jitter}")
        curves = (self.curves,) if isinstance(self.curves, str) else tuple(self.curves)
        unknown = [c for c in curves if c not in TONE_CURVES]
        if not curves or unknown:
            raise ValueError(f"curves must be a non-empty subset of {tuple(TONE_CURVES)}, got {self.curves!r}")
        object.__setattr__(self, "curves", curves)

    def settings(self) -> dict:
        """The ranges as a plain dict; without the light-source fields while ``light_prob`` is 0, so that a
        degradation's identity (the suite's dataset identities hold it) is what it was before they existed."""
        out = asdict(self)
        if not self.light_prob:
            del out["light_prob"], out["light_count"]
        return out

    def sample_params(self, rng: np.random.Generator) -> dict:
        """Draw one image's parameters (the same number of draws for every image while ``light_prob`` is 0, so
        that streams stay aligned; the lamps' draws come last)."""
        def log_uniform(lo: float, hi: float) -> float:
            return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

        exposure = log_uniform(*self.exposure_range)
        shot = log_uniform(*self.shot_noise_range)
        read = float(np.exp(2.18 * np.log(shot) + 1.2 + rng.normal(0.0, 1.0) * self.read_noise_jitter))
        wb = [float(rng.uniform(*self.red_gain_range)), 1.0, float(rng.uniform(*self.blue_gain_range))]
        cast_on, cast_size = rng.random() < self.cast_prob, rng.uniform(0.0, self.colour_cast)
        cast = rng.uniform(1 - cast_size, 1 + cast_size, size=3)
        ccm = float(rng.uniform(*self.ccm_range))
        bayer = bool(rng.random() < self.bayer_prob)
        curve = self.curves[int(rng.integers(len(self.curves)))]
        curve_param = float(rng.uniform(*TONE_CURVES[curve][1]))
        jpeg_on, quality = rng.random() < self.jpeg_prob, int(rng.integers(self.jpeg_quality_range[0],
                                                                           self.jpeg_quality_range[1] + 1))
        params = dict(exposure=exposure, shot_noise=shot, read_noise=read, wb_gains=wb,
                      cast=cast.tolist() if cast_on else [1.0, 1.0, 1.0], ccm=ccm, bayer=bayer, curve=curve,
                      curve_param=curve_param, jpeg_quality=quality if jpeg_on else None)
        if self.light_prob > 0:
            params["lights"] = sample_lights(rng, self.light_count) if rng.random() < self.light_prob else []
        return params

    @staticmethod
    def apply(img: np.ndarray, params: dict, rng: np.random.Generator) -> np.ndarray:
        """Degrade a uint8 HxWx3 sRGB image with the given parameters; the noise is drawn from ``rng``."""
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected a uint8 HxWx3 image, got {img.dtype} {img.shape}")
        h, w = img.shape[:2]
        x = srgb_to_linear(img.astype(np.float64) / 255.0) * params["exposure"]
        if params.get("lights"):
            x += render_lights(params["lights"], h, w)
        ccm = _saturation_matrix(params["ccm"])
        wb = np.asarray(params["wb_gains"], dtype=np.float64)
        cam = np.clip(x @ np.linalg.inv(ccm).T / wb, 0.0, 1.0)
        if params["bayer"]:
            # demosaicing needs even sides: reflect one row / column, cropped again below
            cam = np.pad(cam, ((0, h % 2), (0, w % 2), (0, 0)), mode="reflect")
            cam = _mosaic(cam)
        shot = params["shot_noise"]
        noisy = shot * rng.poisson(cam / shot) + rng.normal(0.0, math.sqrt(params["read_noise"]), size=cam.shape)
        if params["bayer"]:
            noisy = _demosaic(noisy)[:h, :w]
        rgb = np.clip(noisy, 0.0, None) * wb * np.asarray(params["cast"]) @ ccm.T
        curve = TONE_CURVES[params["curve"]][0]
        out = (np.clip(curve(np.clip(rgb, 0.0, 1.0), params["curve_param"]), 0.0, 1.0) * 255.0).round()
        out = out.astype(np.uint8)
        return out if params["jpeg_quality"] is None else _jpeg(out, params["jpeg_quality"])

    @staticmethod
    def target(img: np.ndarray, params: dict) -> np.ndarray:
        """The normal-light image that goes with ``apply(img, params, ...)``: ``img`` with the same light sources
        (``params['lights']``), or ``img`` itself when there are none."""
        if not params.get("lights"):
            return img
        x = srgb_to_linear(img.astype(np.float64) / 255.0) + render_lights(params["lights"], *img.shape[:2])
        return (linear_to_srgb(x) * 255.0).round().astype(np.uint8)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Return (degraded image, parameters used)."""
        params = self.sample_params(rng)
        return self.apply(img, params, rng), params

    def pair(self, img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
        """Return (degraded image, normal-light image with the same light sources, parameters used)."""
        low, params = self(img, rng)
        return low, self.target(img, params), params


# level -> (exposure, shot-noise variance): each level is one stop darker and has twice the shot-noise gain of the
# previous (a camera raising its gain as light falls); level 3 has about LOL's darkness and noise (mean luma ~0.09,
# noise std ~0.01 in display values on BSDS500 photos; docs/synthesis.md)
DARKNESS_LEVELS: dict[int, dict[str, float]] = {
    1: dict(exposure=2.0 ** -2, shot_noise=2e-5),
    2: dict(exposure=2.0 ** -3, shot_noise=4e-5),
    3: dict(exposure=2.0 ** -4, shot_noise=8e-5),
    4: dict(exposure=2.0 ** -5, shot_noise=1.6e-4),
    5: dict(exposure=2.0 ** -6, shot_noise=3.2e-4),
}


def darkness_level(level: int) -> LowLightDegradation:
    """The fixed degradation of darkness ``level`` (1 mild ... 5 very dark, see :data:`DARKNESS_LEVELS`).

    Exposure and noise strength are fixed; the sRGB curve, average camera white balance and no cast, mosaic, colour
    matrix or JPEG keep the levels comparable. Only the noise itself is random: pass a seeded generator.
    """
    if level not in DARKNESS_LEVELS:
        raise ValueError(f"darkness level must be one of {sorted(DARKNESS_LEVELS)}, got {level!r}")
    d = DARKNESS_LEVELS[level]
    return LowLightDegradation(exposure_range=(d["exposure"],) * 2, shot_noise_range=(d["shot_noise"],) * 2,
                               read_noise_jitter=0.0, red_gain_range=(2.15, 2.15), blue_gain_range=(1.7, 1.7),
                               cast_prob=0.0, colour_cast=0.0, ccm_range=(0.0, 0.0), bayer_prob=0.0,
                               curves=("srgb",), jpeg_prob=0.0)


def build_degradation(spec: "LowLightDegradation | dict | None" = None) -> LowLightDegradation:
    """A degradation from a config: None (the defaults), ``dict(level=N)`` (:func:`darkness_level`), keyword ranges
    of :class:`LowLightDegradation` (lists become tuples), or an instance (returned as is)."""
    if spec is None:
        return LowLightDegradation()
    if isinstance(spec, LowLightDegradation):
        return spec
    if not isinstance(spec, dict):
        raise TypeError(f"degradation must be a LowLightDegradation, a dict or None, got {type(spec).__name__}")
    if "level" in spec:
        if len(spec) > 1:
            raise ValueError(f"a darkness level takes no other degradation keys, got {sorted(spec)}")
        return darkness_level(spec["level"])
    fields = LowLightDegradation.__dataclass_fields__
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        raise KeyError(f"unknown degradation keys {unknown}; known: {sorted(fields)}")
    return LowLightDegradation(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})

"""Light sources for synthetic low-light pairs: street lamps, traffic and car lights that clip in a night photo.

Darkening a daytime photo never produces a light source, yet night scenes are full of them, and a model that has
never seen one brightens it and its glow like any other bright object. A lamp here is an emissive disc of HDR
radiance (``intensity`` times its colour, whose brightest channel is 0.85-1, so at least that channel clips at any
exposure) with a Gaussian glow (light scattered in the lens and the air, a fraction of that radiance). Sizes are
relative to the short side of the image the lamps are drawn for (in training: the crop). Lamps are added in linear
light **after** the exposure scaling of the low-light image and unscaled to the normal-light one: enhancement is
meant to raise the ambient light, not the lamps, so they look the same in both images while the scene around them
brightens.
"""

import numpy as np

__all__ = ["LAMP_COLOURS", "sample_lights", "render_lights"]

# linear RGB of common night light sources (before a small random jitter)
LAMP_COLOURS: dict[str, tuple[float, float, float]] = {
    "sodium": (1.0, 0.5, 0.12),
    "warm_white": (1.0, 0.8, 0.6),
    "cool_led": (0.8, 0.9, 1.0),
    "red": (1.0, 0.06, 0.04),
    "amber": (1.0, 0.45, 0.03),
    "green": (0.05, 1.0, 0.45),
}
_RADIUS = (0.005, 0.03)     # core radius, fraction of the short side (at least one pixel)
_GLOW = (1.5, 4.0)          # glow radius, multiple of the core radius
_GLOW_GAIN = (0.003, 0.03)   # glow peak, fraction of the core's radiance
_INTENSITY = (1.5, 40.0)    # core radiance, multiple of white, log-uniform


def sample_lights(rng: np.random.Generator, count: tuple[int, int]) -> list[dict]:
    """Draw ``count`` (min, max) lamps: positions as fractions of width / height, sizes relative to the short side."""
    names = list(LAMP_COLOURS)
    lights = []
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        colour = np.asarray(LAMP_COLOURS[names[int(rng.integers(len(names)))]]) * rng.uniform(0.85, 1.0, size=3)
        lights.append(dict(x=float(rng.random()), y=float(rng.random()), radius=float(rng.uniform(*_RADIUS)),
                           glow=float(rng.uniform(*_GLOW)), glow_gain=float(rng.uniform(*_GLOW_GAIN)),
                           intensity=float(np.exp(rng.uniform(*np.log(_INTENSITY)))),
                           colour=[float(c) for c in colour]))
    return lights


def render_lights(lights: list[dict], h: int, w: int) -> np.ndarray:
    """HxWx3 linear HDR radiance of ``lights`` (see :func:`sample_lights`) on an h x w image."""
    out = np.zeros((h, w, 3))
    if not lights:
        return out
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for lamp in lights:
        r = max(1.0, lamp["radius"] * min(h, w))
        d = np.hypot(xx - lamp["x"] * (w - 1), yy - lamp["y"] * (h - 1))
        # a disc with a one-pixel soft edge, plus the glow around it
        core = np.clip(r + 0.5 - d, 0.0, 1.0)
        glow = lamp["glow_gain"] * np.exp(-(d / (lamp["glow"] * r)) ** 2)
        out += (lamp["intensity"] * np.maximum(core, glow))[..., None] * np.asarray(lamp["colour"])
    return out

"""Synthetic night for any dataset: the seeded low-light model of ``uptflow.data.degradation`` applied on load.

``degrade="synthetic"`` draws a random realistic degradation per image; ``degrade=dict(level=L)`` applies the
fixed darkness level ``L`` (1 mild ... 5 very dark, ``uptflow.data.degradation.DARKNESS_LEVELS``), so downstream
scores can be tabulated per level; any other dict gives the model's ranges. Every image's parameters come from a
generator seeded with (suite seed, image name): reruns, shards and resumed runs darken identically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Degradation", "build_degradation"]


class Degradation:
    """``f(img, rng) -> (img, params)`` with ``sample_params(rng)`` and ``describe()``."""

    def __init__(self, spec: str | dict, model: Any) -> None:
        self.spec, self.model = spec, model

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        return self.model(img, rng)

    def sample_params(self, rng: np.random.Generator) -> dict:
        """The parameters an image with generator ``rng`` gets."""
        return self.model.sample_params(rng)

    def describe(self) -> dict[str, Any]:
        """The spec and the model's settings (part of the dataset's identity)."""
        return dict(spec=self.spec, model=type(self.model).__name__, settings=self.model.settings())


def build_degradation(spec: str | dict) -> Degradation:
    """``"synthetic"`` (random realistic low light per image), ``dict(level=L)`` (a fixed darkness level) or a dict
    of ``LowLightDegradation`` ranges."""
    from uptflow.data.degradation import build_degradation as build_model

    if spec == "synthetic":
        return Degradation(spec, build_model(None))
    if isinstance(spec, dict):
        if spec.get("light_prob"):  # lamps change the reference image too, which a darkened dataset keeps as it was
            raise ValueError("degrade: light_prob: light sources are not available here; write such pairs with "
                             "python -m uptflow.data.make_pairs --light-prob and read them as a paired dataset")
        try:
            return Degradation(dict(spec), build_model(spec))
        except (KeyError, TypeError) as e:
            raise ValueError(f"degrade: {str(e).strip(chr(39))}") from None
    raise ValueError(f"degrade must be 'synthetic', dict(level=L) or a dict of degradation ranges, got {spec!r}")

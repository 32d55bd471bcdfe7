"""Day -> synthetic night for Cityscapes studies, with the seeded low-light model of ``uptflow.data.synthetic``."""

from typing import Any

__all__ = ["build_degradation"]


def build_degradation(name: str = "synthetic", **kw: Any):
    """Return a ``LowLightDegradation`` (``f(img, rng) -> (img, params)``); ``kw`` overrides its ranges."""
    if name != "synthetic":
        raise KeyError(f"unknown degradation {name!r}; known: synthetic")
    from uptflow.data.synthetic import LowLightDegradation

    return LowLightDegradation(**kw)

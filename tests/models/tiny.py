"""A small random-weight UPTFlow (encoder width 8, one step per level) for fast tests of the full pipeline."""

import copy
from functools import lru_cache

import torch

from uptflow.models import UPTFlow
from uptflow.models.flow.coupling import Conv2dZeros

__all__ = ["tiny_uptflow", "TINY_CONFIG"]

TINY_CONFIG = dict(encoder_dim=8, n_unconditional=1, K=1, hidden=8)


@lru_cache(maxsize=4)
def _build(window_size: int, seed: int) -> UPTFlow:
    torch.manual_seed(seed)
    model = UPTFlow(window_size=window_size, **TINY_CONFIG)
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(2, 3, 32, 32, generator=g) * 0.3
    model.init_actnorm((low * 3).clamp(0, 1), low)
    with torch.no_grad():  # make the couplings depend on their inputs (they start as pure scalings)
        for m in model.modules():
            if isinstance(m, Conv2dZeros):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.05)
    return model.eval()


def tiny_uptflow(window_size: int = 5, seed: int = 0) -> UPTFlow:
    """A fresh copy of a cached tiny model with initialised ActNorms and non-trivial couplings."""
    return copy.deepcopy(_build(window_size, seed))

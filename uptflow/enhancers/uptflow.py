"""The UPT-Flow enhancer: a UPTFlow network (official or uptflow checkpoint) behind the Enhancer protocol.

Images are enhanced whole (the official behaviour) whenever they fit the memory budget; larger ones are split into
overlapping tiles blended with cosine (or linear) weights. Tiling is an approximation: each tile's encoder sees only
that tile (see ``uptflow.models.tiling``). Heat 0 (the default, as the paper's results) decodes the latent mode;
heat > 0 samples, with an independent sample per tile when tiled.
"""

import os
from pathlib import Path
from typing import Any

import torch

from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS

__all__ = ["UPTFlowEnhancer"]


@ENHANCERS.register_module(name="uptflow")
class UPTFlowEnhancer(Enhancer):
    """UPT-Flow low-light enhancement.

    Args:
        weights: checkpoint path (official layout or uptflow format; the window size is read from it).
        device: where the network runs (inputs follow it).
        heat: latent temperature; 0 decodes z = 0 (deterministic).
        seed: seed of the heat > 0 sampling, reset for every call (the same image gives the same output);
            None draws from torch's global generator.
        tile: ``"auto"`` (untiled when the image fits ``memory_budget``, else the largest fitting tile),
            ``None``/``0`` (never tile) or a tile side in pixels.
        overlap: minimum overlap of neighbouring tiles in pixels.
        blend: ``"cosine"`` or ``"linear"`` blending across overlaps.
        memory_budget: bytes the enhance pass may use; default: ``MEMORY_FRACTION`` (80 %) of the available memory
            of ``device`` (``uptflow.models.tiling``).
        model: an already built UPTFlow (instead of ``weights``; used by tests and training previews).
    """

    name = "uptflow"

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 heat: float = 0.0, tile: int | str | None = "auto", overlap: int = 32, blend: str = "cosine",
                 memory_budget: int | None = None, model: torch.nn.Module | None = None,
                 seed: int | None = None) -> None:
        super().__init__(device)
        if model is None:
            if weights is None:
                raise ValueError("the 'uptflow' enhancer needs weights=PATH (an official UPT-Flow checkpoint or one "
                                 "saved by uptflow)")
            from uptflow.models.checkpoint import load_model

            model = load_model(weights, device=self.device)
        self.model = model.to(self.device).eval()
        self.weights = None if weights is None else str(weights)
        if isinstance(tile, str) and tile != "auto":
            tile = int(tile)
        if isinstance(tile, int) and tile < 0:
            raise ValueError(f"tile must be 'auto', None/0 or a positive size, got {tile}")
        if blend not in ("cosine", "linear"):
            raise ValueError(f"blend must be 'cosine' or 'linear', got {blend!r}")
        self.tile = tile or None
        self.overlap = int(overlap)
        self.blend = blend
        self.heat = float(heat)
        self.seed = seed
        self.memory_budget = memory_budget

    def params(self) -> dict[str, Any]:
        """Settings that change the output."""
        out = {"weights": Path(self.weights).name if self.weights else None, "heat": self.heat,
               "tile": self.tile, "overlap": self.overlap, "blend": self.blend}
        if self.heat:
            out["seed"] = self.seed  # only sampling depends on it (heat-0 cache keys stay as they were)
        return out

    def tile_for(self, height: int, width: int) -> int | None:
        """The tile side used for an image of this size (None = whole image)."""
        from uptflow.models.tiling import MEMORY_FRACTION, available_memory, choose_tile

        if self.tile != "auto":
            return self.tile if self.tile and self.tile < max(height, width) else None
        budget = self.memory_budget
        if budget is None:
            budget = int(MEMORY_FRACTION * available_memory(self.device))
        return choose_tile(height, width, budget)

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance [B,3,H,W] in [0,1] (any H, W) and return the same shape in [0,1]."""
        from uptflow.models.tiling import tiled_apply

        x = x.to(self.device, torch.float32)
        tile = self.tile_for(*x.shape[-2:])
        gen = None
        if self.heat and self.seed is not None:
            gen = torch.Generator(device=self.device).manual_seed(int(self.seed))
        with torch.inference_mode():
            if tile is None:
                out = self.model.enhance(x, heat=self.heat, generator=gen)
            else:
                out = tiled_apply(lambda t: self.model.enhance(t, heat=self.heat, generator=gen), x, tile,
                                  self.overlap, self.blend)
        return out.clone()  # a normal tensor again: callers may modify it in place outside inference mode

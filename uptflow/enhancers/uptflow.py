"""The UPT-Flow enhancer: a UPTFlow network (official or uptflow checkpoint) behind the Enhancer protocol.

Batches are enhanced whole (the official behaviour) whenever they fit the memory budget; a batch that does not fit
runs in smaller groups of images, and an image that does not fit on its own is split into overlapping tiles blended
with cosine (or linear) weights. Tiling is an approximation: each tile's convolutions and windows see only that tile,
and by default the tiles share the image-wide statistics of the network's global pools, which costs two extra passes
(see ``uptflow.models.tiling`` and ``uptflow.models.image_statistics``). Heat 0 (the default, as the paper's
results) decodes the latent mode; heat > 0 samples, with an independent sample per tile when tiled.
"""

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from uptflow.enhancers.base import Enhancer
from uptflow.registry import ENHANCERS
from uptflow.utils.heap import retained_heap

__all__ = ["UPTFlowEnhancer"]


@ENHANCERS.register_module(name="uptflow")
class UPTFlowEnhancer(Enhancer):
    """UPT-Flow low-light enhancement.

    Args:
        weights: checkpoint path (official layout or uptflow format; the window size is read from it); None for the
            uptflow default model (``uptflow.models.checkpoint.DEFAULT_WEIGHTS``).
        device: where the network runs (inputs follow it).
        heat: latent temperature; 0 decodes z = 0 (deterministic).
        seed: seed of the heat > 0 sampling, reset for every image (the same image gives the same output);
            None draws from torch's global generator.
        tile: ``"auto"`` (untiled when the image fits ``memory_budget``, else the largest fitting tile),
            ``None``/``0`` (never tile) or a tile side in pixels.
        overlap: minimum overlap of neighbouring tiles in pixels.
        blend: ``"cosine"`` or ``"linear"`` blending across overlaps.
        tile_statistics: ``"image"`` (default: the tiles share the image's global statistics, three passes) or
            ``"tile"`` (each tile pools over itself, one pass).
        memory_budget: bytes an enhance pass may use; default: ``uptflow.models.tiling.default_budget`` of
            ``device``.
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: the autocast dtype of the encoder and the
            coupling sub-networks (the invertible flow stays float32); bf16 is several times faster on CPUs with
            AVX512-BF16/AMX and on GPUs, and many times slower where it is emulated (AVX2 CPUs: a warning says so),
            fp16 is meant for GPUs. ``"auto"``: bf16 where the device computes it in hardware, else fp32 (the
            resolved value is the enhancer's setting).
        compile: run the encoder through ``torch.compile`` (``UPTFlow.compiled``): the first image of each size
            compiles; measured slower on the 2-core CPUs of docs/speed.md, meant for GPUs and long runs of
            same-size frames. None (default): off, or the given ``model``'s own setting.
        model: an already built UPTFlow (instead of ``weights``; used by tests and training previews).
    """

    name = "uptflow"
    # params() records seed only when sampling (heat > 0), precision when not fp32 and compile when on; the budget
    # acts through output_variant, a given network through its weights' checksum
    params_exempt = ("seed", "precision", "compile", "memory_budget", "model")
    code_packages = ("uptflow.models",)

    @classmethod
    def default_weights(cls) -> Path:
        """The packaged default model (``uptflow.models.checkpoint.DEFAULT_WEIGHTS``)."""
        from uptflow.models import checkpoint

        return checkpoint.DEFAULT_WEIGHTS

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 heat: float = 0.0, tile: int | str | None = "auto", overlap: int = 32, blend: str = "cosine",
                 memory_budget: int | None = None, model: torch.nn.Module | None = None,
                 seed: int | None = None, precision: str = "fp32", tile_statistics: str = "image",
                 compile: bool | None = None) -> None:
        super().__init__(device)
        from uptflow.models.checkpoint import load_model

        # settings first: a mistake is reported before the network is loaded
        if isinstance(tile, str) and tile != "auto":
            if not tile.strip().isdigit():
                raise ValueError(f"tile must be 'auto', 0 (never tile) or a tile side in pixels, got {tile!r}")
            tile = int(tile)
        if isinstance(tile, int) and tile < 0:
            raise ValueError(f"tile must be 'auto', 0 (never tile) or a tile side in pixels, got {tile}")
        if int(overlap) < 0:
            raise ValueError(f"overlap must be >= 0, got {overlap}")
        if isinstance(tile, int) and 0 < tile <= int(overlap):
            raise ValueError(f"overlap={overlap} must be smaller than tile={tile}")
        if not math.isfinite(float(heat)) or float(heat) < 0:
            raise ValueError(f"heat must be a finite number >= 0, got {heat}")
        if blend not in ("cosine", "linear"):
            raise ValueError(f"blend must be 'cosine' or 'linear', got {blend!r}")
        if tile_statistics not in ("image", "tile"):
            raise ValueError(f"tile_statistics must be 'image' or 'tile', got {tile_statistics!r}")

        if model is None:  # load_model resolves "auto" and warns of a precision the device emulates slowly
            model = load_model(weights, device=self.device, precision=precision)
            weights = self.default_weights() if weights is None else weights
        else:
            from uptflow.utils.devices import resolve_precision

            model.precision = resolve_precision(precision, self.device)
        if compile is not None:
            model.compiled = compile
        self.model = model.to(self.device).eval()
        self.weights = None if weights is None else str(weights)
        self.weights_sha256()
        self.tile = tile or None
        self.overlap = int(overlap)
        self.blend = blend
        self.tile_statistics = tile_statistics
        self.heat = float(heat)
        self.seed = seed
        self.memory_budget = memory_budget

    def describe(self) -> dict[str, Any]:
        """As for every enhancer; a network given as ``model=`` (no file) is identified by its weights' values."""
        out = super().describe()
        if self.weights is None:
            from uptflow.models.checkpoint import state_sha256

            out["weights_sha256"] = state_sha256(self.model)
        return out

    @property
    def precision(self) -> str:
        """The network's inference precision ("fp32", "bf16" or "fp16")."""
        return self.model.precision

    def params(self) -> dict[str, Any]:
        """Settings that change the output."""
        out = {"weights": Path(self.weights).name if self.weights else None, "heat": self.heat,
               "tile": self.tile, "overlap": self.overlap, "blend": self.blend,
               "tile_statistics": self.tile_statistics}
        if self.heat:
            out["seed"] = self.seed  # only sampling depends on it (heat-0 cache keys stay as they were)
            # the sample restarts per image (before, a batch shared one stream): older batched outputs are not reused
            out["sampling"] = "per image"
        if self.precision != "fp32":
            out["precision"] = self.precision  # fp32 keys stay as they were
        if self.model.compiled:
            out["compile"] = True  # compiled kernels round differently (about 1e-6 relative in fp32)
        return out

    def _budget(self) -> int:
        from uptflow.models.tiling import default_budget

        return self.memory_budget if self.memory_budget is not None else default_budget(self.device)

    def bytes_per_pixel(self) -> int:
        """Planned memory per input pixel of one pass of this network in its precision."""
        from uptflow.models.tiling import bytes_per_pixel

        return bytes_per_pixel(self.precision, self.device, int(self.model.config.get("encoder_dim", 48)))

    def tile_for(self, height: int, width: int) -> int | None:
        """The tile side used for an image of this size (None = whole image)."""
        from uptflow.models.tiling import choose_tile

        if self.tile != "auto":
            return self.tile if self.tile and self.tile < max(height, width) else None
        return choose_tile(height, width, self._budget(), self.bytes_per_pixel())

    def output_variant(self, height: int, width: int) -> str | None:
        """The tile side this image gets (None: whole), which ``tile="auto"`` picks from the memory available."""
        tile = self.tile_for(height, width)
        return None if tile is None else f"tile {tile}"

    def group_size(self, batch: int, height: int, width: int) -> int:
        """How many images of this size one pass takes (the batch, or fewer when they would not fit)."""
        if self.tile != "auto":
            return batch
        per_image = height * width * self.bytes_per_pixel()
        return max(1, min(batch, self._budget() // max(per_image, 1)))

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance [B,3,H,W] in [0,1] (any H, W) and return the same shape in [0,1]."""
        from uptflow.models.tiling import tiled_apply

        x = x.to(self.device, torch.float32)
        tile = self.tile_for(*x.shape[-2:])
        budget = self._budget()
        seeded = bool(self.heat) and self.seed is not None

        def image_fn() -> Callable[[torch.Tensor], torch.Tensor]:
            # a seeded sample restarts for every image: an image's output must not depend on its batch
            gen = torch.Generator(device=self.device).manual_seed(int(self.seed)) if seeded else None
            return lambda t: self.model.enhance(t, heat=self.heat, generator=gen, memory_budget=budget)

        # one reuse period for all the passes of the call (tiles, groups), when one pass fits with room to spare
        step = 1 if seeded else self.group_size(*x.shape[:1], *x.shape[-2:])
        pixels = tile * tile if tile is not None else step * x.shape[-2] * x.shape[-1]
        with torch.inference_mode(), retained_heap(self.model.reuses_memory(pixels, budget)):
            if tile is not None:
                share = self.tile_statistics == "image"
                out = torch.cat([tiled_apply(image_fn(), img[None], tile, self.overlap, self.blend,
                                             share_statistics=share) for img in x])
            else:
                out = torch.cat([image_fn()(x[i:i + step]) for i in range(0, len(x), step)])
        return out.clone()  # a normal tensor again: callers may modify it in place outside inference mode

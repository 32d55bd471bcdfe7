"""The UPT-Flow network: MSFormer condition encoder + conditional normalizing flow (spec §0-§4).

Tensors are NCHW float RGB in [0, 1]; ``low`` is the low-light image, ``gt`` the normal-light image the flow models.
``encode``/``nll``/``decode`` need H and W divisible by 8 (three squeezes); ``enhance`` accepts any size.

``precision`` ("fp32", "bf16" or "fp16") sets how the encoder and the flow's coupling sub-networks run: in float32,
or under ``torch.autocast`` of the input's device type with that dtype. The invertible parts of the flow (its affine
updates, 1x1 convolutions, ActNorms) and every log-determinant stay float32 in all three. ``compiled`` (opt-in) runs
the encoder of inference passes through ``torch.compile``.
"""

import contextlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from uptflow.models.flow import UPTFlowNet, data_dependent_init
from uptflow.registry import MODELS
from uptflow.utils.devices import full_fp32
from uptflow.utils.heap import retained_heap

__all__ = ["PRECISIONS", "UPTFlow", "build_uptflow", "pad_to_multiple"]

# Inference precisions: the autocast dtype of the encoder and the coupling sub-networks (None: float32 throughout).
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom/right of ``x`` to multiples of ``multiple`` (numpy 'reflect', as the official test.py).

    Images smaller than the pad are reflected repeatedly, which is what numpy does as well.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    while ph or pw:
        # torch's reflect mode needs pad < size; pad in chunks for tiny images
        sh, sw = min(ph, x.shape[-2] - 1), min(pw, x.shape[-1] - 1)
        if (ph and sh <= 0) or (pw and sw <= 0):
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")  # a 1-pixel side has nothing to reflect
            break
        x = F.pad(x, (0, sw, 0, sh), mode="reflect")
        ph, pw = ph - sh, pw - sw
    return x


@MODELS.register_module(name="UPTFlow")
class UPTFlow(nn.Module):
    """UPT-Flow: p(normal-light image | low-light image) as a conditional normalizing flow.

    Args:
        window_size: MSFormer window size (5 for the LOL checkpoints, 8 for the others).
        encoder_dim: MSFormer width at full resolution (48 in UPT-Flow; the conditions have 6x as many channels).
        quant: quantisation levels of the dequantisation noise and NLL constant (32 in UPT-Flow).
        n_unconditional: ActNorm + 1x1-conv steps per level before the conditional steps.
        K: conditional steps per level.
        hidden: width of the coupling sub-networks.
        eps: added to the sigmoid scales of the couplings.
    """

    def __init__(self, window_size: int = 5, encoder_dim: int = 48, quant: int = 32,
                 n_unconditional: int = 2, K: int = 8, hidden: int = 64, eps: float = 3e-4) -> None:
        super().__init__()
        from uptflow.models.encoder import MSFormer

        self.config: dict[str, Any] = dict(window_size=window_size, encoder_dim=encoder_dim, quant=quant,
                                           n_unconditional=n_unconditional, K=K, hidden=hidden, eps=eps)
        self.window_size = window_size
        self.quant = quant
        self.encoder = MSFormer(window_size=window_size, dim=encoder_dim)
        self.flow = UPTFlowNet(in_channels=3, levels=3, n_unconditional=n_unconditional, K=K,
                               cond_channels=self.encoder.condition_channels, hidden=hidden, eps=eps)
        self.precision = "fp32"
        self._compile = False
        self._compiled_encoder: Callable[..., dict[str, torch.Tensor]] | None = None

    @property
    def compiled(self) -> bool:
        """Whether inference passes run the encoder through ``torch.compile`` (off by default; docs/speed.md).

        Every image size compiles its own graph on first use (minutes on a CPU; after torch's recompile limit,
        ``torch._dynamo.config.cache_size_limit``, further sizes run eager); training, autograd and the tiles of an
        image that shares statistics across its tiles run the eager encoder.
        """
        return self._compile

    @compiled.setter
    def compiled(self, value: bool) -> None:
        self._compile = bool(value)
        self._compiled_encoder = None  # built on first use

    def __getstate__(self) -> dict[str, Any]:
        # the compiled function wraps this instance's encoder: a copy or an unpickled model builds its own
        state = super().__getstate__()
        state["_compiled_encoder"] = None
        return state

    def _compiled_encode(self, low: torch.Tensor, upm: torch.Tensor) -> dict[str, torch.Tensor]:
        # a compiled bound method rather than torch.compile(module): it is not registered as a sub-module, so
        # state_dict() and the checkpoints keep their keys; static shapes, one graph per image size
        if self._compiled_encoder is None:
            self._compiled_encoder = torch.compile(self.encoder.forward, dynamic=False)
        with warnings.catch_warnings():
            # the cached window masks and orders are pure functions of sizes: tracing through them is exact
            warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`")
            return self._compiled_encoder(low, upm)

    @property
    def precision(self) -> str:
        """Inference precision of the encoder and the coupling sub-networks: "fp32", "bf16" or "fp16"."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        self._precision = _check_precision(value)
        self.flow.subnet_dtype = PRECISIONS[value]

    @property
    def device(self) -> torch.device:
        """Device of the parameters (inputs are moved there)."""
        return next(self.parameters()).device

    def _check(self, name: str, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{name} must be RGB images [B, 3, H, W], got shape {tuple(x.shape)}")
        f = self.flow.factor
        if x.shape[2] % f or x.shape[3] % f:
            raise ValueError(f"{name}: H and W must be multiples of {f} for encode/nll/decode, got "
                             f"{x.shape[2]}x{x.shape[3]} (enhance() pads any size)")
        return x.to(self.device, torch.float32)

    def conditions(self, low: torch.Tensor) -> list[torch.Tensor]:
        """Run the encoder on ``low`` (with its UPM) and return the flow's three conditions [H/2, H/4, H/8]."""
        from uptflow.models.encoder import flow_conditions
        from uptflow.models.image_statistics import statistics_active
        from uptflow.models.upm import unbalanced_point_map

        low = self._check("low", low)
        dtype = PRECISIONS[self.precision]
        # shared tile statistics live in Python state (a ContextVar updated call by call) that a compiled graph
        # would freeze, so those passes stay eager
        compiled = self._compile and not torch.is_grad_enabled() and not statistics_active()
        encoder = self._compiled_encode if compiled else self.encoder
        # fp32 adds no autocast of its own, so an optimizer wrapper's autocast (bf16 / AMP training) reaches the encoder
        autocast = contextlib.nullcontext() if dtype is None else torch.autocast(low.device.type, dtype=dtype)
        with autocast:
            return flow_conditions(encoder(low, unbalanced_point_map(low)))

    def encode(self, gt: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``gt`` to its latent z [B,192,H/8,W/8] conditioned on ``low``; also return the flow log-det [B]
        (no dequantisation noise, no quantisation constant)."""
        gt = self._check("gt", gt)
        if gt.shape != low.shape:
            raise ValueError(f"gt {tuple(gt.shape)} and low {tuple(low.shape)} must have the same shape")
        return self.flow(gt, self.conditions(low))

    def nll(self, gt: torch.Tensor, low: torch.Tensor, dequantize: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
        """Spec §3.5 loss per image [B] in bits per pixel: -(log N(z;0,I) + logdet - HW ln q) / (HW ln 2).

        With ``dequantize`` uniform noise U(-1/2q, 1/2q) is added to ``gt`` first (training); the constant
        ``-HW ln q`` is always included, so both settings are on the same scale.
        """
        gt = self._check("gt", gt)
        if dequantize:
            noise = torch.rand(gt.shape, generator=generator, device=gt.device, dtype=gt.dtype)
            gt = gt + (noise - 0.5) / self.quant
        z, logdet = self.encode(gt, low)
        pixels = gt.shape[2] * gt.shape[3]
        log_pz = -0.5 * (z.double().pow(2) + math.log(2 * math.pi)).sum(dim=(1, 2, 3))
        objective = log_pz + logdet.double() - pixels * math.log(self.quant)
        return (-objective / (pixels * math.log(2.0))).to(z.dtype)

    def forward(self, gt: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        """Training objective: batch mean of :meth:`nll` with dequantisation noise."""
        return self.nll(gt, low, dequantize=True).mean()

    def sample_latent(self, low: torch.Tensor, heat: float = 0.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, heat^2 I) shaped for ``low`` (zeros at heat 0)."""
        shape = self.flow.latent_shape(low.shape[0], low.shape[2], low.shape[3])
        if heat == 0:
            return torch.zeros(shape, device=self.device)
        return torch.randn(shape, generator=generator, device=self.device) * float(heat)

    def decode(self, low: torch.Tensor, z: torch.Tensor | None = None, heat: float = 0.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Reverse the flow from ``z`` (sampled at ``heat`` when None) conditioned on ``low``; raw, unclamped."""
        low = self._check("low", low)
        if z is None:
            z = self.sample_latent(low, heat, generator)
        expected = self.flow.latent_shape(*low.shape[:1], *low.shape[2:])
        if tuple(z.shape) != expected:
            raise ValueError(f"z has shape {tuple(z.shape)}, expected {expected} for low {tuple(low.shape)}")
        return self.flow.reverse(z.to(self.device, torch.float32), self.conditions(low))

    def enhance(self, low: torch.Tensor, heat: float = 0.0, generator: torch.Generator | None = None,
                clamp: bool = True, memory_budget: int | None = None) -> torch.Tensor:
        """Enhance images of any size: reflect-pad bottom/right to a multiple of 8, decode, clamp to [0,1] (NaN to 0;
        unless ``clamp`` is False: the raw decode), crop; warn when the decode diverged (high heat). Runs without
        autograd; the result never requires grad.

        On CPU a pass that fits ``memory_budget`` (bytes; None: :func:`uptflow.models.tiling.default_budget`) with
        room to spare reuses the memory it frees and returns it at the end (:func:`uptflow.utils.heap.retained_heap`):
        faster on machines where fresh memory is costly, at a higher peak; the output is the same."""
        if low.ndim != 4 or low.shape[1] != 3:
            raise ValueError(f"low must be RGB images [B, 3, H, W], got shape {tuple(low.shape)}")
        if not low.is_floating_point():
            raise ValueError(f"low must be a float tensor in [0, 1], got {low.dtype}")
        lo, hi = (float(v) for v in torch.aminmax(low.detach()))
        if not (lo >= -1e-4 and hi <= 1 + 1e-4):  # 0-255 values would come out NaN everywhere, silently
            raise ValueError(f"low must be in [0, 1] (divide 8-bit values by 255), got values in [{lo:g}, {hi:g}]")
        h, w = low.shape[-2:]
        nested = torch.is_inference_mode_enabled()
        pixels = low.shape[0] * low.shape[2] * low.shape[3]
        with torch.inference_mode(), retained_heap(self.reuses_memory(pixels, memory_budget)), full_fp32(self.device):
            padded = pad_to_multiple(low.to(self.device, torch.float32), self.flow.factor)
            out = self.decode(padded, heat=heat, generator=generator)
            diverged = _warn_if_diverged(out[..., :h, :w], heat)
            if clamp:
                (out.nan_to_num_(0.0, 1.0, 0.0) if diverged else out).clamp_(0, 1)
            out = out[..., :h, :w].contiguous()
        # outside inference mode, a normal tensor: callers may modify it in place or use it with autograd later
        return out if nested else out.clone()

    def reuses_memory(self, pixels: int, memory_budget: int | None = None) -> bool:
        """Whether a CPU pass over ``pixels`` input pixels keeps the memory it frees within ``memory_budget``."""
        from uptflow.models.tiling import bytes_per_pixel, default_budget, retention_fits

        if self.device.type != "cpu":
            return False
        per_pixel = bytes_per_pixel(self.precision, self.device, int(self.config["encoder_dim"]))
        budget = default_budget(self.device) if memory_budget is None else memory_budget
        return retention_fits(pixels, per_pixel, budget)

    @torch.no_grad()
    def init_actnorm(self, gt: torch.Tensor, low: torch.Tensor) -> None:
        """Data-dependent ActNorm initialisation on one batch (call once before training from scratch)."""
        with data_dependent_init(self):
            self.nll(gt, low, dequantize=True)


# A decode this far outside [0, 1] has diverged: the reverse coupling divides by scales down to ``eps``, and a
# latent sample the model finds unlikely (high heat) can compound that over the steps into values of 1e20 or inf.
DIVERGED = 4.0


def _warn_if_diverged(out: torch.Tensor, heat: float) -> bool:
    """Warn, and return True, when part of a decode is non-finite or beyond :data:`DIVERGED` (clamped, it shows as
    saturated blocks)."""
    lo, hi = (float(v) for v in torch.aminmax(out))  # a reduction: no image-sized temporary on the usual path
    if -DIVERGED <= lo and hi <= DIVERGED:  # NaN compares False, so it counts as diverged
        return False
    bad = ~(out.abs() <= DIVERGED)
    advice = "use a lower heat" if heat > 0 else "the weights do not fit this input (untrained?)"
    warnings.warn(f"the reverse flow diverged at heat {heat:g} on {float(bad.float().mean()):.2%} of the output "
                  f"values (|x| > {DIVERGED:g} or not finite; clamped, they show as saturated blocks): {advice}",
                  RuntimeWarning, stacklevel=3)
    return True


def build_uptflow(window_size: int = 5, **kw: Any) -> UPTFlow:
    """Build a freshly initialised UPT-Flow network (window 5 for LOL, 8 otherwise)."""
    return UPTFlow(window_size=window_size, **kw)

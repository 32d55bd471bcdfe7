"""The one place that says what device ``"auto"`` means: CUDA when torch sees a GPU, else the CPU."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_device", "usable_device", "native_bf16", "fast_precision", "resolve_precision", "full_fp32"]


def torch_device(device: "str | torch.device") -> torch.device:
    """``device`` as a :class:`torch.device`; ``"auto"`` is CUDA when a GPU is visible, else the CPU."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def usable_device(device: "str | torch.device") -> torch.device:
    """:func:`torch_device` of a device a model can be put on now: an unknown name, or CUDA where torch sees no GPU,
    is a one-line ValueError naming it (torch's own errors come from deep inside the first ``.to()``)."""
    try:
        dev = torch_device(device)
    except RuntimeError as e:
        raise ValueError(f"device {device}: {e}") from None
    backend = getattr(torch, dev.type, None)  # torch.cuda, torch.mps, torch.xpu, ...; meta has none
    if not getattr(backend, "is_available", lambda: True)():
        what = "torch sees no GPU" if dev.type == "cuda" else f"this torch has no {dev.type} device here"
        raise ValueError(f"device {device}: {what} (use cpu, or auto)")
    count = getattr(backend, "device_count", lambda: None)()
    if dev.index is not None and count is not None and dev.index >= count:
        raise ValueError(f"device {device}: torch sees {count} {dev.type} device(s), numbered from 0")
    return dev


def native_bf16(device: "str | torch.device") -> bool:
    """Whether ``device`` computes bfloat16 in hardware: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX.

    Elsewhere (e.g. AVX2-only CPUs) oneDNN emulates bf16, which measured 18x slower than fp32 for the default model.
    """
    dev = torch_device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type != "cpu":
        return False
    cpu = torch.cpu
    return any(getattr(cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def fast_precision(device: "str | torch.device") -> str:
    """``"bf16"`` where ``device`` computes it in hardware, else ``"fp32"`` (what ``precision="auto"`` means)."""
    return "bf16" if native_bf16(device) else "fp32"


def resolve_precision(precision: str, device: "str | torch.device") -> str:
    """The inference precision ``precision`` means on ``device`` (``auto``: :func:`fast_precision`), with a warning
    where the device would emulate it many times slower than fp32."""
    import warnings

    if precision not in ("fp32", "bf16", "fp16", "auto"):
        raise ValueError(f"precision must be one of fp32, bf16, fp16, auto, got {precision!r}")
    dev = torch_device(device)
    if precision == "auto":
        return fast_precision(dev)
    if precision == "bf16" and not native_bf16(dev):
        warnings.warn(f"precision='bf16' on {dev}, which has no bf16 instructions (no AVX512-BF16 or AMX): emulated, "
                      "it is many times slower than fp32 (18x measured); use 'fp32' or 'auto'", stacklevel=3)
    elif precision == "fp16" and dev.type == "cpu":
        warnings.warn("precision='fp16' on the CPU: its float16 kernels are many times slower than fp32 (11x "
                      "measured on an AVX2 CPU); fp16 is for GPUs, use 'fp32' or 'auto' on the CPU", stacklevel=3)
    return precision


@contextmanager
def full_fp32(device: "str | torch.device") -> Iterator[None]:
    """Within the block, float32 convolutions and matrix products on a CUDA ``device`` run in IEEE float32.

    cuDNN computes float32 convolutions in TF32 (a 10-bit mantissa) by default on Ampere and later GPUs, which moves
    UPT-Flow's output about 1e-3 from the CPU's and the official function. Torch's newer per-backend settings are used
    because reading the older ``allow_tf32`` flags fails once they differ between backends; both are restored after.
    """
    if torch_device(device).type != "cuda":
        yield
        return
    if hasattr(torch.backends.cudnn, "conv"):  # torch >= 2.9
        settings = [(torch.backends.cudnn.conv, "fp32_precision", "ieee"),
                    (torch.backends.cuda.matmul, "fp32_precision", "ieee")]
    else:
        settings = [(torch.backends.cudnn, "allow_tf32", False), (torch.backends.cuda.matmul, "allow_tf32", False)]
    before = [getattr(owner, name) for owner, name, _ in settings]
    for owner, name, value in settings:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for (owner, name, _), value in zip(settings, before, strict=True):
            setattr(owner, name, value)

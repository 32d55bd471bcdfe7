"""The one place that says what device ``"auto"`` means: CUDA when torch sees a GPU, else the CPU."""

import torch

__all__ = ["torch_device", "native_bf16", "fast_precision"]


def torch_device(device: "str | torch.device") -> torch.device:
    """``device`` as a :class:`torch.device`; ``"auto"`` is CUDA when a GPU is visible, else the CPU."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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

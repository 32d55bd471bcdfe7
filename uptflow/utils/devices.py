"""The one place that says what device ``"auto"`` means: CUDA when torch sees a GPU, else the CPU."""

import torch

__all__ = ["torch_device"]


def torch_device(device: "str | torch.device") -> torch.device:
    """``device`` as a :class:`torch.device`; ``"auto"`` is CUDA when a GPU is visible, else the CPU."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)

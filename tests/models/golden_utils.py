"""Loading the golden reference data (official outputs) for equivalence tests."""

import math
from pathlib import Path

import numpy as np
import torch

__all__ = ["CASES", "image", "load_case", "official_state_dict", "nll_bits", "rel_err"]

CASES = ("case0", "case1")


def load_case(golden: Path, case: str) -> dict[str, np.ndarray]:
    """Arrays of one golden case with the ``caseN_`` prefix stripped."""
    with np.load(golden / "reference_outputs.npz") as d:
        return {k[len(case) + 1:]: d[k] for k in d.files if k.startswith(case + "_")}


def official_state_dict(golden: Path) -> dict[str, torch.Tensor]:
    """The official-format fp16 weights, read as saved."""
    return torch.load(golden / "official_format_w5_seed0.pth", map_location="cpu", weights_only=True)


def image(arr: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 -> float [1,3,H,W] in [0,1]."""
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.0


def nll_bits(z: torch.Tensor, logdet: torch.Tensor, quant: int = 32) -> float:
    """The golden README's formula: -(log N(z;0,I) + logdet - HW ln q) / (HW ln 2), for one image."""
    hw = z.shape[-2] * z.shape[-1] * 64
    log_pz = -0.5 * (z.double() ** 2 + math.log(2 * math.pi)).sum()
    return float(-(log_pz + logdet.double().sum() - hw * math.log(quant)) / (hw * math.log(2)))


def rel_err(ours: torch.Tensor, ref: np.ndarray) -> float:
    """max|ours - ref| / max|ref|."""
    ref_t = torch.from_numpy(np.asarray(ref)).to(ours.dtype).reshape(ours.shape)
    return float((ours - ref_t).abs().max() / ref_t.abs().max())

"""Paired / unpaired enhancement benchmark: any registered enhancer, PSNR / SSIM / LPIPS / NIQE / BRISQUE / LOE.

Run ``python -m evaluation.enhancement --help``; the pieces are ``datasets`` (readers), ``benchmark`` (run and
tables) and ``figure`` (side-by-side comparison).
"""

from .benchmark import EnhancerSpec, run_benchmark, summarize, to_markdown
from .datasets import Sample, read_dataset, read_paired, read_unpaired

__all__ = ["EnhancerSpec", "run_benchmark", "summarize", "to_markdown", "Sample", "read_dataset", "read_paired",
           "read_unpaired"]

"""Enhancement-quality benchmark: any registered enhancer, PSNR / SSIM / LPIPS / NIQE / BRISQUE / LOE.

Run ``python -m evaluation.enhancement --help``; the task is ``benchmark.EnhancementBenchmark``.
"""

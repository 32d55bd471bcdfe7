"""Night-time semantic segmentation: the mmseg segmenter adapter, mIoU protocols and the benchmark.

See docs/segmentation.md; the command is ``python -m evaluation.segmentation``.
"""

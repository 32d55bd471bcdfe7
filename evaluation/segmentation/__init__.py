"""Night-time semantic segmentation: dataset readers, an mmseg segmenter adapter, mIoU protocols and the runner.

See docs/segmentation.md; the command is ``python -m evaluation.segmentation``.
"""

"""Downstream evaluation suites (enhancement, detection, segmentation, traffic) built on uptflow."""

"""Night-traffic benchmark: frame sources, no-reference scores, COCO detections and temporal stability.

See docs/traffic.md; the command is ``python -m evaluation.traffic``.
"""

"""Night-traffic benchmark: no-reference scores, COCO detections and temporal stability of enhanced video.

See docs/traffic.md; the command is ``python -m evaluation.traffic``.
"""

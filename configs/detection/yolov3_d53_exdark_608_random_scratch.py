"""Retinexformer ExDark protocol (evaluation-protocols.md B.1): the MAET/IAT setup without COCO pretraining.

Images are enhanced once offline by the frozen enhancer and the detector is trained and tested on them
(``python -m evaluation.detection.train --detector mmdet --enhancer NAME --config <this>``, no ``--checkpoint``:
random init). Retinexformer reports no no-enhancement row; train one with ``--enhancer none`` for the comparison.
"""

_base_ = ["./yolov3_d53_exdark_608_random.py"]

uptflow_protocol = "retinexformer_random_no_coco_pretraining"
load_from = None

"""ESPNet (p=2, q=8, Cityscapes; sacmehta/ESPNet, MIT) inside mmsegmentation.

Importing this package registers ``ESPNetC`` (backbone), ``ESPNetHead`` (decode head) and ``ESPNetSegmentor`` in
mmseg's MODELS and ``ESPNetNormalizeResize`` in mmseg's TRANSFORMS; configs do it with
``custom_imports = dict(imports=["evaluation.segmentation.espnet"])``, see
``configs/segmentation/espnet_cityscapes.py`` and docs/segmentation.md ("ESPNet").
"""

from evaluation.segmentation.espnet.model import (
    DECODER_NAMES,
    ESPNetC,
    ESPNetCheckpointError,
    ESPNetHead,
    ESPNetSegmentor,
    to_mmseg_keys,
)
from evaluation.segmentation.espnet.transforms import (
    ESPNET_CITYSCAPES_MEAN,
    ESPNET_CITYSCAPES_STD,
    ESPNetNormalizeResize,
)

__all__ = ["ESPNetC", "ESPNetHead", "ESPNetSegmentor", "ESPNetCheckpointError", "ESPNetNormalizeResize",
           "to_mmseg_keys", "DECODER_NAMES", "ESPNET_CITYSCAPES_MEAN", "ESPNET_CITYSCAPES_STD"]

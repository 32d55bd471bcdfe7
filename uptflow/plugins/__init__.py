"""Plug-ins that put an uptflow enhancer in front of other frameworks' detectors and segmenters.

* ``EnhanceLowLight``: mmcv/mmdet/mmseg pipeline transform (registered on import; see ``transforms``);
* ``attach_enhancer`` / ``enhance_callback``: ultralytics prediction hook;
* ``EnhancedImageCache``: the disk cache both use, so a dataset is enhanced once.
"""

from .cache import EnhancedImageCache, cached_enhancer, enhancer_identity, file_sha256
from .transforms import EnhanceLowLight
from .yolo_hook import attach_enhancer, enhance_callback

__all__ = ["EnhanceLowLight", "EnhancedImageCache", "attach_enhancer", "cached_enhancer", "enhance_callback",
           "enhancer_identity", "file_sha256"]

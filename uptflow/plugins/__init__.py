"""Plug-ins that put an uptflow enhancer in front of other frameworks' detectors and segmenters.

* ``EnhanceLowLight``: mmcv/mmdet/mmseg pipeline transform (registered on import; see ``transforms``);
* ``attach_enhancer`` / ``detach_enhancer`` / ``attached_enhancer`` / ``enhance_callback``: ultralytics prediction
  hook (``val()``, ``train()``, ``tune()`` and ``benchmark()`` raise ``EnhancerNotAppliedError`` while it is attached).

Both build their enhancer on ``device='auto'`` unless told otherwise: CUDA when a GPU is visible, as every command.

Both enhance through the disk cache of ``uptflow.enhancers.cache``, so a dataset is enhanced once.
"""

from .transforms import EnhanceLowLight, pipeline_enhancers
from .yolo_hook import EnhancerNotAppliedError, attach_enhancer, attached_enhancer, detach_enhancer, enhance_callback

__all__ = ["EnhanceLowLight", "EnhancerNotAppliedError", "attach_enhancer", "attached_enhancer", "detach_enhancer",
           "enhance_callback", "pipeline_enhancers"]

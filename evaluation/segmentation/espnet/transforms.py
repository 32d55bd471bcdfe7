"""``ESPNetNormalizeResize``: the official ESPNet test preprocessing as an mmseg pipeline transform.

sacmehta/ESPNet ``test/VisualizeResults.py`` normalises the BGR image in float32 (per channel, ``(x - mean) /
std``), THEN resizes it to 1024x512 with OpenCV's bilinear filter, then divides by 255. mmseg's usual
``Resize`` + ``SegDataPreProcessor`` would resize the uint8 image first (rounding it to integers) and normalise
after, which changes the network input and can flip predictions near class borders; this transform repeats the
official float32 operations with the same OpenCV call so the input is bit-identical. It stays a CPU transform
for that reason: a torch resize on the GPU rounds differently from OpenCV.
"""

from collections.abc import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

__all__ = ["ESPNetNormalizeResize", "ESPNET_CITYSCAPES_MEAN", "ESPNET_CITYSCAPES_STD"]

# BGR statistics of the Cityscapes training images, as written in the official test script
ESPNET_CITYSCAPES_MEAN = (72.3923111, 82.90893555, 73.15840149)
ESPNET_CITYSCAPES_STD = (45.3192215, 46.15289307, 44.91483307)


@TRANSFORMS.register_module()
class ESPNetNormalizeResize(BaseTransform):
    """Normalise per channel in float32, resize bilinearly (OpenCV) to ``scale``, divide by 255.

    Required Keys:

    - img (uint8 or float HxWx3, BGR as mmseg's ``LoadImageFromFile`` gives it)

    Modified Keys:

    - img (float32 ``scale[1]`` x ``scale[0]`` x 3)
    - img_shape

    Added Keys:

    - scale_factor (w_scale, h_scale)

    Args:
        scale: output (width, height); both multiples of 8 (the network down-samples three times). Defaults to
            (1024, 512), the official test size.
        mean: per-channel mean in the image's channel order. Defaults to the official BGR Cityscapes mean.
        std: per-channel standard deviation. Defaults to the official BGR Cityscapes std.
    """

    def __init__(self, scale: Sequence[int] = (1024, 512), mean: Sequence[float] = ESPNET_CITYSCAPES_MEAN,
                 std: Sequence[float] = ESPNET_CITYSCAPES_STD) -> None:
        scale = tuple(int(s) for s in scale)
        if len(scale) != 2 or any(s <= 0 or s % 8 for s in scale):
            raise ValueError(f"ESPNetNormalizeResize: scale must be (width, height), positive multiples of 8, "
                             f"got {scale}")
        if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
            raise ValueError(f"ESPNetNormalizeResize: mean and std need 3 values (std > 0), got {mean}, {std}")
        self.scale = scale
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    def transform(self, results: dict) -> dict:
        """Replace ``results['img']`` by the network input (float32, normalised, resized, / 255)."""
        img = results["img"]
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"ESPNetNormalizeResize expects results['img'] as an HxWx3 array, got "
                             f"{getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}")
        h, w = img.shape[:2]
        x = (img.astype(np.float32) - self.mean) / self.std
        x = cv2.resize(x, self.scale)
        x /= np.float32(255)
        results["img"] = x
        results["img_shape"] = x.shape[:2]
        results["scale_factor"] = (self.scale[0] / w, self.scale[1] / h)
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(scale={self.scale}, mean={tuple(self.mean.tolist())}, "
                f"std={tuple(self.std.tolist())})")

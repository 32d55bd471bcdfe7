"""ESPNet (Mehta et al., ECCV 2018) as an mmsegmentation encoder-decoder, loading the authors' Cityscapes weights.

Re-implemented from sacmehta/ESPNet ``test/Model.py`` (MIT): the ESPNet-C encoder is the backbone (it returns the
three feature maps the decoder taps, the last one already projected to class scores by the encoder's own
classifier) and the light-weight RUM decoder is the decode head. Submodule names inside both are the official
ones, so an official state dict (``encoder.*`` plus the decoder's top-level names) maps onto this model by a
fixed prefix: ``encoder.`` -> ``backbone.``, the rest -> ``decode_head.`` (:func:`to_mmseg_keys`). Loading is
always strict, whatever the loader asks: a missing, unexpected or mis-shaped tensor raises
:class:`ESPNetCheckpointError` naming the keys (mmengine's ``load_checkpoint`` would otherwise only warn).

The official network has one output more than there are classes: channel ``ignore_class`` (19 for Cityscapes)
is the "ignore / void" class it was trained on. Predictions are the argmax over all outputs, as the official
script computes them, and pixels won by ``ignore_class`` become ``ignore_index`` (255): the official
``--cityFormat`` output maps 19 to label id 0 ("unlabeled"), which the Cityscapes evaluation never counts as a
class, so such a pixel is a miss for its true class and a false positive for none.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

from evaluation.segmentation.espnet.blocks import (
    BN_EPS,
    BNPReLU,
    Conv,
    ConvBNPReLU,
    ESPBlock,
    InputProjection,
    StridedESPBlock,
)
from uptflow.utils.text import listed

__all__ = ["ESPNetC", "ESPNetHead", "ESPNetSegmentor", "ESPNetCheckpointError", "to_mmseg_keys", "DECODER_NAMES"]

# top-level submodules of the official ``ESPNet`` besides ``encoder``: they live in the decode head here
DECODER_NAMES = ("level3_C", "br", "conv", "up_l3", "combine_l2_l3", "up_l2", "classifier")
# BatchNorm's step counter: absent from the official file (saved before PyTorch 0.4.1) and unused at test time
_OPTIONAL = "num_batches_tracked"


class ESPNetCheckpointError(KeyError):
    """The state dict does not match the ESPNet model (missing, unexpected or mis-shaped tensors)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def to_mmseg_keys(state_dict: dict, prefix: str = "") -> None:
    """Rename official ESPNet keys under ``prefix`` to this model's layout, in place; other keys stay as they are."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        rest = key[len(prefix):]
        head = rest.split(".", 1)[0]
        if head == "encoder":
            state_dict[prefix + "backbone." + rest[len("encoder."):]] = state_dict.pop(key)
        elif head in DECODER_NAMES:
            state_dict[prefix + "decode_head." + rest] = state_dict.pop(key)


@MODELS.register_module()
class ESPNetC(BaseModule):
    """The ESPNet-C encoder (official ``ESPNet_Encoder``), as an mmseg backbone.

    Args:
        p: number of ESP blocks at 1/4 resolution.
        q: number of ESP blocks at 1/8 resolution.
        num_classes: outputs of the encoder's classifier (the decoder's 1/8 input).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, p: int = 2, q: int = 8, num_classes: int = 20, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        if p < 1 or q < 1:
            raise ValueError(f"ESPNetC: p and q must be >= 1, got p={p}, q={q}")
        self.level1 = ConvBNPReLU(3, 16, 3, 2)
        self.sample1 = InputProjection(1)
        self.sample2 = InputProjection(2)
        self.b1 = BNPReLU(16 + 3)
        self.level2_0 = StridedESPBlock(16 + 3, 64)
        self.level2 = nn.ModuleList(ESPBlock(64, 64) for _ in range(p))
        self.b2 = BNPReLU(128 + 3)
        self.level3_0 = StridedESPBlock(128 + 3, 128)
        self.level3 = nn.ModuleList(ESPBlock(128, 128) for _ in range(q))
        self.b3 = BNPReLU(256)
        self.classifier = Conv(256, num_classes, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, 3, H, W] (H, W multiples of 8) -> ([B, 16, H/2, W/2], [B, 131, H/4, W/4], [B, classes, H/8, W/8])."""
        out0 = self.level1(x)
        half = self.b1(torch.cat([out0, self.sample1(x)], 1))
        down1 = self.level2_0(half)
        out1 = down1
        for block in self.level2:
            out1 = block(out1)
        quarter = self.b2(torch.cat([out1, down1, self.sample2(x)], 1))
        down2 = self.level3_0(quarter)
        out2 = down2
        for block in self.level3:
            out2 = block(out2)
        eighth = self.b3(torch.cat([down2, out2], 1))
        return out0, quarter, self.classifier(eighth)


@MODELS.register_module()
class ESPNetHead(BaseDecodeHead):
    """ESPNet's light-weight decoder (the official ``ESPNet`` minus its encoder), as an mmseg decode head.

    Two reduce-upsample (RUM) steps take the encoder's 1/8 class scores to 1/4 (fused with the 1/4 features
    projected to class space) and to 1/2 (fused with the first conv's features); a final transposed convolution
    gives full-resolution scores. Its own transposed-conv ``classifier`` replaces mmseg's ``conv_seg``.

    Args:
        num_classes: outputs (20 for the Cityscapes weights: 19 classes + ignore).
        in_channels: channels of the backbone's three outputs (1/2, 1/4, 1/8).
        **kwargs: other ``BaseDecodeHead`` arguments (``loss_decode``, ``ignore_index`` ...).
    """

    def __init__(self, num_classes: int = 20, in_channels: Sequence[int] = (16, 131, 20), **kwargs) -> None:
        in_channels = tuple(in_channels)
        if len(in_channels) != 3 or in_channels[2] != num_classes:
            raise ValueError(f"ESPNetHead: in_channels must be (1/2, 1/4, 1/8 channels) with the last equal to "
                             f"num_classes={num_classes}, got {in_channels}")
        kwargs.update(input_transform="multiple_select", in_index=[0, 1, 2], dropout_ratio=0, init_cfg=None)
        super().__init__(list(in_channels), num_classes, num_classes=num_classes, **kwargs)
        del self.conv_seg
        c = num_classes
        self.level3_C = Conv(in_channels[1], c, 1)
        self.br = nn.BatchNorm2d(c, eps=BN_EPS)
        self.conv = ConvBNPReLU(in_channels[0] + c, c, 3)
        self.up_l3 = nn.Sequential(nn.ConvTranspose2d(c, c, 2, stride=2, bias=False))
        self.combine_l2_l3 = nn.Sequential(BNPReLU(2 * c), ESPBlock(2 * c, c, add=False))
        self.up_l2 = nn.Sequential(nn.ConvTranspose2d(c, c, 2, stride=2, bias=False), BNPReLU(c))
        self.classifier = nn.ConvTranspose2d(c, c, 2, stride=2, bias=False)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Backbone outputs -> [B, classes, H, W] scores at the network input's resolution."""
        half, quarter, eighth = self._transform_inputs(inputs)
        up = self.up_l3(self.br(eighth))
        up = self.up_l2(self.combine_l2_l3(torch.cat([self.level3_C(quarter), up], 1)))
        return self.classifier(self.conv(torch.cat([up, half], 1)))


@MODELS.register_module()
class ESPNetSegmentor(EncoderDecoder):
    """``EncoderDecoder`` for ESPNet: official checkpoints load strictly; the ignore output never becomes a class.

    Scores are brought back to the original image size by nearest-neighbour replication (not mmseg's bilinear
    resize), so every output pixel carries the prediction of the network pixel it comes from, as the official
    label map would after a nearest resize.

    Args:
        ignore_class: output channel meaning "ignore" (19 for the Cityscapes weights); None if there is none.
        **kwargs: ``EncoderDecoder`` arguments (backbone, decode_head, data_preprocessor, test_cfg ...).
    """

    def __init__(self, ignore_class: int | None = 19, **kwargs) -> None:
        super().__init__(**kwargs)
        if ignore_class is not None and not 0 <= ignore_class < self.num_classes:
            raise ValueError(f"ESPNetSegmentor: ignore_class={ignore_class} is not an output "
                             f"(0..{self.num_classes - 1})")
        self.ignore_class = ignore_class

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        # mmengine's load_checkpoint calls this with the whole state dict before recursing into the children, so
        # renaming here lets the official file load through the usual checkpoint path
        to_mmseg_keys(state_dict, prefix)
        expected = {k: v.shape for k, v in self.state_dict().items() if not k.endswith(_OPTIONAL)}
        given = {k[len(prefix):]: v.shape for k, v in state_dict.items()
                 if k.startswith(prefix) and not k.endswith(_OPTIONAL)}
        problems = {
            "missing": sorted(set(expected) - set(given)),
            "unexpected": sorted(set(given) - set(expected)),
            "mis-shaped": [f"{k} {tuple(given[k])} (model {tuple(s)})" for k, s in expected.items()
                           if k in given and given[k] != s],
        }
        found = "; ".join(f"{what} {listed(keys, 5)}" for what, keys in problems.items() if keys)
        if found:
            model = f"p={len(self.backbone.level2)}, q={len(self.backbone.level3)}, {self.num_classes} outputs"
            raise ESPNetCheckpointError(f"state dict does not match ESPNet ({model}): {found}")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def postprocess_result(self, seg_logits: torch.Tensor,
                           data_samples: list[SegDataSample] | None = None) -> list[SegDataSample]:
        """Scores [B, C, h, w] -> samples with ``seg_logits`` and ``pred_sem_seg`` at each original size.

        Padding is removed and test-time flips undone as in mmseg's ``EncoderDecoder``; the ignore output maps to
        ``decode_head.ignore_index``.
        """
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=seg_logits.shape[2:])) for _ in seg_logits]
        h, w = seg_logits.shape[2:]
        for logits, sample in zip(seg_logits, data_samples, strict=True):
            meta = sample.metainfo
            left, right, top, bottom = meta.get("img_padding_size", meta.get("padding_size", [0] * 4))
            logits = logits[:, top:h - bottom, left:w - right]
            if meta.get("flip"):
                logits = logits.flip(dims=(2,) if meta.get("flip_direction") == "horizontal" else (1,))
            logits = F.interpolate(logits[None], size=tuple(meta["ori_shape"][:2]), mode="nearest")[0]
            pred = logits.argmax(dim=0, keepdim=True)
            if self.ignore_class is not None:
                pred[pred == self.ignore_class] = self.decode_head.ignore_index
            sample.set_data(dict(seg_logits=PixelData(data=logits), pred_sem_seg=PixelData(data=pred)))
        return data_samples

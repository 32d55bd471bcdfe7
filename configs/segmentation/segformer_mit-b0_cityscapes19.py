"""Standard 19-class Cityscapes protocol with mmseg's Cityscapes-trained SegFormer MiT-B0 (76.54 mIoU on val).

Sliding-window inference (1024x1024 crops, stride 768) after resizing to fit 2048x1024, as in mmseg's config.
The ImageNet-pretrained backbone init is disabled: evaluation loads a full checkpoint (or runs random weights
in tests), and nothing may download.
"""

_base_ = ["mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py"]

uptflow_protocol = "cityscapes19"
# file name of the mmseg model-zoo weights for this model (metafile.yaml); nothing is downloaded
uptflow_checkpoint = "segformer_mit-b0_8x1_1024x1024_160k_cityscapes_20211208_101857-e7f88502.pth"

model = dict(backbone=dict(init_cfg=None))

"""Standard 19-class Cityscapes protocol with mmseg's Cityscapes-trained DeepLabV3+ R50-D8 (80.09 mIoU on val).

Whole-image inference after resizing to fit 2048x1024, as in mmseg's Cityscapes test pipeline. Used for
Cityscapes (day and synthetic night), Dark Zurich night, NightCity and ACDC night without removed classes.
"""

_base_ = ["mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py"]

uptflow_protocol = "cityscapes19"
# file name of the mmseg model-zoo weights for this model (metafile.yaml); nothing is downloaded
uptflow_checkpoint = "deeplabv3plus_r50-d8_512x1024_80k_cityscapes_20200606_114049-f9fb496d.pth"

model = dict(pretrained=None, test_cfg=dict(mode="whole"))

"""ESPNet p=2 q=8 with its authors' Cityscapes weights (sacmehta/ESPNet, MIT), run as an mmseg model.

Standard 19-class Cityscapes protocol. The model (``evaluation.segmentation.espnet``) loads the official state
dict ``espnet_p_2_q_8_cityscapes.pth`` as it is, strictly, through ``--checkpoint``; the test pipeline repeats the
official preprocessing (BGR, float32 ``(x - mean) / std``, OpenCV bilinear resize to 1024x512, / 255) and the
prediction is the argmax over the 20 outputs at 1024x512, replicated (nearest) to the image size, with the
network's "ignore" output (class 19) written as 255. Predictions equal the official script's: see
docs/segmentation.md, "ESPNet".
"""

_base_ = ["mmseg::_base_/datasets/cityscapes.py", "mmseg::_base_/default_runtime.py"]

custom_imports = dict(imports=["evaluation.segmentation.espnet"], allow_failed_imports=False)

uptflow_protocol = "cityscapes19"
# the official file (sacmehta/ESPNet pretrained/decoder/espnet_p_2_q_8.pth), shipped in ../shared/data/weights/espnet
uptflow_checkpoint = "espnet_p_2_q_8_cityscapes.pth"

model = dict(
    type="ESPNetSegmentor",
    # the network input is prepared completely by ESPNetNormalizeResize (float32, in the official order)
    data_preprocessor=dict(type="SegDataPreProcessor", mean=None, std=None, bgr_to_rgb=False, pad_val=0,
                           seg_pad_val=255),
    backbone=dict(type="ESPNetC", p=2, q=8, num_classes=20),
    decode_head=dict(type="ESPNetHead", num_classes=20, in_channels=(16, 131, 20), ignore_index=255),
    ignore_class=19,
    test_cfg=dict(mode="whole"),
)

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="ESPNetNormalizeResize", scale=(1024, 512)),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader

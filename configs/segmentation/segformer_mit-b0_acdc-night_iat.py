"""IAT ACDC-night protocol (4 classes removed, see deeplabv3plus_r50-d8_acdc-night_iat.py) with SegFormer MiT-B0.

Whole-image inference at 1920x1080; a lighter Cityscapes-trained alternative to the DeepLabV3+ config.
"""

_base_ = ["./segformer_mit-b0_cityscapes19.py"]

uptflow_protocol = "iat_acdc_night"

model = dict(test_cfg=dict(_delete_=True, mode="whole"))

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(1920, 1080), keep_ratio=True),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader

"""IAT ACDC-night protocol (evaluation-protocols.md B.2) with a Cityscapes-trained DeepLabV3+ R50-D8.

Scored by ``python -m evaluation.segmentation --dataset acdc --config <this>``: 19 output classes, the ground
truth of rider, truck, bus and motorcycle set to ignore (IAT's ``new_gt_labelTrainIds``) and mIoU averaged over
the 15 remaining classes; whole-image inference at 1920x1080 (ACDC's native size). IAT trained its DeepLabV3+
on ACDC-night train; the Cityscapes checkpoint used here (mmseg model zoo, see ``uptflow_checkpoint``) gives the
common Cityscapes -> ACDC-night transfer setting instead, so absolute numbers differ from IAT's 63.33.
"""

_base_ = ["mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py"]

uptflow_protocol = "iat_acdc_night"
# file name of the mmseg model-zoo weights for this model (metafile.yaml); nothing is downloaded
uptflow_checkpoint = "deeplabv3plus_r50-d8_512x1024_80k_cityscapes_20200606_114049-f9fb496d.pth"

model = dict(pretrained=None, test_cfg=dict(mode="whole"))

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(1920, 1080), keep_ratio=True),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
# the same data through mmseg's own Runner / tools/test.py (scores there keep all 19 classes)
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type="CityscapesDataset",
        data_root="data/acdc/",
        data_prefix=dict(img_path="rgb_anon/night/val", seg_map_path="gt/night/val"),
        img_suffix="_rgb_anon.png",
        seg_map_suffix="_gt_labelTrainIds.png",
        pipeline=test_pipeline,
    ),
)
val_dataloader = test_dataloader

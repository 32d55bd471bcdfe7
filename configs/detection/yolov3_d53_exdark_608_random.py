"""MAET/IAT ExDark protocol (evaluation-protocols.md B.1): YOLOv3 Darknet-53, train (320-608)^2, test 608.

Random 80/20 split, COCO-pretrained ``load_from``, SGD lr 1e-3, batch 8, 24 epochs, VOC mAP@0.5 ('area', as
mmdet 3.x VOCMetric) plus COCO bbox AP. Data: the export written by
``python -m evaluation.detection.train --split random --framework mmdet --config <this> ...`` (enhanced once
offline when ``--enhancer`` is given), or ``evaluation.detection.export.export_dataset`` into ``data_root``.
Put the mmdet model-zoo checkpoint named in ``load_from`` under checkpoints/ (nothing is downloaded).
MAET/IAT used mmdet 2.15 and their own split file; absolute numbers here are not theirs (see docs/detection.md).
"""

_base_ = ["mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py"]

uptflow_protocol = "maet_iat_random_80_20"
classes = ("Bicycle", "Boat", "Bottle", "Bus", "Car", "Cat", "Chair", "Cup", "Dog", "Motorbike", "People", "Table")
metainfo = dict(classes=classes)
data_root = "data/exdark_random/dataset/"
load_from = "checkpoints/yolov3_d53_mstrain-608_273e_coco_20210518_115020-a2c3acb8.pth"

# the COCO checkpoint carries the backbone; no ImageNet download
model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=len(classes)))

train_dataloader = dict(
    batch_size=8,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file="annotations/train.json",
                 data_prefix=dict(img="images/train/")),
)
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file="annotations/test.json",
                 data_prefix=dict(img="images/test/")),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="VOCMetric", metric="mAP", eval_mode="area", iou_thrs=[0.5]),
    dict(type="CocoMetric", ann_file=data_root + "annotations/test.json", metric="bbox"),
]
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=24, val_interval=4)
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(type="MultiStepLR", by_epoch=True, milestones=[18, 22], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=4, max_keep_ckpts=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)

"""MAET/IAT ExDark protocol (evaluation-protocols.md B.1): YOLOv3 Darknet-53, train (320-608)^2, test 608.

Random 80/20 split, COCO-pretrained ``load_from``, SGD lr 1e-3, batch 8, 24 epochs, VOC mAP@0.5 ('area', as
mmdet 3.x VOCMetric) plus COCO bbox AP. Fine-tune it with ``evaluation.detection.finetune.finetune_detector``
(``dict(type='mmdet', config=<this>, checkpoint=<COCO YOLOv3 .pth>)``) or
``python -m evaluation.detection.train --split random --detector mmdet --config <this> --checkpoint W ...``:
the datasets below are then pointed at the enhanced export, validation runs only on a val split (never on the
test images) and a killed run resumes from its last epoch. Standalone, ``data_root`` is such an export
(``evaluation.detection.export.export_dataset``). Without a checkpoint, the mmdet model-zoo file named in
``load_from`` must be under checkpoints/ (nothing is downloaded).
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
# a checkpoint every epoch: a killed fine-tune loses at most one epoch
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=8)

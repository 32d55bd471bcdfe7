"""YOLA ExDark protocol (evaluation-protocols.md B.1): YOLOv3 at 608 on the official split.

Train on imageclasslist.txt's train set, test on its test set (val unused, YOLA issue #11), VOCMetric 'area'.
Fine-tune with ``python -m evaluation.detection.train --split official --detector mmdet --config <this>
--checkpoint W ...`` (or ``finetune_detector``), which points the datasets at the enhanced export of the train
split; the val split is watched only when asked for (``val_split='val'``). The settings below serve standalone
runs on an export in ``data_root``.
"""

_base_ = ["./yolov3_d53_exdark_608_random.py"]

uptflow_protocol = "yola_official_split"
data_root = "data/exdark_official/dataset/"
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file="annotations/test.json",
                                   data_prefix=dict(img="images/test/")))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type="VOCMetric", metric="mAP", eval_mode="area", iou_thrs=[0.5]),
    dict(type="CocoMetric", ann_file=data_root + "annotations/test.json", metric="bbox"),
]
test_evaluator = val_evaluator

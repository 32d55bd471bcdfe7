"""Full-data suite mirroring the paper's setting: LOLv2-real / synthetic test sets, ExDark, ACDC night, traffic.

Every dataset lives under ``data_root`` (``--data-root``) in its official layout; an absent dataset is skipped
with the path it should be at. Paper rows (PSNR / SSIM / LPIPS) are shown beside ours for LOLv2-real /
LOLv2-synthetic (Table 1), whose split and UPT-Flow's metric definitions we follow. The NTM traffic parts (preprint
Table 3) are scored, but the paper's LOE / NIQE / BRISQUE numbers are withheld: it does not say how it computed them.
The paper reports no detection or segmentation numbers. Weights: UPT-Flow's official LOLv2 checkpoints and the
baselines' released weights go under ``{data_root}/weights``; missing ones skip their enhancer with the expected path.
"""

suite = "paper"
data_root = "data"
work_dir = "work_dirs/eval/paper"
cache_dir = None
seed = 0
device = "auto"

enhancers = [
    dict(name="identity", label="input"),
    dict(name="histeq"),
    dict(name="clahe"),
    dict(name="zero_dce", weights="{data_root}/weights/zero_dce/Epoch99.pth", optional=True),
    dict(name="zero_dce_pp", weights="{data_root}/weights/zero_dce_pp/Epoch99.pth", optional=True),
    dict(name="sci", weights="{data_root}/weights/sci/medium.pt", optional=True),
    dict(name="iat", weights="{data_root}/weights/iat/best_Epoch_lol.pth", optional=True),
    dict(name="uptflow", label="uptflow_lolv2_real", weights="{data_root}/weights/uptflow/LOLv2_real.pth",
         optional=True),
    dict(name="uptflow", label="uptflow_lolv2_syn", weights="{data_root}/weights/uptflow/LOLv2_syn.pth",
         optional=True),
]

datasets = dict(
    # the 100 test pairs of each LOL-v2 subset (Low/ + Normal/ matched by stem)
    lolv2_real=dict(type="paired", root="{data_root}/LOL-v2/Real_captured/Test", split="test",
                    paper_key="LOLv2-real", optional=True, title="LOLv2-real"),
    lolv2_syn=dict(type="paired", root="{data_root}/LOL-v2/Synthetic/Test", split="test",
                   paper_key="LOLv2-synthetic", optional=True, title="LOLv2-synthetic"),
    dicm=dict(type="unpaired", root="{data_root}/DICM", optional=True, title="DICM"),
    exdark=dict(type="exdark", root="{data_root}/ExDark", split="test", split_kind="official", optional=True,
                title="ExDark"),
    # MAET/IAT's seeded random 80/20 split (train 5,896 / test 1,467); the fine-tune trains on its 'train' part
    exdark_random=dict(type="exdark", root="{data_root}/ExDark", split="test", split_kind="random", optional=True,
                       title="ExDark (random 80/20)"),
    acdc_night=dict(type="acdc", root="{data_root}/ACDC", split="val", optional=True, title="ACDC night"),
    ntm_part1=dict(type="frames", root="{data_root}/NTM/part1", paper_key="NTM part 1", optional=True,
                   title="NTM part 1"),
    ntm_part2=dict(type="frames", root="{data_root}/NTM/part2", paper_key="NTM part 2", optional=True,
                   title="NTM part 2"),
)



def _yolov3(split: str) -> dict:
    """The mmdet YOLOv3 (608) config of one ExDark fine-tune protocol, starting from the COCO checkpoint."""
    return dict(type="mmdet", config=f"{{repo}}/configs/detection/yolov3_d53_exdark_608_{split}.py",
                checkpoint="{data_root}/weights/yolov3_d53_mstrain-608_273e_coco_20210518_115020-a2c3acb8.pth")


tasks = dict(
    enhancement=dict(paired=["lolv2_real", "lolv2_syn"], unpaired=["dicm"]),
    # zero-shot COCO YOLOv8n through the COCO -> ExDark class map, official test split
    detection=dict(dataset="exdark", detector=dict(type="yolov8", weights="{data_root}/weights/yolov8n.pt")),
    # "enhance offline, then fine-tune the detector" (evaluation-protocols.md B.1): YOLOv3 Darknet-53 from the COCO
    # checkpoint, train (320-608)^2, test 608, SGD lr 1e-3, batch 8, 24 epochs; MAET/IAT on the random 80/20 split
    detection_maet_iat=dict(type="detection", dataset="exdark_random", detector=_yolov3("random"),
                            finetune=dict(train_split="train", max_epochs=24, batch=8)),
    # YOLA: the official split, train on train.txt, test on test.txt, val unused (YOLA issue #11)
    detection_yola=dict(type="detection", dataset="exdark", detector=_yolov3("official"),
                        finetune=dict(train_split="train", max_epochs=24, batch=8)),
    # IAT's ACDC-night protocol (DeepLabV3+ R50-D8 trained on ACDC night; 15 of 19 classes scored)
    segmentation=dict(dataset="acdc_night",
                      segmenter=dict(type="mmseg",
                                     config="{repo}/configs/segmentation/deeplabv3plus_r50-d8_acdc-night_iat.py",
                                     weights="{data_root}/weights/deeplabv3plus_r50-d8_acdc-night.pth")),
    traffic=dict(datasets=["ntm_part1", "ntm_part2"], metrics=["LOE", "NIQE", "BRISQUE"]),
)

report = dict(html=True, grid_images=3, grid_max_side=320)

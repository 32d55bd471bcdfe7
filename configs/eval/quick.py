"""Embedded default suite: runs with no data on what the project makes itself, plus ../shared/data when present.

Enhancers: the classical ones, Zero-DCE and SCI (their official weights, when present), UPT-Flow with the model
shipped in the package (trained here on synthetic low light from real photos; docs/model-card.md; not the
authors' weights; in bf16 where the CPU has bf16 instructions, else fp32), and a short training of the tiny
UPT-Flow config as the demonstration that training works.
Datasets: synthetic night pairs from scikit-image's photos (always); with ``data_root``: LOL and DICM samples,
8 ExDark images (zero-shot yolov8n), 8 coco128 photos at three darkness levels (yolov8n, and a one-epoch
fine-tune smoke run on them), a Cityscapes frame at three darkness levels segmented by ESPNet with its authors'
Cityscapes weights, and night-street frames. Absent data is listed as skipped with the path it would go to.
Measured on 2 CPU cores (nothing else running, mmcv already built): 534 s for a first run with an empty
enhanced-image cache (stages: enhancers 43 s, of which the tiny training run most; enhance 335 s, about 105 s of it
UPT-Flow on the three 2048x1024 Cityscapes frames; tasks 126 s; tables and report 23 s), about 2.5 minutes once
the cache is warm. On 2 cores of an AMD EPYC with AVX512-BF16 but no AMX (precision 'auto' is bf16 there) the
same first run took 551 s (enhancers 30 s, enhance 365 s, tasks 141 s, tables 15 s; 9 min 17 s with start-up,
5.1 GB peak RSS). On a CPU without AVX-512 (a 2-core AVX2 AMD EPYC VM, where precision 'auto' means fp32) it took
887 s, over the 10 minutes (enhance 665 s against 335 s, tasks 171 s against 126 s).
Placeholders: {data_root} (--data-root, else ../shared/data), {repo}.
"""

suite = "quick"
data_root = None  # None: <shared>/data (uptflow.utils.paths.shared_root()) when present, else ./data
work_dir = "work_dirs/eval/quick"
cache_dir = None  # None: ~/.cache/uptflow/enhanced (or $UPTFLOW_CACHE/enhanced), shared by every run
seed = 0
device = "auto"

enhancers = [
    dict(name="identity", label="input"),
    dict(name="gamma"),
    dict(name="clahe"),
    dict(name="zero_dce", weights="{data_root}/weights/zero_dce/Epoch99.pth", optional=True),
    dict(name="sci", weights="{data_root}/weights/sci/medium.pt", optional=True),
    # no weights: the default model shipped in the package (uptflow/assets/uptflow_default.pth); bf16 where the CPU
    # computes it (AVX512-BF16 / AMX: about 1.5x faster than fp32 for this model, outputs about 59 dB PSNR from fp32's,
    # docs/speed.md), fp32 elsewhere (emulated bf16 measured 18x slower on an AVX2-only CPU)
    dict(name="uptflow", label="uptflow", params=dict(precision="auto")),
    # a short training run of the tiny config: shows that training works (a smoke-scale model, not a result)
    dict(name="uptflow", label="uptflow_tiny_demo",
         train=dict(config="{repo}/configs/uptflow/uptflow_tiny_synthetic.py", options={"train_cfg.max_iters": 40})),
]
_fast = ["input", "gamma", "clahe", "zero_dce", "sci"]
_with_uptflow = [*_fast, "uptflow"]

datasets = dict(
    synthetic=dict(type="synthetic", num_images=4, size=128, title="Synthetic night (skimage photos)"),
    lol_low=dict(type="unpaired", root="{data_root}/lol/low", optional=True, enhancers=_with_uptflow,
                 title="LOL low-light sample"),
    dicm=dict(type="unpaired", root="{data_root}/unpaired/DICM", optional=True, limit=3, enhancers=_with_uptflow,
              title="DICM sample"),
    exdark=dict(type="exdark", root="{data_root}/exdark", split="all", split_kind="official", optional=True,
                enhancers=_with_uptflow, title="ExDark sample"),
    coco128=dict(type="coco", root="{data_root}/coco128_train", limit=8, degrade=dict(levels=[1, 3, 5]),
                 optional=True, enhancers=_with_uptflow, title="coco128 (8 photos)"),
    coco128_ft=dict(type="coco", root="{data_root}/coco128_train", limit=8, degrade=dict(level=3), optional=True,
                    enhancers=["input", "uptflow"], title="coco128 fine-tune set (8 photos, darkness 3)"),
    # one 2048x1024 frame: UPT-Flow takes about a minute per full-size frame on 2 cores
    cityscapes=dict(type="cityscapes", root="{data_root}/cityscapes_day", split="val", limit=1,
                    degrade=dict(levels=[1, 3, 5]), optional=True, enhancers=["input", "clahe", "uptflow"],
                    title="Cityscapes sample (1 frame)"),
    night_street=dict(type="frames", root="{data_root}/unpaired/night_street", limit=6, optional=True,
                      enhancers=_with_uptflow, title="Night street frames"),
)

_yolov8n = dict(type="yolov8", checkpoint="{data_root}/weights/yolov8n.pt")
tasks = dict(
    enhancement=dict(paired=["synthetic"], unpaired=["lol_low", "dicm"]),
    detection=dict(dataset="exdark", detector=_yolov8n),
    detection_dark=dict(type="detection", dataset="coco128", detector=_yolov8n,
                        metrics=["COCO AP", "COCO AP50", "COCO APs", "COCO APm", "COCO APl"]),
    # "enhance, then fine-tune the detector" at smoke scale: one epoch at 320 px on the 8 photos it is scored on
    # (the protocol line says SMOKE RUN; they are the darkness-3 images above, already enhanced); configs/eval/paper.py
    # has the MAET/IAT and YOLA settings
    detection_finetune=dict(type="detection", dataset="coco128_ft", detector=_yolov8n,
                            finetune=dict(epochs=1, imgsz=320, batch=4, train_split=None, limit=8)),
    segmentation=dict(dataset="cityscapes",
                      segmenter=dict(type="mmseg", config="{repo}/configs/segmentation/espnet_cityscapes.py",
                                     checkpoint="{data_root}/weights/espnet/espnet_p_2_q_8_cityscapes.pth")),
    traffic=dict(datasets=["night_street"], detector=_yolov8n),
)

report = dict(html=True, grid_images=2, grid_max_side=256)

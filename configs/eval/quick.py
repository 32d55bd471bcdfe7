"""Embedded default suite: runs with no data on what the project makes itself, plus ../shared/data when present.

Synthetic night pairs from scikit-image's photos and a short training of the tiny UPT-Flow always run; the
sample datasets (LOL low-light images, DICM, 8 ExDark images with yolov8n.pt, two Cityscapes frames darkened
synthetically with a RANDOM-INIT SegFormer-B0 (pipeline check only), night-street frames) run when found under
``data_root`` and are otherwise listed as skipped with the path they would go to. Target: under 10 minutes on
2 CPU cores. Placeholders: {data_root} (--data-root, else ../shared/data), {repo} (this checkout).
"""

suite = "quick"
data_root = None  # None: <shared>/data (uptflow.utils.paths.shared_root()) when present, else ./data
work_dir = "work_dirs/eval/quick"
cache_dir = None  # None: ~/.cache/uptflow/enhanced (or $UPTFLOW_CACHE/enhanced), shared by every run
seed = 0
device = "cpu"

enhancers = [
    dict(name="identity", label="input"),
    dict(name="gamma"),
    dict(name="clahe"),
    dict(name="zero_dce", weights="{data_root}/weights/zero_dce/Epoch99.pth", optional=True),
    dict(name="sci", weights="{data_root}/weights/sci/medium.pt", optional=True),
    # no weights given: trained here with the tiny config (60 iterations on the synthetic pairs; a smoke-scale model
    # that shows the pipeline works, not the paper's); ~0.4 ms of CPU per pixel, so it only runs on the small set
    dict(name="uptflow", label="uptflow_tiny",
         train=dict(config="{repo}/configs/uptflow/uptflow_tiny_synthetic.py")),
]
# the enhancers cheap enough for the full-size sample images on 2 CPU cores
_fast = ["input", "gamma", "clahe", "zero_dce", "sci"]

datasets = dict(
    synthetic=dict(type="synthetic", num_images=4, size=128, title="Synthetic night (skimage photos)"),
    lol_low=dict(type="unpaired", root="{data_root}/lol/low", optional=True, enhancers=_fast,
                 title="LOL low-light sample"),
    dicm=dict(type="unpaired", root="{data_root}/unpaired/DICM", optional=True, limit=3, enhancers=_fast,
              title="DICM sample"),
    exdark=dict(type="exdark", root="{data_root}/exdark", split="all", split_kind="official", optional=True,
                enhancers=_fast, title="ExDark sample"),
    cityscapes=dict(type="cityscapes", root="{data_root}/cityscapes_day", split="val", degrade="synthetic",
                    limit=2, optional=True, title="Cityscapes sample, synthetic night"),
    night_street=dict(type="frames", root="{data_root}/unpaired/night_street", limit=6, optional=True,
                      enhancers=_fast, title="Night street frames"),
)

tasks = dict(
    enhancement=dict(paired=["synthetic"], unpaired=["lol_low", "dicm"]),
    detection=dict(dataset="exdark", detector=dict(type="yolov8", weights="{data_root}/weights/yolov8n.pt")),
    segmentation=dict(dataset="cityscapes", enhancers=["input", "clahe"],
                      segmenter=dict(type="mmseg", weights=None,
                                     config="{repo}/configs/segmentation/segformer_mit-b0_cityscapes19.py")),
    traffic=dict(datasets=["night_street"],
                 detector=dict(type="yolov8", weights="{data_root}/weights/yolov8n.pt")),
)

report = dict(html=True, grid_images=2, grid_max_side=256)

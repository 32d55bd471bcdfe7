"""The numbers of docs/model-card.md: the default UPT-Flow model against the baselines the card compares it with.

    python evaluation/run_all.py --config configs/eval/model_card.py --resume

Enhancers: the input, gamma, histogram equalisation, CLAHE, Zero-DCE and SCI (their authors' weights) and UPT-Flow
with the default model shipped in the package (trained here; not the authors' weights), at heat 0 (the paper's
decoding, the default) and at heat 0.7 (a validation heat of the official training config; seeded samples).
Data (``{data_root}``: ../shared/data): the held-out test split of the default model's training photos (BSDS500 and
coco128, never seen in training) darkened by the training degradation (random realistic low light, seeded) and by
fixed darkness levels 2 and 4; the one real pair LOL #778 (the other LOL low images are scored without reference);
DICM, NPE and night-street photos (no reference: NIQE). About 8-10 minutes on 2 CPU cores with an empty
enhanced-image cache before the heat-0.7 row was added (measured: 451 and 612 s); that row enhances every image once
more (not timed with an empty cache; 389 s for the whole run with the other rows cached).
"""

suite = "model_card"
data_root = None  # None: <shared>/data (uptflow.utils.paths.shared_root()) when present, else ./data
work_dir = "work_dirs/eval/model_card"
cache_dir = None
seed = 0
device = "auto"

enhancers = [
    dict(name="identity", label="input"),
    dict(name="gamma"),
    dict(name="histeq"),
    dict(name="clahe"),
    dict(name="zero_dce", weights="{data_root}/weights/zero_dce/Epoch99.pth"),
    dict(name="sci", weights="{data_root}/weights/sci/medium.pt"),
    dict(name="uptflow", label="uptflow_default"),  # no weights: uptflow/assets/uptflow_default.pth
    # the official config's validation heat: sampled latents (seeded), for the card's NIQE caveat
    dict(name="uptflow", label="uptflow_default_heat0.7", params=dict(heat=0.7, seed=0)),
]

_photos = dict(type="photo_pairs", root="{data_root}", photo_dirs=["bsds500/train", "bsds500/val",
                                                                  "coco128_train/images"], split="test")
datasets = dict(
    heldout=dict(**_photos, title="Held-out photos, training degradation (22)"),
    heldout_level2=dict(**_photos, level=2, title="Held-out photos, darkness level 2"),
    heldout_level4=dict(**_photos, level=4, title="Held-out photos, darkness level 4"),
    lol=dict(type="paired", root="{data_root}/lol", allow_unmatched=True, title="LOL sample (#778 paired)"),
    dicm=dict(type="unpaired", root="{data_root}/unpaired/DICM", title="DICM sample"),
    npe=dict(type="unpaired", root="{data_root}/unpaired/NPE", title="NPE sample"),
    night_street=dict(type="unpaired", root="{data_root}/unpaired/night_street", title="Night street photos"),
)

tasks = dict(
    enhancement=dict(paired=["heldout", "heldout_level2", "heldout_level4", "lol"],
                     unpaired=["dicm", "npe", "night_street"]),
)

report = dict(html=True, grid_images=3, grid_max_side=320)

# Fine-tune the packaged default model on your own low- / normal-light pairs (docs/training.md, "Your own pairs"):
#   DATA/train/low/*.png  DATA/train/high/*.png  DATA/val/low/*.png  DATA/val/high/*.png   (pairs share file stems)
#   uptflow train configs/uptflow/uptflow_small_my-pairs_cpu.py --cfg-options data_root=DATA --work-dir work_dirs/mine
#   python -m uptflow.engine.export work_dirs/mine/uptflow_best.pth --out mine_fp16.pth   (or use uptflow_best.pth)
# Same network and schedule as the continuation of the default model (uptflow_small_photo-synthetic_cpu_ft.py) at the
# learning rate the model card gives for continuing it; images must be at least crop_size on their short side.
_base_ = ['./uptflow_small_photo-synthetic_cpu_ft.py']

data_root = 'data/my_pairs'
crop_size = 120  # a multiple of 8 x window size (5)
train_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedHFlip', prob=0.5),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(_delete_=True, type='PairedImageDataset', data_root=data_root, low_dir='train/low',
                 gt_dir='train/high', pipeline=train_pipeline),
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(_delete_=True, type='PairedImageDataset', data_root=data_root, low_dir='val/low', gt_dir='val/high',
                 test_mode=True, pipeline=[dict(type='LoadImagePair'), dict(type='PackPairedInputs')]),
)
optim_wrapper = dict(optimizer=dict(lr=3.75e-5))

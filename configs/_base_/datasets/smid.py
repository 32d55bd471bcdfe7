# SMID as distributed by SNR-Aware (SMID_LQ_np / SMID_Long_np .npy, test_list.txt).
# data_root is a placeholder: point it at your copy (`--cfg-options data_root=/path`); training stops with the
# expected folder tree when it is missing.
data_root = 'data/SMID'
crop_size = 160  # UPT-Flow's GT_size

train_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedHFlip', prob=0.5),
    dict(type='PackPairedInputs'),
]
val_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SMIDDataset',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
    ),
)
# full images, batch 1 (the model pads to a multiple of 8 itself)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SMIDDataset',
        data_root=data_root,
        split='test',
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
val_evaluator = dict(type='EnhancementMetric')

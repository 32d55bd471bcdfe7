# Paired training on 160x160 crops (UPT-Flow's GT_size), full-image validation at batch 1.
# Each dataset file inherits this and names only its dataset type and data_root.
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
        split='test',
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
val_evaluator = dict(type='EnhancementMetric')

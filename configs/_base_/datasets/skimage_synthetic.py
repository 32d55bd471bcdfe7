# Synthetic low-light pairs from the photographs shipped with scikit-image (no download): seeded exposure /
# gamma / Poisson-Gaussian noise degradation (uptflow.data.synthetic). Held-out photos validate.
train_photos = ('astronaut', 'rocket', 'motorcycle_left', 'immunohistochemistry', 'retina', 'hubble_deep_field')
val_photos = ('chelsea', 'coffee')
max_side = 96      # downscale the photos: CPU-sized images
crop_size = 40     # multiple of 8 (three squeezes) and of 8 * window (window 5 at 1/8 scale)

train_pipeline = [
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedHFlip', prob=0.5),
    dict(type='PackPairedInputs'),
]
val_pipeline = [dict(type='PackPairedInputs')]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SkimagePhotoPairs', photos=train_photos, max_side=max_side, seed=0, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SkimagePhotoPairs', photos=val_photos, max_side=max_side, seed=1, pipeline=val_pipeline,
                 test_mode=True),
)
val_evaluator = dict(type='EnhancementMetric')

# Low-light pairs synthesised on the fly from real photos: BSDS500 train + val (300), COCO128 (128) and six of
# scikit-image's photos. Training draws a fresh degradation (uptflow.data.degradation, default random ranges) for
# every crop; validation uses held-out photos (5 % by name hash) with fixed, seeded degradations. The test split
# (another 5 %) is never seen: `python -m uptflow.data.photos --split test` writes it for the benchmarks.
# data_root: $UPTFLOW_SHARED/data, else ../shared/data relative to the working directory (the repository root).
data_root = '{{$UPTFLOW_SHARED:../shared}}/data'
photo_dirs = ('bsds500/train', 'bsds500/val', 'coco128_train/images')
skimage_photos = ('astronaut', 'coffee', 'chelsea', 'rocket', 'motorcycle_left', 'motorcycle_right')
crop_size = 120      # a multiple of 8 * window (window 5 at 1/8 scale)
val_crop_size = 160  # central crops keep validation cheap on a CPU

train_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='RandomRescale', scale_range=(0.5, 1.0), min_side=crop_size),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('gt',)),
    dict(type='PairedHFlip', prob=0.5, keys=('gt',)),
    dict(type='SynthesizeLowLight'),
    dict(type='PackPairedInputs', meta_keys=('name', 'scale', 'crop_box', 'flip', 'degradation')),
]
val_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='PairedCenterCrop', crop_size=val_crop_size, keys=('gt',)),
    dict(type='SynthesizeLowLight'),
    dict(type='PackPairedInputs', meta_keys=('name', 'degradation', 'degradation_seed')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='PhotoLowLightPairs', data_root=data_root, photo_dirs=photo_dirs, skimage_photos=skimage_photos,
                 split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PhotoLowLightPairs', data_root=data_root, photo_dirs=photo_dirs, skimage_photos=skimage_photos,
                 split='val', seed=1, pipeline=val_pipeline, test_mode=True),
)
val_evaluator = dict(type='EnhancementMetric')

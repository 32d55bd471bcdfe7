# The full-size UPT-Flow (the paper's network: encoder width 48, K 8, hidden 64, 23.4 M parameters) trained on the
# default model's data (low-light pairs synthesised on the fly from BSDS500, COCO128 and scikit-image photos) on one
# GPU. Not a paper setting: the paper trains on LOL/FiveK/SMID/SDSD pairs for 50k iterations.
# docs/training.md shows how to set the length (the schedule keys change together); benchmarks/gpu_check.sh sizes a
# run to a time limit. Its one run so far (about 100 iterations on an H200) is in docs/model-card.md.
# On a CPU the same config runs with bf16 autocast (SafeBf16OptimWrapper) and is far too slow to be useful.
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/photo_synthetic.py',
    '../_base_/default_runtime.py',
]
window_size = 5
model = dict(network=dict(window_size=window_size))  # the paper's widths (UPTFlow's defaults)

crop_size = 160  # a multiple of 8 * window
# the base's training pipeline at this crop size: an mmengine config replaces a list whole (tests/engine/test_configs.py
# checks that the two stay the same apart from the crop)
train_dataloader = dict(
    batch_size=16,
    num_workers=12,  # about 10 ms of synthesis per 160x160 crop on one core
    persistent_workers=True,
    dataset=dict(pipeline=[
        dict(type='LoadImagePair'),
        dict(type='RandomRescale', scale_range=(0.5, 1.0), min_side=crop_size),
        dict(type='PairedRandomCrop', crop_size=crop_size, keys=('gt',)),
        dict(type='PairedHFlip', prob=0.5, keys=('gt',)),
        dict(type='SynthesizeLowLight'),
        dict(type='PackPairedInputs', meta_keys=('name', 'scale', 'crop_box', 'flip', 'degradation')),
    ]),
)

max_iters = 2000
val_interval = 500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(
    # bf16 autocast of the encoder (the flow, its coupling sub-networks and the log-determinants stay fp32), no
    # loss scaling needed; on a CPU this becomes SafeBf16OptimWrapper (SafeOptimWrapper with --no-amp)
    type='SafeAmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=100.0),
    max_consecutive_nonfinite=20,
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5,
         milestones=[int(max_iters * f) for f in (0.5, 0.7, 0.85, 0.95)]),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1),
)
randomness = dict(seed=10)
env_cfg = dict(cudnn_benchmark=False)  # with autotuning the first 10 iterations took 113 s on an H200, without 45 s

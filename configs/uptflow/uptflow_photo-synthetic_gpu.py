# The full-size UPT-Flow (the paper's network: encoder width 48, K 8, hidden 64, 23.4 M parameters) trained on the
# default model's data (low-light pairs synthesised on the fly from BSDS500, COCO128 and scikit-image photos) on one
# GPU. Not a paper setting: the paper trains on LOL/FiveK/SMID/SDSD pairs for 50k iterations.
# The run reported in docs/model-card.md ("full-size model") had a few minutes of one H200; its length was set from
# the seconds per iteration of a short trial run there:
#   uptflow train configs/uptflow/uptflow_photo-synthetic_gpu.py --work-dir work_dirs/gpu_full --cfg-options \
#       train_cfg.max_iters=N train_cfg.val_interval=N//4 param_scheduler.1.end=N \
#       "param_scheduler.1.milestones=[N/2,0.7N,0.85N,0.95N]" default_hooks.checkpoint.interval=N//4
# On a CPU the same config runs with bf16 autocast (SafeBf16OptimWrapper) and is far too slow to be useful.
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/photo_synthetic.py',
    '../_base_/default_runtime.py',
]
window_size = 5
model = dict(network=dict(window_size=window_size))  # the paper's widths (UPTFlow's defaults)

crop_size = 160  # a multiple of 8 * window
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
    # bf16 autocast of the encoder and coupling sub-networks (flow and log-determinants in fp32), no loss scaling
    # needed; on a CPU this becomes SafeBf16OptimWrapper (SafeOptimWrapper with --no-amp)
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
env_cfg = dict(cudnn_benchmark=False)  # autotuning every new shape cost minutes at the start of a short run

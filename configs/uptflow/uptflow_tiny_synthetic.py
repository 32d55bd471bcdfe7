# A CPU-sized UPT-Flow run on synthetic pairs from scikit-image's photos: shows the NLL falling and the
# validation PSNR rising above the unenhanced input's in a few minutes. Not a paper setting.
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/skimage_synthetic.py',
    '../_base_/default_runtime.py',
]
window_size = 5
model = dict(network=dict(window_size=window_size, encoder_dim=16, K=2, hidden=32))

max_iters = 120
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=40)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(
    type='SafeOptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=100.0),
    max_consecutive_nonfinite=5,
)
# the paper's shape (linear warm-up, x0.5 at 40/60/80/90 %), shortened
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5,
         milestones=[int(max_iters * f) for f in (0.4, 0.6, 0.8, 0.9)]),
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=40, max_keep_ckpts=2),
)
randomness = dict(seed=0)

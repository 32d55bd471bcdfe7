# UPT-Flow's schedule (spec §3.6): Adam 2e-4, betas (0.9, 0.999), no weight decay, linear warm-up over 800
# iterations, lr x0.5 at 40/60/80/90 % of 50k iterations, validation every 500 iterations.
max_iters = 50000
val_interval = 500

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')

optim_wrapper = dict(
    type='SafeOptimWrapper',  # -> SafeAmpOptimWrapper on CUDA when amp = True
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.0),
    # not in the paper: a guard against rare exploding NLL gradients (far above the norms of normal steps)
    clip_grad=dict(max_norm=100.0),
    max_consecutive_nonfinite=20,
)
param_scheduler = [
    # lr = 2e-4 * it / 800 for the first 800 iterations
    dict(type='LinearLR', start_factor=1.0 / 800, by_epoch=False, begin=0, end=800),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5,
         milestones=[20000, 30000, 40000, 45000]),
]

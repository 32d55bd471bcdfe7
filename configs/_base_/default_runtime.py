# Runtime shared by every UPT-Flow training config: logging (JSON + TensorBoard), checkpoints, RNG, hooks.
default_scope = 'uptflow'
custom_imports = dict(imports=['uptflow.data', 'uptflow.engine', 'uptflow.models'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # `uptflow train` switches to gloo when there is no GPU
)
# seed 10 as in UPT-Flow's yml; each rank / data-loader worker derives its own seed from it
randomness = dict(seed=10, diff_rank_seed=True, deterministic=False)

# AMP (autocast + GradScaler, flow kept in fp32) when CUDA is available; `uptflow train --no-amp` turns it off
amp = True

log_level = 'INFO'
log_processor = dict(by_epoch=False, window_size=50)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last 3 iteration checkpoints and the best-PSNR one; written atomically (temp file + rename)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3, save_last=True,
                    save_best='psnr', rule='greater', backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='RNGStateHook'),      # exact --resume: torch RNG (dequantisation noise) saved in checkpoints
    dict(type='ExportModelHook'),   # work_dir/uptflow_best.pth and uptflow_final.pth, readable by load_model
    dict(type='ProgressBarHook'),
]
# scalars.json (JSON lines) in work_dir/<timestamp>/vis_data and TensorBoard events when tensorboard is installed
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])

load_from = None
resume = False

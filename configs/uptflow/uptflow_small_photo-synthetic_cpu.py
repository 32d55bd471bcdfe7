# The default model shipped with uptflow (uptflow/assets/uptflow_default.pth, docs/model-card.md): a CPU-sized
# UPT-Flow (UPM, MSFormer encoder and cross-coupling flow kept; narrower and shallower than the paper's 23.4 M
# parameters) trained on low-light pairs synthesised on the fly from real photos. Not a paper setting.
# Sized by measured seconds per iteration on a shared 2-core CPU (docs/model-card.md): 6.2 M parameters (12.5 MB in
# fp16), batch 2 of 120x120 crops, 5-14 s per iteration (load-dependent), 3000 iterations in 4-12 hours. Resumable:
#   OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nohup nice -n 5 uptflow train \
#       configs/uptflow/uptflow_small_photo-synthetic_cpu.py --work-dir work_dirs/default_model --resume \
#       >> work_dirs/default_model/train.log 2>&1 &
# (OMP_WAIT_POLICY=PASSIVE: on a loaded machine, spinning OpenMP threads made steps 10x slower.)
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/photo_synthetic.py',
    '../_base_/default_runtime.py',
]
window_size = 5
model = dict(network=dict(window_size=window_size, encoder_dim=24, K=4, hidden=48))

max_iters = 3000
val_interval = 250
train_dataloader = dict(batch_size=2)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(
    type='SafeBf16OptimWrapper',  # bf16 autocast of the encoder on CPU (flow in fp32); --no-amp for fp32
    optimizer=dict(type='Adam', lr=3e-4, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=100.0),
    max_consecutive_nonfinite=20,
)
# the paper's shape (linear warm-up, x0.5 at 40/60/80/90 %), on a short schedule
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5,
         milestones=[int(max_iters * f) for f in (0.4, 0.6, 0.8, 0.9)]),
]
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=2),
)
randomness = dict(seed=10)

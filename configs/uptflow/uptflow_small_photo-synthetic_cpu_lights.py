# Continue training the packaged default model with light sources in the synthetic pairs (uptflow.data.lights:
# lamps whose cores clip, the same in the low- and the normal-light image) in half of the training crops: an attempt
# at the red glow the default model made around traffic lights at night (docs/model-card.md). Validation
# keeps the lamp-free degradation, comparable with the earlier runs. This run, from iteration 3000 (the packaged
# model until 2026-12-05), made the networks whose mean is packaged now; to repeat it from iteration 3000:
#   mkdir -p work_dirs/default_lights && git show d67977b:uptflow/assets/uptflow_default.pth > work_dirs/it3000.pth
#   OMP_WAIT_POLICY=PASSIVE nohup nice uptflow train configs/uptflow/uptflow_small_photo-synthetic_cpu_lights.py \
#       --work-dir work_dirs/default_lights --resume --cfg-options model.weights=work_dirs/it3000.pth \
#       >> work_dirs/default_lights/train.log 2>&1 &
#   python -m uptflow.engine.average work_dirs/it3000.pth work_dirs/default_lights/uptflow_best.pth \
#       --out work_dirs/mean.pth
#   python -m uptflow.engine.export work_dirs/mean.pth --out uptflow/assets/uptflow_default.pth
_base_ = ['./uptflow_small_photo-synthetic_cpu_ft.py']

crop_size = 120
max_iters = 1200
val_interval = 200
train_pipeline = [
    dict(type='LoadImagePair'),
    dict(type='RandomRescale', scale_range=(0.5, 1.0), min_side=crop_size),
    dict(type='PairedRandomCrop', crop_size=crop_size, keys=('gt',)),
    dict(type='PairedHFlip', prob=0.5, keys=('gt',)),
    dict(type='SynthesizeLowLight', degradation=dict(light_prob=0.5)),
    dict(type='PackPairedInputs', meta_keys=('name', 'scale', 'crop_box', 'flip', 'degradation')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
# the shipped weights were last trained at 1.9e-5; a fresh Adam state restarts from a short warm-up
optim_wrapper = dict(optimizer=dict(lr=7.5e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5, milestones=[600, 900]),
]
randomness = dict(seed=12)

# Continue training the shipped default model (docs/model-card.md) where its first run stopped: the planned schedule
# of uptflow_small_photo-synthetic_cpu.py had reached iteration 1500 at lr 1.5e-4; this run starts from those
# weights (the optimiser state was not shipped, hence a short warm-up) and halves the rate at what would have been
# iterations 1800, 2400 and 2700. Export the best checkpoint with
#   python -m uptflow.engine.export work_dirs/default_ft/best_*.pth --out uptflow/assets/uptflow_default.pth
_base_ = ['./uptflow_small_photo-synthetic_cpu.py']

model = dict(weights='default')
max_iters = 1500
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=1.5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, gamma=0.5, milestones=[300, 900, 1200]),
]
randomness = dict(seed=11)  # other crops and degradations than the first run

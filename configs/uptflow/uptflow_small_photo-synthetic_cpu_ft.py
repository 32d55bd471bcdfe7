# Continue training the shipped default model (docs/model-card.md). Written for the second run, which started from
# the first run's iteration 1500 (uptflow_small_photo-synthetic_cpu.py had reached it at lr 1.5e-4; the optimiser
# state was not shipped, hence a short warm-up) and halved the rate at what would have been iterations 1800, 2400
# and 2700; that run made iteration 3000. The packaged weights are now the mean of iteration 3000 and its
# light-source continuation (uptflow_small_photo-synthetic_cpu_lights.py), so a new run with this config continues
# from that mean (lower lr: see the model card). Export the best network of its work dir with
#   python -m uptflow.engine.export WORK_DIR/uptflow_best.pth --out uptflow/assets/uptflow_default.pth
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

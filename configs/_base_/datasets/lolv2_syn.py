_base_ = ['./paired_160.py']

# LOL-v2 Synthetic: 900 training / 100 test pairs, 384x384.
# data_root is a placeholder: point it at your copy (`--cfg-options data_root=/path`); training stops with the
# expected folder tree when it is missing.
data_root = 'data/LOL-v2'

train_dataloader = dict(dataset=dict(type='LOLv2Dataset', subset='synthetic', data_root=data_root))
val_dataloader = dict(dataset=dict(type='LOLv2Dataset', subset='synthetic', data_root=data_root))

_base_ = ['./paired_160.py']

# MIT-Adobe FiveK input / expertC, first 97 % of the name-sorted pairs train, last 3 % test (MBPNet).
# data_root is a placeholder: point it at your copy (`--cfg-options data_root=/path`); training stops with the
# expected folder tree when it is missing.
data_root = 'data/FiveK'

train_dataloader = dict(dataset=dict(type='FiveKDataset', low_dir='input', gt_dir='expertC', data_root=data_root))
val_dataloader = dict(dataset=dict(type='FiveKDataset', low_dir='input', gt_dir='expertC', data_root=data_root))

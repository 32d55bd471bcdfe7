_base_ = ['./paired_160.py']

# SMID as distributed by SNR-Aware (SMID_LQ_np / SMID_Long_np .npy, test_list.txt).
# data_root is a placeholder: point it at your copy (`--cfg-options data_root=/path`); training stops with the
# expected folder tree when it is missing.
data_root = 'data/SMID'

train_dataloader = dict(dataset=dict(type='SMIDDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='SMIDDataset', data_root=data_root))

_base_ = ['./paired_160.py']

# Static SDSD indoor as distributed by SNR-Aware (indoor_static_np/{input,GT}), SNR-Aware's test scenes.
# data_root is a placeholder: point it at your copy (`--cfg-options data_root=/path`); training stops with the
# expected folder tree when it is missing.
data_root = 'data/SDSD'

train_dataloader = dict(dataset=dict(type='SDSDDataset', subset='indoor', data_root=data_root))
val_dataloader = dict(dataset=dict(type='SDSDDataset', subset='indoor', data_root=data_root))

# UPT-Flow on SMID (SNR-Aware release): the paper setting (spec §3.6), window 8 (non-LOL datasets).
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/smid.py',
    '../_base_/schedules/uptflow_50k.py',
    '../_base_/default_runtime.py',
]
window_size = 8
model = dict(network=dict(window_size=window_size))

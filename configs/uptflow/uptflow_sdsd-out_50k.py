# UPT-Flow on SDSD outdoor (SNR-Aware static release): the paper setting (spec §3.6), window 8 (non-LOL data).
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/sdsd_out.py',
    '../_base_/schedules/uptflow_50k.py',
    '../_base_/default_runtime.py',
]
window_size = 8
model = dict(network=dict(window_size=window_size))

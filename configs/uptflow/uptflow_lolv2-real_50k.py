# UPT-Flow on LOL-v2 real: the paper setting (spec §3.6), window 5 (LOL datasets).
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/lolv2_real.py',
    '../_base_/schedules/uptflow_50k.py',
    '../_base_/default_runtime.py',
]
window_size = 5
model = dict(network=dict(window_size=window_size))

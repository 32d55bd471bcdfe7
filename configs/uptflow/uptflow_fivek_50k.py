# UPT-Flow on MIT-Adobe FiveK (expert C): the paper setting (spec §3.6), window 8 (non-LOL datasets).
_base_ = [
    '../_base_/models/uptflow.py',
    '../_base_/datasets/fivek.py',
    '../_base_/schedules/uptflow_50k.py',
    '../_base_/default_runtime.py',
]
window_size = 8
model = dict(network=dict(window_size=window_size))

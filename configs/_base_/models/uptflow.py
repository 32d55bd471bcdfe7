# UPT-Flow network inside the training wrapper (NLL loss; heat-0 enhancement for validation).
window_size = 5
model = dict(
    type='UPTFlowTrainer',
    network=dict(type='UPTFlow', window_size=window_size),
    heat=0.0,
)

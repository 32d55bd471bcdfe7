"""Non-finite steps are skipped and counted; too many in a row stop training with a clear error."""

import pytest
import torch
from mmengine.logging import MessageHub

from uptflow.engine.optim import NonFiniteLossError, SafeBf16OptimWrapper, SafeOptimWrapper
from uptflow.registry import OPTIM_WRAPPERS


def _wrapper(max_in_row=3):
    model = torch.nn.Linear(2, 1)
    wrapper = SafeOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), max_consecutive_nonfinite=max_in_row)
    return model, wrapper


def _loss(model, scale=1.0):
    return model(torch.ones(1, 2)).sum() * scale


def test_nan_loss_skips_the_step_and_counts_it():
    MessageHub.get_instance("test_nan_loss")
    model, wrapper = _wrapper()
    before = [p.detach().clone() for p in model.parameters()]
    wrapper.update_params(_loss(model, float("nan")))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    assert (wrapper.nonfinite_total, wrapper.nonfinite_in_row) == (1, 1)
    assert MessageHub.get_current_instance().get_scalar("train/nonfinite_skipped").current() == 1
    wrapper.update_params(_loss(model))  # a finite step updates and resets the streak
    assert not torch.equal(before[0], model.weight)
    assert (wrapper.nonfinite_total, wrapper.nonfinite_in_row) == (1, 0)


def test_nonfinite_gradient_with_finite_loss_is_skipped():
    model, wrapper = _wrapper()
    before = model.weight.detach().clone()
    loss = _loss(model)
    model.weight.register_hook(lambda g: torch.full_like(g, float("inf")))
    wrapper.update_params(loss)
    assert torch.equal(before, model.weight) and wrapper.nonfinite_total == 1


def test_too_many_nonfinite_steps_in_a_row_stop_training():
    model, wrapper = _wrapper(max_in_row=3)
    for _ in range(2):
        wrapper.update_params(_loss(model, float("inf")))
    with pytest.raises(NonFiniteLossError, match="3 consecutive optimizer steps had a non-finite loss"):
        wrapper.update_params(_loss(model, float("inf")))


def test_skip_counters_survive_a_checkpoint():
    model, wrapper = _wrapper()
    wrapper.update_params(_loss(model, float("nan")))
    state = wrapper.state_dict()
    _, fresh = _wrapper()
    fresh.load_state_dict(state)
    assert (fresh.nonfinite_total, fresh.nonfinite_in_row) == (1, 1)


def test_wrappers_are_registered():
    assert OPTIM_WRAPPERS.get("SafeOptimWrapper") is SafeOptimWrapper
    assert OPTIM_WRAPPERS.get("SafeAmpOptimWrapper") is not None
    assert OPTIM_WRAPPERS.get("SafeBf16OptimWrapper") is SafeBf16OptimWrapper


def test_bf16_wrapper_autocasts_the_forward_pass_and_still_skips_nonfinite_steps():
    model = torch.nn.Linear(2, 1)
    wrapper = SafeBf16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), max_consecutive_nonfinite=3)
    with wrapper.optim_context(model):
        out = model(torch.ones(1, 2))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().sum())
    assert model.weight.dtype == torch.float32 and not torch.equal(before, model.weight)
    with wrapper.optim_context(model):
        bad = model(torch.ones(1, 2)).float().sum() * float("nan")
    wrapper.update_params(bad)
    assert wrapper.nonfinite_total == 1
